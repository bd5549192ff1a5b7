// EWC (Kirkpatrick et al. 2017), with separate per-task anchors as CLArena
// keeps them. After task t it stores θ*_t and a diagonal Fisher F_t; the loss
// on a later task k is
//   L_k(θ) + ½ λ Σ_{t<k} Σ_i F_t,i (θ_i − θ*_t,i)²,
// evaluated as ½ λ [Σ_i A_i (θ_i − μ_i)² + c] (quadratic_anchors.ts) so that a
// step costs the same after ten tasks as after one.
import type { Tensor } from '../../tensor/tensor.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { type FisherEstimator, type FisherTiming, FisherTracker, regularizedParameters } from './fisher_tracker.js';
import { QuadraticAnchors, snapshot } from './quadratic_anchors.js';

export interface EWCOptions {
  /** λ, CLArena's parameter_change_reg_factor: > 0. */
  lambda: number;
  fisherTiming?: FisherTiming;
  estimator?: FisherEstimator;
}

export function checkLambda(algorithm: string, lambda: number): void {
  if (!(Number.isFinite(lambda) && lambda > 0)) throw new RangeError(`${algorithm}: lambda must be a number > 0, got ${lambda}`);
}

export class EWC implements Algorithm {
  readonly name: string = 'ewc';
  readonly lambda: number;
  readonly anchors = new QuadraticAnchors();
  readonly #fisher: FisherTracker;

  constructor(options: EWCOptions) {
    checkLambda('ewc', options.lambda);
    this.lambda = options.lambda;
    this.#fisher = new FisherTracker(options.fisherTiming ?? 'train_end', options.estimator ?? 'minibatch');
  }

  onTaskStart(ctx: TaskContext): void {
    this.#fisher.onTaskStart(ctx);
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    this.#fisher.onTrainingStep(ctx);
    const sum = this.anchors.penalty(regularizedParameters(ctx.model, ctx.paradigm));
    return sum === null ? null : sum.mul(0.5 * this.lambda);
  }

  onTaskEnd(ctx: TaskContext): void {
    const fisher = this.#fisher.finish(ctx);
    this.anchors.add(ctx.task, { fisher, anchor: snapshot(regularizedParameters(ctx.model, ctx.paradigm)) });
  }

  state(): AlgorithmState {
    const { tensors, tasks } = this.anchors.state('task.');
    return { tensors, values: { tasks } };
  }

  loadState(state: AlgorithmState): void {
    this.anchors.loadState('task.', state.tensors, state.values['tasks'] as number[]);
  }

  dispose(): void {
    this.anchors.dispose();
    this.#fisher.dispose();
  }
}
