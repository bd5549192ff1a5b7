// Functional forms of operations that take several tensors, or whose first
// operand may be a plain number, in PyTorch's torch.* style.
import { native } from './native.js';
import { type TensorLike, Tensor, operand } from './tensor.js';

function atLeastOne(name: string, tensors: readonly Tensor[]): void {
  if (tensors.length === 0) throw new TypeError(`${name}: expected a non-empty array of tensors`);
}

/** Concatenates along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  atLeastOne('cat', tensors);
  return Tensor.wrap(native.cat(tensors.map((t) => t?.handle), dim));
}
/** Stacks along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  atLeastOne('stack', tensors);
  return Tensor.wrap(native.stack(tensors.map((t) => t?.handle), dim));
}
/** Elementwise `condition ? a : b`; a and b may be numbers. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return Tensor.wrap(native.where(condition?.handle, operand(a), operand(b)));
}
/** a + alpha · b, broadcast; numbers act as scalars. */
export function add(a: TensorLike, b: TensorLike, alpha = 1): Tensor { return Tensor.wrap(native.add(operand(a), operand(b), alpha)); }
/** a − alpha · b, broadcast; numbers act as scalars. */
export function sub(a: TensorLike, b: TensorLike, alpha = 1): Tensor { return Tensor.wrap(native.sub(operand(a), operand(b), alpha)); }
/** a · b elementwise, broadcast; numbers act as scalars. */
export function mul(a: TensorLike, b: TensorLike): Tensor { return Tensor.wrap(native.mul(operand(a), operand(b))); }
/** a / b elementwise, broadcast; `roundingMode` truncates or floors the quotient. */
export function div(a: TensorLike, b: TensorLike, roundingMode?: 'trunc' | 'floor'): Tensor {
  return Tensor.wrap(native.div(operand(a), operand(b), roundingMode));
}
/** base raised to exponent elementwise, broadcast. */
export function pow(base: TensorLike, exponent: TensorLike): Tensor { return Tensor.wrap(native.pow(operand(base), operand(exponent))); }
/** The smaller of a and b elementwise (NaN if either is NaN). */
export function minimum(a: TensorLike, b: TensorLike): Tensor { return Tensor.wrap(native.minimum(operand(a), operand(b))); }
/** The larger of a and b elementwise (NaN if either is NaN). */
export function maximum(a: TensorLike, b: TensorLike): Tensor { return Tensor.wrap(native.maximum(operand(a), operand(b))); }
/** The matrix product of a and b, batched and broadcast as torch.matmul. */
export function matmul(a: Tensor, b: Tensor): Tensor { return a.matmul(b); }
/** The outer product of two vectors. */
export function outer(a: Tensor, b: Tensor): Tensor { return a.outer(b); }
/** beta * input + alpha * (a @ b) */
export function addmm(input: Tensor, a: Tensor, b: Tensor, options: { beta?: number; alpha?: number } = {}): Tensor {
  return Tensor.wrap(native.addmm(input?.handle, a?.handle, b?.handle, options.beta ?? 1, options.alpha ?? 1));
}
