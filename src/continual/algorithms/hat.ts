// HAT, Hard Attention to the Task (Serrà et al. 2018), as defined in
// docs/algorithms/hat.md.
//
// Every weighted layer l of the backbone has, per task t, an embedding e^t_l
// with one value per unit (a channel of a convolution). Training task t
// gates the layer's output with a^t_l = σ(s·e^t_l), s annealed per batch b
// of B from 1/s_max to s_max:
//   s = 1/s_max + (s_max − 1/s_max)(b − 1)/(B − 1)        (B = 1: s = s_max)
// and adds c·R to the loss, R = Σ a^t(1 − a^{<t}) / Σ (1 − a^{<t}) over all
// units. Before the step, a weight's gradient is multiplied by
// 1 − min(a^{<t}_i, a^{<t}_j) (its output unit i, its input unit j; first
// layer and biases: 1 − a^{<t}_i), and the embeddings' gradient is
// compensated for the annealing; after it the embeddings are clamped to ±6
// (the authors' code) and, with protection 'exact', every weight an earlier
// task's binary mask uses is put back. At the end of task t,
// a^{≤t} = max(a^{<t}, σ(s_max e^t)). Testing task j gates with 1[e^j > 0]
// (testMask 'binary') or σ(s_max e^j) ('sigmoid').
//
// AdaHAT (adahat.ts) is this class with another gradient adjustment.
import { type Infer, array, boolean, enumOf, integer, number, object, record, string } from '../../config/schema.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { type Parameter, parameterFrom } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import { empty, ones } from '../../tensor/creation.js';
import { minimum } from '../../tensor/functions.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneBase } from '../backbones/common.js';
import type { TaskId } from '../contracts/types.js';
import type { ContinualModel, ModelOutput } from '../model/model.js';
import type { Algorithm, AlgorithmState, AlgorithmSummary, BatchPosition, StepContext, TaskContext } from './algorithm.js';
import { defineAlgorithm } from './definition.js';
import { FrozenValues } from './frozen_values.js';
import { type LayoutEntry, checkSameLayout, isolatedBackbone, largestWeightDecay, numel, rejectBatchNorm } from './isolation.js';
import { readStateTensor, readStateValues } from './state.js';

/** The authors' clamp of s·e inside the compensation's cosh (hat.py: thres_cosh = 50). */
const COSH_CLAMP = 50;

/** The options HAT and AdaHAT share; `c` is the only default that differs. */
export function hatOptionFields(defaults: { c: number }) {
  return {
    sMax: number({ min: 1 }).default(400).describe('hat: s_max, the sigmoid scale the annealing ends at and the test mask uses'),
    c: number({ min: 0 }).default(defaults.c).describe('hat: c, the weight of the mask-sparsity regulariser'),
    embeddingClamp: number({ min: 0 })
      .default(6)
      .describe('hat: embeddings are clamped to ±embeddingClamp after every step (the authors\' code); 0 turns the clamp off'),
    compensation: boolean().default(true).describe("hat: the authors' compensation of the embeddings' gradient for the annealed scale"),
    testMask: enumOf(['binary', 'sigmoid']).default('binary').describe("hat: the mask a finished task is tested with: 'binary' 1[e > 0], or 'sigmoid' σ(s_max e) (the paper's)"),
  };
}

const hatOptions = object({
  ...hatOptionFields({ c: 0.75 }),
  protection: enumOf(['exact', 'gradient'])
    .default('exact')
    .describe("hat: 'exact' also puts back every weight an earlier task's binary mask uses after each step (bit-identical under any optimizer); 'gradient' is the paper's conditioning alone"),
});
/** The options of `hat`, validated and defaulted: an `algorithms` entry `{name: hat, ...}` without its name. */
export type HATOptions = Infer<typeof hatOptions>;
export type TestMask = HATOptions['testMask'];

