// Finetuning: plain cross-entropy on the current task, with a fresh optimizer
// per task (the trainer's default behaviour). The baseline every algorithm is
// compared with; it adds nothing to the lifecycle.
import type { Algorithm } from './algorithm.js';

export class Finetuning implements Algorithm {
  readonly name = 'finetuning';
}
