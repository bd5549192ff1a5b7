// Running an experiment: build the benchmark, model and algorithms from the
// configuration, train task after task, execute the unlearning requests due
// after it, test on every task seen so far, write results and a checkpoint
// after each task, and make the reference runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlgorithmConfig, ExperimentConfig } from '../config/experiment.js';
import { writeFileAtomic } from '../serialization/atomic.js';
import { noGrad } from '../tensor/autograd.js';
import { manualSeed } from '../tensor/random.js';
import { cat } from '../tensor/functions.js';
import { tidy } from '../tensor/scope.js';
import { disposeStateDict } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Algorithm, type AlgorithmSummary, type UnlearningContext, createAlgorithms } from './algorithms/index.js';
import { createBackbone } from './backbones/index.js';
import { createBenchmark } from './benchmarks/index.js';
import { batches } from './benchmarks/data.js';
import { latestCheckpointTask, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluateTask } from './evaluation.js';
import { createHeads } from './heads.js';
import { ContinualModel } from './model.js';
import { jointView, singleTaskView, subsequenceView } from './references.js';
import { type TrainingObserver, trainTask } from './trainer.js';
import { TaskMatrix } from './metrics/matrix.js';
import { type UnlearningRequestRecord, type UnlearningResults, type UnlearningSummary, featureDistances } from './metrics/unlearning.js';
import { type RunSummary, RESULT_FILES, RunLogger, withResumeHint, writeRunResults } from './results/index.js';
import type { ContinualBenchmark, Paradigm, TaskId, TensorDataset } from './types.js';

export interface RunOptions {
  config: ExperimentConfig;
  runDir: string;
  /** Continue from the run directory's last checkpoint. */
  resume?: boolean;
  observer?: TrainingObserver;
  /** Algorithms or plugins added after the configured ones (objects with lifecycle hooks); the caller disposes them. */
  plugins?: readonly Algorithm[];
  /** Called after each task with the metrics so far (results files are already written). */
  onTaskEnd?(task: TaskId, accuracy: number[][], loss: number[][]): void;
  /** Also called for every line written to the run's log. */
  log?(line: string): void;
}

export interface ReferenceResults {
  /** ã_{t,t} of a fresh model trained on task t alone. */
  independent?: number[];
  /** ã_{t,t} of the untrained model. */
  random?: number[];
  /** Accuracy on each task of one model trained on all tasks jointly. */
  joint?: number[];
}

export interface RunResult {
  runDir: string;
  accuracy: number[][];
  loss: number[][];
  references: ReferenceResults;
  summary: RunSummary;
  /** With unlearning requests: accuracy gain, feature distances and the per-task table. */
  unlearning?: UnlearningSummary;
}

export function buildModel(config: ExperimentConfig, benchmark: ContinualBenchmark, paradigm: Paradigm = config.paradigm): ContinualModel {
  const backbone = createBackbone(config.backbone, benchmark.inputShape);
  return new ContinualModel(backbone, createHeads(paradigm, backbone.outputDim));
}


/**
 * The unlearning schedule of a configuration: the tasks to unlearn after each
 * task, and the unlearnable age after which records are freed.
 */
interface UnlearningPlan {
  requests: Map<TaskId, TaskId[]>;
  unlearnableAge?: number;
}

/** The configuration's unlearning schedule, or undefined when it has no `unlearning` section. */
function unlearningPlan(config: ExperimentConfig): UnlearningPlan | undefined {
  if (config.unlearning === undefined) return undefined;
  const plan: UnlearningPlan = { requests: new Map(config.unlearning.requests.map((r) => [r.afterTask, [...r.tasks]])) };
  if (config.unlearning.unlearnableAge !== undefined) plan.unlearnableAge = config.unlearning.unlearnableAge;
  return plan;
}

