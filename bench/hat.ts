// HAT benchmark: one training epoch of HAT at its defaults (s_max 400, c 0.75,
// embeddings clamped to ±6, compensation on, binary test masks, exact
// protection) on Permuted Fashion-MNIST (60,000 images, MLP 784-256-256 with
// task-incremental heads, batch 64, SGD lr 0.05 with momentum 0.9),
// `perennial`'s trainer against a plain PyTorch script doing the same
// algorithm (bench/hat_torch.py), alternating, in fresh processes. Reports
// the median epoch wall times and their ratio (PyTorch / ours: above 1 means
// we are faster).
//
// The timed epoch is task 2's, so that every step also conditions the
// gradients by task 1's cumulative mask and puts back the weights task 1
// uses; task 1 is a short task (a training limit) that only produces that
// mask. Each step: the gates σ(s e) of both hidden layers at the annealed s,
// the gated forward, cross-entropy plus the mask regulariser, backward, the
// gradient conditioning, the embedding-gradient compensation, the optimizer
// step over weights, head and embeddings, the embedding clamp, and the
// exact restore of the protected weights and biases.
import { hatDefinition, instantiate } from '../src/continual/algorithms/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setNumThreads } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';
import { WARMUP_IMAGES, timeSecondTask } from './two_task.js';

function worker(): Sample {
  const hat = instantiate(hatDefinition, {});
  try {
    const trainSeconds = timeSecondTask('{name: sgd, lr: 0.05, momentum: 0.9}', hat);
    // The fraction of units in use after task 2, to compare with the PyTorch side's.
    const used = hat.summary?.()?.values['capacityUsedAfterTask'];
    return { trainSeconds, capacityUsed: Array.isArray(used) && typeof used[1] === 'number' ? used[1] : Number.NaN };
  } finally {
    hat.dispose();
  }
}

export function runHATBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'hat_torch.py');
  const ours: Sample[] = [];
  const theirs: Sample[] = [];
  for (let r = 0; r < options.repeats; r++) {
    ours.push(spawnJson(process.execPath, [self, '--worker', String(options.threads)], options.threads));
    theirs.push(spawnJson('/usr/bin/python3', [script, FASHION_MNIST_DIR, String(options.threads), String(WARMUP_IMAGES)], options.threads));
  }
  const o = median(ours.map((x) => x['trainSeconds']!));
  const p = median(theirs.map((x) => x['trainSeconds']!));
  return {
    benchmark: 'hat',
    threads: options.threads,
    repeats: options.repeats,
    ours: o,
    pytorch: p,
    ratio: p / o,
    oursAll: ours.map((x) => x['trainSeconds']),
    pytorchAll: theirs.map((x) => x['trainSeconds']),
    capacityUsed: { ours: ours.map((x) => x['capacityUsed']), pytorch: theirs.map((x) => x['capacityUsed']) },
  };
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[3]));
  console.log(JSON.stringify(worker()));
}
