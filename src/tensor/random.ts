// The global random generator: libtorch's CPU Mersenne Twister, the same one
// PyTorch uses, so a seeded run draws exactly PyTorch's numbers.
import { native } from './native.js';
import { Tensor } from './tensor.js';

/** Seeds the global generator (every device's), as torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}
/** The generator's full state as a uint8 tensor, for checkpoints. */
export function getRngState(): Tensor {
  return Tensor.wrap(native.getRngState());
}
/** Restores a state from getRngState(). */
export function setRngState(state: Tensor): void {
  native.setRngState(state?.handle);
}