/** The options every member of the HAT family has (AdaHAT's add to them). */
export type HATFamilyOptions = Omit<HATOptions, 'protection'>;

/** A masked layer: a Linear or Conv2d of the backbone and where its inputs come from. */
export interface MaskedLayer {
  readonly layer: string;
  readonly kind: 'linear' | 'conv';
  /** Output features or channels: the embedding's length. */
  readonly units: number;
  /** The weighted layer before it (null for the first). */
  readonly preceding: string | null;
  /** Inputs of this layer each unit of the preceding one feeds (CNN fc1: H·W). */
  readonly inputsPerPrecedingUnit: number;
  readonly hasBias: boolean;
  readonly weightShape: readonly number[];
}

const taskReport = object({
  task: integer({ min: 1 }),
  /** Units the task's binary mask uses (e^t > 0). */
  units: integer({ min: 0 }),
  /** Of those, units no earlier task used. */
  newUnits: integer({ min: 0 }),
  /** Fraction of the backbone's units in b^{≤t} after the task. */
  capacityUsed: number({ min: 0, max: 1 }),
  /** Fraction of the backbone's weights and biases an earlier task's binary mask uses (min(b_i, b_j); biases b_i) after the task. */
  weightsProtected: number({ min: 0, max: 1 }),
  /** AdaHAT: the mean adjustment rate over the backbone's weights and biases in the task's last step (the paper's network capacity). */
  networkCapacity: number({ min: 0, max: 1 }).optional(),
});
export type HATTaskReport = Infer<typeof taskReport>;

const report = object({
  capacityUnit: enumOf(['units']),
  /** Index 0 = after task 1. */
  capacityUsedAfterTask: array(number({ min: 0, max: 1 })),
  totalUnits: integer({ min: 0 }),
  freeUnits: integer({ min: 0 }),
  /** Units in b^{≤t} by layer. */
  unitsUsedByLayer: record(integer({ min: 0 })),
  unitsByLayer: record(integer({ min: 0 })),
  weightsProtected: number({ min: 0, max: 1 }),
  tasks: array(taskReport),
});
/** What HAT reports after every task (summary.json's `algorithms.hat`): the units used per layer, the share of weights protected, and each task's masks. */
export type HATReport = Infer<typeof report>;

const savedValues = object({
  sMax: number(),
  testMask: enumOf(['binary', 'sigmoid']),
  layout: array(object({ layer: string({ nonEmpty: true }), units: integer({ min: 1 }) })),
  tasks: array(integer({ min: 1 })),
  report: report.optional(),
});

/**
 * s for a training batch: 1/s_max at the first batch of an epoch, s_max at
 * the last, s_max when the epoch has one batch. Written as the interpolation
 * s_max·f + (1/s_max)(1 − f), f = (b − 1)/(B − 1), which is the same s and
 * gives both ends exactly (1/s_max + (s_max − 1/s_max)·1 rounds below s_max).
 */
export function annealedScale(sMax: number, batch: BatchPosition): number {
  if (batch.count <= 1) return sMax;
  const f = batch.index / (batch.count - 1);
  return sMax * f + (1 / sMax) * (1 - f);
}

/** cosh(x) from exponentials (the binding has no cosh): within a few ulps of it. */
function cosh(x: Tensor): Tensor {
  return x.exp().add(x.neg().exp()).div(2);
}

/**
 * The compensation of the embeddings' gradient (the authors' hat.py):
 * s_max (cosh(clamp(s e, ±50)) + 1) / (s (cosh(e) + 1)).
 */
export function compensationFactor(e: Tensor, s: number, sMax: number): Tensor {
  return cosh(e.mul(s).clamp(-COSH_CLAMP, COSH_CLAMP)).add(1).mul(sMax).div(cosh(e).add(1).mul(s));
}

