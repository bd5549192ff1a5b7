// Regularization benchmark: one training epoch of EWC and of RWalk on Permuted
// Fashion-MNIST (60,000 images, MLP 784-256-256-10 with task-incremental
// heads, batch 64, SGD lr 0.01), `perennial`'s trainer against plain PyTorch
// scripts doing the same algorithm (bench/ewc_torch.py, bench/rwalk_torch.py),
// alternating, in fresh processes. Reports the median epoch wall times and
// their ratio (PyTorch / ours: above 1 means we are faster).
//
// EWC: the epoch of task 10, with nine anchors already present. Training
// nine tasks first would only cost time, so the nine terms are built
// directly from random positive Fishers and random anchors near the initial
// parameters; the timed work per step (loss + penalty, backward, step) is the
// same as after nine real tasks. PyTorch sums the nine terms per task at
// every step, as CLArena does.
// RWalk: the epoch of task 2, so that the penalty is active; task 1 is a short
// task (a small training limit) that only fills RWalk's state.
import { instantiate, ewcDefinition, rwalkDefinition } from '../src/continual/algorithms/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { regularizedParameters } from '../src/continual/algorithms/fisher_tracker.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { buildModel } from '../src/continual/experiment/sequence.js';
import { setNumThreads } from '../src/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { rand, randn } from '../src/tensor/creation.js';
import { manualSeed } from '../src/tensor/index.js';
import { keep } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { disposeStateDict } from '../src/optim/optimizer.js';
import { trainTask } from '../src/continual/training/trainer.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';
import { WARMUP_IMAGES, epochTimer, permutedFashionMnist, timeSecondTask } from './two_task.js';

const LAMBDA_EWC = 100;
const EWC_TASK = 10;
type Which = 'ewc' | 'rwalk';

function ewcWorker(): Sample {
  const cfg = permutedFashionMnist(EWC_TASK, '{name: sgd, lr: 0.01}');
  manualSeed(cfg.seed);
  const benchmark = createBenchmark({ ...cfg.benchmark, seed: cfg.seed });
  const model = buildModel(cfg, benchmark);
  const ewc = instantiate(ewcDefinition, { lambda: LAMBDA_EWC });
  // Heads 1..9 exist, as after nine tasks; each earlier task gets its term.
  for (let t = 1; t < EWC_TASK; t++) {
    model.heads.setupTask(t, benchmark.numClasses(t));
    const fisher = new Map<string, Tensor>();
    const anchor = new Map<string, Tensor>();
    noGrad(() => {
      for (const [name, p] of regularizedParameters(model, 'til')) {
        fisher.set(name, keep(rand(p.shape).mul(1e-3)));
        anchor.set(name, keep(p.add(randn(p.shape).mul(0.01))));
      }
    });
    ewc.anchors.add(t, { fisher, anchor });
  }
  const timer = epochTimer();
  const result = trainTask(EWC_TASK, { model, benchmark, paradigm: 'til', algorithms: [ewc], training: cfg.training, seed: cfg.seed, globalStep: 0, observer: timer.observer });
  const trainSeconds = timer.seconds();
  disposeStateDict(result.optimizerState);
  ewc.dispose();
  model.dispose();
  benchmark.dispose();
  return { trainSeconds };
}

function rwalkWorker(): Sample {
  const rwalk = instantiate(rwalkDefinition);
  try {
    return { trainSeconds: timeSecondTask('{name: sgd, lr: 0.01}', rwalk) };
  } finally {
    rwalk.dispose();
  }
}

export function runRegularizationBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const benchDir = join(dirname(self), '..', '..', 'bench');
  const result: Record<string, unknown> = { benchmark: 'regularization', threads: options.threads, repeats: options.repeats };
  const scripts: Record<Which, { script: string; args: string[] }> = {
    ewc: { script: 'ewc_torch.py', args: [String(EWC_TASK), String(LAMBDA_EWC)] },
    rwalk: { script: 'rwalk_torch.py', args: [String(WARMUP_IMAGES)] },
  };
  for (const which of ['ewc', 'rwalk'] as const) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      ours.push(spawnJson(process.execPath, [self, '--worker', which, String(options.threads)], options.threads)['trainSeconds']!);
      const { script, args } = scripts[which];
      theirs.push(spawnJson('/usr/bin/python3', [join(benchDir, script), FASHION_MNIST_DIR, String(options.threads), ...args], options.threads)['trainSeconds']!);
    }
    const o = median(ours);
    const p = median(theirs);
    result[which] = { ours: o, pytorch: p, ratio: p / o };
  }
  return result;
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[4]));
  console.log(JSON.stringify(process.argv[3] === 'rwalk' ? rwalkWorker() : ewcWorker()));
}
