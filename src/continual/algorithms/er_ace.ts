// ER-ACE: experience replay with an asymmetric cross-entropy (Caccia et al.,
// ICLR 2022; algorithms-next.md section 18, the authors' methods/er_ace.py).
// The incoming batch must not push down the logits of old classes that only
// the memory holds examples of, so its cross-entropy is taken over the
// classes present in the batch and the classes not seen yet; the replayed
// minibatch is scored over every class:
//
//   present = classes in the incoming batch;  seen = ∪ present so far (this batch included)
//   mask_c  = 1 if c ∈ present or c ≥ max(seen), else 0     (unseen classes stay unmasked)
//   L = CE(masked_fill(logits_in, mask = 0 → −1e9), y_in) + CE(logits_buf, y_buf)
//
// a sum of two batch means (Avalanche averages them). Masking and replay
// start with the first batch of the run (the authors force task_free;
// Mammoth waits for task 2 unless --task_free), and the memory is a
// reservoir over the incoming stream, filled after each step, so a batch is
// never replayed alongside itself.
//
// Which classes: the logits the trainer gives. CIL: the global classes of
// every head so far (heads grow with tasks, so classes of later tasks are not
// in the logits at all; in the authors' fixed N-class head they would be, as
// unmasked unseen classes). TIL: the current task's head, whose classes are
// the task's local labels; `seen` is kept per task, and the mask works within
// that head: a class of the task seen earlier in the task and absent from the
// batch is masked, the task's not-yet-seen classes stay unmasked. Replayed
// rows go through their own task's head, all its classes. DIL is refused:
// every task has every class, so after the first task nothing is ever masked
// and ACE is ER under another name.
import { type Infer, array, integer, object, record } from '../../config/schema.js';
import { crossEntropy } from '../../nn/functional.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Paradigm, TaskId } from '../contracts/types.js';
import { MemoryBuffer } from '../memory/buffer.js';
import { Rehearsal } from '../memory/rehearsal.js';
import { replayedCrossEntropy } from '../memory/replayed_loss.js';
import type { AlgorithmState, BatchContext, StepContext, TaskContext } from './algorithm.js';
import { defineAlgorithm } from './definition.js';
import { readStateValues } from './state.js';

const erAceOptions = object({
  capacity: integer({ min: 1 }).default(200).describe('erAce: examples kept in the reservoir memory'),
  batchSize: integer({ min: 1 }).default(32).describe('erAce: examples drawn from the memory per training step'),
  seed: integer({ min: 0 }).default(0).describe("erAce: seed of the memory's own generator (insertion and draws)"),
});
/** The options of `erAce`, validated and defaulted: an `algorithms` entry `{name: erAce, ...}` without its name. */
export type ERACEOptions = Infer<typeof erAceOptions>;

/** The JSON part of the checkpointed state, besides the memory's. */
const savedValues = object({
  /** Classes seen so far per scope: 'all' in CIL, the task id in TIL; ascending. */
  seen: record(array(integer({ min: 0 }))),
});

/**
 * The mask row of ACE over `width` logits: true where a class keeps its
 * logit (c ∈ present, or c ≥ max(seen)), false where it is filled with −1e9.
 * `seen` includes `present`.
 */
export function aceMask(width: number, present: readonly number[], seen: readonly number[]): boolean[] {
  const boundary = Math.max(...seen);
  const kept = new Set(present);
  return Array.from({ length: width }, (_, c) => kept.has(c) || c >= boundary);
}

/** The logit a masked class gets (the authors'). */
export const MASKED_LOGIT = -1e9;

/** The `erAce` algorithm. ER-ACE: the incoming batch's cross-entropy masks old classes absent from it; the replayed minibatch's covers all classes. */
export class ERACE extends Rehearsal {
  readonly name = 'erAce';
  readonly options: ERACEOptions;
  private readonly seenClasses = new Map<string, Set<number>>();

  constructor(options: ERACEOptions) {
    super(new MemoryBuffer({ capacity: options.capacity, policy: 'reservoir' }), options.seed, 'erAce');
    this.options = options;
  }

  /** The classes seen so far in the label space of `task`'s logits, ascending. */
  seen(paradigm: Paradigm, task: TaskId): number[] {
    return [...(this.seenClasses.get(scope(paradigm, task)) ?? [])].sort((a, b) => a - b);
  }

  override onTaskStart(ctx: TaskContext): void {
    if (ctx.paradigm === 'dil') throw new Error(`erAce: ${DIL_REFUSED}`);
    super.onTaskStart(ctx);
  }

  /** The masked cross-entropy of the incoming batch. */
  classificationLoss(ctx: BatchContext): Tensor {
    const present = classesOf(ctx.targets);
    const seen = [...new Set([...this.seen(ctx.paradigm, ctx.task), ...present])];
    const dropped = tensor(aceMask(ctx.logits.shape[1]!, present, seen).map((kept) => !kept), { dtype: 'bool', device: ctx.logits.device });
    return crossEntropy(ctx.logits.maskedFill(dropped, MASKED_LOGIT), ctx.targets);
  }

  /** The replayed minibatch's cross-entropy over all classes, added (not averaged) to the masked term. */
  trainingLoss(ctx: StepContext): Tensor | null {
    const replayed = this.memory.sample(this.options.batchSize, this.rng);
    return replayed === null ? null : replayedCrossEntropy(ctx, replayed);
  }

  onBatchEnd(ctx: StepContext): void {
    const key = scope(ctx.paradigm, ctx.task);
    const seen = this.seenClasses.get(key) ?? new Set<number>();
    for (const c of classesOf(ctx.targets)) seen.add(c);
    this.seenClasses.set(key, seen);
    this.memory.insert({ x: ctx.x, targets: ctx.targets, task: ctx.task }, this.rng);
  }

  override state(): AlgorithmState {
    const { tensors, values } = super.state();
    const seen = Object.fromEntries([...this.seenClasses].map(([key, classes]) => [key, [...classes].sort((a, b) => a - b)]));
    return { tensors, values: { ...values, seen } };
  }

  override loadState(state: AlgorithmState): void {
    const { seen } = readStateValues(savedValues, { seen: state.values['seen'] });
    super.loadState(state);
    this.seenClasses.clear();
    for (const [key, classes] of Object.entries(seen)) this.seenClasses.set(key, new Set(classes));
  }

  override dispose(): void {
    super.dispose();
    this.seenClasses.clear();
  }
}

const DIL_REFUSED = 'in DIL every task has every class, so after the first task no class is masked and ER-ACE is plain ER: use er';

/** Where `seen` is kept: one set over the global classes (CIL), or one per task's head (TIL). */
function scope(paradigm: Paradigm, task: TaskId): string {
  return paradigm === 'til' ? String(task) : 'all';
}

/** The distinct targets of a batch, ascending. */
function classesOf(targets: Tensor): number[] {
  return [...new Set(Array.from(targets.toTypedArray(), Number))].sort((a, b) => a - b);
}

/** The definition of `erAce` (`algorithms: [{name: erAce}]`): ER-ACE: the incoming batch's cross-entropy masks old classes absent from it; the replayed minibatch's covers all classes. */
export const erAceDefinition = defineAlgorithm({
  name: 'erAce',
  summary: "ER-ACE: the incoming batch's cross-entropy masks old classes absent from it; the replayed minibatch's covers all classes",
  options: erAceOptions,
  paradigms: ['cil', 'til'],
  paradigmNote: DIL_REFUSED,
  unlearning: () => 'retains',
  create: (options) => new ERACE(options),
});
