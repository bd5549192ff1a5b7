// ResNet-18 with the CIFAR stem (He et al. 2016, as used throughout the
// continual-learning literature for 32x32 images): a 3x3 stride-1 convolution
// without max-pool, four stages of two BasicBlocks (64, 128, 256, 512
// channels; stages 2-4 halve the resolution), global average pooling to a
// 512-d feature. There is no classifier: the heads are separate.
//
// Structure, parameter names and initialisation follow torchvision's resnet18
// (camelCased): conv1, bn1, layer1.0.conv1, layer1.0.bn1, ...,
// layer2.0.downsample.0 (1x1 conv), layer2.0.downsample.1 (its batch norm).
// Convolutions have no bias; after construction every convolution is redrawn
// with kaimingNormal_(fanOut, relu), in module order, as torchvision does, so
// a seeded model equals a torchvision-style one built after the same seed.
//
// Layer chain (precedingLayer / followingLayer) runs along the main path:
//   conv1 -> layer1.0.conv1 -> layer1.0.conv2 -> layer1.1.conv1 -> ... -> layer4.1.conv2
// A downsample convolution is a side branch: it is in no main-path layer's
// chain, its precedingLayer is the layer whose output enters its block (the
// same as the block's conv1) and its followingLayer is the layer that reads
// the block's output (the same as the block's conv2), or null in the last
// block. Identity skips are not layers and appear nowhere.
import { object } from '../../config/schema.js';
import * as F from '../../nn/functional.js';
import { BatchNorm2d } from '../../nn/layers/batchnorm.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d } from '../../nn/layers/conv.js';
import * as init from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneOutput } from '../contracts/types.js';
import { BackboneBase, type ParameterOverrides, type UnitGates, activationMap, applyWeighted } from './common.js';
import { defineBackbone } from './definition.js';

/** Channels of the four stages. */
const STAGE_WIDTHS = [64, 128, 256, 512] as const;
/** BasicBlocks per stage. */
const STAGE_BLOCKS = [2, 2, 2, 2] as const;

function conv3x3(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
}

/** Two 3x3 convolutions with batch norm and a residual connection (projected by `downsample` when the shape changes). */
export class BasicBlock extends Module {
  // Declared in torchvision's order: field declarations fix the order in
  // which Module discovers children, hence parameter order and state-dict keys.
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  /** Sequential(1x1 conv with stride, BatchNorm2d), or null for an identity skip. */
  downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, stride: number, downsample: Sequential | null) {
    super();
    this.conv1 = conv3x3(inPlanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
  }

  /** The downsample's convolution, or null. */
  get downsampleConv(): Conv2d | null {
    if (this.downsample === null) return null;
    const conv = this.downsample.at(0);
    if (!(conv instanceof Conv2d)) throw new Error('BasicBlock: downsample.0 is not a Conv2d');
    return conv;
  }

  /** The block's output (as torchvision's BasicBlock.forward). */
  forward(x: Tensor): Tensor {
    return tidy(() => this.run(x, '', undefined).out);
  }

  /**
   * Runs the block. `prefix` is the block's dotted name (for overrides).
   * Returns the block output and the activations of conv1, conv2 and (when
   * present) the downsample convolution.
   */
  run(x: Tensor, prefix: string, overrides: ParameterOverrides | undefined): { out: Tensor; conv1: Tensor; conv2: Tensor; downsample: Tensor | null } {
    const a1 = F.relu(this.bn1.forward(applyWeighted(this.conv1, `${prefix}.conv1`, x, overrides)));
    const z2 = this.bn2.forward(applyWeighted(this.conv2, `${prefix}.conv2`, a1, overrides));
    const conv = this.downsampleConv;
    let identity = x;
    let projected: Tensor | null = null;
    if (conv !== null) {
      const bn = this.downsample!.at(1);
      projected = bn.forward(applyWeighted(conv, `${prefix}.downsample.0`, x, overrides));
      identity = projected;
    }
    const out = F.relu(z2.add(identity));
    return { out, conv1: a1, conv2: out, downsample: projected };
  }
}

export class ResNet18 extends BackboneBase {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  readonly inChannels: number;
  readonly outputDim = STAGE_WIDTHS[3];
  readonly weightedLayerNames: readonly string[];
  /** The main path, input to output (weightedLayerNames without the downsample convolutions). */
  readonly mainPath: readonly string[];

