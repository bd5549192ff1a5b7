// PackNet (Mallya & Lazebnik, CVPR 2018), as defined in docs/algorithms/packnet.md.
//
// Every weight of the backbone's weighted layers has an owner task (0 = free).
// Task t:
//   onTaskStart   every free weight is given to t (on task 1 all of them, at
//                 their initial values; later, the weights earlier prunes
//                 freed, which are exactly 0);
//   training      the plain forward; the gradients of weights t does not own
//                 are zeroed, and after every step the weights of earlier
//                 tasks and the pruned ones are put back exactly;
//   prune         at the first of the last `retrainEpochs` epochs, per layer,
//                 among the n weights t owns: k = round(p·n), c = the k-th
//                 smallest |w|, and every owned weight with |w| ≤ c (ties
//                 too, as the authors' kthvalue rule does) is set to 0 and
//                 freed; the learning rate is scaled and the optimizer's state
//                 reset (the authors retrain with a fresh optimizer);
//   retraining    the survivors train on, the pruned weights stay 0;
//   onTaskEnd     the survivors stay t's.
// Biases, batch-norm parameters and every other backbone parameter train on
// task 1 only (the authors' train_biases=False, train_bn=False); batch-norm
// modules run in eval mode while later tasks train, so their statistics stay
// those of task 1. Testing task j runs the backbone on W ⊙ 1[1 ≤ owner ≤ j]
// with head j: everything it reads is frozen from task j's end on, so its
// outputs never change (BWT is exactly 0).
import { type Infer, array, enumOf, integer, number, object, record, string } from '../../config/schema.js';
import type { Parameter } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import { onesLike, zerosLike } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneBase, LayerParameters } from '../backbones/common.js';
import type { TaskId } from '../contracts/types.js';
import type { ContinualModel, ModelOutput } from '../model/model.js';
import type { Algorithm, AlgorithmState, AlgorithmSummary, StepContext, TaskContext } from './algorithm.js';
import { defineAlgorithm } from './definition.js';
import { FrozenValues } from './frozen_values.js';
import { type LayoutEntry, batchNormModules, checkSameLayout, isolatedBackbone, numel } from './isolation.js';
import { readCheckpointedValues, readStateTensor, readStateValues } from './state.js';

const packnetOptions = object({
  pruneFraction: number({ min: 0, max: 1, minExclusive: true, maxExclusive: true })
    .default(0.5)
    .describe("packnet: p, the fraction of a task's weights pruned (freed for later tasks) in each layer, in (0, 1); the authors use 0.5 or 0.75"),
  retrainEpochs: integer({ min: 1 })
    .default(1)
    .describe('packnet: the last retrainEpochs of every task retrain the weights that survived the prune (training.epochs must be larger)'),
  retrainLrScale: number({ min: 0, minExclusive: true })
    .default(0.1)
    .describe("packnet: the optimizer's learning rate is multiplied by this at the prune (the authors train at 1e-3 and retrain at 1e-4)"),
  biases: enumOf(['firstTask'])
    .default('firstTask')
    .describe("packnet: biases and batch-norm parameters: 'firstTask' trains them on task 1 and then freezes them (the authors' train_biases=False)"),
});
/** The options of `packnet`, validated and defaulted: an `algorithms` entry `{name: packnet, ...}` without its name. */
export type PackNetOptions = Infer<typeof packnetOptions>;

/** Owners are stored one byte per weight. */
const MAX_TASK = 255;

const taskReport = object({
  task: integer({ min: 1 }),
  /** Weights the task owns after its prune. */
  owned: integer({ min: 0 }),
  /** The same as a fraction of all the backbone's weights. */
  ownedFraction: number({ min: 0, max: 1 }),
  /** Weights the task's prune freed (set to 0 and given back). */
  pruned: integer({ min: 0 }),
  /** Weights the task owns, by layer. */
  ownedByLayer: record(integer({ min: 0 })),
});
/** What one task took. */
export type PackNetTaskReport = Infer<typeof taskReport>;

