// The Tensor class: a typed handle to a libtorch tensor, with the methods a
// PyTorch user expects (camelCased). Every method that produces a tensor
// returns a new Tensor recorded in the current scope (see scope.ts); methods
// ending in `_` modify the tensor in place and return it.
//
// Tensor arguments are read as `arg?.handle`: a null, undefined or non-tensor
// argument then reaches the addon, whose TypeError names the operation and
// the argument, instead of failing here on the property access.
import { type AnyTypedArray, type DType, assertDType, typedArrayFrom } from './dtype.js';
import { type Handle, type Operand, native } from './native.js';
import { type Scope, setTensorPredicate, track } from './scope.js';

/** Put in place of a disposed tensor's handle; the addon reports its use clearly. */
const DISPOSED_HANDLE = -1 as unknown as Handle;

/** Where a tensor lives: the CPU, or a GPU (with a CUDA libtorch). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
/** The size of each dimension of a tensor. */
export type Shape = readonly number[];
/** A tensor or a plain number used as a scalar (broadcast like a Python scalar). */
export type TensorLike = Tensor | number | boolean;
/** Nested arrays of numbers or booleans, as returned by toArray(). */
export type NestedArray = number | boolean | NestedArray[];

/** What sort, topk, max along a dim and the like return: the values and where they were. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** Index for Tensor.index(): a number selects, a range slices, null keeps the whole dim, a tensor gathers. */
export type IndexSpec = number | null | { start?: number; end?: number; step?: number } | Tensor;

/** The tensor's native handle; throws if `t` is not a Tensor. */
export function handleOf(t: Tensor): Handle {
  return t.handle;
}

/** Handles are numbers too, so a scalar operand crosses to the addon boxed: [x]. */
export function operand(x: TensorLike): Operand {
  return x instanceof Tensor ? x.handle : [x];
}

function dimsOf(dim: number | readonly number[] | undefined | null): readonly number[] | null {
  if (dim === undefined || dim === null) return null;
  return typeof dim === 'number' ? [dim] : dim;
}

function shapeArgs(args: readonly (number | Shape)[]): Shape {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as Shape) : (args as readonly number[]);
}

/** A libtorch tensor: its operations are PyTorch's, camelCased. Its native memory is freed by dispose(), by the tidy() that created it, or at the latest by garbage collection. */
export class Tensor implements Disposable {
  /** @internal The native tensor. */
  handle: Handle;
  #shape: Shape | undefined;
  #dtype: DType | undefined;
  #disposed = false;
  #guarded = false;
  /** @internal The scope that will free this tensor, if any. */
  scope: Scope | undefined;
  /** @internal Its position in that scope. */
  scopeIndex = 0;

  /** @internal Use the creation functions (tensor, zeros, ...) instead. */
  constructor(handle: Handle) {
    this.handle = handle;
    // Parameters and buffers belong to their module, not to a scope.
    if (new.target === Tensor) track(this);
    else this.guard();
  }

  /** @internal Wraps a native result. */
  static wrap(handle: Handle): Tensor {
    return new Tensor(handle);
  }

  // ---- facts -------------------------------------------------------------

