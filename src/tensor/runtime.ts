// Process-wide settings: intra-op threads and devices.
import { native } from './native.js';

/**
 * The default number of intra-op threads. Measured on the 2-core development
 * machine with bench/engine (MLP 784-256-256-10, batch 64): see the README.
 */
export const DEFAULT_THREADS = 1;

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
