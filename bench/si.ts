// SI benchmark: one training epoch of SI on task 2 of Permuted Fashion-MNIST
// (60,000 images, MLP 784-256-256 with task-incremental heads, batch 64, SGD
// lr 0.05 with momentum 0.9, c 1, ξ 0.1, as
// experiments/si_permuted_fashion_mnist.yaml), `perennial`'s trainer against
// a plain PyTorch script doing the same algorithm (bench/si_torch.py),
// alternating, in fresh processes. Reports the median epoch wall times, their
// ratio (PyTorch / ours: above 1 means we are faster) and the spread of each
// side ((max − min) / median over the repeats).
//
// The timed epoch is task 2's, so that the penalty is active; task 1 is a
// short task (a training limit) that only fills Ω and θ*. Each step: the
// functional gradient of the unregularised loss (graph retained), a snapshot
// of θ(k), the penalty c Σ Ω (θ − θ*)², backward, the optimizer step, and
// ω ← ω − g(k) Δθ(k). Only two tasks are built: the permutation of task 2 is
// the same work whatever the number of tasks.
import { instantiate } from '../src/continual/algorithms/index.js';
import { siDefinition } from '../src/continual/algorithms/si.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { buildModel } from '../src/continual/experiment/sequence.js';
import { type TrainingObserver, trainTask } from '../src/continual/training/trainer.js';
import { setNumThreads } from '../src/index.js';
import { manualSeed } from '../src/tensor/index.js';
import { disposeStateDict } from '../src/optim/optimizer.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';

const C = 1;
const XI = 0.1;
// Task 1 only fills Ω and θ*: 100 steps of batch 64.
const WARMUP_IMAGES = 6400;

function config() {
  return loadExperiment(undefined, [
    'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, 'benchmark.numTasks=2', 'benchmark.validationFraction=0',
    'paradigm=til', 'backbone.hiddenSizes=[256,256]', 'training.epochs=1', 'training.batchSize=64', 'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9}',
    'training.validateEveryEpoch=false',
  ]);
}

function worker(): Sample {
  const cfg = config();
  manualSeed(cfg.seed);
  // Same seed, so the same permutations: the limited benchmark serves task 1, the full one task 2.
  const warmup = createBenchmark({ ...cfg.benchmark, seed: cfg.seed, trainLimit: WARMUP_IMAGES });
  const benchmark = createBenchmark({ ...cfg.benchmark, seed: cfg.seed });
  const model = buildModel(cfg, benchmark);
  const si = instantiate(siDefinition, { c: C, xi: XI });
  const common = { model, paradigm: 'til' as const, algorithms: [si], training: cfg.training, seed: cfg.seed };
  const first = trainTask(1, { ...common, benchmark: warmup, globalStep: 0 });
  disposeStateDict(first.optimizerState);
  let start = 0;
  let end = 0;
  const observer: TrainingObserver = { epochStart: () => (start = performance.now()), epochEnd: () => (end = performance.now()) };
  const second = trainTask(2, { ...common, benchmark, globalStep: first.globalStep, observer });
  disposeStateDict(second.optimizerState);
  si.dispose();
  model.dispose();
  warmup.dispose();
  benchmark.dispose();
  return { trainSeconds: (end - start) / 1000 };
}

const spread = (xs: number[]): number => (Math.max(...xs) - Math.min(...xs)) / median(xs);

export function runSIBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'si_torch.py');
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < options.repeats; r++) {
    ours.push(spawnJson(process.execPath, [self, '--worker', String(options.threads)], options.threads)['trainSeconds']!);
    theirs.push(spawnJson('/usr/bin/python3', [script, FASHION_MNIST_DIR, String(options.threads), String(WARMUP_IMAGES), String(C), String(XI)], options.threads)['trainSeconds']!);
  }
  const o = median(ours);
  const p = median(theirs);
  return {
    benchmark: 'si', threads: options.threads, repeats: options.repeats, c: C, xi: XI,
    ours: o, pytorch: p, ratio: p / o, oursSpread: spread(ours), pytorchSpread: spread(theirs), oursAll: ours, pytorchAll: theirs,
  };
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[3]));
  console.log(JSON.stringify(worker()));
}