/** A per-unit vector of the layer before `entry`, one value per input of `entry` (CNN fc1 repeats each channel's over its H·W inputs). */
function perInput(v: Tensor, entry: MaskedLayer): Tensor {
  const k = entry.inputsPerPrecedingUnit;
  return k === 1 ? v : v.unsqueeze(1).expand([v.shape[0]!, k]).reshape([v.shape[0]! * k]);
}

/**
 * A per-weight tensor from per-unit values, broadcastable to the layer's
 * weight: combine(out_i, in_j) for weight (i, j) (a conv weight [out, in, k, k]
 * takes the channel pair's), or out_i alone for the first layer.
 */
export function pairwise(entry: MaskedLayer, out: Tensor, previous: Tensor | null, combine: (a: Tensor, b: Tensor) => Tensor): Tensor {
  const spatial = entry.kind === 'conv' ? [1, 1] : [];
  const column = out.reshape([entry.units, 1, ...spatial]);
  if (previous === null) return column;
  const inputs = perInput(previous, entry);
  return combine(column, inputs.reshape([1, inputs.shape[0]!, ...spatial]));
}

/** The `hat` algorithm. HAT: a learned attention mask over the units per task; gradients of units earlier tasks use are conditioned and their weights kept (TIL only). */
export class HAT implements Algorithm {
  readonly name: string = 'hat';
  /** The name in messages. */
  protected readonly label: string = 'HAT';
  readonly sMax: number;
  readonly c: number;
  readonly embeddingClamp: number;
  readonly compensation: boolean;
  readonly testMask: TestMask;
  readonly protection: 'exact' | 'gradient';

  protected layout: MaskedLayer[] | null = null;
  /** The layers and unit counts of a loaded checkpoint, checked against the model at the next task. */
  private savedLayout: { layer: string; units: number }[] | null = null;
  /** e^t of the task being trained, by layer (trained by the task's optimizer). */
  protected current: Map<string, Parameter> | null = null;
  protected currentTask: TaskId | null = null;
  /** e^j of every finished task j, by layer. */
  protected readonly stored = new Map<TaskId, Map<string, Tensor>>();
  /** a^{<t} = max_j σ(s_max e^j), by layer (absent before the first task ends). */
  protected readonly cumulative = new Map<string, Tensor>();
  /** b^{<t}: the union of the finished tasks' binary masks 1[e^j > 0] (bool), by layer. */
  protected readonly used = new Map<string, Tensor>();
  /** 1 − a^{<t} by layer for the task being trained, and its sum over all units (R's denominator). */
  protected readonly free = new Map<string, Tensor>();
  protected freeTotal = 0;
  /** This training step's gates a^t by layer (from the forward, alive until the step ends). */
  protected gates: Map<string, Tensor> | null = null;
  /** HAT's gradient factors 1 − min(a^{<t}_i, a^{<t}_j) by `${layer}.weight` / `${layer}.bias`, for the task being trained. */
  private readonly factors = new Map<string, Tensor>();
  private readonly frozen = new FrozenValues();
  protected history: HATTaskReport[] = [];
  protected lastReport: HATReport | null = null;

  constructor(options: HATFamilyOptions & { protection?: 'exact' | 'gradient' }) {
    this.sMax = options.sMax;
    this.c = options.c;
    this.embeddingClamp = options.embeddingClamp;
    this.compensation = options.compensation;
    this.testMask = options.testMask;
    this.protection = options.protection ?? 'gradient';
  }

  /** e^t, drawn N(0, 1) from the global generator (the model's own initialisation draws from it too). */
  trainableParameters(model: ContinualModel, task: TaskId): Parameter[] {
    const backbone = this.gatedBackbone(model);
    const layout = this.layoutOf(backbone);
    if (this.layout === null) {
      this.checkSavedLayout(layout);
      this.layout = layout;
    } else {
      checkSameLayout(this.label, { what: 'layers', state: 'the masks' }, this.layout.map(named), layout.map(named));
    }
    this.disposeCurrent();
    const current = new Map<string, Parameter>();
    noGrad(() => {
      for (const entry of layout) {
        const w = backbone.layer(entry.layer).weight;
        current.set(entry.layer, parameterFrom(empty([entry.units], { dtype: w.dtype, device: w.device }).normal_(0, 1)));
      }
    });
    this.current = current;
    this.currentTask = task;
    return [...current.values()];
  }

