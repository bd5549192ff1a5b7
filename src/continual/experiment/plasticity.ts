// The online plasticity run (Dohare et al. 2024, "Online Permuted MNIST"): a
// long sequence of short tasks, each seen once, measured by how well the
// network learns each new task rather than by how well it remembers old ones.
// The measure is a task's ONLINE accuracy: the accuracy on every training
// batch, computed from the forward pass before that batch's step, averaged
// over the task's examples; for a one-pass epoch that is exactly the
// trainer's epoch training accuracy. A network that loses plasticity learns
// each new task more slowly, so its online accuracy falls as tasks go on.
//
// Unlike runExperiment, nothing is tested after a task (the O(T²) test passes
// of a hundred tasks are not the point), and each task's data is freed once
// trained, so a run holds one task at a time.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ExperimentConfig, RUN_NAME_PATTERN } from '../../config/experiment.js';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { manualSeed } from '../../tensor/random.js';
import { disposeStateDict } from '../../optim/optimizer.js';
import { type Algorithm, createAlgorithms } from '../algorithms/index.js';
import { createBenchmark } from '../benchmarks/index.js';
import { buildModel } from './sequence.js';
import { csvNumber } from '../results/csv.js';
import { lineChart } from '../results/svg.js';
import { type TrainingObserver, trainTask } from '../training/trainer.js';
import type { TaskId } from '../contracts/types.js';

/** File names written by a plasticity run and by a comparison of runs. */
export const PLASTICITY_FILES = Object.freeze({ config: 'config.json', csv: 'online_accuracy.csv', plot: 'online_accuracy.svg' });

/** What runPlasticity runs and where it writes. */
export interface PlasticityRunOptions {
  config: ExperimentConfig;
  /** This run's directory: config.json, online_accuracy.csv, online_accuracy.svg. */
  runDir: string;
  /** The run's name in plots and tables (default: its algorithms joined by '+'). */
  label?: string;
  observer?: TrainingObserver;
  /** Algorithms or plugins added after the configured ones; the caller disposes them. */
  plugins?: readonly Algorithm[];
  /** Called once per finished task. */
  log?(line: string): void;
}

/** A plasticity run's online accuracy and loss per task. */
export interface PlasticityResult {
  label: string;
  runDir: string;
  /** Online accuracy of task t at index t - 1. */
  onlineAccuracy: number[];
  /** Mean training loss over task t's batches (before each step), at index t - 1. */
  onlineLoss: number[];
}

/** The default name of a run: its output.name, or its algorithms joined by '+'. */
export function plasticityLabel(config: ExperimentConfig): string {
  return config.output.name ?? config.algorithms.map((a) => a.name).join('+');
}

/** Throws when the configuration is not an online run, naming the key to change. */
export function checkPlasticityConfig(config: ExperimentConfig, source = 'the configuration'): void {
  const problems: string[] = [];
  if (config.training.epochs !== 1) problems.push(`training.epochs is ${config.training.epochs}; online accuracy needs each example seen once: set training.epochs: 1`);
  const references = Object.entries(config.reference).filter(([, on]) => on).map(([name]) => `reference.${name}`);
  if (references.length > 0) problems.push(`${references.join(', ')} ${references.length === 1 ? 'is' : 'are'} set, but the plasticity run makes no reference runs: set ${references.length === 1 ? 'it' : 'them'} to false`);
  if (problems.length > 0) throw new Error(`${source} cannot run as an online plasticity run:\n  ${problems.join('\n  ')}`);
}

/** task,online_accuracy,online_loss: one row per task. */
export function onlineAccuracyCsv(result: Pick<PlasticityResult, 'onlineAccuracy' | 'onlineLoss'>): string {
  const lines = ['task,online_accuracy,online_loss'];
  result.onlineAccuracy.forEach((a, i) => lines.push(`${i + 1},${csvNumber(a)},${csvNumber(result.onlineLoss[i]!)}`));
  return `${lines.join('\n')}\n`;
}

/** task,<label 1>,<label 2>,...: the online accuracy of every run per task (blank where a run has fewer tasks). */
export function onlineAccuracyComparisonCsv(results: readonly Pick<PlasticityResult, 'label' | 'onlineAccuracy'>[]): string {
  const tasks = Math.max(0, ...results.map((r) => r.onlineAccuracy.length));
  const lines = [['task', ...results.map((r) => r.label)].join(',')];
  for (let t = 0; t < tasks; t++) lines.push([String(t + 1), ...results.map((r) => (t < r.onlineAccuracy.length ? csvNumber(r.onlineAccuracy[t]!) : ''))].join(','));
  return `${lines.join('\n')}\n`;
}

/** Online accuracy against the task number, one line per run. */
export function onlineAccuracySvg(results: readonly Pick<PlasticityResult, 'label' | 'onlineAccuracy'>[], title = 'Online accuracy per task'): string {
  const yLabel = 'online accuracy (training batches, before each step)';
  const short = results.every((r) => r.onlineAccuracy.length <= 20);
  return lineChart(
    results.map((r) => ({ name: r.label, points: r.onlineAccuracy.map((y, i) => ({ x: i + 1, y })) })),
    // A hundred tasks get a wider frame and lines without markers.
    short ? { title, xLabel: 'task', yLabel, markers: true } : { title, xLabel: 'task', yLabel, markers: false, width: 800, height: 420 },
  );
}

