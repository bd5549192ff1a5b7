// Stateless neural-network functions, as torch.nn.functional: tensors are
// positional, settings go in an options object with PyTorch's defaults.
// Checks here cover only mistakes whose libtorch error would be cryptic or
// missing; everything else is left to libtorch, whose messages are clear.
import type { DType } from '../tensor/dtype.js';
import { native } from '../tensor/native.js';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/creation.js';
import { cat } from '../tensor/functions.js';
import { type Size2, pair } from './size.js';

export type { Size2 } from './size.js';
/** How a loss combines its per-element values: their mean, their sum, or none (one value per element). */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(fn: string, reduction: string): void {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new TypeError(`${fn}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  }
}

// libtorch reports an int32 target as "expected scalar type Long but found Int",
// which does not say which argument or what to do; JavaScript makes int32 easy.
function checkClassTarget(fn: string, input: Tensor, target: Tensor): void {
  const floating = target.dtype === 'float32' || target.dtype === 'float64';
  if (!floating && target.dtype !== 'int64') {
    throw new TypeError(`${fn}: class-index targets must be int64, got ${target.dtype} (convert with target.long())`);
  }
  if (floating && fn === 'nllLoss') throw new TypeError(`nllLoss: the target must hold int64 class indices, got ${target.dtype}`);
  if (floating && input.dtype !== target.dtype) {
    throw new TypeError(`${fn}: probability targets must have the input's dtype (${input.dtype}), got ${target.dtype}`);
  }
}

// ---- linear and convolution ---------------------------------------------------

/** x @ weightᵀ + bias, with weight [out, in]. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return Tensor.wrap(native.linear(input.handle, weight.handle, bias?.handle));
}

/** Stride, padding, dilation and groups of conv2d (PyTorch's defaults). */
export interface Conv2dOptions {
  stride?: Size2;
  /** Zero padding on each side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Size2 | 'valid' | 'same';
  dilation?: Size2;
  groups?: number;
}

/** 2-d convolution of [N, C, H, W] (or unbatched [C, H, W]) with weight [out, C / groups, kh, kw]. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const stride = pair('conv2d', 'stride', options.stride ?? 1, 1);
  const dilation = pair('conv2d', 'dilation', options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`conv2d: groups must be a positive integer, got ${groups}`);
  const padding = options.padding ?? 0;
  if (padding === 'valid') return convolve(input, weight, bias, stride, [0, 0], dilation, groups);
  if (padding !== 'same') return convolve(input, weight, bias, stride, pair('conv2d', 'padding', padding, 0), dilation, groups);

  if (stride[0] !== 1 || stride[1] !== 1) throw new RangeError("conv2d: padding='same' is not supported for strided convolutions");
  if (weight.ndim !== 4) throw new RangeError(`conv2d: the weight must be 4-d [out, in / groups, kh, kw], got shape [${weight.shape.join(', ')}]`);
  // As ATen's same-padding: half of dilation * (k - 1) on both sides, and
  // when that total is odd, the extra row or column at the bottom or right.
  const total = [dilation[0] * (weight.shape[2]! - 1), dilation[1] * (weight.shape[3]! - 1)];
  const symmetric: [number, number] = [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2)];
  let padded = input;
  const temps: Tensor[] = [];
  for (const d of [0, 1]) {
    if (total[d]! % 2 === 0) continue;
    const dim = padded.ndim - 2 + d;
    const shape = [...padded.shape];
    shape[dim] = 1;
    const zero = zeros(shape, { dtype: padded.dtype, device: padded.device });
    padded = cat([padded, zero], dim);
    temps.push(zero, padded);
  }
  try {
    return convolve(padded, weight, bias, stride, symmetric, dilation, groups);
  } finally {
    for (const t of temps) t.dispose();
  }
}

function convolve(input: Tensor, weight: Tensor, bias: Tensor | null | undefined, stride: number[], padding: number[], dilation: number[], groups: number): Tensor {
  return Tensor.wrap(native.conv2d(input.handle, weight.handle, bias?.handle, stride, padding, dilation, groups));
}

// ---- pooling --------------------------------------------------------------------

/** Settings of maxPool2d (PyTorch's defaults). */
export interface MaxPool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Size2 | null;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

/** The maximum over each `kernelSize` window of [N, C, H, W] (or [C, H, W]). */
export function maxPool2d(input: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): Tensor {
  const kernel = pair('maxPool2d', 'kernelSize', kernelSize, 1);
  const stride = options.stride == null ? kernel : pair('maxPool2d', 'stride', options.stride, 1);
  const padding = pair('maxPool2d', 'padding', options.padding ?? 0, 0);
  const dilation = pair('maxPool2d', 'dilation', options.dilation ?? 1, 1);
  return Tensor.wrap(native.maxPool2d(input.handle, kernel, stride, padding, dilation, options.ceilMode ?? false));
}

/** Settings of avgPool2d (PyTorch's defaults). */
export interface AvgPool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  /** Count the zero padding in each window's divisor (default true). */
  countIncludePad?: boolean;
}

