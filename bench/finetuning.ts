// Finetuning benchmark: one task of Permuted Fashion-MNIST (60,000 images, MLP
// 784-256-256-10, batch 64, SGD lr 0.01, one epoch, then testing on the
// 10,000 test images), `perennial`'s runner against a plain PyTorch script
// doing the same work (bench/finetuning_torch.py), alternating, in fresh
// processes. Reports wall-time ratios (PyTorch / ours: above 1 means faster).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import { runExperiment } from '../src/continual/experiment/run.js';
import { setNumThreads } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';

function worker(threads: number): Sample {
  setNumThreads(threads);
  const start = performance.now();
  const config = loadExperiment(undefined, [
    'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, 'benchmark.numTasks=1', 'benchmark.validationFraction=0',
    'backbone.hiddenSizes=[256,256]', 'training.epochs=1', 'training.batchSize=64', 'training.optimizer={name: sgd, lr: 0.01}', 'training.validateEveryEpoch=false',
  ]);
  let trainStart = 0;
  let trainEnd = 0;
  const result = runExperiment({
    config,
    runDir: join(mkdtempSync(join(tmpdir(), 'bench-ft-')), 'run'),
    observer: { epochStart: () => (trainStart = performance.now()), epochEnd: () => (trainEnd = performance.now()) },
  });
  const total = (performance.now() - start) / 1000;
  return { totalSeconds: total, trainSeconds: (trainEnd - trainStart) / 1000, testAccuracy: result.accuracy[0]![0]!, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

export function runFinetuningBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'finetuning_torch.py');
  const ours: Sample[] = [];
  const theirs: Sample[] = [];
  for (let r = 0; r < options.repeats; r++) {
    ours.push(spawnJson(process.execPath, [self, '--worker', String(options.threads)], options.threads));
    theirs.push(spawnJson('/usr/bin/python3', [script, FASHION_MNIST_DIR, String(options.threads)], options.threads));
  }
  const pick = (s: Sample[], k: string): number => median(s.map((x) => x[k]!));
  const oursTotal = pick(ours, 'totalSeconds');
  const theirsTotal = pick(theirs, 'totalSeconds');
  const oursTrain = pick(ours, 'trainSeconds');
  const theirsTrain = pick(theirs, 'trainSeconds');
  return {
    benchmark: 'finetuning',
    threads: options.threads,
    repeats: options.repeats,
    totalSeconds: { ours: oursTotal, pytorch: theirsTotal },
    trainEpochSeconds: { ours: oursTrain, pytorch: theirsTrain },
    testAccuracy: { ours: pick(ours, 'testAccuracy'), pytorch: pick(theirs, 'testAccuracy') },
    peakRssMb: { ours: pick(ours, 'peakRssMb'), pytorch: pick(theirs, 'peakRssMb') },
    totalSpeedRatio: theirsTotal / oursTotal,
    trainSpeedRatio: theirsTrain / oursTrain,
  };
}

if (process.argv[2] === '--worker') console.log(JSON.stringify(worker(Number(process.argv[3]))));
