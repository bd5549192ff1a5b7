// Process-wide settings: intra-op threads and devices.
import { native } from './native.js';

/**
 * Sets the number of threads libtorch and OpenBLAS use inside one operation:
 * an integer from 1 to 4 per CPU (at least 64), else a RangeError.
 */
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