  onTaskStart(ctx: TaskContext): void {
    if (ctx.paradigm !== 'til') {
      throw new Error(`${this.label} supports task-incremental learning only (a mask per task, chosen by the task id; a shared head would be unprotected), but the paradigm is '${ctx.paradigm}'; set paradigm: til`);
    }
    const weightDecay = largestWeightDecay(ctx.optimizer);
    const decayProblem = weightDecay > 0 ? this.weightDecayProblem() : null;
    if (decayProblem !== null) {
      throw new Error(
        `${this.label}: the optimizer has weightDecay ${weightDecay}, which would move the weights earlier tasks use (decay acts after ${this.label} scales their gradients); ${decayProblem} (adamw defaults to 0.01)`,
      );
    }
    if (this.currentTask !== ctx.task || this.current === null) {
      throw new Error(`${this.label}: trainableParameters(model, ${ctx.task}) must be called before onTaskStart (the trainer does so)`);
    }
    this.prepareTask(ctx);
  }

  /** Why weight decay cannot be used with these options, naming the fix, or null when it can. */
  protected weightDecayProblem(): string | null {
    return this.protection === 'exact' ? null : "set training.optimizer.weightDecay: 0, or protection: exact, which puts those weights back after every step";
  }

  /** The task's free capacity 1 − a^{<t}, gradient factors and frozen weights. */
  protected prepareTask(ctx: TaskContext): void {
    this.clearTaskTensors();
    const layout = this.layout!;
    tidy(() =>
      noGrad(() => {
        let total = 0;
        for (const entry of layout) {
          const a = this.cumulative.get(entry.layer);
          const e = this.current!.get(entry.layer)!;
          const free = a === undefined ? ones([entry.units], { dtype: e.dtype, device: e.device }) : a.neg().add(1);
          this.free.set(entry.layer, keep(free));
          total += free.sum().item();
        }
        this.freeTotal = total;
      }),
    );
    if (this.cumulative.size === 0) return;
    this.prepareConditioning();
    if (this.protection === 'exact') {
      const backbone = this.gatedBackbone(ctx.model);
      tidy(() => {
        for (const entry of layout) {
          const b = this.used.get(entry.layer)!;
          const previous = entry.preceding === null ? null : this.used.get(entry.preceding)!;
          const layer = backbone.layer(entry.layer);
          this.frozen.freeze(layer.weight, pairwise(entry, b, previous, (x, y) => x.logicalAnd(y)));
          if (layer.bias !== null) this.frozen.freeze(layer.bias, b);
        }
      });
    }
  }

  /** HAT's factors 1 − min(a^{<t}_i, a^{<t}_j) (first layer and biases 1 − a^{<t}_i), fixed for the task. */
  protected prepareConditioning(): void {
    tidy(() => {
      for (const entry of this.layout!) {
        const a = this.cumulative.get(entry.layer)!;
        const previous = entry.preceding === null ? null : this.cumulative.get(entry.preceding)!;
        this.factors.set(`${entry.layer}.weight`, keep(pairwise(entry, a, previous, minimum).neg().add(1)));
        if (entry.hasBias) this.factors.set(`${entry.layer}.bias`, keep(a.neg().add(1)));
      }
    });
  }

