// Finetuning: plain cross-entropy on the current task, with a fresh optimizer
// per task (the trainer's default behaviour). The baseline every algorithm is
// compared with; it adds nothing to the lifecycle.
import { object } from '../../config/schema.js';
import type { Algorithm } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';

/** The `finetuning` algorithm. Plain cross-entropy on the current task, a fresh optimizer per task (the baseline). */
export class Finetuning implements Algorithm {
  readonly name = 'finetuning';
}

/** The definition of `finetuning` (`algorithms: [{name: finetuning}]`): plain cross-entropy on the current task, a fresh optimizer per task (the baseline). */
export const finetuningDefinition = defineAlgorithm({
  name: 'finetuning',
  summary: 'plain cross-entropy on the current task, a fresh optimizer per task (the baseline)',
  options: object({}),
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'stateless',
  create: () => new Finetuning(),
});
