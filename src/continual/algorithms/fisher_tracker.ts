// The diagonal Fisher of one task, as EWC and online EWC estimate it
// (CLArena's two timings):
//   'train'      accumulated during the training steps from the gradient of
//                the classification loss at the pre-step parameters;
//   'train_end'  one pass over the task's training data after training, in
//                eval mode (the model's mode is restored afterwards).
// The estimator is the Fisher utility's (src/continual/fisher): 'minibatch'
// is CLArena's F = (1/N) Σ_batches B·(∇ batch-mean loss)², kept for parity;
// 'empirical', 'true' and 'expected' are exact per-sample estimators, which
// need the end-of-task pass.
import { grad, noGrad } from '../../tensor/autograd.js';
import { zerosLike } from '../../tensor/creation.js';
import { keep } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batches } from '../benchmarks/data.js';
import { type FisherEstimator, computeFisher } from '../fisher/index.js';
import type { ContinualModel } from '../model/model.js';
import type { Paradigm } from '../contracts/types.js';
import type { StepContext, TaskContext } from './algorithm.js';
import type { ParameterMap } from './quadratic_anchors.js';

export type FisherTiming = 'train' | 'train_end';
export type { FisherEstimator };

/**
 * The parameters EWC-style penalties cover: the backbone's, and for DIL the
 * shared head's (TIL and CIL heads belong to one task each).
 */
export function regularizedParameters(model: ContinualModel, paradigm: Paradigm): [string, Tensor][] {
  return model.namedParameters().filter(([name]) => name.startsWith('backbone.') || (paradigm === 'dil' && name.startsWith('heads.')));
}

export class FisherTracker {
  #sum: ParameterMap | null = null;
  #count = 0;

  /**
   * `nMax`: with timing 'train_end', the pass covers only the first nMax
   * samples of the task's training set (all when undefined).
   */
  constructor(
    readonly timing: FisherTiming,
    readonly estimator: FisherEstimator = 'minibatch',
    readonly nMax?: number,
  ) {}

  onTaskStart(ctx: TaskContext): void {
    this.#free();
    if (this.timing !== 'train') return;
    this.#sum = noGrad(() => new Map(regularizedParameters(ctx.model, ctx.paradigm).map(([n, p]) => [n, keep(zerosLike(p))] as [string, Tensor])));
    this.#count = 0;
  }

  /** Adds B·g² of this step's classification loss (timing 'train'). Call inside the step's scope. */
  onTrainingStep(ctx: StepContext): void {
    if (this.timing !== 'train' || this.#sum === null) return;
    const params = regularizedParameters(ctx.model, ctx.paradigm);
    const n = ctx.targets.shape[0]!;
    const grads = grad(ctx.classificationLoss, params.map(([, p]) => p), { retainGraph: true, allowUnused: true });
    noGrad(() => {
      params.forEach(([name, _], i) => {
        const g = grads[i];
        if (g != null) this.#sum!.get(name)!.addcmul_(g, g, n);
      });
    });
    this.#count += n;
  }

  /** The task's Fisher, averaged over the examples seen; the caller owns the tensors. */
  finish(ctx: TaskContext): ParameterMap {
    if (this.timing === 'train') {
      const sum = this.#sum;
      if (sum === null || this.#count === 0) throw new Error('EWC: no training step was seen, so the Fisher cannot be estimated');
      for (const t of sum.values()) noGrad(() => t.div_(this.#count));
      this.#sum = null;
      return sum;
    }
    const { model, paradigm, task } = ctx;
    return computeFisher({
      model,
      // Batches built from the task's rows one at a time, not the whole split at once.
      data: batches(ctx.trainData, ctx.batchSize),
      estimator: this.estimator,
      taskId: task,
      parameters: regularizedParameters(model, paradigm).map(([name]) => name),
      targetTransform: (y) => model.heads.targets(y, task),
      mode: 'eval',
      ...(this.nMax === undefined ? {} : { nMax: this.nMax }),
    });
  }

  #free(): void {
    if (this.#sum !== null) for (const t of this.#sum.values()) t.dispose();
    this.#sum = null;
  }

  dispose(): void {
    this.#free();
  }
}