  /**
   * The gated forward: σ(s e^t) while training task t (s from the batch's
   * position), the test mask of e^j otherwise (the current task's validation
   * uses its live embeddings).
   */
  forward(model: ContinualModel, x: Tensor, task: TaskId, batch?: BatchPosition): ModelOutput {
    const backbone = this.gatedBackbone(model);
    const gates = new Map<string, Tensor>();
    if (model.training) {
      if (task !== this.currentTask || this.current === null) {
        throw new Error(`${this.label}: a training forward for task ${task}, but ${this.currentTask === null ? 'no task' : `task ${this.currentTask}`} is being trained`);
      }
      if (batch === undefined) {
        throw new Error(`${this.label}: a training forward needs the batch's position in its epoch (s is annealed per batch); the trainer passes it`);
      }
      const s = annealedScale(this.sMax, batch);
      for (const [layer, e] of this.current) gates.set(layer, e.mul(s).sigmoid());
      this.gates = gates;
    } else {
      const embeddings = this.stored.get(task) ?? (task === this.currentTask ? this.current : undefined);
      if (embeddings === undefined || embeddings === null) {
        const known = [...this.stored.keys()];
        throw new Error(
          `${this.label}: no embeddings for task ${task} (testing); they exist for tasks [${known.join(', ')}]${this.currentTask === null ? '' : ` and task ${this.currentTask} is being trained`}`,
        );
      }
      for (const [layer, e] of embeddings) gates.set(layer, this.testGate(e));
    }
    const output = backbone.forward(x, undefined, gates);
    return { output, logits: model.heads.forward(output.feature, task) };
  }

  /** The mask a task is tested with: 1[e > 0] or σ(s_max e), in e's dtype. */
  protected testGate(e: Tensor): Tensor {
    return noGrad(() => (this.testMask === 'binary' ? e.gt(0).to(e.dtype) : e.mul(this.sMax).sigmoid()));
  }

  /** c·R with R = Σ a^t(1 − a^{<t}) / Σ (1 − a^{<t}); no term when no unit is free (Σ(1 − a^{<t}) = 0). */
  trainingLoss(_ctx: StepContext): Tensor | null {
    const gates = this.stepGates();
    if (this.freeTotal === 0 || this.c === 0) return null;
    let numerator: Tensor | null = null;
    for (const [layer, a] of gates) {
      const term = a.mul(this.free.get(layer)!).sum();
      numerator = numerator === null ? term : numerator.add(term);
    }
    return numerator!.div(this.freeTotal).mul(this.c);
  }

  protected stepGates(): ReadonlyMap<string, Tensor> {
    if (this.gates === null) throw new Error(`${this.label}: no training forward for this step (the forward hook must run first)`);
    return this.gates;
  }

  /** The gradient adjustment of the weights earlier tasks use, then the compensation of the embeddings' gradient. */
  afterBackward(ctx: StepContext): void {
    this.adjustGradients(ctx);
    if (!this.compensation) return;
    const s = annealedScale(this.sMax, { index: ctx.step, count: ctx.batchCount });
    tidy(() =>
      noGrad(() => {
        for (const e of this.current!.values()) e.grad?.mul_(compensationFactor(e, s, this.sMax));
      }),
    );
  }

  /** g ← (1 − min(a^{<t}_i, a^{<t}_j)) g (first layer and biases: 1 − a^{<t}_i). */
  protected adjustGradients(ctx: StepContext): void {
    if (this.factors.size === 0) return;
    const backbone = this.gatedBackbone(ctx.model);
    tidy(() =>
      noGrad(() => {
        for (const entry of this.layout!) {
          const layer = backbone.layer(entry.layer);
          layer.weight.grad?.mul_(this.factors.get(`${entry.layer}.weight`)!);
          if (layer.bias !== null) layer.bias.grad?.mul_(this.factors.get(`${entry.layer}.bias`)!);
        }
      }),
    );
  }

  /** Clamps e^t and puts back the weights earlier tasks' binary masks use. */
  onBatchEnd(_ctx: StepContext): void {
    if (this.embeddingClamp > 0) noGrad(() => this.current!.forEach((e) => e.clamp_(-this.embeddingClamp, this.embeddingClamp)));
    this.frozen.restore();
    this.gates = null;
  }

