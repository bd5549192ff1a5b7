// Dark Experience Replay (Buzzega et al., NeurIPS 2020; algorithms-next.md
// section 16). A reservoir memory keeps examples with the logits the model
// gave them when they were inserted, and each step matches the current
// logits of a draw from it to those stored ones:
//
//   DER:    L = CE(B) + α · E_{(x,z)~M} ||h_θ(x) − z||²
//   DER++:  L = CE(B) + α · E_{(x,z)~M} ||h_θ(x) − z||² + β · E_{(x',y')~M} CE(y', h_θ(x'))
//
// z are the pre-softmax logits of the step's own training forward (ctx.logits,
// before the update), stored in onBatchEnd with the input exactly as the
// trainer gave it (never an augmented view). ||·||² is Mammoth's F.mse_loss,
// the mean over batch × classes, to which α is calibrated. DER++'s β term is
// the cross-entropy of a SECOND, independent draw (derpp.ts). Replay starts
// as soon as the memory holds anything, in task 1 and with the current
// task's examples among the drawn ones.
//
// Which logits: TIL, each replayed example through its own task's head (z
// is that head's logits); DIL, the shared head. CIL: the matching needs the
// logits of classes not yet seen. With a head per task and z compared over
// the classes seen at insertion, nothing holds down the new classes' logits
// on old examples and DER scored as finetuning (0.198 vs 0.199 on Split
// Fashion-MNIST); with one head over every class from task 1 (Mammoth's
// class-IL convention: cross-entropy over all of them, z stored and matched
// over all of them) DER reached 0.573 and DER++ 0.667. So `cilLogits: all`
// (default) needs the full-width head (cilHeads, resolved to full by auto);
// `cilLogits: seen` keeps growing heads and matches each row over its width
// at insertion, documented as scoring like finetuning.
//
// When stored widths differ (TIL heads of several sizes, or `seen`), each
// row is compared over its own width and the mean is over every compared
// entry: Σ_i Σ_{c<w_i} (h_ic − z_ic)² / Σ_i w_i, which is F.mse_loss when
// the widths are equal.
//
// Order within a step: the α draw, then (DER++) the β draw, from the
// algorithm's own generator, reseeded per task with deriveSeed(seed, name,
// task); insertion after the optimizer step uses the same generator. The
// model's random stream (initialisation, dropout) is untouched.
import { type Infer, enumOf, integer, number, object } from '../../config/schema.js';
import { mseLoss } from '../../nn/functional.js';
import { tensor } from '../../tensor/creation.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type MemoryBatch, MemoryBuffer } from '../memory/buffer.js';
import { Rehearsal } from '../memory/rehearsal.js';
import { replayedCrossEntropy, replayedLogits } from '../memory/replayed_loss.js';
import { HeadsCIL } from '../model/heads.js';
import type { StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, type CilHeadsNeed, defineAlgorithm } from './definition.js';

/** The options DER and DER++ share; the defaults are each one's own (Mammoth's best arguments, buffer 200). */
export function derOptionFields(name: 'der' | 'derpp', alpha: number) {
  return {
    capacity: integer({ min: 1 }).default(200).describe(`${name}: examples (with their logits) kept in the reservoir memory`),
    batchSize: integer({ min: 1 }).default(32).describe(`${name}: examples drawn from the memory per term and step`),
    alpha: number({ min: 0 }).default(alpha).describe(`${name}: weight α of the logit matching (mean squared error over batch × classes)`),
    cilLogits: enumOf(['all', 'seen'])
      .default('all')
      .describe(`${name}: CIL logits stored and matched: all the benchmark's classes (needs cilHeads full; auto chooses it) or only those seen at insertion (growing heads; scores like finetuning)`),
    seed: integer({ min: 0 }).default(0).describe(`${name}: seed of the memory's own generator (insertion and draws)`),
  };
}

const derOptions = object(derOptionFields('der', 0.3));
/** The options of `der`, validated and defaulted: an `algorithms` entry `{name: der, ...}` without its name. */
export type DEROptions = Infer<typeof derOptions>;

/** What DER's CIL matching needs of the heads. */
export function derCilHeads(name: string, cilLogits: 'all' | 'seen'): CilHeadsNeed {
  return cilLogits === 'all'
    ? { heads: 'full', because: `${name} stores and matches logits over all the benchmark's classes (cilLogits: all)`, unless: 'cilLogits: seen' }
    : { heads: 'growing', because: `${name} matches logits over the classes seen at insertion (cilLogits: seen)`, unless: 'cilLogits: all' };
}

/** The two terms of a step, before their weights; null when the memory is empty. */
export interface DERTerms {
  /** mean over the α draw's compared entries of (h(x) − z)². */
  readonly alpha: Tensor;
  /** DER++: the cross-entropy of the β draw; null for DER. */
  readonly beta: Tensor | null;
}

/** The slots of a step's draws, for inspection. */
export interface DERDraws {
  readonly alpha: readonly number[];
  readonly beta: readonly number[] | null;
}

/** The `der` algorithm. Dark experience replay: matches the logits of a reservoir draw to those stored when each example was inserted. */
export class DER extends Rehearsal {
  readonly name: 'der' | 'derpp';
  readonly batchSize: number;
  readonly alpha: number;
  /** DER++'s weight of the β term; null for DER (no second draw). */
  readonly beta: number | null;
  readonly cilLogits: 'all' | 'seen';
  /** The slots the last step drew (α, then β), or null before any draw. */
  lastDraws: DERDraws | null = null;

