// Flatten, as torch.nn.Flatten.
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** Flattens dims startDim..endDim into one (by default all but the batch dim). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