  /** Stores e^t; a^{≤t} = max(a^{<t}, σ(s_max e^t)) and b^{≤t} = b^{<t} ∨ 1[e^t > 0]. */
  onTaskEnd(ctx: TaskContext): void {
    if (this.current === null || this.currentTask !== ctx.task) throw new Error(`${this.label}: task ${ctx.task} ended but was not being trained`);
    const finished = new Map<string, Tensor>();
    noGrad(() => this.current!.forEach((e, layer) => finished.set(layer, keep(e.detach().clone()))));
    const usedBefore = this.unitsUsed();
    this.store(ctx.task, finished);
    this.disposeCurrent();
    this.clearTaskTensors();
    this.gates = null;
    const own = tidy(() => [...finished.values()].reduce((n, e) => n + e.gt(0).sum().item(), 0));
    const unitsUsed = this.unitsUsed();
    const entry: HATTaskReport = {
      task: ctx.task,
      units: own,
      newUnits: unitsUsed - usedBefore,
      capacityUsed: unitsUsed / this.totalUnits(),
      weightsProtected: this.weightsProtected(),
      ...this.taskReportExtras(),
    };
    this.history = [...this.history.filter((t) => t.task !== ctx.task), entry].sort((a, b) => a.task - b.task);
    this.lastReport = this.computeReport();
  }

  /** What a subclass adds to a finished task's report entry. */
  protected taskReportExtras(): Partial<HATTaskReport> {
    return {};
  }

  /** Adds finished task `task`'s embeddings to a^{<t} and b^{<t}. */
  protected store(task: TaskId, embeddings: Map<string, Tensor>): void {
    this.stored.get(task)?.forEach((e) => e.dispose());
    this.stored.set(task, embeddings);
    tidy(() =>
      noGrad(() => {
        for (const [layer, e] of embeddings) {
          const a = e.mul(this.sMax).sigmoid();
          const b = e.gt(0);
          const previousA = this.cumulative.get(layer);
          const previousB = this.used.get(layer);
          this.cumulative.set(layer, keep(previousA === undefined ? a : previousA.maximum(a)));
          this.used.set(layer, keep(previousB === undefined ? b : previousB.logicalOr(b)));
          previousA?.dispose();
          previousB?.dispose();
        }
      }),
    );
  }

  private unitsUsed(): number {
    return tidy(() => [...this.used.values()].reduce((n, b) => n + b.sum().item(), 0));
  }

  private totalUnits(): number {
    return this.layout!.reduce((n, e) => n + e.units, 0);
  }

  /** Fraction of the backbone's weights and biases with min(b_i, b_j) = 1 (biases b_i). */
  private weightsProtected(): number {
    let protectedCount = 0;
    let total = 0;
    tidy(() => {
      for (const entry of this.layout!) {
        const b = this.used.get(entry.layer)!;
        const previous = entry.preceding === null ? null : this.used.get(entry.preceding)!;
        const spatial = entry.kind === 'conv' ? entry.weightShape[2]! * entry.weightShape[3]! : 1;
        const inputs = entry.weightShape[1]!;
        const pairs = pairwise(entry, b, previous, (x, y) => x.logicalAnd(y));
        // A first layer's column counts for all its inputs.
        protectedCount += pairs.sum().item() * spatial * (previous === null ? inputs : 1);
        total += numel(entry.weightShape);
        if (entry.hasBias) {
          protectedCount += b.sum().item();
          total += entry.units;
        }
      }
    });
    return protectedCount / total;
  }

