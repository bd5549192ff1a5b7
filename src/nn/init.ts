// Parameter initialisation, as torch.nn.init. Every function fills its tensor
// in place under noGrad and returns it. The bounds are computed with the same
// double-precision steps as PyTorch and drawn from the global generator with
// one uniform_ or normal_ call, so after the same manualSeed the values are
// PyTorch's exactly.
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

/** The layers and activations calculateGain knows, with PyTorch's names camelCased. */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'convTranspose1d'
  | 'convTranspose2d'
  | 'convTranspose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leakyRelu'
  | 'selu';

/** Whether an initialiser scales by the fan-in (forward pass) or the fan-out (backward pass). */
export type FanMode = 'fanIn' | 'fanOut';

const LINEAR_FNS: readonly string[] = ['linear', 'conv1d', 'conv2d', 'conv3d', 'convTranspose1d', 'convTranspose2d', 'convTranspose3d'];

/**
 * The recommended gain for a nonlinearity; `param` is leakyRelu's negative
 * slope (default 0.01).
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number | null): number {
  if (LINEAR_FNS.includes(nonlinearity) || nonlinearity === 'sigmoid') return 1;
  switch (nonlinearity) {
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new TypeError(`calculateGain: negative slope ${String(slope)} is not a valid number`);
      // slope * slope rather than slope ** 2: both are the correctly rounded
      // square, which is what Python's float ** 2 yields.
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw new TypeError(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * [fanIn, fanOut] of a weight shaped [out, in, ...kernel]: in and out times
 * the kernel's size. Needs at least 2 dims.
 */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  const shape = tensor.shape;
  if (shape.length < 2) {
    throw new RangeError(`calculateFanInAndFanOut: fan in and fan out can not be computed for a tensor with fewer than 2 dims (shape [${shape.join(', ')}])`);
  }
  let receptiveField = 1;
  for (let d = 2; d < shape.length; d++) receptiveField *= shape[d]!;
  return [shape[1]! * receptiveField, shape[0]! * receptiveField];
}

function correctFan(tensor: Tensor, mode: FanMode): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new TypeError(`init: mode '${String(mode)}' is not supported, use 'fanIn' or 'fanOut'`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return mode === 'fanIn' ? fanIn : fanOut;
}

/** Fills with U(a, b). */
export function uniform_<T extends Tensor>(tensor: T, a = 0, b = 1): T {
  return noGrad(() => tensor.uniform_(a, b));
}

/** Fills with N(mean, std²). */
export function normal_<T extends Tensor>(tensor: T, mean = 0, std = 1): T {
  return noGrad(() => tensor.normal_(mean, std));
}

/** Fills `tensor` with `value`, without recording gradients. */
export function constant_<T extends Tensor>(tensor: T, value: number): T {
  return noGrad(() => tensor.fill_(value));
}
/** Fills `tensor` with zeros, without recording gradients. */
export function zeros_<T extends Tensor>(tensor: T): T {
  return noGrad(() => tensor.zero_());
}
/** Fills `tensor` with ones, without recording gradients. */
export function ones_<T extends Tensor>(tensor: T): T {
  return noGrad(() => tensor.fill_(1));
}

/** The rectifier, fan mode and nonlinearity the Kaiming initialisers scale for. */
export interface KaimingOptions {
  /** The negative slope of the rectifier after this layer (leakyRelu only; default 0). */
  a?: number;
  /** Preserve the variance of the forward pass ('fanIn', default) or of the backward pass ('fanOut'). */
  mode?: FanMode;
  /** Default 'leakyRelu'. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(tensor: Tensor, options: KaimingOptions): number {
  const fan = correctFan(tensor, options.mode ?? 'fanIn');
  const gain = calculateGain(options.nonlinearity ?? 'leakyRelu', options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He initialisation: U(-bound, bound) with bound = gain * sqrt(3 / fan). */
export function kaimingUniform_<T extends Tensor>(tensor: T, options: KaimingOptions = {}): T {
  if (tensor.numel() === 0) return tensor;
  const bound = Math.sqrt(3.0) * kaimingStd(tensor, options);
  return noGrad(() => tensor.uniform_(-bound, bound));
}

/** He initialisation: N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_<T extends Tensor>(tensor: T, options: KaimingOptions = {}): T {
  if (tensor.numel() === 0) return tensor;
  const std = kaimingStd(tensor, options);
  return noGrad(() => tensor.normal_(0, std));
}

function xavierStd(tensor: Tensor, gain: number): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return gain * Math.sqrt(2.0 / (fanIn + fanOut));
}

/** Glorot initialisation: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_<T extends Tensor>(tensor: T, gain = 1): T {
  const a = Math.sqrt(3.0) * xavierStd(tensor, gain);
  return noGrad(() => tensor.uniform_(-a, a));
}

/** Glorot initialisation: N(0, std²) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_<T extends Tensor>(tensor: T, gain = 1): T {
  const std = xavierStd(tensor, gain);
  return noGrad(() => tensor.normal_(0, std));
}
