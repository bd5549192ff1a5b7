// Convolution layers, as torch.nn.Conv2d.
import { empty } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import type { Device, Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { type Size2, pair } from '../size.js';
import { type Parameter, parameterFrom } from '../parameter.js';

/** Settings of a Conv2d layer (PyTorch's defaults). */
export interface Conv2dOptions {
  stride?: Size2;
  /** Zero padding on each side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Size2 | 'valid' | 'same';
  dilation?: Size2;
  /** Split channels into this many independent groups (default 1). */
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  dtype?: DType;
  device?: Device;
}

/** 2-d convolution over [N, C, H, W] inputs; weight [out, in / groups, kh, kw]. */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'valid' | 'same';
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`Conv2d: groups must be a positive integer, got ${groups}`);
    for (const [name, n] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`Conv2d: ${name} must be a positive integer, got ${n}`);
      if (n % groups !== 0) throw new RangeError(`Conv2d: ${name} (${n}) must be divisible by groups (${groups})`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', options.stride ?? 1, 1);
    this.dilation = pair('Conv2d', 'dilation', options.dilation ?? 1, 1);
    const padding = options.padding ?? 0;
    if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new RangeError("Conv2d: padding='same' is not supported for strided convolutions");
    }
    this.padding = padding === 'same' || padding === 'valid' ? padding : pair('Conv2d', 'padding', padding, 0);
    this.groups = groups;
    const factory = { dtype: options.dtype, device: options.device };
    this.weight = parameterFrom(empty([outChannels, inChannels / groups, ...this.kernelSize], factory));
    this.bias = options.bias ?? true ? parameterFrom(empty([outChannels], factory)) : null;
    this.resetParameters();
  }

  /** PyTorch's initialisation: W ~ kaimingUniform(a = √5), b ~ U(±1/√fanIn). */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        init.uniform_(this.bias, -bound, bound);
      }
    }
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
