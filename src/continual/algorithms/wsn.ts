// WSN, Winning SubNetworks (Kang et al. 2022), as defined in docs/algorithms/wsn.md.
//
// Every weight and bias tensor θ of the backbone's weighted layers has a
// learnable score tensor s of its shape. The task's subnetwork is the mask
//   m = 1[s among the top c of its tensor]      (per weight tensor and per bias)
// and the backbone runs on θ ⊙ m. The scores learn through a straight-through
// gate (∂m/∂s = 1), so ∂L/∂s = ∂L/∂(θ ⊙ m) ⊙ θ. Before every optimizer step
// the gradients of weights used by an earlier task are zeroed,
//   ∇θ ← ∇θ ⊙ (1 − M_{t−1}),
// so those weights never change. At the end of task t its mask m_t is stored
// and M_t = M_{t−1} ∨ m_t. Testing task j runs the backbone on θ ⊙ m_j with
// head j: the weights under m_j are frozen from then on, so the accuracy on
// task j never changes (BWT is exactly 0).
//
// The heads are per task (TIL only) and are not masked: head j is trained in
// task j only and nothing touches it afterwards.
import { type Infer, array, boolean, enumOf, integer, number, object, record, string } from '../../config/schema.js';
import { calculateFanInAndFanOut, kaimingUniform_ } from '../../nn/init.js';
import { type Parameter, parameterFrom } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import { empty, tensor } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BackboneBase, LayerParameters } from '../backbones/common.js';
import type { ContinualModel, ModelOutput } from '../model/model.js';
import type { TaskId } from '../contracts/types.js';
import type { Algorithm, AlgorithmState, AlgorithmSummary, StepContext, TaskContext } from './algorithm.js';
import { defineAlgorithm } from './definition.js';
import { readCheckpointedValues, readStateValues } from './state.js';
import { huffmanDecode, huffmanEncode } from './huffman.js';
import { type LayoutEntry, checkSameLayout, isolatedBackbone, largestWeightDecay, numel, rejectBatchNorm } from './isolation.js';
import { ThresholdSearch, packBits, straightThroughMask, topFractionMask, unpackBits } from './wsn_masks.js';

const wsnOptions = object({
  maskPercentage: number({ min: 0, max: 1, minExclusive: true }).describe('wsn: c, the fraction of each weight tensor and bias a task uses, in (0, 1]'),
  scoreInit: enumOf(['default', 'N01', 'U01'])
    .default('default')
    .describe("wsn: score initialisation: 'default' (kaiming-uniform a = √5, biases U(±1/√fan_in)), 'N01' or 'U01'"),
  reinitializeScores: boolean().default(false).describe('wsn: draw fresh scores at every task (CLArena) instead of sharing one set (the paper)'),
  maskCompression: enumOf(['none', 'huffman']).default('none').describe("wsn: how checkpoints store the masks: 1 bit per weight ('none') or Huffman-coded"),
});
/** The options of `wsn`, validated and defaulted: an `algorithms` entry `{name: wsn, ...}` without its name. */
export type WSNOptions = Infer<typeof wsnOptions>;
export type ScoreInit = WSNOptions['scoreInit'];
export type MaskCompression = WSNOptions['maskCompression'];

/** One masked tensor: a weight or bias of a weighted layer. */
interface MaskedTensor {
  /** `${layer}.weight` or `${layer}.bias`. */
  key: string;
  layer: string;
  kind: 'weight' | 'bias';
  shape: readonly number[];
}

const taskReport = object({
  task: integer({ min: 1 }),
  /** Weights (and biases) the task's mask keeps. */
  kept: integer({ min: 0 }),
  /** Weights the task's mask keeps that no earlier task had used. */
  newlyUsed: integer({ min: 0 }),
  /** The mask packed at 1 bit per weight (padding to whole bytes not counted). */
  packedBits: integer({ min: 0 }),
  /** The packed mask Huffman-coded, with its 2,080-bit header (code table and length). */
  huffmanBits: integer({ min: 0 }),
});
/** Mask storage of one task. */
export type WSNTaskReport = Infer<typeof taskReport>;

const report = object({
  maskPercentage: number(),
  /** Weights and biases under masks (every masked tensor's size, summed). */
  totalWeights: integer({ min: 0 }),
  /** Fraction of them in M_T, the union of the finished tasks' masks. */
  capacityUsed: number({ min: 0, max: 1 }),
  /** The same by masked tensor. */
  capacityByTensor: record(number({ min: 0, max: 1 })),
  tasks: array(taskReport),
});
/** What the run reports: capacity used and mask storage per task. */
export type WSNReport = Infer<typeof report>;

