// Activation layers, as torch.nn.ReLU and friends.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(negativeSlope = 0.01) {
    super();
    this.negativeSlope = negativeSlope;
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, { negativeSlope: this.negativeSlope });
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

export class GELU extends Module {
  readonly approximate: F.GeluApproximate;
  constructor(options: { approximate?: F.GeluApproximate } = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }
  forward(x: Tensor): Tensor {
    return F.gelu(x, { approximate: this.approximate });
  }
}

export class Softmax extends Module {
  readonly dim: number;
  constructor(dim: number) {
    super();
    this.dim = dim;
  }
  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
}

export class LogSoftmax extends Module {
  readonly dim: number;
  constructor(dim: number) {
    super();
    this.dim = dim;
  }
  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
}
