// LwF benchmark: one training epoch of task 2 of Permuted Fashion-MNIST
// (60,000 images, MLP 784-256-256-10 with task-incremental heads, batch 64,
// SGD lr 0.01), `perennial`'s trainer with LwF (λ 1, T 2, the 'previous'
// teacher) against a plain PyTorch transcription doing the same work
// (bench/lwf_torch.py), alternating, in fresh processes. Task 1 is a short
// task (its first 6,400 images) that only gives the teacher something to
// know; the teacher copy is made before the timed epoch on both sides.
// Reports the median epoch wall times, their ratio (PyTorch / ours: above 1
// means we are faster) and every sample, for the spread.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instantiate } from '../src/continual/algorithms/definition.js';
import { lwfDefinition } from '../src/continual/algorithms/lwf.js';
import { setNumThreads } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';
import { WARMUP_IMAGES, timeSecondTask } from './two_task.js';

const LAMBDA = 1;
const TEMPERATURE = 2;

function worker(): Sample {
  const lwf = instantiate(lwfDefinition, { lambda: LAMBDA, temperature: TEMPERATURE });
  try {
    return { trainSeconds: timeSecondTask('{name: sgd, lr: 0.01}', lwf) };
  } finally {
    lwf.dispose();
  }
}

export function runLwFBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'lwf_torch.py');
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < options.repeats; r++) {
    ours.push(spawnJson(process.execPath, [self, '--worker', String(options.threads)], options.threads)['trainSeconds']!);
    theirs.push(spawnJson('/usr/bin/python3', [script, FASHION_MNIST_DIR, String(options.threads), String(WARMUP_IMAGES), String(LAMBDA), String(TEMPERATURE)], options.threads)['trainSeconds']!);
  }
  const o = median(ours);
  const p = median(theirs);
  return { benchmark: 'lwf', threads: options.threads, repeats: options.repeats, ours: o, pytorch: p, ratio: p / o, oursAll: ours, pytorchAll: theirs };
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[3]));
  console.log(JSON.stringify(worker()));
}