/** The JSON values WSN checkpoints next to its tensors. */
const savedValues = object({
  maskPercentage: number(),
  layout: array(object({ key: string({ nonEmpty: true }), shape: array(integer({ min: 0 })) })),
  tasks: array(integer({ min: 1 })),
  maskEncoding: enumOf(['bits', 'huffman']),
  report: report.optional(),
});
type SavedValues = Infer<typeof savedValues>;

/** The `wsn` algorithm. WSN: a learned top-c% subnetwork per task; weights used by earlier tasks are frozen (TIL only). */
export class WSN implements Algorithm {
  readonly name = 'wsn';
  readonly maskPercentage: number;
  readonly scoreInit: ScoreInit;
  readonly reinitializeScores: boolean;
  readonly maskCompression: MaskCompression;

  /** The masked tensors of the backbone, in layer order (known from the first task or a checkpoint). */
  private layout: MaskedTensor[] | null = null;
  /** s: one score tensor per masked tensor, trained by the task's optimizer. */
  private readonly scores = new Map<string, Parameter>();
  /** m_j of every finished task j (bool). */
  private readonly taskMasks = new Map<TaskId, Map<string, Tensor>>();
  /** M: the union of the finished tasks' masks (bool); absent before the first task ends. */
  private readonly cumulative = new Map<string, Tensor>();
  /** 1 − M as the weights' dtype: the gradient factor (a multiply is ten times faster than a masked fill). */
  private readonly free = new Map<string, Tensor>();
  /** Each finished task's mask packed at 1 bit per weight and Huffman-coded, encoded once (at the task's end or on load). */
  private readonly storedMasks = new Map<TaskId, { packed: Uint8Array; huffman: Uint8Array }>();
  /** Per score tensor, the gate's threshold search from step to step (a speed-up only: the masks do not depend on it). */
  private readonly thresholdSearches = new Map<string, ThresholdSearch>();
  /** The task being trained: its forward uses the live gate on the scores. */
  private currentTask: TaskId | null = null;
  private lastReport: WSNReport | null = null;

  constructor(options: WSNOptions) {
    this.maskPercentage = options.maskPercentage;
    this.scoreInit = options.scoreInit;
    this.reinitializeScores = options.reinitializeScores;
    this.maskCompression = options.maskCompression;
  }


  /** The scores, created on the first task (and redrawn at every task with reinitializeScores). */
  trainableParameters(model: ContinualModel, task: TaskId): Parameter[] {
    const backbone = maskableBackbone(model);
    const layout = layoutOf(backbone);
    if (this.layout === null) this.layout = layout;
    else checkSameLayout('WSN', { what: 'tensors', state: 'scores and masks' }, this.layout.map(named), layout.map(named));
    if (this.scores.size === 0) {
      noGrad(() => {
        for (const entry of layout) {
          const target = targetOf(backbone, entry);
          this.scores.set(entry.key, parameterFrom(empty(entry.shape, { dtype: target.dtype, device: target.device })));
        }
      });
      this.initializeScores(backbone);
    } else if (this.reinitializeScores) {
      this.initializeScores(backbone);
    }
    this.currentTask = task;
    return [...this.scores.values()];
  }

  private initializeScores(backbone: BackboneBase): void {
    tidy(() =>
      noGrad(() => {
        for (const entry of this.layout!) {
          const s = this.scores.get(entry.key)!;
          switch (this.scoreInit) {
            case 'default': {
              // As PyTorch initialises a layer's own weight and bias: both end up U(±1/√fan_in).
              if (entry.kind === 'weight') kaimingUniform_(s, { a: Math.sqrt(5) });
              else {
                const bound = 1 / Math.sqrt(calculateFanInAndFanOut(backbone.layer(entry.layer).weight)[0]);
                s.uniform_(-bound, bound);
              }
              break;
            }
            case 'N01':
              s.normal_(0, 1);
              break;
            case 'U01':
              s.uniform_(0, 1);
              break;
          }
        }
      }),
    );
  }

