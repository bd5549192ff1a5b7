// Process-wide settings: intra-op threads and devices.
import { native } from './native.js';

// libtorch picks its own default intra-op thread count (one per physical
// core it may use: one on the 2-core development machine). OpenBLAS, which
// does the matrix products, is set to the same count, since its own default
// (one per core) slowed training there: see the README. PERENNIAL_NUM_THREADS
// overrides both for the whole process.
const fromEnvironment = process.env['PERENNIAL_NUM_THREADS'];
if (fromEnvironment !== undefined && fromEnvironment !== '') {
  const n = Number(fromEnvironment);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PERENNIAL_NUM_THREADS must be a positive integer, got '${fromEnvironment}'`);
  native.setNumThreads(n);
} else {
  native.setNumThreads(native.getNumThreads());
}

/** Sets the number of threads libtorch and OpenBLAS use inside one operation. */
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
