// Process-wide settings: intra-op threads and devices.
import { native } from './native.js';

// libtorch picks its own default (one thread per physical core it can use;
// one on the 2-core development machine, where a second thread made the
// benchmark MLP several times slower: see the README). PERENNIAL_NUM_THREADS
// overrides it for the whole process.
const fromEnvironment = process.env['PERENNIAL_NUM_THREADS'];
if (fromEnvironment !== undefined && fromEnvironment !== '') {
  const n = Number(fromEnvironment);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PERENNIAL_NUM_THREADS must be a positive integer, got '${fromEnvironment}'`);
  native.setNumThreads(n);
}

/** Sets the number of threads libtorch uses inside one operation. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

export const cuda = {
  isAvailable: (): boolean => native.cudaIsAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Waits for queued CUDA work (for timing). A no-op without CUDA. */
  synchronize: (): void => native.cudaSynchronize(),
};

/** libtorch's build configuration (BLAS, CPU capability, CUDA), as torch.__config__.show(). */
export function buildConfig(): string {
  return native.buildConfig();
}

/** Tensors currently alive on the JavaScript side (not yet disposed or collected): a leak check. */
export function liveTensorCount(): number {
  return native.liveTensorCount();
}
