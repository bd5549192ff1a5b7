// A multi-layer perceptron backbone: the input is flattened, then each hidden
// layer is Linear -> [BatchNorm1d] -> activation -> [Dropout].
//
// Modules are registered as fc1, bn1, fc2, bn2, ... (a PyTorch model written
// with those attributes has the same parameter names and, after the same
// seed, the same initial values).
import * as F from '../../nn/functional.js';
import { BatchNorm1d } from '../../nn/layers/batchnorm.js';
import { Linear } from '../../nn/layers/linear.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneOutput } from '../contracts/types.js';
import {
  ACTIVATIONS,
  type ActivationName,
  BackboneBase,
  type ParameterOverrides,
  activate,
  activationMap,
  applyWeighted,
  checkPositiveInteger,
  inputSize,
  registerChild,
} from './common.js';

export interface MLPOptions {
  /** Width of each hidden layer, input to output (default [256, 256]). */
  hiddenSizes?: readonly number[];
  /** BatchNorm1d after each linear layer, before the activation (default false). */
  batchNorm?: boolean;
  /** Dropout probability after each activation, 0 for none (default 0). */
  dropout?: number;
  /** Default 'relu'. */
  activation?: ActivationName;
}

export const MLP_DEFAULTS = Object.freeze({ hiddenSizes: Object.freeze([256, 256] as const), batchNorm: false, dropout: 0, activation: 'relu' } as const satisfies Required<MLPOptions>);

export class MLP extends BackboneBase {
  readonly inputDim: number;
  readonly hiddenSizes: readonly number[];
  readonly batchNorm: boolean;
  readonly dropout: number;
  readonly activation: ActivationName;
  readonly outputDim: number;
  readonly weightedLayerNames: readonly string[];

  /** `input`: the per-sample input shape (e.g. [1, 28, 28]) or its flattened size. */
  constructor(input: number | readonly number[], options: MLPOptions = {}) {
    super();
    this.inputDim = inputSize('MLP', input);
    const hiddenSizes = [...(options.hiddenSizes ?? MLP_DEFAULTS.hiddenSizes)];
    if (hiddenSizes.length === 0) throw new RangeError('MLP: hiddenSizes must list at least one layer width');
    hiddenSizes.forEach((h, i) => checkPositiveInteger('MLP', `hiddenSizes[${i}]`, h));
    const dropout = options.dropout ?? MLP_DEFAULTS.dropout;
    // p = 1 would zero every feature: always a configuration mistake here.
    if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`MLP: dropout must be in [0, 1), got ${dropout}`);
    const activation = options.activation ?? MLP_DEFAULTS.activation;
    if (!ACTIVATIONS.includes(activation)) throw new RangeError(`MLP: activation must be one of ${ACTIVATIONS.join(', ')}, got '${String(activation)}'`);
    this.hiddenSizes = Object.freeze(hiddenSizes);
    this.batchNorm = options.batchNorm ?? MLP_DEFAULTS.batchNorm;
    this.dropout = dropout;
    this.activation = activation;
    this.outputDim = hiddenSizes[hiddenSizes.length - 1]!;
    this.weightedLayerNames = Object.freeze(hiddenSizes.map((_, i) => `fc${i + 1}`));
    let width = this.inputDim;
    hiddenSizes.forEach((h, i) => {
      registerChild(this, `fc${i + 1}`, new Linear(width, h));
      if (this.batchNorm) registerChild(this, `bn${i + 1}`, new BatchNorm1d(h));
      width = h;
    });
  }

  /** The BatchNorm1d after layer `index` (from 1). */
  private norm(index: number): BatchNorm1d {
    const bn = (this as unknown as Record<string, unknown>)[`bn${index}`];
    if (!(bn instanceof BatchNorm1d)) throw new Error(`MLP: missing batch-norm module bn${index}`);
    return bn;
  }

  /**
   * `x`: [N, ...] with inputDim elements per sample. The activation of a
   * layer is its output after the nonlinearity and before dropout, so in eval
   * mode or without dropout it is exactly the next layer's input; in training
   * with dropout the next layer sees it with elements zeroed and the rest
   * scaled by 1 / (1 - p). The feature is the last layer's output after
   * dropout.
   */
  forward(x: Tensor, overrides?: ParameterOverrides): BackboneOutput {
    this.checkOverrides(overrides);
    if (x.ndim < 2 || x.numel() !== x.shape[0]! * this.inputDim) {
      throw new RangeError(`MLP.forward: expected a batch [N, ...] of ${this.inputDim} elements per sample, got shape [${x.shape.join(', ')}]`);
    }
    const { feature, activations } = tidy(() => {
      let h = x.ndim === 2 ? x : x.flatten(1);
      const acts: Tensor[] = [];
      this.weightedLayerNames.forEach((name, i) => {
        let z = applyWeighted(this.layer(name), name, h, overrides);
        if (this.batchNorm) z = this.norm(i + 1).forward(z);
        const a = activate(z, this.activation);
        acts.push(a);
        h = this.dropout > 0 ? F.dropout(a, { p: this.dropout, training: this.training }) : a;
      });
      return { feature: h, activations: acts };
    });
    return { feature, activations: activationMap(this.weightedLayerNames, activations) };
  }
}