  /** `inputShape`: [C, H, W] of one input (any size; the feature is globally pooled). */
  constructor(inputShape: readonly number[]) {
    super();
    if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`ResNet18: the input shape must be [C, H, W] with positive integers, got [${inputShape.join(', ')}]`);
    }
    this.inChannels = inputShape[0]!;
    this.conv1 = conv3x3(this.inChannels, STAGE_WIDTHS[0]);
    this.bn1 = new BatchNorm2d(STAGE_WIDTHS[0]);
    let inPlanes: number = STAGE_WIDTHS[0];
    const names = ['conv1'];
    const stages = STAGE_WIDTHS.map((planes, s) => {
      const stride = s === 0 ? 1 : 2;
      const blocks: BasicBlock[] = [];
      for (let b = 0; b < STAGE_BLOCKS[s]!; b++) {
        const blockStride = b === 0 ? stride : 1;
        // Built before its block, as torchvision does (the order of the
        // default-initialisation draws, which advance the generator).
        const downsample =
          blockStride !== 1 || inPlanes !== planes
            ? new Sequential(new Conv2d(inPlanes, planes, 1, { stride: blockStride, bias: false }), new BatchNorm2d(planes))
            : null;
        blocks.push(new BasicBlock(inPlanes, planes, blockStride, downsample));
        inPlanes = planes;
        const prefix = `layer${s + 1}.${b}`;
        names.push(`${prefix}.conv1`, `${prefix}.conv2`);
        if (downsample !== null) names.push(`${prefix}.downsample.0`);
      }
      return new Sequential(...blocks);
    });
    [this.layer1, this.layer2, this.layer3, this.layer4] = stages as [Sequential, Sequential, Sequential, Sequential];
    this.weightedLayerNames = Object.freeze(names);
    this.mainPath = Object.freeze(names.filter((n) => !n.includes('.downsample.')));
    this.redrawConvolutions();
  }

  /**
   * Draws fresh initial values as the constructor does (GDumb re-initialises
   * the model): every layer's default initialisation, then the convolutions
   * redrawn; after the same seed, the values a newly built ResNet-18 gets.
   */
  resetParameters(): void {
    for (const m of this.modules()) if (m !== this && (m instanceof Conv2d || m instanceof BatchNorm2d)) m.resetParameters();
    this.redrawConvolutions();
  }

  private redrawConvolutions(): void {
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      // Batch norms already start at weight 1, bias 0 (torchvision sets the same).
    }
  }

  /** The blocks with their dotted names, in forward order. */
  private blocks(): [string, BasicBlock][] {
    const out: [string, BasicBlock][] = [];
    [this.layer1, this.layer2, this.layer3, this.layer4].forEach((stage, s) => {
      let b = 0;
      for (const block of stage) {
        if (!(block instanceof BasicBlock)) throw new Error(`ResNet18: layer${s + 1}.${b} is not a BasicBlock`);
        out.push([`layer${s + 1}.${b}`, block]);
        b++;
      }
    });
    return out;
  }

  override precedingLayer(name: string): string | null {
    this.checkName('precedingLayer', name);
    const side = /^(.*)\.downsample\.0$/.exec(name);
    if (side !== null) return this.precedingLayer(`${side[1]}.conv1`);
    const i = this.mainPath.indexOf(name);
    return i === 0 ? null : this.mainPath[i - 1]!;
  }

  override followingLayer(name: string): string | null {
    this.checkName('followingLayer', name);
    const side = /^(.*)\.downsample\.0$/.exec(name);
    if (side !== null) return this.followingLayer(`${side[1]}.conv2`);
    const i = this.mainPath.indexOf(name);
    return i === this.mainPath.length - 1 ? null : this.mainPath[i + 1]!;
  }

  /**
   * `x`: [N, C, H, W]. Activations: the stem's and each block conv1's output
   * after batch norm and ReLU; a block conv2's after batch norm, the residual
   * addition and ReLU (the block's output); a downsample convolution's after
   * its batch norm (what is added to the residual). The feature is the
   * globally averaged output of the last block, [N, 512].
   */
  forward(x: Tensor, overrides?: ParameterOverrides, gates?: UnitGates): BackboneOutput {
    this.checkOverrides(overrides);
    if (gates !== undefined && gates.size > 0) throw new Error('ResNet18.forward: per-unit gates are not supported (its batch normalisation and residual additions have no place for them)');
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new RangeError(`ResNet18.forward: expected a batch [N, ${this.inChannels}, H, W], got shape [${x.shape.join(', ')}]`);
    }
    const { feature, activations } = tidy(() => {
      let h = F.relu(this.bn1.forward(applyWeighted(this.conv1, 'conv1', x, overrides)));
      const acts: Tensor[] = [h];
      for (const [prefix, block] of this.blocks()) {
        const r = block.run(h, prefix, overrides);
        acts.push(r.conv1, r.conv2);
        if (r.downsample !== null) acts.push(r.downsample);
        h = r.out;
      }
      return { feature: F.adaptiveAvgPool2d(h, 1).flatten(1), activations: acts };
    });
    return { feature, activations: activationMap(this.weightedLayerNames, activations) };
  }
}

/** The ResNet-18 backbone with a CIFAR stem (`backbone.name: resnet18`). */
export const resnet18Definition = defineBackbone({
  name: 'resnet18',
  summary: 'ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), torchvision naming and initialisation; 512-d feature.',
  options: object({}),
  create: (_options, inputShape) => new ResNet18(inputShape),
});
