// What the parameter-isolation algorithms (WSN, HAT and AdaHAT, PackNet) share
// about the backbones they mask: the backbone must be one of ours, whose
// forward takes replacement parameters or unit gates; batch normalisation is
// rejected where no mask can protect it; and the per-weight state made at
// the first task must fit the backbone of every later one; and weight decay,
// which moves what they protect, is found in the optimizer the same way.
import { BatchNorm1d, BatchNorm2d } from '../../nn/layers/batchnorm.js';
import type { Module } from '../../nn/module.js';
import type { Optimizer } from '../../optim/optimizer.js';
import { BackboneBase } from '../backbones/common.js';
import type { ContinualModel } from '../model/model.js';

/**
 * The largest weight decay of the optimizer's groups (0 without any): coupled
 * decay moves a weight whose gradient an algorithm zeroed or scaled.
 */
export function largestWeightDecay(optimizer: Optimizer): number {
  return Math.max(0, ...optimizer.paramGroups.map((g) => (g as { weightDecay?: number }).weightDecay ?? 0));
}

/** Elements of a tensor of `shape`. */
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** How an algorithm masks the backbone: through the forward's replacement parameters, or its unit gates. */
export type MaskingMeans = 'masked weights' | 'unit gates';

const FAILURE: Record<MaskingMeans, { cannot: string; forwardTakes: string }> = {
  'masked weights': { cannot: 'run with masked weights', forwardTakes: 'replacement parameters' },
  'unit gates': { cannot: 'be gated per unit', forwardTakes: 'unit gates' },
};

/** The model's backbone, if `label`'s algorithm can mask it by `means`: one of ours. */
export function isolatedBackbone(model: ContinualModel, label: string, means: MaskingMeans): BackboneBase {
  const backbone = model.backbone;
  if (!(backbone instanceof BackboneBase)) {
    const { cannot, forwardTakes } = FAILURE[means];
    throw new Error(`${label}: the backbone ${backbone.constructor.name} cannot ${cannot} (it must extend BackboneBase, whose forward takes ${forwardTakes})`);
  }
  return backbone;
}

/** The backbone's batch-norm modules. */
export function batchNormModules(backbone: BackboneBase): Module[] {
  return backbone.modules().filter((m) => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
}

/** Rejects batch normalisation, whose running statistics and affine parameters no mask protects. */
export function rejectBatchNorm(backbone: BackboneBase, label: string, means: MaskingMeans): void {
  if (batchNormModules(backbone).length === 0) return;
  throw new Error(
    `${label}: the ${backbone.constructor.name} backbone has batch normalisation, whose running statistics and affine parameters later tasks would change under earlier tasks' masks; ` +
      `use backbone.batchNorm: false (mlp, cnn); resnet18 always normalises${means === 'unit gates' ? ' (and cannot take unit gates)' : ''} and is not supported`,
  );
}

/** A weighted layer, or one of its tensors, as the layout check names it. */
export interface LayoutEntry {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * Throws when the backbone's weighted `what` (`now`) are not those the
 * algorithm's `state` was made for (`known`): per-weight state cannot follow a
 * backbone that changed between tasks.
 */
export function checkSameLayout(
  label: string,
  { what, state }: { what: 'layers' | 'tensors'; state: string },
  known: readonly LayoutEntry[],
  now: readonly LayoutEntry[],
): void {
  const describe = (l: readonly LayoutEntry[]): string => l.map((e) => `${e.name} [${e.shape.join(', ')}]`).join(', ');
  if (describe(known) !== describe(now)) throw new Error(`${label}: the backbone's weighted ${what} changed: ${state} were made for ${describe(known)}, the model has ${describe(now)}`);
}
