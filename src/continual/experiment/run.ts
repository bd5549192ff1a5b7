// Running an experiment: build the benchmark, model and algorithms from the
// configuration, train task after task (sequence.ts), execute the unlearning
// requests due after it (unlearning_plan.ts), test on every task seen so far,
// write results (with the run's HTML report) and a checkpoint after each task,
// and make the reference runs (references.ts, unlearning_references.ts). A run holds its directory's lock
// from start to end (resume.ts), and stops at a step boundary when asked to.
import { join } from 'node:path';
import type { ExperimentConfig } from '../../config/experiment.js';
import { manualSeed } from '../../tensor/random.js';
import { type Algorithm, type AlgorithmSummary, createAlgorithms } from '../algorithms/index.js';
import { createBenchmark } from '../benchmarks/index.js';
import { type StopSignal, type TrainingObserver, TrainingInterruptedError, describeStopReason } from '../training/trainer.js';
import type { RunLock } from './run_lock.js';
import { TaskMatrix } from '../metrics/matrix.js';
import type { TaskAccuracy, UnlearningResults, UnlearningSummary } from '../metrics/unlearning.js';
import { type RunSummary, RESULT_FILES, RunLogger, withResumeHint, writeRunResults } from '../results/index.js';
import type { TaskId } from '../contracts/types.js';
import { FRESH_START, buildModel, trainSequence } from './sequence.js';
import { unlearningPlan, requestsUpTo } from './unlearning_plan.js';
import { type ReferenceResults, runReferences } from './references.js';
import { runUnlearningReferences } from './unlearning_references.js';
import { openRunDirectory, resumePoint, whatResumeDoes } from './resume.js';
import { runReportData } from '../../report/collect.js';
import { writeReport } from '../../report/html.js';

/** What runExperiment runs, where it writes, and the hooks into it (plugins, progress, logging, stopping). */
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

/** A finished run's metrics, as also written into its directory. */
export interface RunResult {
  runDir: string;
  accuracy: number[][];
  loss: number[][];
  references: ReferenceResults;
  summary: RunSummary;
  /** With unlearning requests: accuracy gain, feature distances and the per-task table. */
  unlearning?: UnlearningSummary;
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

/**
 * Writes the run's results and then its report. The report comes last and
 * its failure is only logged: the results files are what the run is for,
 * and `perennial report` can make the page again from them.
 */
function writeResults(
  runDir: string,
  accuracy: number[][],
  loss: number[][],
  references: ReferenceResults,
  config: ExperimentConfig,
  algorithms: readonly Algorithm[],
  warn: (line: string) => void,
  unlearning?: UnlearningResults,
): RunSummary {
  const reports = Object.entries(algorithmSummaries(algorithms)).map(([name, r]) => [name, r.values] as const);
  const { summary } = writeRunResults(runDir, {
    accuracy: new TaskMatrix('accuracy', accuracy),
    loss: new TaskMatrix('loss', loss),
    references,
    ...(unlearning === undefined ? {} : { unlearning }),
    ...(reports.length === 0 ? {} : { algorithms: Object.fromEntries(reports) }),
    metadata: { seed: config.seed, paradigm: config.paradigm, benchmark: config.benchmark.name, dataset: config.benchmark.dataset, algorithms: config.algorithms.map((a) => a.name) },
  });
  try {
    writeReport(join(runDir, RESULT_FILES.report), runReportData(runDir, config, summary));
  } catch (error) {
    warn(`${RESULT_FILES.report} was not written (${error instanceof Error ? error.message : String(error)}); the other results were, and \`perennial report ${runDir}\` makes the page from them`);
  }
  return summary;
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

function runLocked(options: RunOptions, lock: RunLock): RunResult {
  const { config, runDir } = options;
  const logger = new RunLogger(join(runDir, RESULT_FILES.log));
  const log = (line: string): void => {
    logger.info(line);
    options.log?.(line);
  };
  const warn = (line: string): void => {
    logger.warn(line);
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
  const beforeUnlearning: TaskAccuracy[] = [];
  const unlearningSoFar = (task: TaskId): UnlearningResults | undefined => (requested === undefined ? undefined : { requests: requestsUpTo(requested, task), beforeUnlearning });
  let finishedTasks = 0;
  let inReferences = false;
  try {
    const start = options.resume ? resumePoint(runDir, config, benchmark, model, algorithms, log) : FRESH_START;
    finishedTasks = start.firstTask - 1;
    beforeUnlearning.push(...(start.beforeUnlearning ?? []));
    const { accuracy, loss } = trainSequence(config, benchmark, model, algorithms, start, {
      runDir,
      observer: options.observer,
      signal: options.signal,
      unlearning: plan,
      beforeUnlearning,
      onUnlearn: (task, due) => {
        if (due.tasks.length > 0) log(`after task ${task}: unlearned task ${due.tasks.join(', ')}`);
        if (due.expired.length > 0) log(`after task ${task}: task ${due.expired.join(', ')} can no longer be unlearned (unlearnableAge ${plan?.unlearnableAge}); its record is freed`);
      },
      onTaskEnd: (task, acc, lossRows) => {
        writeResults(runDir, acc, lossRows, {}, config, algorithms, warn, unlearningSoFar(task));
        finishedTasks = task;
        log(`task ${task} done: accuracy on tasks 1..${task} = ${acc[task - 1]!.map((a) => a.toFixed(4)).join(', ')}`);
        for (const [name, summary] of Object.entries(algorithmSummaries(algorithms))) log(`${name}: ${summary.text}`);
        options.onTaskEnd?.(task, acc, lossRows);
      },
    });
    inReferences = true;
    const references = runReferences(config, benchmark, log, options.signal);
    const unlearning = requested === undefined ? undefined : { ...runUnlearningReferences(config, benchmark, model, requestsUpTo(requested, benchmark.numTasks), log, options.signal), beforeUnlearning };
    const summary = writeResults(runDir, accuracy, loss, references, config, algorithms, warn, unlearning);
    log(`finished: average accuracy ${summary.finalAverageAccuracy.toFixed(4)}`);
    if (summary.unlearning?.accuracyGain != null) log(`unlearning: accuracy gain on the remaining tasks against the retrain reference ${summary.unlearning.accuracyGain.toFixed(4)}`);
    if (summary.unlearning?.unlearnedDrop != null) {
      const drops = summary.unlearning.tasks.filter((r) => r.unlearnedDrop !== null).map((r) => `task ${r.task} ${r.accuracyBeforeUnlearning!.toFixed(4)} → ${(r.accuracyBeforeUnlearning! - r.unlearnedDrop!).toFixed(4)}`);
      log(`unlearning: the unlearned tasks' accuracy fell by ${summary.unlearning.unlearnedDrop.toFixed(4)} on average (${drops.join(', ')}); BWT ${summary.bwt?.toFixed(4) ?? 'n/a'} and forgetting ${summary.finalForgetting?.toFixed(4) ?? 'n/a'} cover the remaining tasks`);
    }
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