  private computeReport(): HATReport {
    const unitsUsedByLayer: Record<string, number> = {};
    const unitsByLayer: Record<string, number> = {};
    tidy(() => {
      for (const entry of this.layout!) {
        unitsUsedByLayer[entry.layer] = this.used.get(entry.layer)!.sum().item();
        unitsByLayer[entry.layer] = entry.units;
      }
    });
    const totalUnits = this.totalUnits();
    const used = Object.values(unitsUsedByLayer).reduce((a, b) => a + b, 0);
    return {
      capacityUnit: 'units',
      capacityUsedAfterTask: this.history.map((t) => t.capacityUsed),
      totalUnits,
      freeUnits: totalUnits - used,
      unitsUsedByLayer,
      unitsByLayer,
      weightsProtected: this.history[this.history.length - 1]?.weightsProtected ?? 0,
      tasks: this.history,
    };
  }

  /** Capacity after the last finished task (null before the first ends). */
  report(): HATReport | null {
    return this.lastReport;
  }

  summary(): AlgorithmSummary | null {
    const r = this.lastReport;
    const last = r?.tasks[r.tasks.length - 1];
    if (r == null || last === undefined) return null;
    const text =
      `capacity used ${(100 * last.capacityUsed).toFixed(2)}% of ${r.totalUnits} units (${r.freeUnits} free); ` +
      `task ${last.task}'s mask uses ${last.units} units (${last.newUnits} not used before); ${(100 * r.weightsProtected).toFixed(2)}% of weights protected` +
      (last.networkCapacity === undefined ? '' : `; network capacity ${last.networkCapacity.toPrecision(4)}`);
    return { text, values: r as unknown as Record<string, unknown> };
  }

  /** e^j of a finished task, or of the task being trained, by layer (for inspection). */
  embeddings(task: TaskId): ReadonlyMap<string, Tensor> | undefined {
    return this.stored.get(task) ?? (task === this.currentTask && this.current !== null ? this.current : undefined);
  }

  /** a^{<t} (real-valued) by layer, for inspection. */
  cumulativeMask(): ReadonlyMap<string, Tensor> {
    return this.cumulative;
  }

  /** b^{<t}, the union of the finished tasks' binary masks, by layer, for inspection. */
  usedUnits(): ReadonlyMap<string, Tensor> {
    return this.used;
  }

  /** This step's training gates a^t by layer (between the forward and the end of the step), for inspection. */
  trainingGates(): ReadonlyMap<string, Tensor> | null {
    return this.gates;
  }

