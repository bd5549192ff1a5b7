// EWC (Kirkpatrick et al. 2017), with separate per-task anchors as CLArena
// keeps them. After task t it stores θ*_t and a diagonal Fisher F_t; the loss
// on a later task k is
//   L_k(θ) + ½ λ Σ_{t<k} Σ_i F_t,i (θ_i − θ*_t,i)²,
// evaluated as ½ λ [Σ_i A_i (θ_i − μ_i)² + c] (quadratic_anchors.ts) so that a
// step costs the same after ten tasks as after one.
import { type Infer, type Reporter, array, enumOf, integer, number, object } from '../../config/schema.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { FisherTracker, regularizedParameters } from './fisher_tracker.js';
import { QuadraticAnchors, snapshot } from './quadratic_anchors.js';
import { readStateValues } from './state.js';

// Options shared with online EWC and AmnesiacEWC.
export const lambda = number({ min: 0, minExclusive: true }).default(1).describe('λ, the penalty strength (CLArena: parameter_change_reg_factor)');
export const fisherTiming = enumOf(['train', 'train_end']).default('train_end').describe('when the Fisher is estimated: during training steps or in a pass after the task');
export const estimator = enumOf(['minibatch', 'empirical', 'true', 'expected'])
  .default('minibatch')
  .describe("the Fisher estimator: CLArena's B·(∇ batch loss)² over N, or exact per-sample empirical, true (sampled labels) or expected (exact over classes); the exact ones need fisherTiming train_end");

/** The Fisher settings' cross-check, for every algorithm with fisherTiming and estimator. */
export function checkFisherSettings(options: { fisherTiming: string; estimator: string }, report: Reporter): void {
  if (options.fisherTiming === 'train' && options.estimator !== 'minibatch') {
    report(['estimator'], `fisherTiming 'train' accumulates batch gradients and supports only the 'minibatch' estimator, got '${options.estimator}' (use fisherTiming 'train_end')`);
  }
}

const ewcOptions = object({ lambda, fisherTiming, estimator }).refine(checkFisherSettings);
/** The options of `ewc`, validated and defaulted: an `algorithms` entry `{name: ewc, ...}` without its name. */
export type EWCOptions = Infer<typeof ewcOptions>;

/** The tasks whose anchors the state holds. */
export const anchorTasksState = object({ tasks: array(integer({ min: 1 })) }, { allowUnknown: true });

/** The `ewc` algorithm. Elastic weight consolidation: a Fisher-weighted pull towards each earlier task's parameters. */
export class EWC implements Algorithm {
  readonly name: string = 'ewc';
  readonly lambda: number;
  readonly anchors = new QuadraticAnchors();
  readonly #fisher: FisherTracker;

  constructor(options: EWCOptions) {
    this.lambda = options.lambda;
    this.#fisher = new FisherTracker(options.fisherTiming, options.estimator);
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
    this.anchors.loadState('task.', state.tensors, readStateValues(anchorTasksState, state.values).tasks);
  }

  dispose(): void {
    this.anchors.dispose();
    this.#fisher.dispose();
  }
}

/** The definition of `ewc` (`algorithms: [{name: ewc}]`): elastic weight consolidation: a Fisher-weighted pull towards each earlier task's parameters. */
export const ewcDefinition = defineAlgorithm({
  name: 'ewc',
  summary: "elastic weight consolidation: a Fisher-weighted pull towards each earlier task's parameters",
  options: ewcOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new EWC(options),
});
