// A small convolutional backbone for 28x28 (MNIST-like) and 32x32
// (CIFAR-like) images: blocks of Conv2d (stride 1, 'same' zero padding) ->
// [BatchNorm2d] -> ReLU -> 2x2 max-pool, then flatten -> fc1 -> ReLU.
//
// Modules are registered as conv1, bn1, conv2, bn2, ..., fc1 (parameter names
// 'conv1.weight', 'bn1.runningMean', 'fc1.bias', ...), in construction order,
// so a PyTorch model with those attributes built after the same seed has the
// same initial values.
import * as F from '../../nn/functional.js';
import { BatchNorm2d } from '../../nn/layers/batchnorm.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneOutput } from '../contracts/types.js';
import { BackboneBase, type ParameterOverrides, activationMap, applyWeighted, checkPositiveInteger, registerChild } from './common.js';

export interface CNNOptions {
  /** Output channels of each convolution, input to output (default [32, 64]). */
  channels?: readonly number[];
  /** Odd square kernel size; padding is kernelSize // 2 so convolutions keep the spatial size (default 3). */
  kernelSize?: number;
  /** Width of fc1, the feature size (default 128). */
  featureDim?: number;
  /** BatchNorm2d after each convolution, before the ReLU (default false). */
  batchNorm?: boolean;
}

export const CNN_DEFAULTS = Object.freeze({ channels: Object.freeze([32, 64] as const), kernelSize: 3, featureDim: 128, batchNorm: false } as const satisfies Required<CNNOptions>);

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

  /** `inputShape`: [C, H, W] of one input. */
  constructor(inputShape: readonly number[], options: CNNOptions = {}) {
    super();
    if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`CNN: the input shape must be [C, H, W] with positive integers, got [${inputShape.join(', ')}]`);
    }
    const channels = [...(options.channels ?? CNN_DEFAULTS.channels)];
    if (channels.length === 0) throw new RangeError('CNN: channels must list at least one convolution');
    channels.forEach((c, i) => checkPositiveInteger('CNN', `channels[${i}]`, c));
    const kernelSize = options.kernelSize ?? CNN_DEFAULTS.kernelSize;
    checkPositiveInteger('CNN', 'kernelSize', kernelSize);
    if (kernelSize % 2 === 0) throw new RangeError(`CNN: kernelSize must be odd (so that padding keeps the size), got ${kernelSize}`);
    const featureDim = options.featureDim ?? CNN_DEFAULTS.featureDim;
    checkPositiveInteger('CNN', 'featureDim', featureDim);
    let [c, h, w] = inputShape as [number, number, number];
    // Each pool halves the size (rounding down, as PyTorch's max_pool2d).
    if (h >> channels.length < 1 || w >> channels.length < 1) {
      throw new RangeError(`CNN: a ${h}x${w} input is too small for ${channels.length} 2x2 max-pools`);
    }
    this.inputShape = Object.freeze([...inputShape]);
    this.channels = Object.freeze(channels);
    this.kernelSize = kernelSize;
    this.batchNorm = options.batchNorm ?? CNN_DEFAULTS.batchNorm;
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
   * fc1's activation is its ReLU output, which is also the feature.
   */
  forward(x: Tensor, overrides?: ParameterOverrides): BackboneOutput {
    this.checkOverrides(overrides);
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
        a = F.maxPool2d(F.relu(z), 2);
        acts.push(a);
      }
      acts.push(F.relu(applyWeighted(this.layer('fc1'), 'fc1', a.flatten(1), overrides)));
      return { activations: acts };
    });
    return { feature: activations[activations.length - 1]!, activations: activationMap(names, activations) };
  }
}