/** The requests executed up to task `task`, in order. */
function requestsUpTo(plan: UnlearningPlan, task: TaskId): UnlearningRequestRecord[] {
  return [...plan.requests]
    .filter(([k]) => k <= task)
    .sort(([a], [b]) => a - b)
    .map(([afterTask, tasks]) => ({ afterTask, tasks }));
}

/**
 * What is due after training `task`: the tasks to unlearn, and the task whose
 * record expires (with unlearnable age A, task u can be unlearned after tasks
 * u .. u + A − 1, so task task + 1 − A expires now unless it was unlearned).
 */
function dueAfter(plan: UnlearningPlan, task: TaskId): { tasks: TaskId[]; expired: TaskId[] } {
  const tasks = plan.requests.get(task) ?? [];
  const age = plan.unlearnableAge;
  const old = age === undefined ? 0 : task + 1 - age;
  const unlearned = new Set(requestsUpTo(plan, task).flatMap((r) => r.tasks));
  return { tasks, expired: old >= 1 && !unlearned.has(old) ? [old] : [] };
}

/** Runs the unlearning due after `task` through every algorithm that can unlearn. */
function unlearnAfter(task: TaskId, plan: UnlearningPlan, model: ContinualModel, algorithms: readonly Algorithm[], paradigm: Paradigm): { tasks: TaskId[]; expired: TaskId[] } {
  const due = dueAfter(plan, task);
  if (due.tasks.length === 0 && due.expired.length === 0) return due;
  const unlearners = algorithms.filter((a) => a.unlearn !== undefined);
  if (due.tasks.length > 0 && unlearners.length === 0) {
    throw new Error(`unlearning task ${due.tasks.join(', ')} after task ${task} was requested, but no algorithm can unlearn (${algorithms.map((a) => a.name).join(', ')}); use amnesiacFinetuning or amnesiacEwc`);
  }
  const ctx: UnlearningContext = { model, paradigm, afterTask: task, tasks: due.tasks, expired: due.expired };
  for (const a of unlearners) a.unlearn!(ctx);
  return due;
}

/**
 * Trains `model` on every task of `benchmark` from `firstTask` on; after each
 * task executes the unlearning due (with a plan), then tests on every task
 * seen so far and saves a checkpoint.
 */
function trainSequence(
  config: ExperimentConfig,
  benchmark: ContinualBenchmark,
  model: ContinualModel,
  algorithms: readonly Algorithm[],
  start: { firstTask: TaskId; globalStep: number; accuracy: number[][]; loss: number[][] },
  options: {
    runDir?: string;
    observer?: TrainingObserver;
    onTaskEnd?: RunOptions['onTaskEnd'];
    unlearning?: UnlearningPlan;
    onUnlearn?(task: TaskId, due: { tasks: TaskId[]; expired: TaskId[] }): void;
  },
): { accuracy: number[][]; loss: number[][] } {
  const accuracy = start.accuracy.map((r) => [...r]);
  const loss = start.loss.map((r) => [...r]);
  let globalStep = start.globalStep;
  for (let task = start.firstTask; task <= benchmark.numTasks; task++) {
    const result = trainTask(task, {
      model, benchmark, paradigm: config.paradigm, algorithms, training: config.training, seed: config.seed, globalStep, observer: options.observer,
    });
    globalStep = result.globalStep;
    if (options.unlearning !== undefined) {
      const due = unlearnAfter(task, options.unlearning, model, algorithms, config.paradigm);
      if (due.tasks.length > 0 || due.expired.length > 0) options.onUnlearn?.(task, due);
    }
    const scores = Array.from({ length: task }, (_, j) => evaluateTask(model, algorithms, benchmark.task(j + 1).test, j + 1, config.training.evalBatchSize));
    accuracy.push(scores.map((s) => s.accuracy));
    loss.push(scores.map((s) => s.loss));
    if (options.runDir !== undefined) saveCheckpoint(options.runDir, model, algorithms, result.optimizerState, { task, globalStep, accuracy, loss });
    disposeStateDict(result.optimizerState);
    options.onTaskEnd?.(task, accuracy, loss);
  }
  return { accuracy, loss };
}

