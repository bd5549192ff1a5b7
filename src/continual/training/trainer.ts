// The continual-learning loop: for each task, a fresh optimizer and scheduler,
// epochs of batches with the algorithms' hooks, validation, then testing on
// every task seen so far. Results are written after every task (atomically)
// and a checkpoint makes the run resumable.
import type { OptimizerConfig, SchedulerConfig, TrainingConfig } from '../../config/experiment.js';
import { crossEntropy } from '../../nn/functional.js';
import type { Optimizer, OptimizerStateDict } from '../../optim/optimizer.js';
import { SGD } from '../../optim/sgd.js';
import { Adam, AdamW } from '../../optim/adam.js';
import { CosineAnnealingLR, ReduceLROnPlateau, StepLR } from '../../optim/lr_scheduler.js';
import { keep, tidy } from '../../tensor/scope.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Parameter } from '../../nn/parameter.js';
import { type Algorithm, type BatchContext, type StepContext, type TaskContext, type TrainingSet, firstAnswer } from '../algorithms/algorithm.js';
import { batches } from '../benchmarks/data.js';
import { evaluateTask } from './evaluation.js';
import { type ContinualModel, forwardWith } from '../model/model.js';
import type { ContinualBenchmark, Paradigm, TaskId } from '../contracts/types.js';

/** Raised when the loss stops being a finite number; names where it happened, and the causes algorithms could tell. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly task: TaskId,
    readonly epoch: number,
    readonly step: number,
    readonly value: number,
    readonly hints: readonly string[] = [],
  ) {
    super(
      `the training loss became ${value} at task ${task}, epoch ${epoch}, step ${step}; ` +
        `training stopped (results of finished tasks are kept). ${hints.map((hint) => `${hint} `).join('')}Lower training.optimizer.lr or check the data.`,
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * Asks a run to stop: polled at every step boundary and between tasks. An
 * AbortSignal is one; the command line passes one that reads SIGINT and SIGTERM.
 */
export interface StopSignal {
  readonly aborted: boolean;
  /** Why: a signal's name such as 'SIGINT', or whatever the caller gave. */
  readonly reason?: unknown;
}

/**
 * Raised at a step boundary when the stop signal is set: `step` steps of task
 * `task` were taken (counted over its epochs; 0 before the first). Nothing of
 * an unfinished task is kept.
 */
export class TrainingInterruptedError extends Error {
  constructor(
    readonly reason: unknown,
    readonly task: TaskId,
    readonly step: number,
  ) {
    super(`training was interrupted ${describeStopReason(reason)} after task ${task}, step ${step}`);
    this.name = 'TrainingInterruptedError';
  }
}

/** `by SIGINT`, or the reason of an abort in words. */
export function describeStopReason(reason: unknown): string {
  if (typeof reason === 'string') return `by ${reason}`;
  if (reason instanceof Error) return `(${reason.message})`;
  return '(stop requested)';
}

/** Throws TrainingInterruptedError when `signal` asks to stop. */
export function throwIfStopped(signal: StopSignal | undefined, task: TaskId, step: number): void {
  if (signal?.aborted) throw new TrainingInterruptedError(signal.reason, task, step);
}

/** A task's fresh optimizer from the `training.optimizer` section. */
export function createOptimizer(config: OptimizerConfig, params: Parameter[]): Optimizer {
  switch (config.name) {
    case 'sgd':
      return new SGD(params, { lr: config.lr, momentum: config.momentum ?? 0, weightDecay: config.weightDecay ?? 0 });
    case 'adam':
      return new Adam(params, { lr: config.lr, betas: config.betas ?? [0.9, 0.999], weightDecay: config.weightDecay ?? 0 });
    case 'adamw':
      return new AdamW(params, { lr: config.lr, betas: config.betas ?? [0.9, 0.999], weightDecay: config.weightDecay ?? 0.01 });
  }
}