  onTaskStart(ctx: TaskContext): void {
    if (ctx.paradigm !== 'til') {
      throw new Error(`WSN supports task-incremental learning only (a stored mask per task, chosen by the task id), but the paradigm is '${ctx.paradigm}'; set paradigm: til`);
    }
    const decay = largestWeightDecay(ctx.optimizer);
    if (decay > 0) {
      throw new Error(
        `WSN: the optimizer has weightDecay ${decay}, which would move the weights earlier tasks froze (decay acts after WSN zeroes their gradients); set training.optimizer.weightDecay: 0 (adamw defaults to 0.01)`,
      );
    }
    if (this.currentTask !== ctx.task) throw new Error(`WSN: trainableParameters(model, ${ctx.task}) must be called before onTaskStart (the trainer does so)`);
  }

  /**
   * ∇θ ← ∇θ ⊙ (1 − M_{t−1}): weights an earlier task uses get a zero gradient,
   * so the step leaves them exactly as they are (for finite gradients; the
   * trainer stops at a non-finite loss).
   */
  afterBackward(ctx: StepContext): void {
    if (this.free.size === 0) return;
    const backbone = maskableBackbone(ctx.model);
    tidy(() => {
      for (const entry of this.layout!) {
        const g = targetOf(backbone, entry).grad;
        if (g !== null) g.mul_(this.free.get(entry.key)!);
      }
    });
  }

  /**
   * The masked forward: θ ⊙ m_task for a finished task tested in eval mode,
   * θ ⊙ gate(s) for the task being trained (straight-through in training, the
   * plain gate in its validation).
   */
  forward(model: ContinualModel, x: Tensor, task: TaskId): ModelOutput {
    const backbone = maskableBackbone(model);
    const stored = model.training ? undefined : this.taskMasks.get(task);
    if (stored === undefined && task !== this.currentTask) {
      const known = [...this.taskMasks.keys()];
      throw new Error(
        `WSN: no mask for task ${task} (${model.training ? 'training' : 'testing'}); masks exist for tasks [${known.join(', ')}]${this.currentTask === null ? '' : ` and task ${this.currentTask} is being trained`}`,
      );
    }
    const c = this.maskPercentage;
    const maskOf = (key: string): Tensor => {
      if (stored !== undefined) return stored.get(key)!;
      const s = this.scores.get(key)!;
      let search = this.thresholdSearches.get(key);
      if (search === undefined) this.thresholdSearches.set(key, (search = new ThresholdSearch()));
      return model.training ? straightThroughMask(s, c, search) : topFractionMask(s, c, search);
    };
    const overrides = new Map<string, LayerParameters>();
    for (const name of backbone.weightedLayerNames) {
      const layer = backbone.layer(name);
      overrides.set(name, {
        weight: layer.weight.mul(maskOf(`${name}.weight`)),
        bias: layer.bias === null ? null : layer.bias.mul(maskOf(`${name}.bias`)),
      });
    }
    const output = backbone.forward(x, overrides);
    return { output, logits: model.heads.forward(output.feature, task) };
  }

  /** Stores m_t = gate(s) and updates M_t = M_{t−1} ∨ m_t. */
  onTaskEnd(ctx: TaskContext): void {
    const masks = new Map<string, Tensor>();
    let kept = 0;
    let newlyUsed = 0;
    tidy(() =>
      noGrad(() => {
        for (const entry of this.layout!) {
          const m = keep(topFractionMask(this.scores.get(entry.key)!, this.maskPercentage));
          masks.set(entry.key, m);
          const previous = this.cumulative.get(entry.key);
          kept += m.sum().item();
          newlyUsed += (previous === undefined ? m : m.logicalAnd(previous.logicalNot())).sum().item();
          this.cumulative.set(entry.key, keep(previous === undefined ? m.clone() : previous.logicalOr(m)));
          previous?.dispose();
        }
      }),
    );
    this.updateFree();
    this.taskMasks.get(ctx.task)?.forEach((m) => m.dispose());
    this.taskMasks.set(ctx.task, masks);
    const packed = packBits(this.maskBits(ctx.task));
    const huffman = huffmanEncode(packed);
    this.storedMasks.set(ctx.task, { packed, huffman });
    const entry: WSNTaskReport = { task: ctx.task, kept, newlyUsed, packedBits: this.totalWeights(), huffmanBits: huffman.length * 8 };
    const earlier = (this.lastReport?.tasks ?? []).filter((t) => t.task !== ctx.task);
    this.lastReport = this.computeReport([...earlier, entry].sort((a, b) => a.task - b.task));
  }

  /** Weights and biases under masks: every masked tensor's size, summed. */
  private totalWeights(): number {
    return this.layout!.reduce((n, e) => n + numel(e.shape), 0);
  }

