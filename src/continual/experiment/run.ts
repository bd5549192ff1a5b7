// Running an experiment: build the benchmark, model and algorithms from the
// configuration, train task after task, execute the unlearning requests due
// after it, test on every task seen so far, write results and a checkpoint
// after each task, and make the reference runs. A run holds its directory's
// lock from start to end, and stops at a step boundary when asked to.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type AlgorithmConfig, type ExperimentConfig, parseExperiment } from '../../config/experiment.js';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { noGrad } from '../../tensor/autograd.js';
import { manualSeed } from '../../tensor/random.js';
import { cat } from '../../tensor/functions.js';
import { tidy } from '../../tensor/scope.js';
import { disposeStateDict } from '../../optim/optimizer.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type Algorithm, type AlgorithmSummary, type UnlearningContext, createAlgorithms } from '../algorithms/index.js';
import { createBackbone } from '../backbones/index.js';
import { createBenchmark } from '../benchmarks/index.js';
import { batches } from '../benchmarks/data.js';
import { checkpointPath, latestCheckpointTask, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluateTask } from '../training/evaluation.js';
import { createHeads } from '../model/heads.js';
import { ContinualModel } from '../model/model.js';
import { jointView, singleTaskView, subsequenceView } from './benchmark_views.js';
import { type StopSignal, type TrainingObserver, TrainingInterruptedError, describeStopReason, throwIfStopped, trainTask } from '../training/trainer.js';
import { RunDirectoryError, RunLock } from './run_lock.js';
import { TaskMatrix } from '../metrics/matrix.js';
import { type UnlearningRequestRecord, type UnlearningResults, type UnlearningSummary, featureDistances } from '../metrics/unlearning.js';
import { type RunSummary, RESULT_FILES, RunLogger, withResumeHint, writeRunResults } from '../results/index.js';
import type { ContinualBenchmark, Paradigm, TaskId, TensorDataset } from '../contracts/types.js';

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
  /**
   * Polled at every step boundary and between tasks; once it is aborted the
   * run stops there with a RunInterruptedError (an AbortSignal will do).
   */
  signal?: StopSignal;
}

/**
 * A run stopped by its stop signal. What was written after the last finished
 * task stays as it was, and --resume continues from that task's checkpoint:
 * an unfinished task is trained again from its start, which gives exactly the
 * results of an uninterrupted run.
 */
export class RunInterruptedError extends Error {
  constructor(
    readonly runDir: string,
    readonly reason: unknown,
    /** Where it stopped: `step` steps into task `task`, or in the reference runs after every task. */
    readonly at: { task: TaskId; step: number } | { references: true; task: TaskId },
    /** Tasks finished and checkpointed. */
    readonly finishedTasks: number,
  ) {
    const where = 'references' in at ? `after task ${at.task}, in the reference runs` : `after task ${at.task}, step ${at.step}`;
    super(`interrupted ${describeStopReason(reason)} ${where}`);
    this.name = 'RunInterruptedError';
  }
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
    signal?: StopSignal;
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
      model, benchmark, paradigm: config.paradigm, algorithms, training: config.training, seed: config.seed, globalStep, observer: options.observer, signal: options.signal,
    });
    const steps = result.globalStep - globalStep;
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
    // Between tasks: the task is finished and saved.
    throwIfStopped(options.signal, task, steps);
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

/** Runs (or resumes) the experiment in `runDir`, holding the directory's lock throughout. */
export function runExperiment(options: RunOptions): RunResult {
  const lock = openRunDirectory(options.runDir, options.config, options.resume === true);
  try {
    return runLocked(options, lock);
  } finally {
    lock.release();
  }
}

/** Why --resume cannot continue `runDir`: it holds no run's config.json. */
function notARunDirectory(runDir: string): RunDirectoryError {
  return new RunDirectoryError(`cannot resume ${runDir}: it has no config.json (is it a run directory?)`);
}

/**
 * Takes the run directory's lock (creating the directory for a new run). The
 * checks that it is free, or is a run to resume, are made under the lock, so
 * that of two processes started together only one can pass them.
 */
