// AmnesiacFinetuning: Finetuning whose tasks can be unlearned. It trains
// exactly as Finetuning does and records each task's change of the whole
// model state (amnesiac.ts); an unlearning request subtracts the recorded
// changes of the tasks named. With `disableUnlearning` it records nothing
// and is Finetuning.
import { type Infer, array, integer, object } from '../../config/schema.js';
import type { Algorithm, AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import { AmnesiacBookkeeping, disableUnlearning } from './amnesiac.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { readStateValues } from './state.js';

const amnesiacFinetuningOptions = object({ disableUnlearning });
/** The options of `amnesiacFinetuning`, validated and defaulted: an `algorithms` entry `{name: amnesiacFinetuning, ...}` without its name. */
export type AmnesiacFinetuningOptions = Infer<typeof amnesiacFinetuningOptions>;

const savedValues = object({ deltaTasks: array(integer({ min: 1 })) });

/** The `amnesiacFinetuning` algorithm. Finetuning that records each task's change of the whole model, so that unlearning requests can subtract it. */
export class AmnesiacFinetuning implements Algorithm {
  readonly name = 'amnesiacFinetuning';
  readonly bookkeeping: AmnesiacBookkeeping;

  constructor(options: AmnesiacFinetuningOptions) {
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
    this.bookkeeping.loadState(state.tensors, readStateValues(savedValues, state.values).deltaTasks);
  }

  dispose(): void {
    this.bookkeeping.dispose();
  }
}

/** The definition of `amnesiacFinetuning` (`algorithms: [{name: amnesiacFinetuning}]`): finetuning that records each task's change of the whole model, so that unlearning requests can subtract it. */
export const amnesiacFinetuningDefinition = defineAlgorithm({
  name: 'amnesiacFinetuning',
  summary: "Finetuning that records each task's change of the whole model, so that unlearning requests can subtract it",
  options: amnesiacFinetuningOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: (options) => (options.disableUnlearning ? 'stateless' : 'unlearns'),
  create: (options) => new AmnesiacFinetuning(options),
});