const report = object({
  pruneFraction: number(),
  capacityUnit: enumOf(['weights']),
  /** Weights of the backbone's weighted layers (biases and batch norm are not owned). */
  totalWeights: integer({ min: 0 }),
  /** Fraction of the weights owned by tasks 1..t after each finished task t (index 0: task 1). */
  capacityUsedAfterTask: array(number({ min: 0, max: 1 })),
  /** Fraction still free after the last finished task. */
  freeFraction: number({ min: 0, max: 1 }),
  /** Fraction of each layer's weights owned by a task. */
  capacityByLayer: record(number({ min: 0, max: 1 })),
  tasks: array(taskReport),
});
/** What the run reports: capacity used after each task, what each task owns. */
export type PackNetReport = Infer<typeof report>;

/** The JSON values PackNet checkpoints next to its owner tensors. */
const savedValues = object({
  pruneFraction: number(),
  layout: array(object({ layer: string({ nonEmpty: true }), shape: array(integer({ min: 0 })) })),
  /** The finished tasks, in order. */
  tasks: array(integer({ min: 1, max: MAX_TASK })),
  report: report.optional(),
});
type SavedValues = Infer<typeof savedValues>;

interface LayerLayout {
  layer: string;
  shape: readonly number[];
}

/** The `packnet` algorithm. PackNet: per task, train, prune the smallest weights by magnitude, retrain; each weight owned by one task and frozen after it (TIL only). */
export class PackNet implements Algorithm {
  readonly name = 'packnet';
  readonly pruneFraction: number;
  readonly retrainEpochs: number;
  readonly retrainLrScale: number;

  /** The weighted layers of the backbone (known from the first task or a checkpoint). */
  private layout: LayerLayout[] | null = null;
  /** The owner of every weight, by layer (uint8, 0 = free). */
  private readonly owners = new Map<string, Tensor>();
  /** 1[owner = t] as the weights' dtype, by layer: the gradient factor while task t trains. */
  private readonly trainable = new Map<string, Tensor>();
  /** What the step must not move: earlier tasks' weights, pruned weights, and (after task 1) the fixed parameters. */
  private readonly frozen = new FrozenValues();
  /** Parameters trained on task 1 only (biases, batch norm): zero gradients from task 2 on. */
  private fixedParameters: Parameter[] = [];
  /** The task being trained, with the epoch it prunes at and what its prune freed; null between tasks. */
  private current: { task: TaskId; pruneEpoch: number; pruned: number | null } | null = null;
  private finished: TaskId[] = [];
  private lastReport: PackNetReport | null = null;

  constructor(options: PackNetOptions) {
    this.pruneFraction = options.pruneFraction;
    this.retrainEpochs = options.retrainEpochs;
    this.retrainLrScale = options.retrainLrScale;
  }

  onTaskStart(ctx: TaskContext): void {
    if (ctx.paradigm !== 'til') {
      throw new Error(`PackNet supports task-incremental learning only (a task's weights are chosen by its task id), but the paradigm is '${ctx.paradigm}'; set paradigm: til`);
    }
    if (ctx.epochs <= this.retrainEpochs) {
      throw new Error(
        `PackNet: training.epochs is ${ctx.epochs} but retrainEpochs is ${this.retrainEpochs}, which leaves no epoch to train before the prune; ` +
          `set training.epochs above retrainEpochs (e.g. training.epochs: ${this.retrainEpochs + 1}) or lower retrainEpochs`,
      );
    }
    const task = ctx.task;
    const last = this.finished[this.finished.length - 1] ?? 0;
    if (task <= last) throw new Error(`PackNet: task ${task} starts after task ${last} has finished; tasks are trained once each, in order`);
    if (task > MAX_TASK) throw new Error(`PackNet: task ${task} is past the ${MAX_TASK} tasks its one-byte owners can name`);
    const backbone = prunableBackbone(ctx.model);
    const layout = layoutOf(backbone);
    if (this.layout === null) {
      this.layout = layout;
      tidy(() => {
        for (const { layer } of layout) this.owners.set(layer, keep(zerosLike(backbone.layer(layer).weight, { dtype: 'uint8' })));
      });
    } else checkSameLayout('PackNet', { what: 'layers', state: 'owners' }, this.layout.map(named), layout.map(named));
    this.fixedParameters = task === 1 ? [] : fixedParametersOf(backbone);
    tidy(() =>
      noGrad(() => {
        for (const owner of this.owners.values()) owner.maskedFill_(owner.eq(0), task);
      }),
    );
    this.current = { task, pruneEpoch: ctx.epochs - this.retrainEpochs + 1, pruned: null };
    this.protect(backbone, task);
  }