  /** 1 − M from M, in the dtype and on the device of the weights. */
  private updateFree(): void {
    for (const f of this.free.values()) f.dispose();
    this.free.clear();
    tidy(() => {
      for (const [key, m] of this.cumulative) {
        const s = this.scores.get(key)!;
        this.free.set(key, keep(m.logicalNot().to({ dtype: s.dtype, device: s.device })));
      }
    });
  }

  /** The stored mask of a finished task (bool tensors by `${layer}.weight` / `${layer}.bias`), for inspection. */
  taskMask(task: TaskId): ReadonlyMap<string, Tensor> | undefined {
    return this.taskMasks.get(task);
  }

  /** M, the union of the finished tasks' masks, for inspection. */
  cumulativeMask(): ReadonlyMap<string, Tensor> {
    return this.cumulative;
  }

  /** The scores by masked tensor, for inspection. */
  scoreTensors(): ReadonlyMap<string, Parameter> {
    return this.scores;
  }

  /** Capacity used and mask storage after the last finished task (null before the first ends). */
  report(): WSNReport | null {
    return this.lastReport;
  }

  /**
   * The report for the run's log and summary.json: capacity used and the last
   * task's mask bits, plus the capacity report every parameter-isolation
   * algorithm gives (`capacityUsedAfterTask`, `capacityUnit`). The per-task
   * capacity is derived from the report's task entries (Σ newlyUsed up to the
   * task over all masked weights), which checkpoints carry, so a resumed run
   * reports the same.
   */
  summary(): AlgorithmSummary | null {
    const r = this.lastReport;
    const last = r?.tasks[r.tasks.length - 1];
    if (r == null || last === undefined) return null;
    const huffman = this.maskCompression === 'huffman' ? `, ${last.huffmanBits} Huffman-coded` : '';
    const text =
      `capacity used ${(100 * r.capacityUsed).toFixed(2)}% of ${r.totalWeights} weights; ` +
      `task ${last.task}'s mask keeps ${last.kept} (${last.newlyUsed} not used before), stored in ${last.packedBits} bits${huffman}`;
    let used = 0;
    const capacityUsedAfterTask = r.tasks.map((t) => (used += t.newlyUsed) / r.totalWeights);
    return { text, values: { ...r, capacityUsedAfterTask, capacityUnit: 'weights' } };
  }

  /** The report from the per-task entries (each computed once, at its task's end) and the capacity M uses now. */
  private computeReport(tasks: WSNTaskReport[]): WSNReport {
    const layout = this.layout!;
    const totalWeights = this.totalWeights();
    const capacityByTensor: Record<string, number> = {};
    let used = 0;
    tidy(() => {
      for (const e of layout) {
        const count = this.cumulative.get(e.key)!.sum().item();
        capacityByTensor[e.key] = count / numel(e.shape);
        used += count;
      }
    });
    return { maskPercentage: this.maskPercentage, totalWeights, capacityUsed: used / totalWeights, capacityByTensor, tasks };
  }

  /** The mask of `task` as one 0/1 byte per weight, the masked tensors concatenated in layout order. */
  private maskBits(task: TaskId): Uint8Array {
    const masks = this.taskMasks.get(task)!;
    const parts = this.layout!.map((e) => masks.get(e.key)!.toTypedArray() as Uint8Array);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  /** Scores as they are, each finished task's mask packed at 1 bit per weight (Huffman-coded with maskCompression 'huffman'). */
  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    for (const [key, s] of this.scores) tensors[`scores.${key}`] = s;
    const tasks = [...this.taskMasks.keys()].sort((a, b) => a - b);
    for (const task of tasks) {
      const stored = this.storedMasks.get(task)!;
      tensors[`masks.${task}`] = tensor(this.maskCompression === 'huffman' ? stored.huffman : stored.packed);
    }
    const values: SavedValues = {
      maskPercentage: this.maskPercentage,
      layout: (this.layout ?? []).map((e) => ({ key: e.key, shape: [...e.shape] })),
      tasks,
      maskEncoding: this.maskCompression === 'huffman' ? 'huffman' : 'bits',
      ...(this.lastReport === null ? {} : { report: this.lastReport }),
    };
    return { tensors, values };
  }