  get shape(): Shape {
    return (this.#shape ??= Object.freeze(native.shape(this.handle)));
  }
  get dtype(): DType {
    return (this.#dtype ??= assertDType(native.dtype(this.handle)));
  }
  get device(): Device {
    return native.device(this.handle) as Device;
  }
  get ndim(): number {
    return this.shape.length;
  }
  dim(): number {
    return this.shape.length;
  }
  numel(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }
  /** The size of one dim (negative counts from the end), or the whole shape. */
  size(): Shape;
  size(dim: number): number;
  size(dim?: number): number | Shape {
    if (dim === undefined) return this.shape;
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim) throw new RangeError(`size: dim ${dim} is out of range for a tensor with ${this.ndim} dims`);
    return this.shape[d]!;
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  get isDisposed(): boolean {
    return this.#disposed;
  }

  // ---- memory ------------------------------------------------------------

  /** Frees the native tensor now. Other tensors sharing its storage stay valid. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.scope?.remove(this);
    native.dispose(this.handle);
    this.handle = DISPOSED_HANDLE;
  }
  /** @internal Lets the garbage collector free this tensor once it is unreachable. */
  guard(): void {
    if (this.#disposed || this.#guarded) return;
    native.guard(this.handle, this);
    this.#guarded = true;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- data out ----------------------------------------------------------

  /** A copy of the elements in row-major order (int64 as BigInt64Array, bool as Uint8Array). */
  toTypedArray(): AnyTypedArray {
    return typedArrayFrom(native.toArrayBuffer(this.handle), this.dtype);
  }
  /** The elements as nested arrays of numbers (or booleans for bool tensors). */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const isBool = this.dtype === 'bool';
    const shape = this.shape;
    const at = (i: number): number | boolean => {
      const v = flat[i]!;
      return isBool ? v !== 0 : Number(v);
    };
    if (shape.length === 0) return at(0);
    let offset = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = new Array(shape[d]!);
      for (let i = 0; i < shape[d]!; i++) out[i] = d === shape.length - 1 ? at(offset++) : build(d + 1);
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number;
  item<T extends number | boolean>(): T;
  item(): number | boolean {
    return native.item(this.handle);
  }
  toString(): string {
    const body = this.numel() <= 100 ? JSON.stringify(this.toArray()) : `[... ${this.numel()} elements]`;
    return `tensor(${body}, shape=[${this.shape.join(', ')}], dtype=${this.dtype}${this.device === 'cpu' ? '' : `, device=${this.device}`})`;
  }

  // ---- conversion --------------------------------------------------------

  /** A tensor of another dtype and/or device (this tensor itself when nothing changes). */
  to(target: DType | Device | { dtype?: DType; device?: Device }): Tensor {
    const opts = typeof target === 'string' ? (target === 'cpu' || target.startsWith('cuda') ? { device: target as Device } : { dtype: target as DType }) : target;
    return Tensor.wrap(native.to(this.handle, opts.dtype, opts.device));
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
  clone(): Tensor { return Tensor.wrap(native.clone(this.handle)); }
  contiguous(): Tensor { return Tensor.wrap(native.contiguous(this.handle)); }

  // ---- autograd ----------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(flag: boolean) {
    native.setRequiresGrad(this.handle, flag);
  }
  requiresGrad_(flag = true): this {
    native.setRequiresGrad(this.handle, flag);
    return this;
  }
  /** The accumulated gradient, or null. Each read returns a new wrapper of the same storage. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : Tensor.wrap(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  /** Backpropagates from this tensor; `gradient` is required unless it has one element. */
  backward(gradient?: Tensor | null, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const createGraph = options.createGraph ?? false;
    native.backward(this.handle, gradient?.handle, options.retainGraph ?? createGraph, createGraph);
  }
  detach(): Tensor { return Tensor.wrap(native.detach(this.handle)); }
  detach_(): this { native.detach_(this.handle); return this; }
  /** Makes this tensor refer to `src`'s data (PyTorch's `t.data = src`); shape, dtype and device may change. */
  setData_(src: Tensor): this {
    native.setData(this.handle, src?.handle);
    this.#shape = undefined;
    this.#dtype = undefined;
    return this;
  }

  // ---- elementwise -------------------------------------------------------

  /** this + alpha * other */
  add(other: TensorLike, alpha = 1): Tensor { return Tensor.wrap(native.add(this.handle, operand(other), alpha)); }
  /** this - alpha * other */
  sub(other: TensorLike, alpha = 1): Tensor { return Tensor.wrap(native.sub(this.handle, operand(other), alpha)); }
  mul(other: TensorLike): Tensor { return Tensor.wrap(native.mul(this.handle, operand(other))); }
  /** True division, or rounded with roundingMode 'trunc' or 'floor'. */
  div(other: TensorLike, roundingMode?: 'trunc' | 'floor'): Tensor { return Tensor.wrap(native.div(this.handle, operand(other), roundingMode)); }
  pow(exponent: TensorLike): Tensor { return Tensor.wrap(native.pow(this.handle, operand(exponent))); }
  remainder(other: TensorLike): Tensor { return Tensor.wrap(native.remainder(this.handle, operand(other))); }
  atan2(other: TensorLike): Tensor { return Tensor.wrap(native.atan2(this.handle, operand(other))); }
  minimum(other: TensorLike): Tensor { return Tensor.wrap(native.minimum(this.handle, operand(other))); }
  maximum(other: TensorLike): Tensor { return Tensor.wrap(native.maximum(this.handle, operand(other))); }
  neg(): Tensor { return Tensor.wrap(native.neg(this.handle)); }
  abs(): Tensor { return Tensor.wrap(native.abs(this.handle)); }
  sqrt(): Tensor { return Tensor.wrap(native.sqrt(this.handle)); }
  rsqrt(): Tensor { return Tensor.wrap(native.rsqrt(this.handle)); }
  square(): Tensor { return Tensor.wrap(native.square(this.handle)); }
  exp(): Tensor { return Tensor.wrap(native.exp(this.handle)); }
  log(): Tensor { return Tensor.wrap(native.log(this.handle)); }
  log1p(): Tensor { return Tensor.wrap(native.log1p(this.handle)); }
  expm1(): Tensor { return Tensor.wrap(native.expm1(this.handle)); }
  sign(): Tensor { return Tensor.wrap(native.sign(this.handle)); }
  sin(): Tensor { return Tensor.wrap(native.sin(this.handle)); }
  cos(): Tensor { return Tensor.wrap(native.cos(this.handle)); }
  floor(): Tensor { return Tensor.wrap(native.floor(this.handle)); }
  ceil(): Tensor { return Tensor.wrap(native.ceil(this.handle)); }
  round(): Tensor { return Tensor.wrap(native.round(this.handle)); }
  trunc(): Tensor { return Tensor.wrap(native.trunc(this.handle)); }
  reciprocal(): Tensor { return Tensor.wrap(native.reciprocal(this.handle)); }
  relu(): Tensor { return Tensor.wrap(native.relu(this.handle)); }
  sigmoid(): Tensor { return Tensor.wrap(native.sigmoid(this.handle)); }
  tanh(): Tensor { return Tensor.wrap(native.tanh(this.handle)); }
  softmax(dim: number): Tensor { return Tensor.wrap(native.softmax(this.handle, dim)); }
  logSoftmax(dim: number): Tensor { return Tensor.wrap(native.logSoftmax(this.handle, dim)); }
  /** Limits values to [min, max]; either bound may be omitted (null). */
  clamp(min?: number | null, max?: number | null): Tensor {
    if (min == null && max == null) throw new TypeError('clamp: give at least one of min and max');
    return Tensor.wrap(native.clamp(this.handle, min, max));
  }
  /** Elementwise: this where `condition` holds, else `other`. */
  where(condition: Tensor, other: TensorLike): Tensor { return Tensor.wrap(native.where(condition?.handle, this.handle, operand(other))); }

  // ---- comparison and logic ---------------------------------------------

  eq(other: TensorLike): Tensor { return Tensor.wrap(native.eq(this.handle, operand(other))); }
  ne(other: TensorLike): Tensor { return Tensor.wrap(native.ne(this.handle, operand(other))); }
  lt(other: TensorLike): Tensor { return Tensor.wrap(native.lt(this.handle, operand(other))); }
  le(other: TensorLike): Tensor { return Tensor.wrap(native.le(this.handle, operand(other))); }
  gt(other: TensorLike): Tensor { return Tensor.wrap(native.gt(this.handle, operand(other))); }
  ge(other: TensorLike): Tensor { return Tensor.wrap(native.ge(this.handle, operand(other))); }
  logicalAnd(other: TensorLike): Tensor { return Tensor.wrap(native.logicalAnd(this.handle, operand(other))); }
  logicalOr(other: TensorLike): Tensor { return Tensor.wrap(native.logicalOr(this.handle, operand(other))); }
  logicalXor(other: TensorLike): Tensor { return Tensor.wrap(native.logicalXor(this.handle, operand(other))); }
  logicalNot(): Tensor { return Tensor.wrap(native.logicalNot(this.handle)); }
  isnan(): Tensor { return Tensor.wrap(native.isnan(this.handle)); }
  isinf(): Tensor { return Tensor.wrap(native.isinf(this.handle)); }
  isfinite(): Tensor { return Tensor.wrap(native.isfinite(this.handle)); }
  /** True when shapes and all elements are equal. */
  equal(other: Tensor): boolean { return native.equal(this.handle, other?.handle); }
  allclose(other: Tensor, options: { rtol?: number; atol?: number; equalNan?: boolean } = {}): boolean {
    return native.allclose(this.handle, other?.handle, options.rtol ?? 1e-5, options.atol ?? 1e-8, options.equalNan ?? false);
  }

  // ---- reductions ----------------------------------------------------------

  sum(dim?: number | readonly number[] | null, keepdim = false, options: { dtype?: DType } = {}): Tensor {
    return Tensor.wrap(native.sum(this.handle, dimsOf(dim), keepdim, options.dtype));
  }
  mean(dim?: number | readonly number[] | null, keepdim = false, options: { dtype?: DType } = {}): Tensor {
    return Tensor.wrap(native.mean(this.handle, dimsOf(dim), keepdim, options.dtype));
  }
  prod(dim?: number | null, keepdim = false): Tensor { return Tensor.wrap(native.prod(this.handle, dim, keepdim)); }
  /** Variance with Bessel's correction by default (correction = 1), as in PyTorch. */
  var(dim?: number | readonly number[] | null, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return Tensor.wrap(native.var(this.handle, dimsOf(dim), options.correction ?? 1, options.keepdim ?? false));
  }
  std(dim?: number | readonly number[] | null, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return Tensor.wrap(native.std(this.handle, dimsOf(dim), options.correction ?? 1, options.keepdim ?? false));
  }
  /** The vector p-norm over `dim` (all elements by default). */
  norm(p = 2, dim?: number | readonly number[] | null, keepdim = false): Tensor {
    return Tensor.wrap(native.norm(this.handle, p, dimsOf(dim), keepdim));
  }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return Tensor.wrap(native.logsumexp(this.handle, dimsOf(dim)!, keepdim));
  }
  /** The largest element, or the largest along `dim` with its indices. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return Tensor.wrap(native.max(this.handle));
    const [values, indices] = native.maxDim(this.handle, dim, keepdim);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return Tensor.wrap(native.min(this.handle));
    const [values, indices] = native.minDim(this.handle, dim, keepdim);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  argmax(dim?: number | null, keepdim = false): Tensor { return Tensor.wrap(native.argmax(this.handle, dim, keepdim)); }
  argmin(dim?: number | null, keepdim = false): Tensor { return Tensor.wrap(native.argmin(this.handle, dim, keepdim)); }
  all(dim?: number | null, keepdim = false): Tensor { return Tensor.wrap(native.all(this.handle, dim, keepdim)); }
  any(dim?: number | null, keepdim = false): Tensor { return Tensor.wrap(native.any(this.handle, dim, keepdim)); }
  cumsum(dim: number): Tensor { return Tensor.wrap(native.cumsum(this.handle, dim)); }
  countNonzero(dim?: number | null): Tensor { return Tensor.wrap(native.countNonzero(this.handle, dim)); }

  // ---- matrix products -----------------------------------------------------

  matmul(other: Tensor): Tensor { return Tensor.wrap(native.matmul(this.handle, other?.handle)); }
  mm(other: Tensor): Tensor { return Tensor.wrap(native.mm(this.handle, other?.handle)); }
  bmm(other: Tensor): Tensor { return Tensor.wrap(native.bmm(this.handle, other?.handle)); }
  mv(vector: Tensor): Tensor { return Tensor.wrap(native.mv(this.handle, vector?.handle)); }
  dot(other: Tensor): Tensor { return Tensor.wrap(native.dot(this.handle, other?.handle)); }
  outer(other: Tensor): Tensor { return Tensor.wrap(native.outer(this.handle, other?.handle)); }

  // ---- shape -----------------------------------------------------------------

  reshape(...shape: (number | Shape)[]): Tensor { return Tensor.wrap(native.reshape(this.handle, shapeArgs(shape))); }
  view(...shape: (number | Shape)[]): Tensor { return Tensor.wrap(native.view(this.handle, shapeArgs(shape))); }
  flatten(startDim = 0, endDim = -1): Tensor { return Tensor.wrap(native.flatten(this.handle, startDim, endDim)); }
  permute(...dims: (number | Shape)[]): Tensor { return Tensor.wrap(native.permute(this.handle, shapeArgs(dims))); }
  transpose(dim0: number, dim1: number): Tensor { return Tensor.wrap(native.transpose(this.handle, dim0, dim1)); }
  /** Transpose of a matrix (a 0- or 1-dim tensor gives a view of itself). */
  t(): Tensor { return Tensor.wrap(native.t(this.handle)); }
  squeeze(dim?: number): Tensor { return Tensor.wrap(native.squeeze(this.handle, dim)); }
  unsqueeze(dim: number): Tensor { return Tensor.wrap(native.unsqueeze(this.handle, dim)); }
  expand(...shape: (number | Shape)[]): Tensor { return Tensor.wrap(native.expand(this.handle, shapeArgs(shape))); }
  expandAs(other: Tensor): Tensor { return this.expand(other.shape); }
  repeat(...repeats: (number | Shape)[]): Tensor { return Tensor.wrap(native.repeat(this.handle, shapeArgs(repeats))); }
  flip(...dims: (number | Shape)[]): Tensor { return Tensor.wrap(native.flip(this.handle, shapeArgs(dims))); }
  /** Splits into pieces of `size` along `dim`, or into pieces of the given sizes. */
  split(size: number | readonly number[], dim = 0): Tensor[] { return native.split(this.handle, size, dim).map(Tensor.wrap); }
  chunk(chunks: number, dim = 0): Tensor[] { return native.chunk(this.handle, chunks, dim).map(Tensor.wrap); }
  unbind(dim = 0): Tensor[] { return native.unbind(this.handle, dim).map(Tensor.wrap); }
  narrow(dim: number, start: number, length: number): Tensor { return Tensor.wrap(native.narrow(this.handle, dim, start, length)); }
  /** Python's t[start:end:step] along one dim; a view. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return Tensor.wrap(native.slice(this.handle, dim, start, end, step));
  }
  /** Python's t[..., index, ...] at `dim`; removes that dim. */
  select(dim: number, index: number): Tensor { return Tensor.wrap(native.select(this.handle, dim, index)); }
  /**
   * Python-style indexing, one spec per leading dim: a number selects, a
   * `{start, end, step}` range slices, null keeps the whole dim, and a tensor
   * indexes: integer indices, or a boolean mask over as many dims as it has.
   * As in PyTorch, several index tensors broadcast together and pick elements
   * pairwise (not an outer product), and the specs after a mask are placed as
   * though it covered one dim (so a multi-dim mask goes last). The result
   * keeps the graph: gradients flow back to this tensor.
   */
  index(...specs: IndexSpec[]): Tensor {
    // PyTorch's order: numbers and ranges first, as views, then every index
    // tensor in one advanced-indexing call, each at the dim it was given for.
    let out: Tensor = this;
    const views: Tensor[] = [];
    const indices: (Handle | null)[] = [];
    let dim = 0;
    try {
      for (const spec of specs) {
        if (spec === null) dim++;
        else if (typeof spec === 'number') views.push((out = out.select(dim, spec)));
        else if (spec instanceof Tensor) {
          while (indices.length < dim) indices.push(null);
          indices.push(spec.handle);
          dim++;
        } else {
          views.push((out = out.slice(dim, spec.start, spec.end, spec.step ?? 1)));
          dim++;
        }
      }
      if (indices.length > 0) return Tensor.wrap(native.index(out.handle, indices));
      if (out === this) return Tensor.wrap(native.alias(this.handle));
      views.pop();
      return out;
    } finally {
      for (const v of views) v.dispose();
    }
  }
  indexSelect(dim: number, index: Tensor): Tensor { return Tensor.wrap(native.indexSelect(this.handle, dim, index?.handle)); }
  gather(dim: number, index: Tensor): Tensor { return Tensor.wrap(native.gather(this.handle, dim, index?.handle)); }
  /** Out of place: writes `src` (tensor or number) at `index` along `dim`. */
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor { return Tensor.wrap(native.scatter(this.handle, dim, index?.handle, operand(src))); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return Tensor.wrap(native.scatterAdd(this.handle, dim, index?.handle, src?.handle)); }
  maskedFill(mask: Tensor, value: number | boolean): Tensor { return Tensor.wrap(native.maskedFill(this.handle, mask?.handle, value)); }
  maskedSelect(mask: Tensor): Tensor { return Tensor.wrap(native.maskedSelect(this.handle, mask?.handle)); }
  nonzero(): Tensor { return Tensor.wrap(native.nonzero(this.handle)); }

  // ---- ordering ---------------------------------------------------------------

  sort(dim = -1, descending = false, options: { stable?: boolean } = {}): ValuesIndices {
    const [values, indices] = native.sort(this.handle, dim, descending, options.stable ?? false);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  argsort(dim = -1, descending = false, options: { stable?: boolean } = {}): Tensor {
    return Tensor.wrap(native.argsort(this.handle, dim, descending, options.stable ?? false));
  }
  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    const [values, indices] = native.topk(this.handle, k, dim, largest, sorted);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  /** The k-th smallest element along `dim` (k counts from 1). */
  kthvalue(k: number, dim = -1, keepdim = false): ValuesIndices {
    const [values, indices] = native.kthvalue(this.handle, k, dim, keepdim);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  quantile(q: number | Tensor, dim?: number | null, keepdim = false, interpolation: 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest' = 'linear'): Tensor {
    return Tensor.wrap(native.quantile(this.handle, operand(q), dim, keepdim, interpolation));
  }

  // ---- in place ------------------------------------------------------------------

  add_(other: TensorLike, alpha = 1): this { native.add_(this.handle, operand(other), alpha); return this; }
  sub_(other: TensorLike, alpha = 1): this { native.sub_(this.handle, operand(other), alpha); return this; }
  mul_(other: TensorLike): this { native.mul_(this.handle, operand(other)); return this; }
  div_(other: TensorLike): this { native.div_(this.handle, operand(other)); return this; }
  pow_(exponent: TensorLike): this { native.pow_(this.handle, operand(exponent)); return this; }
  sqrt_(): this { native.sqrt_(this.handle); return this; }
  abs_(): this { native.abs_(this.handle); return this; }
  neg_(): this { native.neg_(this.handle); return this; }
  maximum_(other: TensorLike): this { native.maximum_(this.handle, operand(other)); return this; }
  /** this += value * a * b */
  addcmul_(a: Tensor, b: Tensor, value = 1): this { native.addcmul_(this.handle, a?.handle, b?.handle, value); return this; }
  /** this += value * a / b */
  addcdiv_(a: Tensor, b: Tensor, value = 1): this { native.addcdiv_(this.handle, a?.handle, b?.handle, value); return this; }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this { native.lerp_(this.handle, end?.handle, weight); return this; }
  clamp_(min?: number | null, max?: number | null): this {
    if (min == null && max == null) throw new TypeError('clamp_: give at least one of min and max');
    native.clamp_(this.handle, min, max);
    return this;
  }
  copy_(src: Tensor): this { native.copy_(this.handle, src?.handle); return this; }
  zero_(): this { native.zero_(this.handle); return this; }
  fill_(value: number | boolean): this { native.fill_(this.handle, value); return this; }
  maskedFill_(mask: Tensor, value: number | boolean): this { native.maskedFill_(this.handle, mask?.handle, value); return this; }
  /** this[index] = values (accumulating with `accumulate`), index being integer indices or a boolean mask along dim 0. */
  indexPut_(index: Tensor, values: TensorLike, accumulate = false): this {
    native.indexPut_(this.handle, [index?.handle], operand(values), accumulate);
    return this;
  }
  uniform_(low = 0, high = 1): this { native.uniform_(this.handle, low, high); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(this.handle, mean, std); return this; }
}

setTensorPredicate((v: unknown): v is Tensor => v instanceof Tensor);