  /** Batch norm stays in eval mode from task 2 on (after the trainer's model.train()); the prune, at its epoch. */
  onEpochStart(ctx: TaskContext, epoch: number): void {
    const current = this.current!;
    const backbone = prunableBackbone(ctx.model);
    if (current.task > 1) for (const m of batchNormModules(backbone)) m.eval();
    if (epoch !== current.pruneEpoch) return;
    current.pruned = this.prune(backbone, current.task);
    for (const group of ctx.optimizer.paramGroups) {
      group.lr *= this.retrainLrScale;
      for (const p of group.params) ctx.optimizer.resetState(p);
    }
    this.protect(backbone, current.task);
  }

  /**
   * Frees, per layer, the fraction p of the weights `task` owns with the
   * smallest magnitude: k = round(p·n) (Python's round, halves to even), c =
   * the k-th smallest |w| among them, and every owned weight with |w| ≤ c
   * goes, ties included (the authors' prune.py). Returns how many were freed.
   */
  private prune(backbone: BackboneBase, task: TaskId): number {
    let freed = 0;
    tidy(() =>
      noGrad(() => {
        for (const { layer } of this.layout!) {
          const owner = this.owners.get(layer)!;
          const weight = backbone.layer(layer).weight;
          const owned = owner.eq(task);
          const rank = roundHalfToEven(this.pruneFraction * owned.sum().item());
          if (rank === 0) continue;
          const magnitude = weight.abs();
          const cutoff = magnitude.maskedSelect(owned).kthvalue(rank).values;
          const remove = magnitude.le(cutoff).logicalAnd(owned);
          freed += remove.sum().item();
          weight.maskedFill_(remove, 0);
          owner.maskedFill_(remove, 0);
        }
      }),
    );
    return freed;
  }

  /** The gradient factors and frozen values for `task` as the owners stand now. */
  private protect(backbone: BackboneBase, task: TaskId): void {
    for (const t of this.trainable.values()) t.dispose();
    this.trainable.clear();
    this.frozen.clear();
    tidy(() => {
      for (const { layer } of this.layout!) {
        const weight = backbone.layer(layer).weight;
        const mine = this.owners.get(layer)!.eq(task);
        this.trainable.set(layer, keep(mine.to({ dtype: weight.dtype })));
        this.frozen.freeze(weight, mine.logicalNot());
      }
      for (const p of this.fixedParameters) this.frozen.freeze(p, onesLike(p, { dtype: 'bool' }));
    });
  }

  /** Zeroes the gradients of the weights the task does not own, and of the fixed parameters after task 1. */
  afterBackward(ctx: StepContext): void {
    const backbone = prunableBackbone(ctx.model);
    tidy(() => {
      for (const { layer } of this.layout!) backbone.layer(layer).weight.grad?.mul_(this.trainable.get(layer)!);
      for (const p of this.fixedParameters) p.grad?.zero_();
    });
  }

  /** Puts back what the step must not move (momentum, Adam and weight decay move weights whose gradient is 0). */
  onBatchEnd(): void {
    this.frozen.restore();
  }

  /** Testing task j: the backbone on W ⊙ 1[1 ≤ owner ≤ j] (overrides, the weights themselves untouched). Training: the model's own forward. */
  forward(model: ContinualModel, x: Tensor, task: TaskId): ModelOutput | null {
    if (model.training) return null;
    const backbone = prunableBackbone(model);
    if (this.layout === null) throw new Error(`PackNet: no task has started, so no weights belong to task ${task}`);
    const overrides = new Map<string, LayerParameters>();
    for (const { layer } of this.layout) {
      const l = backbone.layer(layer);
      const owner = this.owners.get(layer)!;
      const visible = owner.ge(1).logicalAnd(owner.le(task));
      overrides.set(layer, { weight: l.weight.mul(visible.to({ dtype: l.weight.dtype })), bias: l.bias });
    }
    const output = backbone.forward(x, overrides);
    return { output, logits: model.heads.forward(output.feature, task) };
  }