  loadState(state: AlgorithmState): void {
    const values = readStateValues(savedValues, state.values);
    if (values.maskPercentage !== this.maskPercentage) {
      throw new Error(`WSN: the checkpoint's masks keep a fraction ${values.maskPercentage} of the weights, but maskPercentage is ${this.maskPercentage}; resume with the run's own configuration`);
    }
    this.clear();
    if (values.layout.length === 0) return;
    this.layout = values.layout.map((e) => {
      const dot = e.key.lastIndexOf('.');
      return { key: e.key, layer: e.key.slice(0, dot), kind: e.key.slice(dot + 1) as 'weight' | 'bias', shape: e.shape };
    });
    for (const e of this.layout) {
      const saved = state.tensors[`scores.${e.key}`];
      if (saved === undefined) throw new Error(`WSN: the checkpoint has no scores for ${e.key}`);
      this.scores.set(e.key, parameterFrom(saved.clone()));
    }
    const total = this.totalWeights();
    for (const task of values.tasks) {
      const saved = state.tensors[`masks.${task}`];
      if (saved === undefined) throw new Error(`WSN: the checkpoint has no mask for task ${task}`);
      const bytes = saved.toTypedArray() as Uint8Array;
      const packed = values.maskEncoding === 'huffman' ? huffmanDecode(bytes) : bytes;
      this.storedMasks.set(task, { packed, huffman: values.maskEncoding === 'huffman' ? bytes : huffmanEncode(packed) });
      const bits = unpackBits(packed, total);
      const masks = new Map<string, Tensor>();
      let offset = 0;
      for (const e of this.layout) {
        const n = numel(e.shape);
        masks.set(e.key, keep(tensor(bits.slice(offset, offset + n), { dtype: 'bool', shape: e.shape, device: this.scores.get(e.key)!.device })));
        offset += n;
      }
      this.taskMasks.set(task, masks);
    }
    tidy(() => {
      for (const e of this.layout!) {
        let union: Tensor | null = null;
        for (const masks of this.taskMasks.values()) union = union === null ? masks.get(e.key)! : union.logicalOr(masks.get(e.key)!);
        if (union !== null) this.cumulative.set(e.key, keep(union.clone()));
      }
    });
    this.updateFree();
    this.lastReport = values.report ?? null;
  }

  private clear(): void {
    for (const s of this.scores.values()) s.dispose();
    this.scores.clear();
    for (const masks of this.taskMasks.values()) for (const m of masks.values()) m.dispose();
    this.taskMasks.clear();
    this.storedMasks.clear();
    for (const m of [...this.cumulative.values(), ...this.free.values()]) m.dispose();
    this.cumulative.clear();
    this.free.clear();
    this.layout = null;
    this.currentTask = null;
    this.lastReport = null;
  }

  dispose(): void {
    this.clear();
  }
}

/** The backbone, if WSN can mask it: one of ours (forward with replacement parameters). */
function maskableBackbone(model: ContinualModel): BackboneBase {
  return isolatedBackbone(model, 'WSN', 'masked weights');
}

/** The masked tensors of `backbone`; rejects batch normalisation, whose running statistics and affine parameters no mask protects. */
function layoutOf(backbone: BackboneBase): MaskedTensor[] {
  rejectBatchNorm(backbone, 'WSN', 'masked weights');
  return backbone.weightedLayerNames.flatMap((layer) => {
    const l = backbone.layer(layer);
    const entries: MaskedTensor[] = [{ key: `${layer}.weight`, layer, kind: 'weight', shape: [...l.weight.shape] }];
    if (l.bias !== null) entries.push({ key: `${layer}.bias`, layer, kind: 'bias', shape: [...l.bias.shape] });
    return entries;
  });
}

/** A masked tensor as the layout check names it. */
const named = (e: MaskedTensor): LayoutEntry => ({ name: e.key, shape: e.shape });

function targetOf(backbone: BackboneBase, entry: MaskedTensor): Tensor {
  const layer = backbone.layer(entry.layer);
  return entry.kind === 'weight' ? layer.weight : layer.bias!;
}

/**
 * The WSN report stored in a checkpoint (`runs/<run>/checkpoints/task_t.safetensors`):
 * capacity used and mask bits per task after task t, or null when the run has no WSN.
 */
export function readWSNReport(checkpointFile: string): WSNReport | null {
  return readCheckpointedValues(checkpointFile, 'wsn', savedValues)?.report ?? null;
}

/** The definition of `wsn` (`algorithms: [{name: wsn}]`): WSN: a learned top-c% subnetwork per task; weights used by earlier tasks are frozen (TIL only). */
export const wsnDefinition = defineAlgorithm({
  name: 'wsn',
  summary: 'WSN: a learned top-c% subnetwork per task; weights used by earlier tasks are frozen (TIL only)',
  options: wsnOptions,
  paradigms: ['til'],
  unlearning: () => 'retains',
  create: (options) => new WSN(options),
});