/** What the algorithms report about themselves now, by name. */
function algorithmSummaries(algorithms: readonly Algorithm[]): Record<string, AlgorithmSummary> {
  const out: Record<string, AlgorithmSummary> = {};
  for (const a of algorithms) {
    const summary = a.summary?.();
    if (summary != null) out[a.name] = summary;
  }
  return out;
}

function writeResults(
  runDir: string,
  accuracy: number[][],
  loss: number[][],
  references: ReferenceResults,
  config: ExperimentConfig,
  algorithms: readonly Algorithm[],
  unlearning?: UnlearningResults,
): RunSummary {
  const reports = Object.entries(algorithmSummaries(algorithms)).map(([name, r]) => [name, r.values] as const);
  return writeRunResults(runDir, {
    accuracy: new TaskMatrix('accuracy', accuracy),
    loss: new TaskMatrix('loss', loss),
    references,
    ...(unlearning === undefined ? {} : { unlearning }),
    ...(reports.length === 0 ? {} : { algorithms: Object.fromEntries(reports) }),
    metadata: { seed: config.seed, paradigm: config.paradigm, benchmark: config.benchmark.name, dataset: config.benchmark.dataset, algorithms: config.algorithms.map((a) => a.name) },
  }).summary;
}

/** Runs (or resumes) the experiment in `runDir`. */
export function runExperiment(options: RunOptions): RunResult {
  const { config, runDir } = options;
  const configPath = join(runDir, 'config.json');
  if (options.resume) {
    if (!existsSync(configPath)) throw new Error(`cannot resume ${runDir}: it has no config.json (is it a run directory?)`);
  } else {
    if (existsSync(configPath)) throw new Error(`the run directory ${runDir} already holds a run; choose another output.name or resume it with --resume`);
    writeFileAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`);
  }
  const logger = new RunLogger(join(runDir, RESULT_FILES.log));
  const log = (line: string): void => {
    logger.info(line);
    options.log?.(line);
  };
  log(options.resume ? `resuming the run in ${runDir}` : `starting a run in ${runDir}`);

  manualSeed(config.seed);
  const benchmark = createBenchmark({ ...config.benchmark, seed: config.seed });
  const model = buildModel(config, benchmark);
  const configured = createAlgorithms(config.algorithms);
  const algorithms = [...configured, ...(options.plugins ?? [])];
  const plan = unlearningPlan(config);
  const requested = plan !== undefined && plan.requests.size > 0 ? plan : undefined;
  // Unlearning results are written from the first task on, so that the
  // requests executed so far are in the results of an unfinished run.
  const unlearningSoFar = (task: TaskId): UnlearningResults | undefined => (requested === undefined ? undefined : { requests: requestsUpTo(requested, task) });
  try {
    let start = { firstTask: 1, globalStep: 0, accuracy: [] as number[][], loss: [] as number[][] };
    if (options.resume) {
      const last = latestCheckpointTask(runDir);
      if (last > 0) {
        for (let t = 1; t <= last; t++) model.heads.setupTask(t, benchmark.numClasses(t));
        const saved = loadCheckpoint(runDir, last, model, algorithms);
        start = { firstTask: last + 1, globalStep: saved.globalStep, accuracy: saved.accuracy, loss: saved.loss };
        log(`resumed from the checkpoint of task ${last}`);
      }
    }
    const { accuracy, loss } = trainSequence(config, benchmark, model, algorithms, start, {
      runDir,
      observer: options.observer,
      unlearning: plan,
      onUnlearn: (task, due) => {
        if (due.tasks.length > 0) log(`after task ${task}: unlearned task ${due.tasks.join(', ')}`);
        if (due.expired.length > 0) log(`after task ${task}: task ${due.expired.join(', ')} can no longer be unlearned (unlearnableAge ${plan?.unlearnableAge}); its record is freed`);
      },
      onTaskEnd: (task, acc, lossRows) => {
        writeResults(runDir, acc, lossRows, {}, config, algorithms, unlearningSoFar(task));
        log(`task ${task} done: accuracy on tasks 1..${task} = ${acc[task - 1]!.map((a) => a.toFixed(4)).join(', ')}`);
        for (const [name, summary] of Object.entries(algorithmSummaries(algorithms))) log(`${name}: ${summary.text}`);
        options.onTaskEnd?.(task, acc, lossRows);
      },
    });
    const references = runReferences(config, benchmark, log);
    const unlearning = requested === undefined ? undefined : runUnlearningReferences(config, benchmark, model, requestsUpTo(requested, benchmark.numTasks), log);
    const summary = writeResults(runDir, accuracy, loss, references, config, algorithms, unlearning);
    log(`finished: average accuracy ${summary.finalAverageAccuracy.toFixed(4)}`);
    if (summary.unlearning?.accuracyGain != null) log(`unlearning: accuracy gain on the remaining tasks against the retrain reference ${summary.unlearning.accuracyGain.toFixed(4)}`);
    return { runDir, accuracy, loss, references, summary, ...(summary.unlearning === undefined ? {} : { unlearning: summary.unlearning }) };
  } catch (error) {
    logger.error(error instanceof Error ? error.message : String(error));
    throw withResumeHint(error, runDir);
  } finally {
    // Plugins belong to the caller, who may still read them.
    for (const a of configured) a.dispose?.();
    model.dispose();
    benchmark.dispose();
  }
}

/** The algorithms' configuration for a run without unlearning: Amnesiac algorithms record nothing. */
function withoutUnlearning(configs: readonly AlgorithmConfig[]): AlgorithmConfig[] {
  return configs.map((c) => ('disableUnlearning' in c ? { ...c, disableUnlearning: true } : c));
}

/** The backbone's features of `data`, [N, D], in eval mode (the mode is restored). */
function backboneFeatures(model: ContinualModel, data: TensorDataset, batchSize: number): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      tidy(() => {
        const parts: Tensor[] = [];
        for (const batch of batches(data, batchSize, { shuffle: false })) {
          parts.push(tidy(() => model.backbone.forward(batch.x).feature));
          batch.x.dispose();
          batch.y.dispose();
        }
        return cat(parts);
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

/**
 * The references of a run with unlearning requests (each on unless the
 * configuration turns it off): `original`, the same configuration without
 * requests; `retrain`, the same configuration trained on the tasks that are
 * never unlearned, in order, from the same seed, compared with the unlearned
 * model `unlearned` on every task's test data.
 */
function runUnlearningReferences(
  config: ExperimentConfig,
  benchmark: ContinualBenchmark,
  unlearned: ContinualModel,
  requests: readonly UnlearningRequestRecord[],
  log: (line: string) => void,
): UnlearningResults {
  const out: UnlearningResults = { requests };
  const fresh = { firstTask: 1, globalStep: 0, accuracy: [], loss: [] };
  const referenceRun = <T>(view: ContinualBenchmark, use: (model: ContinualModel, accuracy: number[][]) => T): T => {
    manualSeed(config.seed);
    const model = buildModel(config, view);
    const algorithms = createAlgorithms(withoutUnlearning(config.algorithms));
    try {
      return use(model, trainSequence(config, view, model, algorithms, fresh, {}).accuracy);
    } finally {
      for (const a of algorithms) a.dispose?.();
      model.dispose();
    }
  };
  if (config.reference.original ?? true) {
    log('reference: the same run without unlearning (original)');
    out.original = referenceRun(benchmark, (_, accuracy) => accuracy);
  }
  if (config.reference.retrain ?? true) {
    const gone = new Set(requests.flatMap((r) => r.tasks));
    const kept = Array.from({ length: benchmark.numTasks }, (_, i) => i + 1).filter((t) => !gone.has(t));
    log(`reference: retrained on the tasks never unlearned (${kept.length === 0 ? 'none: the untrained model' : kept.join(', ')})`);
    out.retrain = referenceRun(subsequenceView(benchmark, kept), (model, accuracy) => ({
      tasks: kept,
      accuracy: kept.length === 0 ? [] : accuracy[kept.length - 1]!,
      distances: Array.from({ length: benchmark.numTasks }, (_, j) =>
        tidy(() => {
          const data = benchmark.task(j + 1).test;
          return featureDistances(backboneFeatures(unlearned, data, config.training.evalBatchSize), backboneFeatures(model, data, config.training.evalBatchSize));
        }),
      ),
    }));
  }
  return out;
}

/** The reference runs the configuration asks for. */
export function runReferences(config: ExperimentConfig, benchmark: ContinualBenchmark, log: (line: string) => void): ReferenceResults {
  const out: ReferenceResults = {};
  const tasks = Array.from({ length: benchmark.numTasks }, (_, i) => i + 1);
  if (config.reference.independent) {
    log('reference: an independent model per task');
    out.independent = tasks.map((t) => {
      manualSeed(config.seed + t);
      const view = singleTaskView(benchmark, t);
      const model = buildModel(config, view);
      try {
        return trainSequence(config, view, model, [], { firstTask: 1, globalStep: 0, accuracy: [], loss: [] }, {}).accuracy[0]![0]!;
      } finally {
        model.dispose();
      }
    });
  }
  if (config.reference.random) {
    log('reference: the untrained model');
    manualSeed(config.seed);
    const model = buildModel(config, benchmark);
    try {
      out.random = tasks.map((t) => {
        model.heads.setupTask(t, benchmark.numClasses(t));
        return evaluateTask(model, [], benchmark.task(t).test, t, config.training.evalBatchSize).accuracy;
      });
    } finally {
      model.dispose();
    }
  }
  if (config.reference.joint) {
    log('reference: one model trained on all tasks jointly');
    manualSeed(config.seed);
    const shared = config.paradigm === 'dil';
    const view = jointView(benchmark, shared);
    const model = buildModel(config, view, shared ? 'dil' : 'cil');
    try {
      trainSequence(config, view, model, [], { firstTask: 1, globalStep: 0, accuracy: [], loss: [] }, {});
      out.joint = tasks.map((t) => jointAccuracy(model, benchmark, t, config.paradigm, config.training.evalBatchSize));
    } finally {
      model.dispose();
      view.dispose();
    }
  }
  return out;
}

/**
 * Accuracy of the jointly trained model (one head over every class) on task
 * `task`, judged as the paradigm judges: TIL only among the task's own
 * classes, CIL among all classes, DIL on the shared labels.
 */
function jointAccuracy(model: ContinualModel, benchmark: ContinualBenchmark, task: TaskId, paradigm: Paradigm, batchSize: number): number {
  const data = benchmark.task(task).test;
  const offset = benchmark.classOffset(task);
  let correct = 0;
  model.eval();
  noGrad(() =>
    tidy(() => {
      for (const batch of batches(data, batchSize, { shuffle: false })) {
        tidy(() => {
          const logits = model.forward(batch.x, 1).logits;
          const predicted =
            paradigm === 'til' ? logits.narrow(1, offset, benchmark.numClasses(task)).argmax(1) : logits.argmax(1);
          const targets = paradigm === 'cil' ? batch.y.add(offset) : batch.y;
          correct += predicted.eq(targets).sum().item();
        });
        batch.x.dispose();
        batch.y.dispose();
      }
    }),
  );
  return correct / data.size;
}

/** The configuration a run directory was started with (for --resume). */
export function readRunConfig(runDir: string): ExperimentConfig {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) throw new Error(`cannot resume ${runDir}: it has no config.json (is it a run directory?)`);
  return JSON.parse(readFileSync(path, 'utf8')) as ExperimentConfig;
}