  /** Every finished task's embeddings, and the report history. */
  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    const tasks = [...this.stored.keys()].sort((a, b) => a - b);
    for (const task of tasks) for (const [layer, e] of this.stored.get(task)!) tensors[`embeddings.${task}.${layer}`] = e;
    const values: Infer<typeof savedValues> = {
      sMax: this.sMax,
      testMask: this.testMask,
      layout: (this.layout ?? []).map((e) => ({ layer: e.layer, units: e.units })),
      tasks,
      ...(this.lastReport === null ? {} : { report: this.lastReport }),
    };
    return { tensors, values };
  }

  /** Rebuilds a^{<t} and b^{<t} from the saved embeddings; the backbone's layout is checked at the next task. */
  loadState(state: AlgorithmState): void {
    const values = readStateValues(savedValues, state.values);
    if (values.sMax !== this.sMax || values.testMask !== this.testMask) {
      throw new Error(
        `${this.label}: the checkpoint's masks were made with sMax ${values.sMax} and testMask ${values.testMask}, but this run has sMax ${this.sMax} and testMask ${this.testMask}; resume with the run's own configuration`,
      );
    }
    this.clear();
    const loaded = new Map<TaskId, Map<string, Tensor>>();
    try {
      for (const task of values.tasks) {
        const embeddings = new Map<string, Tensor>();
        loaded.set(task, embeddings);
        for (const { layer, units } of values.layout) {
          const e = readStateTensor(state, `embeddings.${task}.${layer}`, [units]);
          if (e.dtype !== 'float32' && e.dtype !== 'float64') throw new Error(`its saved tensor 'embeddings.${task}.${layer}' has dtype ${e.dtype}, expected a float`);
          if (!tidy(() => e.isfinite().all().item())) throw new Error(`its saved tensor 'embeddings.${task}.${layer}' is not finite`);
          embeddings.set(layer, keep(e.clone()));
        }
      }
    } catch (error) {
      for (const m of loaded.values()) m.forEach((e) => e.dispose());
      throw new Error(`${this.label}: the checkpoint cannot be restored: ${(error as Error).message}`);
    }
    for (const [task, embeddings] of loaded) this.store(task, embeddings);
    this.savedLayout = values.layout;
    this.history = values.report?.tasks ?? [];
    this.lastReport = values.report ?? null;
  }

  /** The backbone, if it can be gated: one of ours (batch normalisation is rejected by layoutOf). */
  protected gatedBackbone(model: ContinualModel): BackboneBase {
    return isolatedBackbone(model, this.label, 'unit gates');
  }

  protected layoutOf(backbone: BackboneBase): MaskedLayer[] {
    rejectBatchNorm(backbone, this.label, 'unit gates');
    return backbone.weightedLayerNames.map((layer) => {
      const l = backbone.layer(layer);
      return {
        layer,
        kind: l instanceof Conv2d ? 'conv' : 'linear',
        units: l.weight.shape[0]!,
        preceding: backbone.precedingLayer(layer),
        inputsPerPrecedingUnit: backbone.inputsPerPrecedingUnit(layer),
        hasBias: l.bias !== null,
        weightShape: [...l.weight.shape],
      };
    });
  }

  private checkSavedLayout(now: readonly MaskedLayer[]): void {
    if (this.savedLayout === null || this.stored.size === 0) return;
    const describe = (l: readonly { layer: string; units: number }[]): string => l.map((e) => `${e.layer} (${e.units} units)`).join(', ');
    if (describe(this.savedLayout) !== describe(now)) {
      throw new Error(`${this.label}: the checkpoint's embeddings are for ${describe(this.savedLayout)}, the model has ${describe(now)}; resume with the run's own backbone`);
    }
  }

  /** The tensors that live for one task: free capacity, gradient factors, frozen weights. */
  protected clearTaskTensors(): void {
    for (const t of [...this.free.values(), ...this.factors.values()]) t.dispose();
    this.free.clear();
    this.factors.clear();
    this.freeTotal = 0;
    this.frozen.clear();
  }

  private disposeCurrent(): void {
    this.current?.forEach((e) => e.dispose());
    this.current = null;
    this.currentTask = null;
  }

  protected clear(): void {
    this.disposeCurrent();
    this.clearTaskTensors();
    for (const m of this.stored.values()) m.forEach((e) => e.dispose());
    this.stored.clear();
    for (const t of [...this.cumulative.values(), ...this.used.values()]) t.dispose();
    this.cumulative.clear();
    this.used.clear();
    this.gates = null;
    this.layout = null;
    this.savedLayout = null;
    this.history = [];
    this.lastReport = null;
  }

  dispose(): void {
    this.clear();
  }
}

/** A masked layer as the layout check names it. */
const named = (e: MaskedLayer): LayoutEntry => ({ name: e.layer, shape: e.weightShape });

export const HAT_PARADIGM_NOTE =
  'a task is tested with its own mask, chosen by the task id, and the shared head of DIL (or the growing CIL heads) would be trained by every task with nothing protecting it (CLArena allows DIL and leaves its head unprotected)';

/** The definition of `hat` (`algorithms: [{name: hat}]`): HAT: a learned attention mask over the units per task; gradients of units earlier tasks use are conditioned and their weights kept (TIL only). */
export const hatDefinition = defineAlgorithm({
  name: 'hat',
  summary: 'HAT: a learned attention mask over the units per task; gradients of units earlier tasks use are conditioned and their weights kept (TIL only)',
  options: hatOptions,
  paradigms: ['til'],
  paradigmNote: HAT_PARADIGM_NOTE,
  unlearning: () => 'retains',
  create: (options) => new HAT(options),
});
