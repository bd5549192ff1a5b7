// The model a continual learner trains: a backbone and its heads, as one
// Module so that parameters, state dicts and train/eval cover both.
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Backbone, BackboneOutput, Heads, TaskId } from './types.js';

export class ContinualModel extends Module {
  constructor(
    readonly backbone: Backbone,
    readonly heads: Heads,
  ) {
    super();
  }

  /** Backbone output and the logits for `task`. */
  forward(x: Tensor, task: TaskId): { output: BackboneOutput; logits: Tensor } {
    const output = this.backbone.forward(x);
    return { output, logits: this.heads.forward(output.feature, task) };
  }
}
