// The diagonal Fisher of one task, as EWC and online EWC estimate it
// (CLArena's two timings):
//   'train'      accumulated during the training steps from the gradient of
//                the classification loss at the pre-step parameters;
//   'train_end'  one pass over the task's training data after training, in
//                eval mode (the model's mode is restored afterwards).
// The 'minibatch' estimator is CLArena's F = (1/N) Σ_batches B·(∇ batch-mean loss)²,
// a mini-batch approximation of the empirical Fisher kept for parity.
import { crossEntropy } from '../../nn/functional.js';
import { grad, noGrad } from '../../tensor/autograd.js';
import { zerosLike } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batches } from '../benchmarks/data.js';
import type { ContinualModel } from '../model.js';
import type { Paradigm } from '../types.js';
import type { StepContext, TaskContext } from './algorithm.js';
import type { ParameterMap } from './quadratic_anchors.js';

export type FisherTiming = 'train' | 'train_end';
export type FisherEstimator = 'minibatch';

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

  constructor(readonly timing: FisherTiming) {}

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
    return minibatchFisherPass(ctx);
  }

  #free(): void {
    if (this.#sum !== null) for (const t of this.#sum.values()) t.dispose();
    this.#sum = null;
  }

  dispose(): void {
    this.#free();
  }
}

/** One pass over the task's training data in eval mode: (1/N) Σ_batches B·(∇ batch-mean loss)². */
export function minibatchFisherPass(ctx: TaskContext): ParameterMap {
  const { model, paradigm, task } = ctx;
  const params = regularizedParameters(model, paradigm);
  const fisher: ParameterMap = noGrad(() => new Map(params.map(([n, p]) => [n, keep(zerosLike(p))] as [string, Tensor])));
  const wasTraining = model.training;
  model.eval();
  let count = 0;
  try {
    tidy(() => {
      for (const batch of batches(ctx.trainData, ctx.batchSize, { shuffle: false })) {
        tidy(() => {
          const loss = crossEntropy(model.forward(batch.x, task).logits, model.heads.targets(batch.y, task));
          const grads = grad(loss, params.map(([, p]) => p), { allowUnused: true });
          const n = batch.y.shape[0]!;
          noGrad(() => params.forEach(([name], i) => {
            const g = grads[i];
            if (g != null) fisher.get(name)!.addcmul_(g, g, n);
          }));
          count += n;
        });
        batch.x.dispose();
        batch.y.dispose();
      }
    });
  } finally {
    model.train(wasTraining);
  }
  noGrad(() => { for (const t of fisher.values()) t.div_(count); });
  return fisher;
}
