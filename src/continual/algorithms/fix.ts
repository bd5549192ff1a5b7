// Fix (CLArena's fix.py), a baseline: the first task is trained normally and
// no later task is trained at all. From task 2 on the trainer runs no epoch,
// so no optimizer step moves a weight (not even weight decay or momentum) and
// the model stays in eval mode (dropout off, batch-norm statistics frozen).
// TIL and CIL heads of later tasks keep their initialisation, so those tasks
// score what an untrained head scores; DIL reuses the task-1 model.
import { object } from '../../config/schema.js';
import type { TaskId } from '../contracts/types.js';
import type { Algorithm } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';

export class Fix implements Algorithm {
  readonly name = 'fix';

  skipsTraining(task: TaskId): boolean {
    return task > 1;
  }
}

export const fixDefinition = defineAlgorithm({
  name: 'fix',
  summary: 'Fix: trains the first task only and leaves the model unchanged for every later task (a baseline)',
  options: object({}),
  paradigms: ALL_PARADIGMS,
  // It keeps nothing of any task, and later tasks leave no trace in the model.
  unlearning: () => 'stateless',
  create: () => new Fix(),
});
