// Loss layers, as torch.nn.CrossEntropyLoss, NLLLoss and MSELoss.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { type Buffer, bufferFrom } from '../parameter.js';

/** Class weights, reduction and ignored class of a classification loss layer. */
export interface WeightedLossOptions {
  /** A weight per class, kept as a buffer (so it is saved and moved with the module). */
  weight?: Tensor | null;
  reduction?: F.Reduction;
  ignoreIndex?: number;
}

/** Cross-entropy of logits against class indices or probabilities, as a layer. */
export class CrossEntropyLoss extends Module {
  weight: Buffer | null;
  readonly reduction: F.Reduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: WeightedLossOptions & { labelSmoothing?: number } = {}) {
    super();
    this.weight = options.weight ? bufferFrom(options.weight.detach()) : null;
    this.reduction = options.reduction ?? 'mean';
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, { weight: this.weight, reduction: this.reduction, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing });
  }
}

/** Negative log-likelihood of log-probabilities at class indices, as a layer. */
export class NLLLoss extends Module {
  weight: Buffer | null;
  readonly reduction: F.Reduction;
  readonly ignoreIndex: number;
  constructor(options: WeightedLossOptions = {}) {
    super();
    this.weight = options.weight ? bufferFrom(options.weight.detach()) : null;
    this.reduction = options.reduction ?? 'mean';
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, reduction: this.reduction, ignoreIndex: this.ignoreIndex });
  }
}

/** Mean squared error as a layer. */
export class MSELoss extends Module {
  readonly reduction: F.Reduction;
  constructor(options: { reduction?: F.Reduction } = {}) {
    super();
    this.reduction = options.reduction ?? 'mean';
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}