/** A per-epoch schedule: step() after each epoch, with the validation loss for 'plateau'. */
export interface EpochScheduler {
  step(validationLoss: number | null): void;
}

/** A task's learning-rate schedule from the `training.scheduler` section, stepped after every epoch. */
export function createScheduler(config: SchedulerConfig, optimizer: Optimizer, epochs: number): EpochScheduler {
  switch (config.name) {
    case 'none':
      return { step: () => undefined };
    case 'step': {
      const s = new StepLR(optimizer, config.stepSize ?? 1, config.gamma ?? 0.1);
      return { step: () => s.step() };
    }
    case 'cosine': {
      const s = new CosineAnnealingLR(optimizer, config.tMax ?? epochs, config.etaMin ?? 0);
      return { step: () => s.step() };
    }
    case 'plateau': {
      const s = new ReduceLROnPlateau(optimizer, { factor: config.factor ?? 0.1, patience: config.patience ?? 10 });
      return {
        step: (loss) => {
          if (loss === null) throw new Error("the 'plateau' scheduler needs a validation split (benchmark.validationFraction > 0)");
          s.step(loss);
        },
      };
    }
  }
}

/** Notified as training proceeds (progress bars, logs). */
export interface TrainingObserver {
  epochStart?(task: TaskId, epoch: number, totalBatches: number): void;
  batchEnd?(task: TaskId, epoch: number, step: number, loss: number, accuracy: number): void;
  epochEnd?(task: TaskId, epoch: number, summary: { trainLoss: number; trainAccuracy: number; validation: { accuracy: number; loss: number } | null; lr: number }): void;
}

export interface TaskTrainingOptions {
  model: ContinualModel;
  benchmark: ContinualBenchmark;
  paradigm: Paradigm;
  algorithms: readonly Algorithm[];
  training: TrainingConfig;
  seed: number;
  /** Steps taken before this task, for algorithms with a global clock. */
  globalStep: number;
  observer?: TrainingObserver;
  /** Polled just before the task's first step and after each step. */
  signal?: StopSignal;
}

/** Seed of the data order for one epoch of one task: fixed by the run's seed. */
export function shuffleSeed(seed: number, task: TaskId, epoch: number): number {
  return (seed * 1_000_003 + task * 10_007 + epoch) % 2 ** 52;
}

export interface TaskTrainingResult {
  /** Steps taken over the run after this task. */
  globalStep: number;
  /** The task's optimizer state at its end, for the checkpoint (the caller frees it). */
  optimizerState: OptimizerStateDict;
}