  /** The survivors of the prune stay the task's; the report gets the task's entry. */
  onTaskEnd(ctx: TaskContext): void {
    const current = this.current;
    if (current === null || current.task !== ctx.task) throw new Error(`PackNet: task ${ctx.task} ends but did not start`);
    if (current.pruned === null) {
      throw new Error(`PackNet: task ${ctx.task} ended before its prune at epoch ${current.pruneEpoch}; the trainer must run every epoch and call onEpochStart`);
    }
    this.finished.push(ctx.task);
    const ownedByLayer = this.countByLayer(ctx.task);
    const owned = Object.values(ownedByLayer).reduce((a, b) => a + b, 0);
    const entry: PackNetTaskReport = { task: ctx.task, owned, ownedFraction: owned / this.totalWeights(), pruned: current.pruned, ownedByLayer };
    const earlier = this.lastReport?.tasks ?? [];
    this.lastReport = this.computeReport([...earlier, entry], [...(this.lastReport?.capacityUsedAfterTask ?? [])]);
    this.current = null;
    this.frozen.clear();
    this.fixedParameters = [];
  }

  /** Weights owned by `task`, by layer. */
  private countByLayer(task: TaskId): Record<string, number> {
    const counts: Record<string, number> = {};
    tidy(() => {
      for (const { layer } of this.layout!) counts[layer] = this.owners.get(layer)!.eq(task).sum().item();
    });
    return counts;
  }

  private totalWeights(): number {
    return this.layout!.reduce((n, e) => n + numel(e.shape), 0);
  }

  private computeReport(tasks: PackNetTaskReport[], usedBefore: number[]): PackNetReport {
    const total = this.totalWeights();
    const capacityByLayer: Record<string, number> = {};
    let used = 0;
    tidy(() => {
      for (const { layer, shape } of this.layout!) {
        const count = this.owners.get(layer)!.ne(0).sum().item();
        capacityByLayer[layer] = count / numel(shape);
        used += count;
      }
    });
    return {
      pruneFraction: this.pruneFraction,
      capacityUnit: 'weights',
      totalWeights: total,
      capacityUsedAfterTask: [...usedBefore, used / total],
      freeFraction: (total - used) / total,
      capacityByLayer,
      tasks,
    };
  }

  /** The owner of every weight by layer (uint8, 0 = free), for inspection. */
  ownerTensors(): ReadonlyMap<string, Tensor> {
    return this.owners;
  }

  /** Capacity after the last finished task (null before the first ends). */
  report(): PackNetReport | null {
    return this.lastReport;
  }

  summary(): AlgorithmSummary | null {
    const r = this.lastReport;
    const last = r?.tasks[r.tasks.length - 1];
    if (r == null || last === undefined) return null;
    const used = r.capacityUsedAfterTask[r.capacityUsedAfterTask.length - 1]!;
    const text =
      `capacity used ${(100 * used).toFixed(2)}% of ${r.totalWeights} weights, ${(100 * r.freeFraction).toFixed(2)}% free; ` +
      `task ${last.task} owns ${last.owned} (${(100 * last.ownedFraction).toFixed(2)}%) after pruning ${last.pruned}`;
    return { text, values: r as unknown as Record<string, unknown> };
  }