  constructor(options: DEROptions & { beta?: number }, name: 'der' | 'derpp' = 'der') {
    super(new MemoryBuffer({ capacity: options.capacity, policy: 'reservoir', storesLogits: true }), options.seed, name);
    this.name = name;
    this.batchSize = options.batchSize;
    this.alpha = options.alpha;
    this.beta = options.beta ?? null;
    this.cilLogits = options.cilLogits;
  }

  override onTaskStart(ctx: TaskContext): void {
    super.onTaskStart(ctx);
    if (ctx.paradigm !== 'cil') return;
    // A model built without the configuration's resolution (in code) is checked here.
    const heads = ctx.model.heads;
    const full = heads instanceof HeadsCIL && heads.isFullWidth;
    if (this.cilLogits === 'all' && !full) {
      throw new Error(`${this.name}: cilLogits 'all' matches logits over all the benchmark's classes, which needs the full-width CIL head (cilHeads: full or auto), but the model has a head per task; build it with full-width heads or set cilLogits: seen`);
    }
    if (this.cilLogits === 'seen' && full) {
      throw new Error(`${this.name}: cilLogits 'seen' matches logits over the classes seen at insertion, which needs a head per task (cilHeads: growing), but the model has the full-width head; set cilLogits: all or cilHeads: growing`);
    }
  }

  /**
   * The α term on one draw and, for DER++, the β term on a second,
   * independent one (α drawn first); null when the memory is empty.
   */
  terms(ctx: StepContext): DERTerms | null {
    const matched = this.memory.sample(this.batchSize, this.rng);
    if (matched === null) return null;
    const alpha = logitMatching(ctx, matched);
    let beta: Tensor | null = null;
    let betaSlots: readonly number[] | null = null;
    if (this.beta !== null) {
      const replayed = this.memory.sample(this.batchSize, this.rng)!;
      beta = replayedCrossEntropy(ctx, replayed);
      betaSlots = replayed.slots;
    }
    this.lastDraws = { alpha: matched.slots, beta: betaSlots };
    return { alpha, beta };
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    return tidy(() => {
      const terms = this.terms(ctx);
      if (terms === null) return null;
      const matching = terms.alpha.mul(this.alpha);
      return terms.beta === null ? matching : matching.add(terms.beta.mul(this.beta!));
    });
  }

  /** The batch with its pre-step training logits, offered to the reservoir. */
  onBatchEnd(ctx: StepContext): void {
    this.memory.insert({ x: ctx.x, targets: ctx.targets, task: ctx.task, logits: ctx.logits }, this.rng);
  }
}

/**
 * mean over compared entries of (h_θ(x) − z)²: each drawn row through the head
 * its paradigm gives it, compared with its stored logits over its own width.
 */
export function logitMatching(ctx: StepContext, drawn: MemoryBatch): Tensor {
  return tidy(() => {
    const z = drawn.logits!;
    const groups = replayedLogits(ctx.model, ctx.paradigm, ctx.task, drawn.x, drawn.tasks);
    const widths = drawn.logitWidths;
    if (groups.length === 1 && groups[0]!.rows === null) {
      const h = groups[0]!.logits;
      const width = h.shape[1]!;
      if (widths.every((w) => w === width) && z.shape[1] === width) return mseLoss(h, z);
    }
    let sum: Tensor | null = null;
    let count = 0;
    for (const { rows, logits } of groups) {
      const index = rows === null ? null : Array.from(rows.toTypedArray(), Number);
      const rowWidths = index === null ? widths : index.map((i) => widths[i]!);
      const stored = rows === null ? z : z.indexSelect(0, rows);
      const term = squaredError(logits, stored, rowWidths);
      sum = sum === null ? term : sum.add(term);
      count += rowWidths.reduce((n, w) => n + w, 0);
    }
    return sum!.div(count);
  });
}

/** Σ_i Σ_{c < w_i} (h_ic − z_ic)², rows of h compared with z over their own widths. */
function squaredError(h: Tensor, z: Tensor, widths: readonly number[]): Tensor {
  const widest = Math.max(...widths);
  if (widest > h.shape[1]!) throw new Error(`DER: stored logits of width ${widest} cannot be matched by logits of width ${h.shape[1]}`);
  const hw = h.narrow(1, 0, widest);
  const zw = z.narrow(1, 0, widest);
  if (widths.every((w) => w === widest)) return mseLoss(hw, zw, { reduction: 'sum' });
  const mask = tensor(widths.flatMap((w) => Array.from({ length: widest }, (_, c) => (c < w ? 1 : 0))), { dtype: h.dtype, device: h.device }).reshape([widths.length, widest]);
  return hw.sub(zw).square().mul(mask).sum();
}

/** The definition of `der` (`algorithms: [{name: der}]`): dark experience replay: matches the logits of a reservoir draw to those stored when each example was inserted. */
export const derDefinition = defineAlgorithm({
  name: 'der',
  summary: 'dark experience replay: matches the logits of a reservoir draw to those stored when each example was inserted',
  options: derOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  cilHeads: (options) => derCilHeads('der', options.cilLogits),
  create: (options) => new DER(options, 'der'),
});
