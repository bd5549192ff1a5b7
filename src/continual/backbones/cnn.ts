// A small convolutional backbone for 28x28 (MNIST-like) and 32x32
// (CIFAR-like) images: blocks of Conv2d (stride 1, 'same' zero padding) ->
// [BatchNorm2d] -> ReLU -> 2x2 max-pool, then flatten -> fc1 -> ReLU.
//
// Modules are registered as conv1, bn1, conv2, bn2, ..., fc1 (parameter names
// 'conv1.weight', 'bn1.runningMean', 'fc1.bias', ...), in construction order,
// so a PyTorch model with those attributes built after the same seed has the
// same initial values.
import { type Infer, array, boolean, integer, object } from '../../config/schema.js';
import * as F from '../../nn/functional.js';
import { BatchNorm2d } from '../../nn/layers/batchnorm.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneOutput } from '../contracts/types.js';
import { BackboneBase, type ParameterOverrides, type UnitGates, activationMap, applyGate, applyWeighted, registerChild } from './common.js';
import { defineBackbone } from './definition.js';

const cnnOptions = object({
  channels: array(integer({ min: 1 }), { minLength: 1 }).default([32, 64]).describe('output channels of each convolution'),
  // Padding is kernelSize // 2, so convolutions keep the spatial size only for odd kernels.
  kernelSize: integer({ min: 1 })
    .refine((k, report) => {
      if (k % 2 === 0) report([], `expected an odd integer >= 1 (padding keeps the spatial size only for odd kernels), got ${k}`);
    })
    .default(3)
    .describe('square kernel size, odd'),
  featureDim: integer({ min: 1 }).default(128).describe('size of the feature vector fed to the heads'),
  batchNorm: boolean().default(false).describe('batch normalisation after each convolution'),
});
/** The small CNN's options, validated and defaulted (`backbone: {name: cnn, ...}`). */
export type CNNOptions = Infer<typeof cnnOptions>;

export class CNN extends BackboneBase {
  /** [C, H, W] of one input. */
  readonly inputShape: readonly number[];
  readonly channels: readonly number[];
  readonly kernelSize: number;
  readonly batchNorm: boolean;
  /**
   * [C, H, W] of the last pooled feature map, which fc1 reads flattened: the
   * inputs of fc1 that belong to channel c are columns c*H*W .. (c+1)*H*W - 1
   * of its weight (what CBP needs for the last convolution's outgoing weights).
   */
  readonly featureMapShape: readonly number[];
  readonly outputDim: number;
  readonly weightedLayerNames: readonly string[];

  /** `inputShape`: [C, H, W] of one input; `options` as the schema validated them. */
  constructor(inputShape: readonly number[], options: CNNOptions) {
    super();
    if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`CNN: the input shape must be [C, H, W] with positive integers, got [${inputShape.join(', ')}]`);
    }
    const channels = [...options.channels];
    const { kernelSize, featureDim } = options;
    let [c, h, w] = inputShape as [number, number, number];
    // Each pool halves the size (rounding down, as PyTorch's max_pool2d).
    if (h >> channels.length < 1 || w >> channels.length < 1) {
      throw new RangeError(`CNN: a ${h}x${w} input is too small for ${channels.length} 2x2 max-pools`);
    }
    this.inputShape = Object.freeze([...inputShape]);
    this.channels = Object.freeze(channels);
    this.kernelSize = kernelSize;
    this.batchNorm = options.batchNorm;
    this.outputDim = featureDim;
    channels.forEach((out, i) => {
      registerChild(this, `conv${i + 1}`, new Conv2d(c, out, kernelSize, { padding: Math.floor(kernelSize / 2) }));
      if (this.batchNorm) registerChild(this, `bn${i + 1}`, new BatchNorm2d(out));
      c = out;
      h >>= 1;
      w >>= 1;
    });
    this.featureMapShape = Object.freeze([c, h, w]);
    registerChild(this, 'fc1', new Linear(c * h * w, featureDim));
    this.weightedLayerNames = Object.freeze([...channels.map((_, i) => `conv${i + 1}`), 'fc1']);
  }

  /** fc1 reads H·W inputs per channel of the last convolution. */
  override inputsPerPrecedingUnit(name: string): number {
    const perUnit = super.inputsPerPrecedingUnit(name);
    return name === 'fc1' ? this.featureMapShape[1]! * this.featureMapShape[2]! : perUnit;
  }

  private norm(index: number): BatchNorm2d {
    const bn = (this as unknown as Record<string, unknown>)[`bn${index}`];
    if (!(bn instanceof BatchNorm2d)) throw new Error(`CNN: missing batch-norm module bn${index}`);
    return bn;
  }

  /**
   * `x`: [N, C, H, W]. The activation of a convolution is its output after
   * ReLU AND the 2x2 max-pool, [N, C', H', W'], i.e. exactly what the next
   * layer reads (fc1 reads the last one flattened); each channel is one unit.
   * This follows the CBP authors' convolutional network and keeps CBP's bias
   * correction exact (it uses the mean of the next layer's actual input).
   * fc1's activation is its ReLU output, which is also the feature. A
   * layer's gate (HAT: one value per channel, or per unit of fc1) multiplies
   * that activation.
   */
  forward(x: Tensor, overrides?: ParameterOverrides, gates?: UnitGates): BackboneOutput {
    this.checkOverrides(overrides, gates);
    const [c, h, w] = this.inputShape;
    if (x.ndim !== 4 || x.shape[1] !== c || x.shape[2] !== h || x.shape[3] !== w) {
      throw new RangeError(`CNN.forward: expected a batch [N, ${c}, ${h}, ${w}], got shape [${x.shape.join(', ')}]`);
    }
    const names = this.weightedLayerNames;
    const { activations } = tidy(() => {
      const acts: Tensor[] = [];
      let a = x;
      for (let i = 0; i < this.channels.length; i++) {
        let z = applyWeighted(this.layer(names[i]!), names[i]!, a, overrides);
        if (this.batchNorm) z = this.norm(i + 1).forward(z);
        a = applyGate(F.maxPool2d(F.relu(z), 2), names[i]!, gates);
        acts.push(a);
      }
      acts.push(applyGate(F.relu(applyWeighted(this.layer('fc1'), 'fc1', a.flatten(1), overrides)), 'fc1', gates));
      return { activations: acts };
    });
    return { feature: activations[activations.length - 1]!, activations: activationMap(names, activations) };
  }
}

/** The small CNN backbone (`backbone.name: cnn`): two 3×3 convolutions with max-pooling and a fully connected layer. */
export const cnnDefinition = defineBackbone({
  name: 'cnn',
  summary: 'Small CNN for 28x28 / 32x32 images: conv -> ReLU -> 2x2 max-pool per entry of channels, then fc1 -> ReLU.',
  options: cnnOptions,
  create: (options, inputShape) => new CNN(inputShape, options),
});
