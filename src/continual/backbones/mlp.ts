// A multi-layer perceptron backbone: the input is flattened, then each hidden
// layer is Linear -> [BatchNorm1d] -> activation -> [Dropout].
//
// Modules are registered as fc1, bn1, fc2, bn2, ... (a PyTorch model written
// with those attributes has the same parameter names and, after the same
// seed, the same initial values).
import { type Infer, array, boolean, enumOf, integer, number, object } from '../../config/schema.js';
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
  type UnitGates,
  activate,
  activationMap,
  applyGate,
  applyWeighted,
  inputSize,
  registerChild,
} from './common.js';
import { defineBackbone } from './definition.js';

const mlpOptions = object({
  hiddenSizes: array(integer({ min: 1 }), { minLength: 1 }).default([256, 256]).describe('widths of the hidden layers'),
  batchNorm: boolean().default(false).describe('batch normalisation after each hidden layer'),
  // p = 1 would zero every feature: always a configuration mistake here.
  dropout: number({ min: 0, max: 1, maxExclusive: true }).default(0).describe('dropout probability after each hidden layer'),
  activation: enumOf(ACTIVATIONS).default('relu').describe('nonlinearity after each layer'),
});
/** The MLP's options, validated and defaulted (`backbone: {name: mlp, ...}`). */
export type MLPOptions = Infer<typeof mlpOptions>;

export class MLP extends BackboneBase {
  readonly inputDim: number;
  readonly hiddenSizes: readonly number[];
  readonly batchNorm: boolean;
  readonly dropout: number;
  readonly activation: ActivationName;
  readonly outputDim: number;
  readonly weightedLayerNames: readonly string[];

  /** `input`: the per-sample input shape (e.g. [1, 28, 28]) or its flattened size; `options` as the schema validated them. */
  constructor(input: number | readonly number[], options: MLPOptions) {
    super();
    this.inputDim = inputSize('MLP', input);
    const hiddenSizes = [...options.hiddenSizes];
    this.hiddenSizes = Object.freeze(hiddenSizes);
    this.batchNorm = options.batchNorm;
    this.dropout = options.dropout;
    this.activation = options.activation;
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
   * dropout. A layer's gate (HAT) multiplies its output after the
   * nonlinearity and dropout, as the HAT authors place it; its activation is
   * then the gated one.
   */
  forward(x: Tensor, overrides?: ParameterOverrides, gates?: UnitGates): BackboneOutput {
    this.checkOverrides(overrides, gates);
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
        acts.push(applyGate(a, name, gates));
        h = applyGate(this.dropout > 0 ? F.dropout(a, { p: this.dropout, training: this.training }) : a, name, gates);
      });
      return { feature: h, activations: acts };
    });
    return { feature, activations: activationMap(this.weightedLayerNames, activations) };
  }
}

/** The MLP backbone (`backbone.name: mlp`, the default): fully connected layers of `hiddenSizes`. */
export const mlpDefinition = defineBackbone({
  name: 'mlp',
  summary: 'Flattened input through fully connected layers fc1, fc2, ...; the feature is the last hidden layer.',
  options: mlpOptions,
  create: (options, inputShape) => new MLP(inputShape, options),
});