/** The mean over each `kernelSize` window of [N, C, H, W] (or [C, H, W]). */
export function avgPool2d(input: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): Tensor {
  const kernel = pair('avgPool2d', 'kernelSize', kernelSize, 1);
  const stride = options.stride == null ? kernel : pair('avgPool2d', 'stride', options.stride, 1);
  const padding = pair('avgPool2d', 'padding', options.padding ?? 0, 0);
  return Tensor.wrap(native.avgPool2d(input.handle, kernel, stride, padding, options.ceilMode ?? false, options.countIncludePad ?? true));
}

/** An output size for adaptive pooling; null keeps the input's size in that dim. */
export type AdaptiveSize2 = number | readonly [number | null, number | null];

/** Average pooling to a fixed output size, whatever the input size (windows chosen as PyTorch does). */
export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize2): Tensor {
  if (input.ndim !== 3 && input.ndim !== 4) throw new RangeError(`adaptiveAvgPool2d: expected a 3-d or 4-d input, got shape [${input.shape.join(', ')}]`);
  const [h, w] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const size = pair('adaptiveAvgPool2d', 'outputSize', [h ?? input.shape[input.ndim - 2]!, w ?? input.shape[input.ndim - 1]!], 1);
  return Tensor.wrap(native.adaptiveAvgPool2d(input.handle, size));
}

/** Settings of unfold (PyTorch's defaults). */
export interface UnfoldOptions {
  dilation?: Size2;
  padding?: Size2;
  stride?: Size2;
}

/** Extracts sliding blocks (im2col): [N, C, H, W] to [N, C * kh * kw, L]. */
export function unfold(input: Tensor, kernelSize: Size2, options: UnfoldOptions = {}): Tensor {
  const kernel = pair('unfold', 'kernelSize', kernelSize, 1);
  const dilation = pair('unfold', 'dilation', options.dilation ?? 1, 1);
  const padding = pair('unfold', 'padding', options.padding ?? 0, 0);
  const stride = pair('unfold', 'stride', options.stride ?? 1, 1);
  return Tensor.wrap(native.unfold(input.handle, kernel, dilation, padding, stride));
}

// ---- normalisation and dropout --------------------------------------------------------

