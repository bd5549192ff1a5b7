// WSN benchmark: one training epoch of WSN on Permuted Fashion-MNIST (60,000
// images, MLP 784-256-256 with task-incremental heads, batch 64, SGD lr 0.05
// with momentum 0.9, c = 0.1, as experiments/wsn_permuted_fashion_mnist.yaml),
// `perennial`'s trainer against a plain PyTorch script doing the same
// algorithm (bench/wsn_torch.py), alternating, in fresh processes. Reports the
// median epoch wall times and their ratio (PyTorch / ours: above 1 means we
// are faster).
//
// The timed epoch is task 2's, so that every step also zeroes the gradients
// of the weights task 1 froze; task 1 is a short task (a training limit) that
// only produces a stored mask. Each step: the top-c gate of all six score
// tensors, the straight-through masked forward, backward, the gradient
// masking, the optimizer step over weights, heads and scores.
import { instantiate, wsnDefinition } from '../src/continual/algorithms/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setNumThreads } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';
import { WARMUP_IMAGES, timeSecondTask } from './two_task.js';

const MASK_FRACTION = 0.1;

function worker(): Sample {
  const wsn = instantiate(wsnDefinition, { maskPercentage: MASK_FRACTION });
  try {
    const trainSeconds = timeSecondTask('{name: sgd, lr: 0.05, momentum: 0.9}', wsn);
    return { trainSeconds, capacityUsed: wsn.report()!.capacityUsed };
  } finally {
    wsn.dispose();
  }
}

export function runWSNBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'wsn_torch.py');
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < options.repeats; r++) {
    ours.push(spawnJson(process.execPath, [self, '--worker', String(options.threads)], options.threads)['trainSeconds']!);
    theirs.push(spawnJson('/usr/bin/python3', [script, FASHION_MNIST_DIR, String(options.threads), String(WARMUP_IMAGES), String(MASK_FRACTION)], options.threads)['trainSeconds']!);
  }
  const o = median(ours);
  const p = median(theirs);
  return { benchmark: 'wsn', threads: options.threads, repeats: options.repeats, maskPercentage: MASK_FRACTION, ours: o, pytorch: p, ratio: p / o, oursAll: ours, pytorchAll: theirs };
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[3]));
  console.log(JSON.stringify(worker()));
}