/** Trains every task of the configuration once, in order, recording each task's online accuracy. */
export function runPlasticity(options: PlasticityRunOptions): PlasticityResult {
  const { config, runDir } = options;
  checkPlasticityConfig(config);
  const label = options.label ?? plasticityLabel(config);
  mkdirSync(runDir, { recursive: true });
  writeFileAtomic(join(runDir, PLASTICITY_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
  manualSeed(config.seed);
  const benchmark = createBenchmark({ ...config.benchmark, seed: config.seed });
  const model = buildModel(config, benchmark);
  const configured = createAlgorithms(config.algorithms);
  const algorithms = [...configured, ...(options.plugins ?? [])];
  const result: PlasticityResult = { label, runDir, onlineAccuracy: [], onlineLoss: [] };
  // The one epoch's summary of each task: its training accuracy and loss are the online ones.
  const online = new Map<TaskId, { trainAccuracy: number; trainLoss: number }>();
  const observer: TrainingObserver = {
    epochStart: (task, epoch, batches) => options.observer?.epochStart?.(task, epoch, batches),
    batchEnd: (task, epoch, step, loss, accuracy) => options.observer?.batchEnd?.(task, epoch, step, loss, accuracy),
    epochEnd: (task, epoch, summary) => {
      online.set(task, summary);
      options.observer?.epochEnd?.(task, epoch, summary);
    },
  };
  try {
    let globalStep = 0;
    for (let task: TaskId = 1; task <= benchmark.numTasks; task++) {
      const trained = trainTask(task, { model, benchmark, paradigm: config.paradigm, algorithms, training: config.training, seed: config.seed, globalStep, observer });
      globalStep = trained.globalStep;
      disposeStateDict(trained.optimizerState);
      benchmark.release(task);
      const { trainAccuracy, trainLoss } = online.get(task)!;
      result.onlineAccuracy.push(trainAccuracy);
      result.onlineLoss.push(trainLoss);
      writeFileAtomic(join(runDir, PLASTICITY_FILES.csv), onlineAccuracyCsv(result));
      options.log?.(`${label}: task ${task}/${benchmark.numTasks} online accuracy ${trainAccuracy.toFixed(4)}, loss ${trainLoss.toFixed(4)}`);
    }
    writeFileAtomic(join(runDir, PLASTICITY_FILES.plot), onlineAccuracySvg([result], `Online accuracy per task (${label})`));
    return result;
  } finally {
    // Plugins belong to the caller, who may still read them.
    for (const a of configured) a.dispose?.();
    model.dispose();
    benchmark.dispose();
  }
}

export interface PlasticityComparisonOptions {
  /** The runs, in order; their labels name the sub-directories and the plot's lines, and must differ. */
  runs: readonly { config: ExperimentConfig; label?: string }[];
  /** Each run goes to outDir/<label>; the comparison's CSV and plot to outDir. */
  outDir: string;
  observer?: TrainingObserver;
  log?(line: string): void;
}

/** Several plasticity runs one after the other, then one table and one plot with all of them. */
export function runPlasticityComparison(options: PlasticityComparisonOptions): PlasticityResult[] {
  const labels = options.runs.map((r) => r.label ?? plasticityLabel(r.config));
  labels.forEach((label, i) => {
    if (!RUN_NAME_PATTERN.test(label)) throw new Error(`run ${i + 1}: the label '${label}' is not a directory name of letters, digits, '.', '-' and '_'; set output.name`);
    const first = labels.indexOf(label);
    if (first < i) throw new Error(`runs ${first + 1} and ${i + 1} are both called '${label}'; give them different output.name values`);
  });
  options.runs.forEach((r, i) => checkPlasticityConfig(r.config, `run ${i + 1} ('${labels[i]}')`));
  mkdirSync(options.outDir, { recursive: true });
  const results: PlasticityResult[] = [];
  options.runs.forEach((r, i) => {
    const label = labels[i]!;
    results.push(runPlasticity({ config: r.config, runDir: join(options.outDir, label), label, observer: options.observer, log: options.log }));
    writeFileAtomic(join(options.outDir, PLASTICITY_FILES.csv), onlineAccuracyComparisonCsv(results));
  });
  writeFileAtomic(join(options.outDir, PLASTICITY_FILES.plot), onlineAccuracySvg(results));
  return results;
}

/** Mean online accuracy over tasks [from, to] (1-based, inclusive), for summaries. */
export function meanOnlineAccuracy(result: Pick<PlasticityResult, 'onlineAccuracy'>, from: TaskId, to: TaskId): number {
  const slice = result.onlineAccuracy.slice(from - 1, to);
  if (slice.length === 0) throw new RangeError(`no tasks in [${from}, ${to}] (the run has ${result.onlineAccuracy.length})`);
  return slice.reduce((a, b) => a + b, 0) / slice.length;
}
