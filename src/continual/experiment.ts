// Running an experiment: build the benchmark, model and algorithms from the
// configuration, train task after task, test on every task seen so far, write
// results and a checkpoint after each task, and make the reference runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../config/experiment.js';
import { writeFileAtomic } from '../serialization/atomic.js';
import { noGrad } from '../tensor/autograd.js';
import { manualSeed } from '../tensor/random.js';
import { tidy } from '../tensor/scope.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import { Tensor } from '../tensor/tensor.js';
import { type Algorithm, createAlgorithms } from './algorithms/index.js';
import { createBackbone } from './backbones/index.js';
import { createBenchmark } from './benchmarks/index.js';
import { batches } from './benchmarks/data.js';
import { latestCheckpointTask, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluateTask } from './evaluation.js';
import { createHeads } from './heads.js';
import { ContinualModel } from './model.js';
import { jointView, singleTaskView } from './references.js';
import { type TrainingObserver, trainTask } from './trainer.js';
import { TaskMatrix } from './metrics/matrix.js';
import { type RunSummary, RESULT_FILES, RunLogger, writeRunResults } from './results/index.js';
import type { ContinualBenchmark, Paradigm, TaskId } from './types.js';

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
}

export function buildModel(config: ExperimentConfig, benchmark: ContinualBenchmark, paradigm: Paradigm = config.paradigm): ContinualModel {
  const backbone = createBackbone(config.backbone, benchmark.inputShape);
  return new ContinualModel(backbone, createHeads(paradigm, backbone.outputDim));
}

function freeOptimizerState(state: OptimizerStateDict): void {
  for (const entry of Object.values(state.state)) for (const v of Object.values(entry)) if (v instanceof Tensor) v.dispose();
}

/** Trains `model` on every task of `benchmark` from `firstTask` on, testing after each task. */
function trainSequence(
  config: ExperimentConfig,
  benchmark: ContinualBenchmark,
  model: ContinualModel,
  algorithms: readonly Algorithm[],
  start: { firstTask: TaskId; globalStep: number; accuracy: number[][]; loss: number[][] },
  options: { runDir?: string; observer?: TrainingObserver; onTaskEnd?: RunOptions['onTaskEnd'] },
): { accuracy: number[][]; loss: number[][] } {
  const accuracy = start.accuracy.map((r) => [...r]);
  const loss = start.loss.map((r) => [...r]);
  let globalStep = start.globalStep;
  for (let task = start.firstTask; task <= benchmark.numTasks; task++) {
    const result = trainTask(task, {
      model, benchmark, paradigm: config.paradigm, algorithms, training: config.training, seed: config.seed, globalStep, observer: options.observer,
    });
    globalStep = result.globalStep;
    const scores = Array.from({ length: task }, (_, j) => evaluateTask(model, algorithms, benchmark.task(j + 1).test, j + 1, config.training.evalBatchSize));
    accuracy.push(scores.map((s) => s.accuracy));
    loss.push(scores.map((s) => s.loss));
    if (options.runDir !== undefined) saveCheckpoint(options.runDir, model, algorithms, result.optimizerState, { task, globalStep, accuracy, loss });
    freeOptimizerState(result.optimizerState);
    options.onTaskEnd?.(task, accuracy, loss);
  }
  return { accuracy, loss };
}

function writeResults(runDir: string, accuracy: number[][], loss: number[][], references: ReferenceResults, config: ExperimentConfig): RunSummary {
  return writeRunResults(runDir, {
    accuracy: new TaskMatrix('accuracy', accuracy),
    loss: new TaskMatrix('loss', loss),
    references,
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
      onTaskEnd: (task, acc, lossRows) => {
        writeResults(runDir, acc, lossRows, {}, config);
        log(`task ${task} done: accuracy on tasks 1..${task} = ${acc[task - 1]!.map((a) => a.toFixed(4)).join(', ')}`);
        options.onTaskEnd?.(task, acc, lossRows);
      },
    });
    const references = runReferences(config, benchmark, log);
    const summary = writeResults(runDir, accuracy, loss, references, config);
    log(`finished: average accuracy ${summary.finalAverageAccuracy.toFixed(4)}`);
    return { runDir, accuracy, loss, references, summary };
  } catch (error) {
    logger.error(error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    // Plugins belong to the caller, who may still read them.
    for (const a of configured) a.dispose?.();
    model.dispose();
    benchmark.dispose();
  }
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
