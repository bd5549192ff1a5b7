// The measurement the per-algorithm benchmarks share: an algorithm's epoch
// on task 2 of Permuted Fashion-MNIST (60,000 images, MLP 784-256-256 with
// task-incremental heads, batch 64), after a short task 1 that only gives the
// algorithm its state (a penalty, a mask, a teacher), so that the timed epoch
// does the algorithm's whole work. The PyTorch scripts build the same two tasks.
import type { ExperimentConfig } from '../src/config/experiment.js';
import { loadExperiment } from '../src/config/experiment.js';
import type { Algorithm } from '../src/continual/algorithms/index.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { buildModel } from '../src/continual/experiment/sequence.js';
import { type TrainingObserver, trainTask } from '../src/continual/training/trainer.js';
import { disposeStateDict } from '../src/optim/optimizer.js';
import { manualSeed } from '../src/tensor/index.js';
import { FASHION_MNIST_DIR } from './harness.js';

/** Images of task 1: 100 steps of batch 64. */
export const WARMUP_IMAGES = 6400;

/** `numTasks` tasks of Permuted Fashion-MNIST, one epoch each, with `optimizer` (an override value such as `{name: sgd, lr: 0.01}`). */
export function permutedFashionMnist(numTasks: number, optimizer: string): ExperimentConfig {
  return loadExperiment(undefined, [
    'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, `benchmark.numTasks=${numTasks}`, 'benchmark.validationFraction=0',
    'paradigm=til', 'backbone.hiddenSizes=[256,256]', 'training.epochs=1', 'training.batchSize=64', `training.optimizer=${optimizer}`, 'training.validateEveryEpoch=false',
  ]);
}

/** An observer that records the wall time of the (single) epoch. */
export function epochTimer(): { observer: TrainingObserver; seconds: () => number } {
  let start = 0;
  let end = 0;
  return {
    observer: { epochStart: () => (start = performance.now()), epochEnd: () => (end = performance.now()) },
    seconds: () => (end - start) / 1000,
  };
}

/**
 * Trains `algorithm` (the caller's, which it disposes) on task 1, its first
 * WARMUP_IMAGES images, then on all of task 2, and returns the wall time of
 * task 2's epoch in seconds.
 */
export function timeSecondTask(optimizer: string, algorithm: Algorithm): number {
  const cfg = permutedFashionMnist(2, optimizer);
  manualSeed(cfg.seed);
  // Same seed, so the same permutations: the limited benchmark serves task 1, the full one task 2.
  const warmup = createBenchmark({ ...cfg.benchmark, seed: cfg.seed, trainLimit: WARMUP_IMAGES });
  const benchmark = createBenchmark({ ...cfg.benchmark, seed: cfg.seed });
  const model = buildModel(cfg, benchmark);
  try {
    const common = { model, paradigm: 'til' as const, algorithms: [algorithm], training: cfg.training, seed: cfg.seed };
    const first = trainTask(1, { ...common, benchmark: warmup, globalStep: 0 });
    disposeStateDict(first.optimizerState);
    const timer = epochTimer();
    const second = trainTask(2, { ...common, benchmark, globalStep: first.globalStep, observer: timer.observer });
    disposeStateDict(second.optimizerState);
    return timer.seconds();
  } finally {
    model.dispose();
    warmup.dispose();
    benchmark.dispose();
  }
}
