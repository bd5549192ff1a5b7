// Dropout, as torch.nn.Dropout.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';

/** In training mode zeroes each element with probability p and scales the rest by 1 / (1 - p); identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: probability has to be between 0 and 1, but got ${p}`);
    this.p = p;
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, { p: this.p, training: this.training });
  }
}
