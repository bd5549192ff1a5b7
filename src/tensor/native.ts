// Loads the compiled addon and types its functions. Everything here is
// positional and low level; the public API lives in tensor.ts and friends.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque reference to a native tensor (a slot of the addon's table and the slot's generation). */
export type Handle = number & { readonly __nativeTensor: unique symbol };
/** A tensor handle, or a scalar operand boxed in a one-element array. */
export type Operand = Handle | [number | boolean];
type Opt<T> = T | null | undefined;
type Pair = [Handle, Handle];
type Unary = (t: Handle) => Handle;
type Binary = (a: Operand, b: Operand) => Handle;

export interface NativeBinding {
  dispose(t: Handle): void;
  isTensorHandle(v: unknown): boolean;
  liveTensorCount(): number;
  guard(t: Handle, owner: object): void;
  shape(t: Handle): number[];
  dtype(t: Handle): string;
  device(t: Handle): string;
  isContiguous(t: Handle): boolean;
  sameStorage(a: Handle, b: Handle): boolean;

  fromTypedArray(data: ArrayBufferView, dtype: string, shape: readonly number[], device?: Opt<string>, requiresGrad?: boolean): Handle;
  toArrayBuffer(t: Handle): ArrayBuffer;
  item(t: Handle): number | boolean;
  empty(shape: readonly number[], dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  zeros(shape: readonly number[], dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  ones(shape: readonly number[], dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  full(shape: readonly number[], value: number | boolean, dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  scalarTensor(value: number | boolean, dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  arange(start: number, end: number, step: number, dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  linspace(start: number, end: number, steps: number, dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  eye(n: number, m: number, dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;

  neg: Unary; abs: Unary; sqrt: Unary; rsqrt: Unary; square: Unary; exp: Unary; log: Unary; log1p: Unary; expm1: Unary;
  sign: Unary; sin: Unary; cos: Unary; floor: Unary; ceil: Unary; round: Unary; trunc: Unary; reciprocal: Unary;
  logicalNot: Unary; isnan: Unary; isinf: Unary; isfinite: Unary;
  mul: Binary; pow: Binary; remainder: Binary; atan2: Binary; minimum: Binary; maximum: Binary;
  eq: Binary; ne: Binary; lt: Binary; le: Binary; gt: Binary; ge: Binary;
  logicalAnd: Binary; logicalOr: Binary; logicalXor: Binary;
  add(a: Operand, b: Operand, alpha: number): Handle;
  sub(a: Operand, b: Operand, alpha: number): Handle;
  div(a: Operand, b: Operand, roundingMode: Opt<string>): Handle;
  clamp(t: Handle, min: Opt<number>, max: Opt<number>): Handle;
  where(cond: Handle, a: Operand, b: Operand): Handle;
  equal(a: Handle, b: Handle): boolean;
  allclose(a: Handle, b: Handle, rtol: number, atol: number, equalNan: boolean): boolean;
  add_(t: Handle, other: Operand, alpha: number): void;
  sub_(t: Handle, other: Operand, alpha: number): void;
  mul_(t: Handle, other: Operand): void;
  div_(t: Handle, other: Operand): void;
  pow_(t: Handle, other: Operand): void;
  sqrt_(t: Handle): void;
  abs_(t: Handle): void;
  neg_(t: Handle): void;
  maximum_(t: Handle, other: Operand): void;
  addcmul_(t: Handle, a: Handle, b: Handle, value: number): void;
  addcdiv_(t: Handle, a: Handle, b: Handle, value: number): void;
  lerp_(t: Handle, end: Handle, weight: number): void;
  clamp_(t: Handle, min: Opt<number>, max: Opt<number>): void;
  copy_(t: Handle, src: Handle): void;
  zero_(t: Handle): void;
  fill_(t: Handle, value: number | boolean): void;
  maskedFill_(t: Handle, mask: Handle, value: number | boolean): void;

  sum(t: Handle, dims: Opt<readonly number[]>, keepdim: boolean, dtype: Opt<string>): Handle;
  mean(t: Handle, dims: Opt<readonly number[]>, keepdim: boolean, dtype: Opt<string>): Handle;
  prod(t: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  var(t: Handle, dims: Opt<readonly number[]>, correction: number, keepdim: boolean): Handle;
  std(t: Handle, dims: Opt<readonly number[]>, correction: number, keepdim: boolean): Handle;
  norm(t: Handle, p: number, dims: Opt<readonly number[]>, keepdim: boolean): Handle;
  logsumexp(t: Handle, dims: readonly number[], keepdim: boolean): Handle;
  max(t: Handle): Handle;
  min(t: Handle): Handle;
  maxDim(t: Handle, dim: number, keepdim: boolean): Pair;
  minDim(t: Handle, dim: number, keepdim: boolean): Pair;
  argmax(t: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  argmin(t: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  all(t: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  any(t: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  cumsum(t: Handle, dim: number): Handle;
  countNonzero(t: Handle, dim: Opt<number>): Handle;

  matmul(a: Handle, b: Handle): Handle;
  mm(a: Handle, b: Handle): Handle;
  bmm(a: Handle, b: Handle): Handle;
  mv(a: Handle, b: Handle): Handle;
  dot(a: Handle, b: Handle): Handle;
  outer(a: Handle, b: Handle): Handle;
  addmm(input: Handle, a: Handle, b: Handle, beta: number, alpha: number): Handle;

  reshape(t: Handle, shape: readonly number[]): Handle;
  view(t: Handle, shape: readonly number[]): Handle;
  flatten(t: Handle, start: number, end: number): Handle;
  permute(t: Handle, dims: readonly number[]): Handle;
  transpose(t: Handle, a: number, b: number): Handle;
  squeeze(t: Handle, dim: Opt<number>): Handle;
  unsqueeze(t: Handle, dim: number): Handle;
  expand(t: Handle, shape: readonly number[]): Handle;
  repeat(t: Handle, repeats: readonly number[]): Handle;
  flip(t: Handle, dims: readonly number[]): Handle;
  contiguous(t: Handle): Handle;
  clone(t: Handle): Handle;
  to(t: Handle, dtype: Opt<string>, device: Opt<string>): Handle;
  cat(ts: Handle[], dim: number): Handle;
  stack(ts: Handle[], dim: number): Handle;
  split(t: Handle, sizes: number | readonly number[], dim: number): Handle[];
  chunk(t: Handle, chunks: number, dim: number): Handle[];
  unbind(t: Handle, dim: number): Handle[];
  narrow(t: Handle, dim: number, start: number, length: number): Handle;
  slice(t: Handle, dim: number, start: Opt<number>, end: Opt<number>, step: number): Handle;
  select(t: Handle, dim: number, index: number): Handle;
  indexSelect(t: Handle, dim: number, index: Handle): Handle;
  t(t: Handle): Handle;
  alias(t: Handle): Handle;
  index(t: Handle, indices: readonly (Handle | null)[]): Handle;
  indexPut_(t: Handle, indices: readonly (Handle | null)[], values: Operand, accumulate: boolean): void;
  gather(t: Handle, dim: number, index: Handle): Handle;
  scatter(t: Handle, dim: number, index: Handle, src: Operand): Handle;
  scatterAdd(t: Handle, dim: number, index: Handle, src: Handle): Handle;
  maskedFill(t: Handle, mask: Handle, value: number | boolean): Handle;
  maskedSelect(t: Handle, mask: Handle): Handle;
  nonzero(t: Handle): Handle;

  sort(t: Handle, dim: number, descending: boolean, stable: boolean): Pair;
  argsort(t: Handle, dim: number, descending: boolean, stable: boolean): Handle;
  topk(t: Handle, k: number, dim: number, largest: boolean, sorted: boolean): Pair;
  kthvalue(t: Handle, k: number, dim: number, keepdim: boolean): Pair;
  quantile(t: Handle, q: Operand, dim: Opt<number>, keepdim: boolean, interpolation: string): Handle;

  linear(x: Handle, w: Handle, b: Opt<Handle>): Handle;
  conv2d(x: Handle, w: Handle, b: Opt<Handle>, stride: number[], padding: number[], dilation: number[], groups: number): Handle;
  maxPool2d(x: Handle, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean): Handle;
  avgPool2d(x: Handle, kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean): Handle;
  adaptiveAvgPool2d(x: Handle, size: number[]): Handle;
  batchNorm(x: Handle, runningMean: Opt<Handle>, runningVar: Opt<Handle>, weight: Opt<Handle>, bias: Opt<Handle>, training: boolean, momentum: number, eps: number): Handle;
  dropout(x: Handle, p: number, training: boolean): Handle;
  unfold(x: Handle, kernel: number[], dilation: number[], padding: number[], stride: number[]): Handle;
  relu: Unary; sigmoid: Unary; tanh: Unary;
  leakyRelu(x: Handle, slope: number): Handle;
  gelu(x: Handle, approximate: string): Handle;
  softmax(x: Handle, dim: number): Handle;
  logSoftmax(x: Handle, dim: number): Handle;
  crossEntropy(input: Handle, target: Handle, weight: Opt<Handle>, reduction: string, ignoreIndex: number, labelSmoothing: number): Handle;
  nllLoss(input: Handle, target: Handle, weight: Opt<Handle>, reduction: string, ignoreIndex: number): Handle;
  mseLoss(a: Handle, b: Handle, reduction: string): Handle;
  oneHot(t: Handle, numClasses: number): Handle;

  requiresGrad(t: Handle): boolean;
  setRequiresGrad(t: Handle, flag: boolean): void;
  isLeaf(t: Handle): boolean;
  grad(t: Handle): Handle | null;
  setGrad(t: Handle, grad: Opt<Handle>): void;
  retainGrad(t: Handle): void;
  detach(t: Handle): Handle;
  detach_(t: Handle): void;
  setData(t: Handle, src: Handle): void;
  backward(t: Handle, gradient: Opt<Handle>, retainGraph: boolean, createGraph: boolean): void;
  autogradGrad(outputs: Handle[], inputs: Handle[], gradOutputs: Opt<Handle[]>, retainGraph: boolean, createGraph: boolean, allowUnused: boolean): (Handle | null)[];
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;

  manualSeed(seed: number): void;
  getRngState(): Handle;
  setRngState(state: Handle): void;
  rand(shape: readonly number[], dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  randn(shape: readonly number[], dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  randint(low: number, high: number, shape: readonly number[], dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  randperm(n: number, dtype: Opt<string>, device: Opt<string>, requiresGrad: Opt<boolean>): Handle;
  bernoulli(p: Handle): Handle;
  multinomial(probs: Handle, numSamples: number, replacement: boolean): Handle;
  uniform_(t: Handle, low: number, high: number): void;
  normal_(t: Handle, mean: number, std: number): void;

  setNumThreads(n: number): void;
  getNumThreads(): number;
  maxNumThreads(): number;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  buildConfig(): string;
  oneDnnLinearAvailable(): boolean;
  linearUsesOneDnn(): boolean;
  useOneDnnLinear(enabled: boolean): void;
}

function loadBinding(): NativeBinding {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const candidates = [join(root, 'build', 'Release', 'perennial.node'), join(root, 'build', 'Debug', 'perennial.node')];
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(
      `perennial: the native addon is not built (looked for ${candidates[0]}). ` +
        'Run `bash scripts/setup.sh` (installs libtorch-dev and builds), or `npm install` if libtorch is already installed.',
    );
  }
  // libgomp reads its wait policy once, when libtorch loads it with the addon.
  // Its default spins idle OpenMP workers for a while after every parallel
  // region; with more than one intra-op thread they then take the cores from
  // OpenBLAS's own workers (and from each other's next region), which made
  // training with two threads five times slower on a 2-core machine (README,
  // "Threads"). Passive waiting leaves the cores to whoever has work. A
  // policy the user set is kept (an empty one counts as unset).
  if (!process.env['OMP_WAIT_POLICY']) process.env['OMP_WAIT_POLICY'] = 'PASSIVE';
  const require = createRequire(import.meta.url);
  return require(path) as NativeBinding;
}

export const native: NativeBinding = loadBinding();

// Threads, set once the addon is loaded, whatever part of the library is
// imported first. libtorch picks its own default intra-op thread count (one per physical
// core it may use: one on the 2-core development machine). OpenBLAS, which
// does the matrix products, is set to the same count, since its own default
// (one per core) slowed training there: see the README. PERENNIAL_NUM_THREADS
// overrides both for the whole process.
const fromEnvironment = process.env['PERENNIAL_NUM_THREADS'];
if (fromEnvironment !== undefined && fromEnvironment !== '') {
  // Checked here, before libtorch sees it, so that the error names the variable.
  const n = Number(fromEnvironment);
  const max = native.maxNumThreads();
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new RangeError(
      `PERENNIAL_NUM_THREADS must be an integer from 1 to ${max}, got '${fromEnvironment}' ` +
        '(the limit is 4 per CPU and at least 64: more threads only add overhead, and a huge count aborts the process); ' +
        "set it within the range, or unset it for libtorch's default",
    );
  }
  native.setNumThreads(n);
} else {
  native.setNumThreads(native.getNumThreads());
}
