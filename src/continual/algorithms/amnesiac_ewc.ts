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
import type { AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import { AmnesiacBookkeeping, type AmnesiacOptions } from './amnesiac.js';
import { EWC, type EWCOptions, checkLambda } from './ewc.js';

export interface AmnesiacEWCOptions extends EWCOptions, AmnesiacOptions {
  /** Also subtract an unlearned task's Δθ from the anchors of the tasks trained after it (default false). */
  subtractDeltaFromLaterAnchors?: boolean;
}

export class AmnesiacEWC extends EWC {
  override readonly name = 'amnesiacEwc';
  readonly bookkeeping: AmnesiacBookkeeping;
  readonly subtractDeltaFromLaterAnchors: boolean;

  constructor(options: AmnesiacEWCOptions) {
    checkLambda('amnesiacEwc', options.lambda);
    super(options);
    this.bookkeeping = new AmnesiacBookkeeping('amnesiacEwc', options);
    this.subtractDeltaFromLaterAnchors = options.subtractDeltaFromLaterAnchors ?? false;
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
    super.loadState(state);
    this.bookkeeping.loadState(state.tensors, state.values['deltaTasks'] as number[]);
  }

  override dispose(): void {
    super.dispose();
    this.bookkeeping.dispose();
  }
}
