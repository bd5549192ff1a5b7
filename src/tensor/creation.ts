// Creating tensors: from data, factories, random draws, and `*Like` variants.
import { type DType, dtypeOfTypedArray, typedArrayOfValues } from './dtype.js';
import { native } from './native.js';
import { type Device, type Shape, Tensor } from './tensor.js';

/** The dtype, device and requiresGrad of a new tensor (default float32, cpu, false). */
export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

/** What tensor() accepts as elements: numbers, booleans and bigints, nested in rectangular arrays. */
export type NestedData = number | boolean | bigint | readonly NestedData[];
type Element = number | boolean | bigint;
type Data = NestedData | ArrayBufferView;

// No tensor needs more dimensions, and a cyclic array (a = [a]) would
// otherwise be followed forever.
const MAX_NESTING = 64;

/** "[1][0]", or "the data" for the top level. */
function position(path: readonly number[]): string {
  return path.length === 0 ? 'the data' : `element ${path.map((i) => `[${i}]`).join('')}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined (a hole in the array?)';
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} (typed arrays cannot be nested: pass one typed array and the shape option)`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `a ${typeof value}`;
}

function isElement(value: unknown): value is Element {
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint';
}

/**
 * The elements of nested arrays, row-major, and their shape, which the first
 * element at each depth sets. Anything but a number, boolean or bigint, and
 * any sub-array of another length or depth, is refused with its position,
 * rather than coerced ('2' to 2, null to 0, 'abc' to NaN).
 */
function flattenNested(data: NestedData): { values: Element[]; shape: number[] } {
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    if (shape.length === MAX_NESTING) throw new RangeError(`tensor: the arrays are nested more than ${MAX_NESTING} deep (is an array inside itself?)`);
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: Element[] = [];
  const path: number[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) {
        throw new TypeError(`tensor: nested arrays are ragged: ${position(path)} is ${describe(node)} where a number was expected, as at ${position(path.map(() => 0))}`);
      }
      if (!isElement(node)) {
        const expected = path.length === 0 ? 'a number, boolean, bigint, typed array or nested arrays of them' : 'a number, boolean or bigint';
        throw new TypeError(`tensor: ${position(path)} is ${describe(node)}; expected ${expected}`);
      }
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const what = Array.isArray(node) || isElement(node) ? describe(node) : `${describe(node)}, not an array`;
      throw new TypeError(`tensor: nested arrays are ragged: ${position(path)} is ${what}; expected an array of length ${shape[depth]}, as at ${position(path.map(() => 0))}`);
    }
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      walk(node[i], depth + 1);
      path.pop();
    }
  };
  walk(data, 0);
  return { values, shape };
}

/**
 * PyTorch's inference: booleans give bool, integers int64, anything else
 * float32. JavaScript has no integer type, so "integer" means a safe integer
 * or a bigint: an integer-valued number beyond 2^53 (1e20, say) is the result
 * of floating arithmetic, and as int64 it would be inexact or, past 2^63, wrap
 * around.
 */
function inferDType(values: readonly Element[]): DType {
  if (values.length > 0 && values.every((v) => typeof v === 'boolean')) return 'bool';
  if (values.some((v) => typeof v === 'boolean')) throw new TypeError('tensor: cannot mix booleans and numbers');
  if (values.some((v) => typeof v === 'bigint')) return 'int64';
  return values.every((v) => Number.isSafeInteger(v)) && values.length > 0 ? 'int64' : 'float32';
}

/**
 * A tensor holding a copy of `data`: a number, boolean or bigint, rectangular
 * nested arrays of them, or a typed array (whose type gives the dtype).
 * Integer-valued numbers and bigints give int64 as in PyTorch; pass `dtype`
 * for anything else.
 */
export function tensor(data: Data, options: TensorOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfTypedArray(data);
    const shape = options.shape ?? [(data as unknown as ArrayLike<unknown>).length];
    const t = Tensor.wrap(native.fromTypedArray(data, own, shape));
    return finish(t, own, options);
  }
  const { values, shape } = flattenNested(data);
  const dtype = options.dtype ?? inferDType(values);
  const t = Tensor.wrap(native.fromTypedArray(typedArrayOfValues(values, dtype), dtype, options.shape ?? shape, options.device));
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function finish(t: Tensor, own: DType, options: TensorOptions): Tensor {
  let out = t;
  if ((options.dtype !== undefined && options.dtype !== own) || (options.device !== undefined && options.device !== 'cpu')) {
    out = t.to({ dtype: options.dtype ?? own, device: options.device ?? 'cpu' });
    t.dispose();
  }
  if (options.requiresGrad) out.requiresGrad_(true);
  return out;
}

