// The model a continual learner trains: a backbone and its heads, as one
// Module so that parameters, state dicts and train/eval cover both.
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type Algorithm, type BatchPosition, firstAnswer } from '../algorithms/algorithm.js';
import type { Backbone, BackboneOutput, Heads, TaskId } from '../contracts/types.js';

/** A forward pass: the backbone's output and the logits of one task. */
export interface ModelOutput {
  output: BackboneOutput;
  logits: Tensor;
}

/** A backbone and its heads as one Module, so that parameters, state dicts and train/eval cover both. */
export class ContinualModel extends Module {
  constructor(
    readonly backbone: Backbone,
    readonly heads: Heads,
  ) {
    super();
  }

  /** Backbone output and the logits for `task`. */
  forward(x: Tensor, task: TaskId): ModelOutput {
    const output = this.backbone.forward(x);
    return { output, logits: this.heads.forward(output.feature, task) };
  }
}

/**
 * The forward pass the algorithms ask for: the first that replaces it wins,
 * else the model's own. Training passes give the batch's position in its epoch.
 */
export function forwardWith(model: ContinualModel, algorithms: readonly Algorithm[], x: Tensor, task: TaskId, batch?: BatchPosition): ModelOutput {
  return firstAnswer(algorithms, (a) => a.forward?.(model, x, task, batch)) ?? model.forward(x, task);
}
