// Process-wide settings: intra-op threads and devices.
import { native } from './native.js';

/**
 * Sets the number of threads libtorch and OpenBLAS use inside one operation:
 * an integer from 1 to 4 per CPU (at least 64), else a RangeError.
 */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
/** The number of threads libtorch uses inside one operation. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Whether CUDA is usable (a libtorch built with CUDA and a GPU), how many GPUs there are, and waiting for queued GPU work. */
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

/** Which kernels compute float32 linear layers on the CPU. */
export type LinearKernels = 'onednn' | 'libtorch';

/**
 * Float32 linear layers on the CPU compute their products with oneDNN's
 * sgemm where libtorch brings oneDNN along (Debian's libtorch does) and one
 * thread computes each operation (the default on small machines): it uses
 * the CPU's widest vector instructions where libtorch's BLAS may not (twice
 * as fast on an AVX-512 CPU whose environment pins OpenBLAS to its AVX2
 * kernels, as OPENBLAS_CORETYPE=Haswell does). Results agree with
 * libtorch's own path to float32 rounding, not bit for bit. With more threads
 * layers take libtorch's path (see native/onednn_linear.cc for why).
 */
export function linearKernels(): LinearKernels {
  return native.linearUsesOneDnn() ? 'onednn' : 'libtorch';
}

/** Chooses the kernels of float32 linear layers ('libtorch' to match PyTorch's products bit for bit, say). */
export function setLinearKernels(kernels: LinearKernels): void {
  if (kernels === 'onednn' && !native.oneDnnLinearAvailable()) {
    throw new Error("setLinearKernels('onednn'): this libtorch does not export oneDNN's sgemm (an official download links it in privately); linear layers use libtorch's kernels");
  }
  native.useOneDnnLinear(kernels === 'onednn');
}

/** Tensors currently alive on the JavaScript side (not yet disposed or collected): a leak check. */
export function liveTensorCount(): number {
  return native.liveTensorCount();
}
