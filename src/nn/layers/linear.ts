// Linear layers, as torch.nn.Linear and torch.nn.Identity.
import { empty } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import type { Device, Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { type Parameter, parameterFrom } from '../parameter.js';

/** Bias, dtype and device of a Linear layer. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  dtype?: DType;
  device?: Device;
}

/** y = x Wᵀ + b, with W [outFeatures, inFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, n] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`Linear: ${name} must be a non-negative integer, got ${n}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const factory = { dtype: options.dtype, device: options.device };
    this.weight = parameterFrom(empty([outFeatures, inFeatures], factory));
    this.bias = options.bias ?? true ? parameterFrom(empty([outFeatures], factory)) : null;
    this.resetParameters();
  }

  /** PyTorch's initialisation: W ~ kaimingUniform(a = √5), b ~ U(±1/√inFeatures). */
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== null) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** Returns its input unchanged (a placeholder in a Sequential). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
