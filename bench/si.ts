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
import { setNumThreads } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';
import { WARMUP_IMAGES, timeSecondTask } from './two_task.js';

const C = 1;
const XI = 0.1;

function worker(): Sample {
  const si = instantiate(siDefinition, { c: C, xi: XI });
  try {
    return { trainSeconds: timeSecondTask('{name: sgd, lr: 0.05, momentum: 0.9}', si) };
  } finally {
    si.dispose();
  }
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
