// AmnesiacEWC: EWC whose tasks can be unlearned. Each task's start and end run
// EWC's own steps exactly once, plus the Amnesiac bookkeeping (amnesiac.ts).
// (CLArena's AmnesiacEWC reaches EWC's end-of-task step twice through its
// multiple inheritance, so the stored Fisher is divided by N²; ours is EWC's
// Fisher, bit for bit.)
//
// Unlearning tasks U after task k:
//   θ ← θ − Σ_{u∈U} Δθ_u                      (the bookkeeping)
//   drop F_u and θ*_u from the penalty         (a task never learnt protects nothing)
//   with subtractDeltaFromLaterAnchors:
//     θ*_t ← θ*_t − Σ_{u∈U, u<t} Δθ_u  for each kept task t > u,
//   since θ*_t was taken after u's change and would otherwise pull the model
//   back towards it. The later tasks' Fishers are kept as estimated.
import { type Infer, array, boolean, integer, object } from '../../config/schema.js';
import type { AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import { AmnesiacBookkeeping, disableUnlearning } from './amnesiac.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { EWC, checkFisherSettings, estimator, fisherTiming, lambda } from './ewc.js';
import { readStateValues } from './state.js';

const amnesiacEwcOptions = object({
  lambda,
  fisherTiming,
  estimator,
  disableUnlearning,
  subtractDeltaFromLaterAnchors: boolean()
    .default(false)
    .describe('on unlearning task u, also subtract its Δθ_u from the anchors of the tasks trained after u'),
}).refine(checkFisherSettings);
/** The options of `amnesiacEwc`, validated and defaulted: an `algorithms` entry `{name: amnesiacEwc, ...}` without its name. */
export type AmnesiacEWCOptions = Infer<typeof amnesiacEwcOptions>;

const savedValues = object({ tasks: array(integer({ min: 1 })), deltaTasks: array(integer({ min: 1 })) });

/** The `amnesiacEwc` algorithm. EWC with Amnesiac unlearning: subtracts an unlearned task's change and drops its Fisher and anchor. */
export class AmnesiacEWC extends EWC {
  override readonly name = 'amnesiacEwc';
  readonly bookkeeping: AmnesiacBookkeeping;
  readonly subtractDeltaFromLaterAnchors: boolean;

  constructor(options: AmnesiacEWCOptions) {
    super(options);
    this.bookkeeping = new AmnesiacBookkeeping('amnesiacEwc', options);
    this.subtractDeltaFromLaterAnchors = options.subtractDeltaFromLaterAnchors;
  }

  override onTaskStart(ctx: TaskContext): void {
    super.onTaskStart(ctx);
    this.bookkeeping.onTaskStart(ctx);
  }

  override onTaskEnd(ctx: TaskContext): void {
    super.onTaskEnd(ctx);
    this.bookkeeping.onTaskEnd(ctx);
  }

  unlearn(ctx: UnlearningContext): void {
    const deltas = this.bookkeeping.enabledFor(ctx);
    if (deltas === null) return;
    deltas.undo(ctx.model, ctx.tasks);
    if (this.subtractDeltaFromLaterAnchors) {
      for (const u of ctx.tasks) {
        const later = this.anchors.tasks.filter((t) => t > u && !ctx.tasks.includes(t));
        if (later.length > 0) this.anchors.subtractFromAnchors(later, deltas.delta(u)!);
      }
    }
    for (const u of ctx.tasks) this.anchors.remove(u);
    deltas.forget([...ctx.tasks, ...ctx.expired]);
  }

  override state(): AlgorithmState {
    const ewc = super.state();
    const { tensors, tasks } = this.bookkeeping.state();
    return { tensors: { ...ewc.tensors, ...tensors }, values: { ...ewc.values, deltaTasks: tasks } };
  }

  override loadState(state: AlgorithmState): void {
    const { deltaTasks } = readStateValues(savedValues, state.values);
    super.loadState(state);
    this.bookkeeping.loadState(state.tensors, deltaTasks);
  }

  override dispose(): void {
    super.dispose();
    this.bookkeeping.dispose();
  }
}

/** The definition of `amnesiacEwc` (`algorithms: [{name: amnesiacEwc}]`): EWC with Amnesiac unlearning: subtracts an unlearned task's change and drops its Fisher and anchor. */
export const amnesiacEwcDefinition = defineAlgorithm({
  name: 'amnesiacEwc',
  summary: "EWC with Amnesiac unlearning: subtracts an unlearned task's change and drops its Fisher and anchor",
  options: amnesiacEwcOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: (options) => (options.disableUnlearning ? 'retains' : 'unlearns'),
  create: (options) => new AmnesiacEWC(options),
});