/** Trains the model on one task with every algorithm's hooks. */
export function trainTask(task: TaskId, options: TaskTrainingOptions): TaskTrainingResult {
  const { model, benchmark, algorithms, training } = options;
  const splits = benchmark.task(task);
  model.heads.setupTask(task, benchmark.numClasses(task));
  const extra = algorithms.flatMap((a) => a.trainableParameters?.(model, task) ?? []);
  const optimizer = createOptimizer(training.optimizer, [...model.parameters(), ...extra]);
  const scheduler = createScheduler(training.scheduler, optimizer, training.epochs);
  const context: TaskContext = { task, paradigm: options.paradigm, model, optimizer, benchmark, trainData: splits.train, batchSize: training.batchSize, epochs: training.epochs };
  let globalStep = options.globalStep;
  try {
    model.train();
    for (const a of algorithms) a.onTaskStart?.(context);
    // Asked after onTaskStart, the documented order, so that an algorithm may
    // decide there. A skipped task keeps the model in eval mode throughout, so
    // that neither the optimizer (weight decay) nor batch-norm statistics move.
    const skipped = algorithms.some((a) => a.skipsTraining?.(task) === true);
    if (skipped) model.eval();
    // Polled once the task's data are ready, not before: a signal sent while
    // they are prepared (seconds for a large task) then stops the run before
    // its first step instead of after it.
    throwIfStopped(options.signal, task, 0);
    const trainingSet = skipped ? null : chosenTrainingSet(algorithms, context);
    const batchCount = trainingSet === null ? 0 : Math.ceil(trainingSet.size / training.batchSize);
    const labelsAreTargets = trainingSet?.labels === 'targets';
    for (let epoch = 1; trainingSet !== null && epoch <= training.epochs; epoch++) {
      model.train();
      for (const a of algorithms) a.onEpochStart?.(context, epoch);
      options.observer?.epochStart?.(task, epoch, batchCount);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      for (const batch of batches(trainingSet, training.batchSize, { shuffle: true, seed: shuffleSeed(options.seed, task, epoch) })) {
        const { loss, hits } = tidy(() => {
          const { output, logits } = forwardWith(model, algorithms, batch.x, task, { index: step, count: batchCount });
          const targets = labelsAreTargets ? batch.y.detach() : model.heads.targets(batch.y, task);
          const batchContext: BatchContext = { ...context, epoch, step, batchCount, globalStep, x: batch.x, targets, output, logits };
          const classificationLoss = replacedClassificationLoss(algorithms, batchContext) ?? crossEntropy(logits, targets);
          const ctx: StepContext = { ...batchContext, classificationLoss };
          let total: Tensor = classificationLoss;
          for (const a of algorithms) {
            const extra = a.trainingLoss?.(ctx);
            if (extra != null) total = total.add(extra);
          }
          const value = total.item();
          if (!Number.isFinite(value)) throw new NonFiniteLossError(task, epoch, step, value, algorithms.flatMap((a) => a.nonFiniteLossHint?.(ctx) ?? []));
          optimizer.zeroGrad();
          total.backward();
          for (const a of algorithms) a.afterBackward?.(ctx);
          optimizer.step();
          for (const a of algorithms) a.onBatchEnd?.(ctx);
          return { loss: classificationLoss.item(), hits: logits.argmax(1).eq(targets).sum().item() };
        });
        const n = batch.y.shape[0]!;
        batch.x.dispose();
        batch.y.dispose();
        lossSum += loss * n;
        correct += hits;
        seen += n;
        options.observer?.batchEnd?.(task, epoch, step, loss, hits / n);
        step++;
        globalStep++;
        throwIfStopped(options.signal, task, globalStep - options.globalStep);
      }
      const validation = training.validateEveryEpoch && splits.val.size > 0 ? evaluateTask(model, algorithms, splits.val, task, training.evalBatchSize) : null;
      options.observer?.epochEnd?.(task, epoch, { trainLoss: lossSum / seen, trainAccuracy: correct / seen, validation, lr: optimizer.paramGroups[0]!.lr });
      scheduler.step(validation?.loss ?? null);
    }
    for (const a of algorithms) a.onTaskEnd?.(context);
    return { globalStep, optimizerState: keepStateDict(optimizer.stateDict()) };
  } finally {
    optimizer.dispose();
    // Inputs an algorithm built in full (by reading trainData.x) are not
    // needed once the task is trained; batches of the task can still be made.
    benchmark.releaseInputs?.(task);
  }
}

/** The training set an algorithm chooses for the task (the first wins), else the task's own. */
function chosenTrainingSet(algorithms: readonly Algorithm[], context: TaskContext): TrainingSet {
  return firstAnswer(algorithms, (a) => a.trainingSet?.(context)) ?? context.trainData;
}

/** The classification loss an algorithm puts in place of cross-entropy (the first wins), or null. */
function replacedClassificationLoss(algorithms: readonly Algorithm[], ctx: BatchContext): Tensor | null {
  return firstAnswer(algorithms, (a) => a.classificationLoss?.(ctx));
}

/** Exempts a state dict's tensors from the caller's scopes: they outlive the optimizer. */
function keepStateDict(stateDict: OptimizerStateDict): OptimizerStateDict {
  for (const entry of Object.values(stateDict.state)) for (const v of Object.values(entry)) if (v instanceof Tensor) keep(v);
  return stateDict;
}
