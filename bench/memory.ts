// Memory and data-preparation benchmark (issue 15, goals 2 and 3): runs of
// Permuted Fashion-MNIST (TIL, MLP 784-256-256, finetuning, SGD, one epoch
// of `trainLimit` images per task, testing on all 10,000 test images of
// every task seen after each task) with 10 and with 100 tasks, each in a
// fresh process, reporting each run's peak resident memory and their ratio
// (target: within 1.2x, below 1 GB). Also, in another fresh process, the time
// to prepare a full task (60,000 images): benchmark.task(t) and the first
// training and test batches, per task, the dataset already loaded.
//
// Peak memory is the process's own getrusage maxrss (process.resourceUsage(),
// the kernel's high-water mark of resident memory, VmHWM), read by the
// worker as its run ends; the worker runs the experiment as `perennial run`
// does (runExperiment: results, plots and checkpoints written after every task).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { batches } from '../src/continual/benchmarks/data.js';
import { runExperiment } from '../src/continual/experiment/run.js';
import { setNumThreads, tidy } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';

const COMMON = [
  'paradigm=til',
  'benchmark.name=permuted',
  'benchmark.dataset=fashion-mnist',
  `benchmark.dataDir=${FASHION_MNIST_DIR}`,
  'backbone.hiddenSizes=[256,256]',
  'training.epochs=1',
  'training.batchSize=64',
  'training.optimizer={name: sgd, lr: 0.01}',
  'algorithms=[{name: finetuning}]',
];

/** One run of `tasks` tasks of `trainLimit` images; its peak memory and times. */
function runWorker(tasks: number, trainLimit: number, threads: number): Sample {
  setNumThreads(threads);
  const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
  try {
    const config = loadExperiment(undefined, [...COMMON, `benchmark.numTasks=${tasks}`, `benchmark.trainLimit=${trainLimit}`]);
    let testAndSave = 0;
    let lastEpochEnd = 0;
    const start = performance.now();
    runExperiment({
      config,
      runDir: join(dir, 'run'),
      observer: { epochEnd: () => (lastEpochEnd = performance.now()) },
      // Called once a task's testing, results and checkpoint are done.
      onTaskEnd: () => (testAndSave += performance.now() - lastEpochEnd),
    });
    const seconds = (performance.now() - start) / 1000;
    return { tasks, seconds, testAndSaveSeconds: testAndSave / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds to prepare each of `tasks` full tasks: task(t), then the first training batch and the first test batch. */
function prepWorker(tasks: number, threads: number): Sample {
  setNumThreads(threads);
  const config = loadExperiment(undefined, [...COMMON, `benchmark.numTasks=${tasks}`]);
  const benchmark = createBenchmark({ ...config.benchmark, seed: config.seed });
  try {
    const loadStart = performance.now();
    void benchmark.normalization; // loads the dataset (once per run, not per task)
    const load = (performance.now() - loadStart) / 1000;
    const perTask: number[] = [];
    for (let t = 1; t <= tasks; t++) {
      const start = performance.now();
      const splits = benchmark.task(t);
      tidy(() => {
        batches(splits.train, 64, { shuffle: true, seed: t }).next();
        batches(splits.test, 1000).next();
      });
      perTask.push((performance.now() - start) / 1000);
    }
    return { loadSeconds: load, prepSecondsPerTask: median(perTask), prepSecondsMax: Math.max(...perTask) };
  } finally {
    benchmark.dispose();
  }
}

export function runMemoryBenchmark(options: { small: number; large: number; trainLimit: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const prep = spawnJson(process.execPath, [self, '--prep', '5', String(options.threads)], options.threads);
  const runs = [options.small, options.large].map((tasks) => {
    console.error(`memory: ${tasks} tasks of ${options.trainLimit} images...`);
    return spawnJson(process.execPath, [self, '--run', String(tasks), String(options.trainLimit), String(options.threads)], options.threads);
  });
  const [small, large] = runs as [Sample, Sample];
  return {
    benchmark: 'memory',
    threads: options.threads,
    trainLimit: options.trainLimit,
    dataPreparation: { datasetLoadSeconds: prep['loadSeconds'], secondsPerTask: prep['prepSecondsPerTask'], maxSecondsPerTask: prep['prepSecondsMax'] },
    runs: runs.map((r) => ({ tasks: r['tasks'], peakRssMb: r['peakRssMb'], seconds: r['seconds'], testAndSaveSeconds: r['testAndSaveSeconds'] })),
    peakRssRatio: large['peakRssMb']! / small['peakRssMb']!,
  };
}

const [mode, ...args] = process.argv.slice(2);
if (mode === '--run') console.log(JSON.stringify(runWorker(Number(args[0]), Number(args[1]), Number(args[2]))));
if (mode === '--prep') console.log(JSON.stringify(prepWorker(Number(args[0]), Number(args[1]))));
