// Training a model on a task sequence, as the run and every reference run do:
// after each task the unlearning due (with a plan), testing on every task seen
// so far, and a checkpoint.
import type { ExperimentConfig } from '../../config/experiment.js';
import { resolveCilHeads } from '../../config/heads_rules.js';
import { disposeStateDict } from '../../optim/optimizer.js';
import type { Algorithm } from '../algorithms/index.js';
import { createBackbone } from '../backbones/index.js';
import { saveCheckpoint } from './checkpoint.js';
import { evaluateTask } from '../training/evaluation.js';
import { createHeads } from '../model/heads.js';
import { ContinualModel } from '../model/model.js';
import { type StopSignal, type TrainingObserver, throwIfStopped, trainTask } from '../training/trainer.js';
import type { ContinualBenchmark, Paradigm, TaskId } from '../contracts/types.js';
import type { TaskAccuracy } from '../metrics/unlearning.js';
import { type UnlearningPlan, dueAfter, unlearnAfter } from './unlearning_plan.js';

/** Where a sequence starts: its first task, the steps taken so far, and the metric rows of the tasks before. */
export interface SequenceStart {
  firstTask: TaskId;
  globalStep: number;
  accuracy: number[][];
  loss: number[][];
  /** Each task unlearned so far: its accuracy just before its request ran (from the checkpoint). */
  beforeUnlearning?: readonly TaskAccuracy[];
}

/** A sequence from task 1. */
export const FRESH_START: SequenceStart = Object.freeze({ firstTask: 1, globalStep: 0, accuracy: [], loss: [] });

/**
 * A fresh model for `benchmark`: the configured backbone and the heads of
 * `paradigm`; in CIL with full-width heads (cilHeads, resolved), one head
 * over all the benchmark's classes.
 */
export function buildModel(config: ExperimentConfig, benchmark: ContinualBenchmark, paradigm: Paradigm = config.paradigm): ContinualModel {
  const backbone = createBackbone(config.backbone, benchmark.inputShape);
  const full = paradigm === 'cil' && resolveCilHeads(config) === 'full';
  return new ContinualModel(backbone, createHeads(paradigm, backbone.outputDim, full ? { fullWidth: allClasses(benchmark) } : {}));
}

/** The number of classes of all the benchmark's tasks together. */
export function allClasses(benchmark: ContinualBenchmark): number {
  return benchmark.classOffset(benchmark.numTasks) + benchmark.numClasses(benchmark.numTasks);
}

/**
 * Trains `model` on every task of `benchmark` from `firstTask` on; after each
 * task executes the unlearning due (with a plan), then tests on every task
 * seen so far and saves a checkpoint.
 */
export function trainSequence(
  config: ExperimentConfig,
  benchmark: ContinualBenchmark,
  model: ContinualModel,
  algorithms: readonly Algorithm[],
  start: SequenceStart,
  options: {
    runDir?: string;
    observer?: TrainingObserver;
    signal?: StopSignal;
    onTaskEnd?(task: TaskId, accuracy: number[][], loss: number[][]): void;
    unlearning?: UnlearningPlan;
    onUnlearn?(task: TaskId, due: { tasks: TaskId[]; expired: TaskId[] }): void;
    /** Appended to: each unlearned task's accuracy just before its request runs (checkpointed). */
    beforeUnlearning?: TaskAccuracy[];
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
      // What a request takes away is measured just before it runs (the unlearned drop).
      for (const u of dueAfter(options.unlearning, task).tasks) {
        options.beforeUnlearning?.push({ task: u, accuracy: evaluateTask(model, algorithms, benchmark.task(u).test, u, config.training.evalBatchSize).accuracy });
      }
      const due = unlearnAfter(task, options.unlearning, model, algorithms, config.paradigm);
      if (due.tasks.length > 0 || due.expired.length > 0) options.onUnlearn?.(task, due);
    }
    const scores = Array.from({ length: task }, (_, j) => evaluateTask(model, algorithms, benchmark.task(j + 1).test, j + 1, config.training.evalBatchSize));
    accuracy.push(scores.map((s) => s.accuracy));
    loss.push(scores.map((s) => s.loss));
    if (options.runDir !== undefined) saveCheckpoint(options.runDir, model, algorithms, result.optimizerState, { task, globalStep, accuracy, loss, ...(options.beforeUnlearning === undefined ? {} : { beforeUnlearning: options.beforeUnlearning }) });
    disposeStateDict(result.optimizerState);
    options.onTaskEnd?.(task, accuracy, loss);
    // Between tasks: the task is finished and saved.
    throwIfStopped(options.signal, task, steps);
  }
  return { accuracy, loss };
}