  /** The owners (uint8 per weight) and the report; the frozen biases and batch norm are the model's own, checkpointed with it. */
  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    for (const [layer, owner] of this.owners) tensors[`owners.${layer}`] = owner;
    const values: SavedValues = {
      pruneFraction: this.pruneFraction,
      layout: (this.layout ?? []).map((e) => ({ layer: e.layer, shape: [...e.shape] })),
      tasks: [...this.finished],
      ...(this.lastReport === null ? {} : { report: this.lastReport }),
    };
    return { tensors, values };
  }

  loadState(state: AlgorithmState): void {
    const values = readStateValues(savedValues, state.values);
    if (values.pruneFraction !== this.pruneFraction) {
      throw new Error(`PackNet: the checkpoint's tasks were pruned with pruneFraction ${values.pruneFraction}, but pruneFraction is ${this.pruneFraction}; resume with the run's own configuration`);
    }
    values.tasks.forEach((t, i) => {
      if (t !== i + 1) throw new Error(`its saved values do not fit: tasks: expected [1..${values.tasks.length}] in order, got [${values.tasks.join(', ')}]`);
    });
    if ((values.report?.tasks.length ?? 0) !== values.tasks.length) throw new Error(`its saved values do not fit: report: expected an entry per finished task (${values.tasks.length})`);
    const owners = new Map<string, Tensor>();
    try {
      for (const { layer, shape } of values.layout) {
        const key = `owners.${layer}`;
        const saved = readStateTensor(state, key, shape);
        if (saved.dtype !== 'uint8') throw new Error(`its saved tensor '${key}' has dtype ${saved.dtype}, expected uint8`);
        const highest = tidy(() => (saved.numel() === 0 ? 0 : saved.max().item()));
        if (highest > values.tasks.length) throw new Error(`its saved tensor '${key}' names task ${highest}, but only ${values.tasks.length} finished`);
        owners.set(layer, keep(saved.clone()));
      }
    } catch (error) {
      for (const o of owners.values()) o.dispose();
      throw error;
    }
    this.clear();
    if (values.layout.length > 0) this.layout = values.layout.map((e) => ({ layer: e.layer, shape: e.shape }));
    for (const [layer, owner] of owners) this.owners.set(layer, owner);
    this.finished = [...values.tasks];
    this.lastReport = values.report ?? null;
  }

  private clear(): void {
    for (const t of [...this.owners.values(), ...this.trainable.values()]) t.dispose();
    this.owners.clear();
    this.trainable.clear();
    this.frozen.clear();
    this.fixedParameters = [];
    this.layout = null;
    this.current = null;
    this.finished = [];
    this.lastReport = null;
  }

  dispose(): void {
    this.clear();
  }
}

/** Python's round(): to the nearest integer, halves to the even one (the authors' cutoff rank). */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The backbone, if PackNet can mask it: one of ours (forward with replacement parameters). */
function prunableBackbone(model: ContinualModel): BackboneBase {
  return isolatedBackbone(model, 'PackNet', 'masked weights');
}

function layoutOf(backbone: BackboneBase): LayerLayout[] {
  return backbone.weightedLayerNames.map((layer) => ({ layer, shape: [...backbone.layer(layer).weight.shape] }));
}

/** Every backbone parameter that is not a weighted layer's weight: biases, batch-norm weights and biases. */
function fixedParametersOf(backbone: BackboneBase): Parameter[] {
  const weights = new Set<Tensor>(backbone.weightedLayerNames.map((layer) => backbone.layer(layer).weight));
  return backbone.parameters().filter((p) => !weights.has(p));
}

/** A weighted layer as the layout check names it. */
const named = (e: LayerLayout): LayoutEntry => ({ name: e.layer, shape: e.shape });

/**
 * The PackNet report stored in a checkpoint (`runs/<run>/checkpoints/task_t.safetensors`):
 * capacity used after each task up to t, or null when the run has no PackNet.
 */
export function readPackNetReport(checkpointFile: string): PackNetReport | null {
  return readCheckpointedValues(checkpointFile, 'packnet', savedValues)?.report ?? null;
}

/** The definition of `packnet` (`algorithms: [{name: packnet}]`): PackNet: per task, train, prune the smallest weights by magnitude, retrain; each weight owned by one task and frozen after it (TIL only). */
export const packnetDefinition = defineAlgorithm({
  name: 'packnet',
  summary: 'PackNet: per task, train, prune the smallest weights by magnitude, retrain; each weight owned by one task and frozen after it (TIL only)',
  options: packnetOptions,
  paradigms: ['til'],
  paradigmNote: "a task's weights are chosen by its task id",
  unlearning: () => 'retains',
  create: (options) => new PackNet(options),
});
