// AmnesiacFinetuning: Finetuning whose tasks can be unlearned. It trains
// exactly as Finetuning does and records each task's change of the whole
// model state (amnesiac.ts); an unlearning request subtracts the recorded
// changes of the tasks named. With `disableUnlearning` it records nothing
// and is Finetuning.
import type { Algorithm, AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import { AmnesiacBookkeeping, type AmnesiacOptions } from './amnesiac.js';

export class AmnesiacFinetuning implements Algorithm {
  readonly name = 'amnesiacFinetuning';
  readonly bookkeeping: AmnesiacBookkeeping;

  constructor(options: AmnesiacOptions = {}) {
    this.bookkeeping = new AmnesiacBookkeeping(this.name, options);
  }

  onTaskStart(ctx: TaskContext): void {
    this.bookkeeping.onTaskStart(ctx);
  }

  onTaskEnd(ctx: TaskContext): void {
    this.bookkeeping.onTaskEnd(ctx);
  }

  unlearn(ctx: UnlearningContext): void {
    this.bookkeeping.unlearn(ctx);
  }

  state(): AlgorithmState {
    const { tensors, tasks } = this.bookkeeping.state();
    return { tensors, values: { deltaTasks: tasks } };
  }

  loadState(state: AlgorithmState): void {
    this.bookkeeping.loadState(state.tensors, state.values['deltaTasks'] as number[]);
  }

  dispose(): void {
    this.bookkeeping.dispose();
  }
}