/** A tensor of `shape` filled with zeros. */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.zeros(shape, options.dtype, options.device, options.requiresGrad));
}
/** A tensor of `shape` filled with ones. */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.ones(shape, options.dtype, options.device, options.requiresGrad));
}
/** Uninitialised memory: every element must be written before it is read. */
export function empty(shape: Shape, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.empty(shape, options.dtype, options.device, options.requiresGrad));
}
/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number | boolean, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.full(shape, value, options.dtype, options.device, options.requiresGrad));
}
/** A 0-dim tensor. */
export function scalar(value: number | boolean, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.scalarTensor(value, options.dtype, options.device, options.requiresGrad));
}

/** arange(end) or arange(start, end, step): integers give int64, as in PyTorch. */
export function arange(end: number, options?: TensorOptions): Tensor;
export function arange(start: number, end: number, step?: number, options?: TensorOptions): Tensor;
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  const [start, end, step, options] =
    typeof b === 'number' ? [a, b, typeof c === 'number' ? c : 1, (typeof c === 'object' ? c : d) ?? {}] : [0, a, 1, b ?? {}];
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  return Tensor.wrap(native.arange(start, end, step, options.dtype, options.device, options.requiresGrad));
}
/** `steps` evenly spaced values from `start` to `end`, both included. */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.linspace(start, end, steps, options.dtype, options.device, options.requiresGrad));
}
/** An n × m matrix with ones on the diagonal (square by default). */
export function eye(n: number, m: number = n, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.eye(n, m, options.dtype, options.device, options.requiresGrad));
}

/** Uniform on [0, 1), from the global generator (see manualSeed). */
export function rand(shape: Shape, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.rand(shape, options.dtype, options.device, options.requiresGrad));
}
/** Standard normal, from the global generator. */
export function randn(shape: Shape, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.randn(shape, options.dtype, options.device, options.requiresGrad));
}
/** Integers uniform on [low, high), int64 unless a dtype is given. */
export function randint(low: number, high: number, shape: Shape, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.randint(low, high, shape, options.dtype ?? 'int64', options.device, options.requiresGrad));
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return Tensor.wrap(native.randperm(n, options.dtype ?? 'int64', options.device, options.requiresGrad));
}
/** Draws 0/1 with the probabilities in `p`. */
export function bernoulli(p: Tensor): Tensor {
  return Tensor.wrap(native.bernoulli(p?.handle));
}
/** Draws `numSamples` category indices per row of `probs`. */
export function multinomial(probs: Tensor, numSamples: number, replacement = false): Tensor {
  return Tensor.wrap(native.multinomial(probs?.handle, numSamples, replacement));
}

function likeOptions(t: Tensor, options: TensorOptions): TensorOptions {
  return { dtype: options.dtype ?? t.dtype, device: options.device ?? t.device, requiresGrad: options.requiresGrad ?? false };
}
/** Zeros of `t`'s shape, dtype and device (options override). */
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor { return zeros(t.shape, likeOptions(t, options)); }
/** Ones of `t`'s shape, dtype and device (options override). */
export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor { return ones(t.shape, likeOptions(t, options)); }
/** Uninitialised memory of `t`'s shape, dtype and device (options override). */
export function emptyLike(t: Tensor, options: TensorOptions = {}): Tensor { return empty(t.shape, likeOptions(t, options)); }
/** `value` in `t`'s shape, dtype and device (options override). */
export function fullLike(t: Tensor, value: number | boolean, options: TensorOptions = {}): Tensor { return full(t.shape, value, likeOptions(t, options)); }
/** Uniform draws on [0, 1) in `t`'s shape, dtype and device (options override). */
export function randLike(t: Tensor, options: TensorOptions = {}): Tensor { return rand(t.shape, likeOptions(t, options)); }
/** Standard normal draws in `t`'s shape, dtype and device (options override). */
export function randnLike(t: Tensor, options: TensorOptions = {}): Tensor { return randn(t.shape, likeOptions(t, options)); }
/** Integers uniform on [low, high) in `t`'s shape, dtype and device (options override). */
export function randintLike(t: Tensor, low: number, high: number, options: TensorOptions = {}): Tensor {
  return randint(low, high, t.shape, likeOptions(t, options));
}
