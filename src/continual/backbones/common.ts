// What the backbones share: weighted-layer lookup by name, the layer chain
// that CBP walks (preceding / following), forward with replacement weights
// (WSN runs the backbone on θ ⊙ m without touching θ), activations and input
// checks.
//
// Layers are found by walking the module tree along their dotted names at each
// call rather than through a cached table: Module.clone() copies own
// properties only, so a table of references would point into the original
// model from the copy.
import * as F from '../../nn/functional.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Backbone, BackboneOutput } from '../contracts/types.js';

/** A weighted layer of our backbones. */
export type WeightedModule = Linear | Conv2d;

/** Weight and bias to use instead of a layer's own in one forward pass (e.g. WSN's masked θ ⊙ m). */
export interface LayerParameters {
  readonly weight: Tensor;
  /** null: no bias (the layer's own bias is not used either). */
  readonly bias: Tensor | null;
}

/** Replacement parameters by weighted-layer name; layers not named use their own. */
export type ParameterOverrides = ReadonlyMap<string, LayerParameters>;

/**
 * Per-unit gates by weighted-layer name (HAT's attention masks): a 1-D tensor
 * with one value per unit of the layer (an output feature of a Linear, a
 * channel of a Conv2d) that multiplies the layer's output where the next layer
 * reads it. Layers not named are not gated.
 */
export type UnitGates = ReadonlyMap<string, Tensor>;

/** The nonlinearities a backbone can use between its layers (`backbone.activation`). */
export type ActivationName = 'relu' | 'tanh' | 'sigmoid';
/** Every ActivationName, for validation and messages. */
export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'tanh', 'sigmoid'];

export function activate(x: Tensor, activation: ActivationName): Tensor {
  switch (activation) {
    case 'relu':
      return F.relu(x);
    case 'tanh':
      return F.tanh(x);
    case 'sigmoid':
      return F.sigmoid(x);
  }
}

/** Registers `module` as the own property `name`, so Module finds it (and names its parameters `name.weight`, ...). */
export function registerChild(owner: Module, name: string, module: Module): void {
  Object.defineProperty(owner, name, { value: module, enumerable: true, writable: true, configurable: true });
}

/** The own property `key` of `owner` (a module's child, or a container's element '0', '1', ...). */
function ownChild(owner: Module, key: string): unknown {
  return Object.hasOwn(owner, key) ? (owner as unknown as Record<string, unknown>)[key] : undefined;
}

/** Runs a weighted layer, with its replacement parameters when `overrides` has them. */
export function applyWeighted(layer: WeightedModule, name: string, x: Tensor, overrides: ParameterOverrides | undefined): Tensor {
  const p = overrides?.get(name);
  if (p === undefined) return layer.forward(x);
  if (layer instanceof Linear) return F.linear(x, p.weight, p.bias);
  return F.conv2d(x, p.weight, p.bias, { stride: layer.stride, padding: layer.padding, dilation: layer.dilation, groups: layer.groups });
}

/**
 * `h` multiplied by the gate of layer `name`, if `gates` has one: a [units]
 * gate scales features of [N, units] and channels of [N, units, H, W].
 */
export function applyGate(h: Tensor, name: string, gates: UnitGates | undefined): Tensor {
  const gate = gates?.get(name);
  if (gate === undefined) return h;
  if (gate.ndim !== 1 || gate.shape[0] !== h.shape[1]) {
    throw new RangeError(`the gate of layer '${name}' must have one value per unit, shape [${h.shape[1]}], got [${gate.shape.join(', ')}]`);
  }
  return h.ndim === 2 ? h.mul(gate) : h.mul(gate.reshape([1, -1, ...new Array<number>(h.ndim - 2).fill(1)]));
}

/** Input size as a positive integer count: a shape's product or a plain dimension. */
export function inputSize(fn: string, input: number | readonly number[]): number {
  const dims = typeof input === 'number' ? [input] : input;
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`${fn}: the input shape must be positive integers, got [${dims.join(', ')}]`);
  }
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * The base of our backbones: name lookup and the layer chain. Subclasses set
 * weightedLayerNames (input to output) and build the modules under those
 * dotted names; the default chain is that list in order.
 */
export abstract class BackboneBase extends Module implements Backbone {
  abstract readonly outputDim: number;
  abstract readonly weightedLayerNames: readonly string[];
  /**
   * The forward pass, optionally with replacement parameters for some layers
   * (`overrides`) and per-unit gates on some layers' outputs (`gates`).
   */
  abstract forward(x: Tensor, overrides?: ParameterOverrides, gates?: UnitGates): BackboneOutput;

  /**
   * How many inputs of layer `name` each unit of the preceding layer feeds: 1,
   * except where a channel is flattened into a linear layer (CNN's fc1 reads
   * H·W inputs per channel of the last convolution), so that a per-unit
   * quantity of the preceding layer expands to this layer's inputs with
   * repeatInterleave.
   */
  inputsPerPrecedingUnit(name: string): number {
    this.checkName('inputsPerPrecedingUnit', name);
    return 1;
  }

  protected checkName(fn: string, name: string): number {
    const i = this.weightedLayerNames.indexOf(name);
    if (i < 0) throw new RangeError(`${this.constructor.name}.${fn}: no weighted layer '${name}' (the layers are ${this.weightedLayerNames.join(', ')})`);
    return i;
  }

  /** The Linear or Conv2d called `name`. */
  layer(name: string): WeightedModule {
    this.checkName('layer', name);
    let node: unknown = this;
    for (const key of name.split('.')) node = node instanceof Module ? ownChild(node, key) : undefined;
    if (!(node instanceof Linear || node instanceof Conv2d)) {
      throw new Error(`${this.constructor.name}.layer: '${name}' does not resolve to a Linear or Conv2d module`);
    }
    return node;
  }

  precedingLayer(name: string): string | null {
    const i = this.checkName('precedingLayer', name);
    return i === 0 ? null : this.weightedLayerNames[i - 1]!;
  }

  followingLayer(name: string): string | null {
    const i = this.checkName('followingLayer', name);
    return i === this.weightedLayerNames.length - 1 ? null : this.weightedLayerNames[i + 1]!;
  }

  /** Rejects replacement parameters and gates for names that are not weighted layers (a typo would silently train the wrong weights). */
  protected checkOverrides(overrides: ParameterOverrides | undefined, gates?: UnitGates): void {
    for (const name of overrides?.keys() ?? []) this.checkName('forward', name);
    for (const name of gates?.keys() ?? []) this.checkName('forward', name);
  }
}

/** The activations of a forward pass as the ordered map BackboneOutput wants. */
export function activationMap(names: readonly string[], values: readonly Tensor[]): Map<string, Tensor> {
  return new Map(names.map((n, i) => [n, values[i]!]));
}
