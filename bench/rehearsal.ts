// Rehearsal benchmark, three measurements against plain PyTorch
// (bench/rehearsal_torch.py), alternating in fresh processes, medians and
// spread reported:
//
// derpp   one training epoch of task 2 of Split Fashion-MNIST in CIL (classes
//         {2, 3}, 12,000 images; MLP 784-400-400, batch 32, SGD lr 0.03) with
//         DER++ (α 0.1, β 0.5, two replay draws of 32 per step) on a
//         500-example memory filled during a short task 1 (its first 3,200
//         images), the full-width 10-class head on both sides.
// agem    the same epoch with A-GEM: a 500-example memory of task 1 and a
//         reference gradient from 256 of them per step, projected when it
//         conflicts; growing heads concatenated over the tasks seen.
// sample  the memory alone: one draw of 32 examples (inputs, targets, tasks)
//         from a filled 500-example memory of 784-pixel inputs, each draw in
//         a scope that frees it, the mean over 20,000 draws.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import type { Algorithm } from '../src/continual/algorithms/algorithm.js';
import { createAlgorithm } from '../src/continual/algorithms/registry.js';
import { Rng } from '../src/continual/benchmarks/rng.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { buildModel } from '../src/continual/experiment/sequence.js';
import { MemoryBuffer } from '../src/continual/memory/buffer.js';
import { trainTask } from '../src/continual/training/trainer.js';
import { setNumThreads } from '../src/index.js';
import { disposeStateDict } from '../src/optim/optimizer.js';
import { randint, randn } from '../src/tensor/creation.js';
import { manualSeed } from '../src/tensor/index.js';
import { tidy } from '../src/tensor/scope.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';
import { epochTimer } from './two_task.js';

const WARMUP_IMAGES = 3200;
const DRAWS = 20_000;
const ALGORITHMS = {
  derpp: '[{name: derpp, capacity: 500, batchSize: 32, alpha: 0.1, beta: 0.5}]',
  agem: '[{name: agem, capacity: 500, batchSize: 256}]',
} as const;
type Mode = keyof typeof ALGORITHMS | 'sample';

/** Task 1's first WARMUP_IMAGES images, then the timed epoch of task 2; returns its seconds. */
function epochWorker(mode: keyof typeof ALGORITHMS): Sample {
  const cfg = loadExperiment(undefined, [
    'benchmark.name=split', 'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, 'benchmark.numTasks=5', 'benchmark.validationFraction=0',
    'paradigm=cil', 'backbone.hiddenSizes=[400,400]', 'training.epochs=1', 'training.batchSize=32', 'training.optimizer={name: sgd, lr: 0.03}', 'training.validateEveryEpoch=false',
    `algorithms=${ALGORITHMS[mode]}`,
  ]);
  manualSeed(cfg.seed);
  const warmup = createBenchmark({ ...cfg.benchmark, seed: cfg.seed, trainLimit: WARMUP_IMAGES });
  const benchmark = createBenchmark({ ...cfg.benchmark, seed: cfg.seed });
  const model = buildModel(cfg, benchmark);
  const algorithm: Algorithm = createAlgorithm(cfg.algorithms[0]!);
  try {
    const common = { model, paradigm: 'cil' as const, algorithms: [algorithm], training: cfg.training, seed: cfg.seed };
    const first = trainTask(1, { ...common, benchmark: warmup, globalStep: 0 });
    disposeStateDict(first.optimizerState);
    const timer = epochTimer();
    const second = trainTask(2, { ...common, benchmark, globalStep: first.globalStep, observer: timer.observer });
    disposeStateDict(second.optimizerState);
    return { seconds: timer.seconds() };
  } finally {
    algorithm.dispose?.();
    model.dispose();
    warmup.dispose();
    benchmark.dispose();
  }
}

/** The mean seconds of one draw of 32 from a filled 500-example memory (the draw's tensors freed each time). */
function sampleWorker(): Sample {
  manualSeed(0);
  const memory = new MemoryBuffer({ capacity: 500, policy: 'reservoir' });
  const rng = new Rng(0);
  const x = randn([500, 784]);
  const y = randint(0, 10, [500]);
  memory.insert({ x, targets: y, task: 1 }, rng);
  x.dispose();
  y.dispose();
  const start = performance.now();
  // Inside a scope, as the algorithms draw (the trainer's step is one): the
  // scope frees the draw's tensors when it closes, as PyTorch's reference
  // counts free the slices on its side.
  for (let i = 0; i < DRAWS; i++) tidy(() => void memory.sample(32, rng));
  const seconds = (performance.now() - start) / 1000 / DRAWS;
  memory.dispose();
  return { seconds };
}

export function runRehearsalBenchmark(options: { repeats: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'rehearsal_torch.py');
  const results: Record<string, unknown> = { benchmark: 'rehearsal', threads: options.threads, repeats: options.repeats };
  for (const mode of ['sample', 'derpp', 'agem'] as const) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      ours.push(spawnJson(process.execPath, [self, '--worker', mode, String(options.threads)], options.threads)['seconds']!);
      theirs.push(spawnJson('/usr/bin/python3', [script, mode, FASHION_MNIST_DIR, String(options.threads), String(WARMUP_IMAGES)], options.threads)['seconds']!);
    }
    const o = median(ours);
    const p = median(theirs);
    results[mode] = { ours: o, pytorch: p, ratio: p / o, oursAll: ours, pytorchAll: theirs };
  }
  return results;
}

if (process.argv[2] === '--worker') {
  const mode = process.argv[3] as Mode;
  setNumThreads(Number(process.argv[4]));
  console.log(JSON.stringify(mode === 'sample' ? sampleWorker() : epochWorker(mode)));
}