/** Affine parameters, mode and settings of batchNorm. */
export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with the batch's statistics and update the running ones (default false). */
  training?: boolean;
  /** Weight of the new batch in the running statistics (default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dim 1. In training mode the running statistics, when
 * given, are updated in place (variance unbiased, as PyTorch does).
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  const training = options.training ?? false;
  if (training) {
    // libtorch accepts this silently and returns zeros (and a NaN running variance).
    let perChannel = input.shape[0] ?? 1;
    for (let d = 2; d < input.ndim; d++) perChannel *= input.shape[d]!;
    if (perChannel === 1) {
      throw new RangeError(`batchNorm: expected more than 1 value per channel when training, got input shape [${input.shape.join(', ')}]`);
    }
  }
  return Tensor.wrap(
    native.batchNorm(input.handle, runningMean?.handle, runningVar?.handle, options.weight?.handle, options.bias?.handle, training, options.momentum ?? 0.1, options.eps ?? 1e-5),
  );
}

/** Probability and mode of dropout. */
export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Identity when false (default true). */
  training?: boolean;
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p). */
export function dropout(input: Tensor, options: DropoutOptions = {}): Tensor {
  const p = options.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: probability has to be between 0 and 1, but got ${p}`);
  return Tensor.wrap(native.dropout(input.handle, p, options.training ?? true));
}

// ---- activations ----------------------------------------------------------------------

/** max(x, 0), elementwise. */
export function relu(input: Tensor): Tensor {
  return Tensor.wrap(native.relu(input.handle));
}
/** x where x > 0, else negativeSlope · x (default 0.01). */
export function leakyRelu(input: Tensor, options: { negativeSlope?: number } = {}): Tensor {
  return Tensor.wrap(native.leakyRelu(input.handle, options.negativeSlope ?? 0.01));
}
/** 1 / (1 + e^−x), elementwise. */
export function sigmoid(input: Tensor): Tensor {
  return Tensor.wrap(native.sigmoid(input.handle));
}
/** The hyperbolic tangent, elementwise. */
export function tanh(input: Tensor): Tensor {
  return Tensor.wrap(native.tanh(input.handle));
}
/** GELU computed exactly ('none') or by its tanh approximation. */
export type GeluApproximate = 'none' | 'tanh';
/** Exact GELU (erf), or its tanh approximation. */
export function gelu(input: Tensor, options: { approximate?: GeluApproximate } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new TypeError(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return Tensor.wrap(native.gelu(input.handle, approximate));
}

/** Runs `op` on the input cast to `dtype` first, as PyTorch's dtype argument does. */
function withDType(input: Tensor, dtype: DType | undefined, op: (x: Tensor) => Tensor): Tensor {
  if (dtype === undefined || dtype === input.dtype) return op(input);
  const cast = input.to(dtype);
  try {
    return op(cast);
  } finally {
    cast.dispose();
  }
}
/** exp(x) normalised to sum to 1 along `dim`; `dtype` casts the input first. */
export function softmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return withDType(input, options.dtype, (x) => Tensor.wrap(native.softmax(x.handle, dim)));
}
/** The log of softmax along `dim`, computed stably; `dtype` casts the input first. */
export function logSoftmax(input: Tensor, dim: number, options: { dtype?: DType } = {}): Tensor {
  return withDType(input, options.dtype, (x) => Tensor.wrap(native.logSoftmax(x.handle, dim)));
}

// ---- losses ---------------------------------------------------------------------------

/** Class weights, reduction, ignored class and label smoothing of crossEntropy. */
export interface CrossEntropyOptions {
  /** A weight per class. */
  weight?: Tensor | null;
  reduction?: Reduction;
  /** Targets equal to this class contribute nothing (default -100). */
  ignoreIndex?: number;
  /** Mixes the target with the uniform distribution by this amount (default 0). */
  labelSmoothing?: number;
}

/**
 * Cross entropy of logits [N, C] (or [N, C, d1, ...]) against int64 class
 * indices [N] (or [N, d1, ...]) or class probabilities shaped like the input.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  checkReduction('crossEntropy', reduction);
  checkClassTarget('crossEntropy', input, target);
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  return Tensor.wrap(native.crossEntropy(input.handle, target.handle, options.weight?.handle, reduction, options.ignoreIndex ?? -100, smoothing));
}

/** Class weights, reduction and ignored class of nllLoss. */
export interface NllLossOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
}

/** Negative log-likelihood of log-probabilities [N, C] (or [N, C, d1, ...]) at int64 class indices. */
export function nllLoss(input: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  checkReduction('nllLoss', reduction);
  checkClassTarget('nllLoss', input, target);
  return Tensor.wrap(native.nllLoss(input.handle, target.handle, options.weight?.handle, reduction, options.ignoreIndex ?? -100));
}

/** The squared difference of input and target, reduced (mean by default). */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  checkReduction('mseLoss', reduction);
  return Tensor.wrap(native.mseLoss(input.handle, target.handle, reduction));
}

/** int64 class indices to one-hot int64 rows; numClasses -1 means max + 1. */
export function oneHot(input: Tensor, numClasses = -1): Tensor {
  if (input.dtype !== 'int64') throw new TypeError(`oneHot: expected int64 class indices, got ${input.dtype} (convert with .long())`);
  return Tensor.wrap(native.oneHot(input.handle, numClasses));
}
