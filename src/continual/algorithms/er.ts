// Experience Replay (Chaudhry et al. 2019; algorithms-next.md section 15).
// A memory M of `capacity` examples is filled from the stream; each step a
// minibatch B_M of `batchSize` distinct examples is drawn from M and trained
// on together with the incoming batch B. How the two losses combine:
//
//   concat    L = (Σ_{i∈B} CE_i + Σ_{j∈B_M} CE_j) / (|B| + |B_M|)
//             one forward pass over B ∪ B_M, so batch-norm statistics are
//             those of the mix (Mammoth's er.py, the paper's definition)
//   sum       L = mean_B CE + mean_{B_M} CE
//             (the `replay` plugin; with |B| = |B_M| twice concat's loss)
//   weighted  L = (1/t)·mean_B CE + (1 − 1/t)·mean_{B_M} CE, t the task
//             (van de Ven's models/classifier.py:283; no replay on task 1)
//
// Memory (memory/buffer.ts): after each optimizer step the batch's inputs,
// exactly as the trainer gave them, are offered with their targets in the
// paradigm's label space (CIL: global classes) and their task, to a
// reservoir (each example of the stream kept with probability min(1, K/n))
// or a class-balanced memory (a quota of ⌊K/|Y_seen|⌋ per class, the rest to
// the first classes, a reservoir within each class). Inserting after the
// step means a batch is never replayed alongside itself.
//
// Replayed rows are scored by the head their paradigm gives them
// (memory/replayed_loss.ts): TIL each row through its own task's head, CIL
// the logits of every head so far against the global target, DIL the shared
// head. Draws come from ER's own generator, reseeded per task from
// (seed, 'er', task), so a resumed run draws the same examples.
//
// concat replaces the trainer's forward pass for training batches: the
// backbone runs once over B ∪ B_M, the trainer receives B's rows (logits,
// feature, activations) and classificationLoss scores the union from the
// same pass; B's forward is not computed twice. When another algorithm's
// forward pass wins (it comes first in the run), ER scores B from the
// trainer's logits and B_M from a separate pass of the model (the same loss
// without the mixed batch-norm statistics).
import { type Infer, enumOf, integer, object } from '../../config/schema.js';
import { crossEntropy } from '../../nn/functional.js';
import { cat } from '../../tensor/functions.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { TaskId } from '../contracts/types.js';
import { type MemoryBatch, MemoryBuffer } from '../memory/buffer.js';
import { Rehearsal } from '../memory/rehearsal.js';
import { type ReplayedGroup, replayedCrossEntropy, replayedHeadLogits, replayedLogits, summedCrossEntropy } from '../memory/replayed_loss.js';
import type { ContinualModel, ModelOutput } from '../model/model.js';
import type { BatchContext, BatchPosition, StepContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';

const erOptions = object({
  capacity: integer({ min: 1 }).default(200).describe('er: examples kept in the memory'),
  batchSize: integer({ min: 1 }).default(32).describe('er: examples drawn from the memory per training step (B_M)'),
  policy: enumOf(['reservoir', 'classBalanced']).default('reservoir').describe('er: which examples the memory keeps: a uniform sample of the stream, or an equal quota per class'),
  combine: enumOf(['concat', 'sum', 'weighted']).default('concat').describe("er: concat: CE mean over B ∪ B_M in one forward pass (Mammoth); sum: mean CE(B) + mean CE(B_M) (the replay plugin); weighted: (1/t)·CE(B) + (1 − 1/t)·CE(B_M) (van de Ven)"),
  seed: integer({ min: 0 }).default(0).describe("er: seed of the memory's own generator (insertion and draws)"),
});
/** The options of `er`, validated and defaulted: an `algorithms` entry `{name: er, ...}` without its name. */
export type EROptions = Infer<typeof erOptions>;

/** A concatenated forward pass waiting for its loss: the batch it was made for, the draw, and the draw's logits. */
interface PendingUnion {
  readonly x: Tensor;
  readonly replayed: MemoryBatch;
  readonly groups: ReplayedGroup[];
}

/** The `er` algorithm. Experience replay: each step trains on the batch together with a minibatch drawn from a reservoir or class-balanced memory. */
export class ER extends Rehearsal {
  readonly name = 'er';
  readonly options: EROptions;
  private pending: PendingUnion | null = null;

  constructor(options: EROptions) {
    super(new MemoryBuffer({ capacity: options.capacity, policy: options.policy }), options.seed, 'er');
    this.options = options;
  }

  /** concat: one backbone pass over B ∪ B_M; the trainer gets B's rows. */
  forward(model: ContinualModel, x: Tensor, task: TaskId, batch?: BatchPosition): ModelOutput | null {
    this.pending = null;
    if (this.options.combine !== 'concat' || batch === undefined || !model.training) return null;
    const replayed = this.memory.sample(this.options.batchSize, this.rng);
    if (replayed === null) return null;
    const n = x.shape[0]!;
    const m = replayed.x.shape[0]!;
    const union = model.backbone.forward(cat([x, replayed.x]));
    const feature = union.feature.narrow(0, 0, n);
    const groups = replayedHeadLogits(model, model.heads.paradigm, task, union.feature.narrow(0, n, m), replayed.tasks);
    this.pending = { x, replayed, groups };
    const activations = new Map([...union.activations].map(([name, a]) => [name, a.narrow(0, 0, n)] as [string, Tensor]));
    return { output: { feature, activations }, logits: model.heads.forward(feature, task) };
  }

  classificationLoss(ctx: BatchContext): Tensor | null {
    if (this.options.combine === 'concat') return this.concatLoss(ctx);
    if (this.options.combine === 'weighted' && ctx.task > 1) {
      // (1/t)·L_cur + (1 − 1/t)·L_replay; on task 1 the replay weight is 0 and nothing is drawn.
      const replayed = this.memory.sample(this.options.batchSize, this.rng);
      if (replayed === null) return null;
      const t = ctx.task;
      return crossEntropy(ctx.logits, ctx.targets).mul(1 / t).add(replayedCrossEntropy(ctx, replayed).mul(1 - 1 / t));
    }
    return null;
  }

  /** sum: the replayed minibatch's mean cross-entropy added to the batch's. */
  trainingLoss(ctx: StepContext): Tensor | null {
    if (this.options.combine !== 'sum') return null;
    const replayed = this.memory.sample(this.options.batchSize, this.rng);
    return replayed === null ? null : replayedCrossEntropy(ctx, replayed);
  }

  onBatchEnd(ctx: StepContext): void {
    this.memory.insert({ x: ctx.x, targets: ctx.targets, task: ctx.task }, this.rng);
  }

  /** (Σ_B CE + Σ_{B_M} CE) / (|B| + |B_M|), from the concatenated pass when ER's forward made it. */
  private concatLoss(ctx: BatchContext): Tensor | null {
    const pending = this.pending;
    this.pending = null;
    let replayed: MemoryBatch | null;
    let groups: ReplayedGroup[];
    if (pending !== null && pending.x === ctx.x) ({ replayed, groups } = pending);
    else {
      replayed = this.memory.sample(this.options.batchSize, this.rng);
      if (replayed === null) return null;
      groups = replayedLogits(ctx.model, ctx.paradigm, ctx.task, replayed.x, replayed.tasks);
    }
    const n = ctx.targets.shape[0]!;
    const m = replayed.targets.shape[0]!;
    return crossEntropy(ctx.logits, ctx.targets, { reduction: 'sum' }).add(summedCrossEntropy(groups, replayed.targets)).div(n + m);
  }

  override dispose(): void {
    this.pending = null;
    super.dispose();
  }
}

/** The definition of `er` (`algorithms: [{name: er}]`): experience replay: each step trains on the batch together with a minibatch drawn from a reservoir or class-balanced memory. */
export const erDefinition = defineAlgorithm({
  name: 'er',
  summary: 'experience replay: each step trains on the batch together with a minibatch drawn from a reservoir or class-balanced memory',
  options: erOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new ER(options),
});