function openRunDirectory(runDir: string, config: ExperimentConfig, resume: boolean): RunLock {
  const configPath = join(runDir, 'config.json');
  if (resume && !existsSync(configPath)) throw notARunDirectory(runDir);
  if (!resume) mkdirSync(runDir, { recursive: true });
  const lock = RunLock.acquire(runDir);
  try {
    if (!resume) {
      if (existsSync(configPath)) throw new RunDirectoryError(`the run directory ${runDir} already holds a run; choose another output.name or resume it with --resume`);
      writeFileAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`);
    }
    return lock;
  } catch (error) {
    lock.release();
    throw error;
  }
}

function runLocked(options: RunOptions, lock: RunLock): RunResult {
  const { config, runDir } = options;
  const logger = new RunLogger(join(runDir, RESULT_FILES.log));
  const log = (line: string): void => {
    logger.info(line);
    options.log?.(line);
  };
  log(options.resume ? `resuming the run in ${runDir}` : `starting a run in ${runDir}`);
  const stale = lock.reclaimedFrom;
  if (stale !== undefined) log(`took over ${lock.path}, left by pid ${stale.pid} on ${stale.host} (started ${stale.startedAt}), which ended without releasing it`);

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
  let finishedTasks = 0;
  let inReferences = false;
  try {
    let start = { firstTask: 1, globalStep: 0, accuracy: [] as number[][], loss: [] as number[][] };
    if (options.resume) {
      const last = latestCheckpointTask(runDir);
      if (last > 0) {
        for (let t = 1; t <= last; t++) model.heads.setupTask(t, benchmark.numClasses(t));
        const saved = loadCheckpoint(runDir, last, model, algorithms);
        start = { firstTask: last + 1, globalStep: saved.globalStep, accuracy: saved.accuracy, loss: saved.loss };
        log(`resumed from the checkpoint of task ${last}`);
      } else if (existsSync(join(runDir, RESULT_FILES.accuracyCsv))) {
        // Starting over would replace the results of the finished tasks until it caught up with them.
        throw new RunDirectoryError(
          `cannot resume ${runDir}: its results (${RESULT_FILES.accuracyCsv}) record finished tasks, but ${join(runDir, 'checkpoints')} holds no checkpoint to continue from. ` +
            `Restore the checkpoints, or run the configuration again under a new name: ${newRunCommand(runDir, config, [], 'rerun')}`,
        );
      } else {
        log(`no checkpoint in ${join(runDir, 'checkpoints')}: no task was finished, so the run starts again from task 1`);
      }
    }
    finishedTasks = start.firstTask - 1;
    const { accuracy, loss } = trainSequence(config, benchmark, model, algorithms, start, {
      runDir,
      observer: options.observer,
      signal: options.signal,
      unlearning: plan,
      onUnlearn: (task, due) => {
        if (due.tasks.length > 0) log(`after task ${task}: unlearned task ${due.tasks.join(', ')}`);
        if (due.expired.length > 0) log(`after task ${task}: task ${due.expired.join(', ')} can no longer be unlearned (unlearnableAge ${plan?.unlearnableAge}); its record is freed`);
      },
      onTaskEnd: (task, acc, lossRows) => {
        writeResults(runDir, acc, lossRows, {}, config, algorithms, unlearningSoFar(task));
        finishedTasks = task;
        log(`task ${task} done: accuracy on tasks 1..${task} = ${acc[task - 1]!.map((a) => a.toFixed(4)).join(', ')}`);
        for (const [name, summary] of Object.entries(algorithmSummaries(algorithms))) log(`${name}: ${summary.text}`);
        options.onTaskEnd?.(task, acc, lossRows);
      },
    });
    inReferences = true;
    const references = runReferences(config, benchmark, log, options.signal);
    const unlearning = requested === undefined ? undefined : runUnlearningReferences(config, benchmark, model, requestsUpTo(requested, benchmark.numTasks), log, options.signal);
    const summary = writeResults(runDir, accuracy, loss, references, config, algorithms, unlearning);
    log(`finished: average accuracy ${summary.finalAverageAccuracy.toFixed(4)}`);
    if (summary.unlearning?.accuracyGain != null) log(`unlearning: accuracy gain on the remaining tasks against the retrain reference ${summary.unlearning.accuracyGain.toFixed(4)}`);
    return { runDir, accuracy, loss, references, summary, ...(summary.unlearning === undefined ? {} : { unlearning: summary.unlearning }) };
  } catch (error) {
    if (error instanceof TrainingInterruptedError) {
      const at = inReferences ? { references: true as const, task: benchmark.numTasks } : { task: error.task, step: error.step };
      const interrupted = new RunInterruptedError(runDir, error.reason, at, finishedTasks);
      log(`${interrupted.message}: ${whatResumeDoes(at.task, finishedTasks, inReferences)}`);
      throw interrupted;
    }
    logger.error(error instanceof Error ? error.message : String(error));
    throw withResumeHint(error, runDir);
  } finally {
    // Plugins belong to the caller, who may still read them.
    for (const a of configured) a.dispose?.();
    model.dispose();
    benchmark.dispose();
  }
}

/** What --resume will do after an interruption at task `task`, for the log. */
function whatResumeDoes(task: TaskId, finishedTasks: number, inReferences: boolean): string {
  if (inReferences) return `every task is finished and saved; --resume makes the reference runs again`;
  if (task <= finishedTasks) return `task ${task} is finished and saved; --resume continues after it`;
  const from = finishedTasks === 0 ? 'its start' : `the checkpoint of task ${finishedTasks} (${checkpointPath('', finishedTasks)})`;
  return `task ${task} was not finished and nothing of it was kept; --resume trains it again from ${from}`;
}

/** `arg` as a POSIX shell reads it back: unquoted when safe, else in single quotes. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues the run in `runDir`, from any working directory. */
export function resumeCommand(runDir: string): string {
  return `perennial run --resume ${shellQuote(resolve(runDir))}`;
}

/**
 * The command that starts a new run beside `runDir` with its configuration
 * and `overrides`: named after it with `suffix` when it has a fixed name.
 */
export function newRunCommand(runDir: string, config: ExperimentConfig, overrides: readonly string[], suffix: string): string {
  const where = resolve(runDir);
  const args = ['perennial', 'run', join(where, 'config.json'), ...overrides, `output.dir=${resolve(where, '..')}`];
  if (config.output.name !== undefined) args.push(`output.name=${basename(where)}-${suffix}`);
  return args.map(shellQuote).join(' ');
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
  signal?: StopSignal,
): UnlearningResults {
  const out: UnlearningResults = { requests };
  const fresh = { firstTask: 1, globalStep: 0, accuracy: [], loss: [] };
  const referenceRun = <T>(view: ContinualBenchmark, use: (model: ContinualModel, accuracy: number[][]) => T): T => {
    manualSeed(config.seed);
    const model = buildModel(config, view);
    const algorithms = createAlgorithms(withoutUnlearning(config.algorithms));
    try {
      return use(model, trainSequence(config, view, model, algorithms, fresh, { signal }).accuracy);
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

/** The reference runs the configuration asks for; `signal` stops them at a step boundary. */
export function runReferences(config: ExperimentConfig, benchmark: ContinualBenchmark, log: (line: string) => void, signal?: StopSignal): ReferenceResults {
  const out: ReferenceResults = {};
  const tasks = Array.from({ length: benchmark.numTasks }, (_, i) => i + 1);
  if (config.reference.independent) {
    log('reference: an independent model per task');
    out.independent = tasks.map((t) => {
      manualSeed(config.seed + t);
      const view = singleTaskView(benchmark, t);
      const model = buildModel(config, view);
      try {
        return trainSequence(config, view, model, [], { firstTask: 1, globalStep: 0, accuracy: [], loss: [] }, { signal }).accuracy[0]![0]!;
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
      trainSequence(config, view, model, [], { firstTask: 1, globalStep: 0, accuracy: [], loss: [] }, { signal });
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

/**
 * The configuration a run directory was started with (for --resume), checked
 * against the same schema as a new run's: a ConfigError names config.json,
 * the line and the key.
 */
export function readRunConfig(runDir: string): ExperimentConfig {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) throw notARunDirectory(runDir);
  // JSON is YAML, so the experiment reader takes config.json as it is.
  return parseExperiment(readFileSync(path, 'utf8'), path);
}
