// The algorithm lifecycle. An algorithm is a small object whose optional hooks
// the trainer calls at fixed points; several algorithms (or plugins such as a
// replay buffer) combine in one run, called in the order configured.
//
//   trainableParameters  parameters the algorithm owns that the task's optimizer
//                   also trains (WSN's scores); asked before the optimizer is made
//   onTaskStart     before the first batch of a task (fresh optimizer exists)
//   skipsTraining   asked after onTaskStart: the task is not trained at all:
//                   no epochs, no optimizer step, the model stays in eval mode
//                   (Fix after task 1); onTaskStart and onTaskEnd still run.
//                   Any algorithm that says so skips the task for all.
//   trainingSet     the dataset the task's epochs iterate (iCaRL: task data
//                   plus exemplars); the first algorithm that returns one wins.
//                   Its labels are local to the task unless it says they are
//                   targets already (labels: 'targets'; iCaRL's exemplars of
//                   old classes carry their global class)
//   onEpochStart    before the first batch of each epoch (PackNet prunes here)
//   forward         (see below) each training batch's forward pass comes next
//   classificationLoss  replaces the trainer's cross-entropy for a batch (ER-ACE,
//                   iCaRL); the first that returns one wins, and it is what
//                   ctx.classificationLoss holds for every later hook and what
//                   the run logs as the batch's loss
//   trainingLoss    adds terms to the classification loss of a batch
//   nonFiniteLossHint  the loss of a batch is not finite: a sentence naming a
//                   cause the algorithm can tell (MAS: λ × Ω too large for the
//                   learning rate), which the run's error carries
//   afterBackward   gradients exist, the optimizer has not stepped (gradient surgery)
//   onBatchEnd      after the optimizer step, with the batch's activations
//   onTaskEnd       after the last epoch, before evaluation
//   forward         replaces the model's forward pass, in training and testing
//                   (WSN runs the masked network); the first algorithm that
//                   returns one wins. In training it is told the batch's index
//                   and the epoch's batch count (HAT anneals per batch)
//   unlearn         after a task's training, before testing: undo the training
//                   of earlier tasks (continual unlearning; Amnesiac algorithms)
//   summary         after each task: figures about the algorithm itself for the
//                   run's log and summary.json (WSN: capacity used, mask bits)
import type { Tensor } from '../../tensor/tensor.js';
import type { Parameter } from '../../nn/parameter.js';
import type { Optimizer } from '../../optim/optimizer.js';
import type { BackboneOutput, ContinualBenchmark, Paradigm, TaskId, TensorDataset } from '../contracts/types.js';
import type { ContinualModel, ModelOutput } from '../model/model.js';

/** What the hooks of a task are given: the task, the model, its fresh optimizer and the task's data. */
export interface TaskContext {
  readonly task: TaskId;
  readonly paradigm: Paradigm;
  readonly model: ContinualModel;
  readonly optimizer: Optimizer;
  readonly benchmark: ContinualBenchmark;
  /** The task's training data (for end-of-task passes such as a Fisher estimate). */
  readonly trainData: TensorDataset;
  /** The training batch size (end-of-task passes use it, as CLArena's do). */
  readonly batchSize: number;
  /** The epochs the task trains (training.epochs; PackNet prunes before the last ones). */
  readonly epochs: number;
}

/** Where a training batch is within its epoch: forward passes in training get it. */
export interface BatchPosition {
  /** Batch index within the epoch, from 0. */
  readonly index: number;
  /** Batches in the epoch: ceil(training set size / batch size). */
  readonly count: number;
}

/** A training batch after the forward pass, before any loss (the classificationLoss hook gets it). */
export interface BatchContext extends TaskContext {
  readonly epoch: number;
  /** Batch index within the epoch, from 0. */
  readonly step: number;
  /** Batches in the epoch. */
  readonly batchCount: number;
  /** Steps taken over the whole run, from 0 (algorithms with a global clock use it). */
  readonly globalStep: number;
  readonly x: Tensor;
  /** Targets in the label space of `logits` (CIL: offset into the global class space). */
  readonly targets: Tensor;
  readonly output: BackboneOutput;
  readonly logits: Tensor;
}

/**
 * A dataset an algorithm has a task trained on. Its labels are local to the
 * task, as a benchmark's (the trainer maps them through the heads), unless
 * `labels` is 'targets': then they already are the targets, in the label
 * space of the training logits, and the trainer takes them as they are
 * (iCaRL's set holds exemplars of old classes, which have no local label in
 * the task; it gives every row its global class).
 */
export interface TrainingSet extends TensorDataset {
  readonly labels?: 'local' | 'targets';
}

export interface StepContext extends BatchContext {
  /** The classification loss (cross-entropy, or an algorithm's replacement), before any algorithm's terms. */
  readonly classificationLoss: Tensor;
}

/** An unlearning step, run after training `afterTask` and before testing it. */
export interface UnlearningContext {
  readonly model: ContinualModel;
  readonly paradigm: Paradigm;
  /** The task just trained. */
  readonly afterTask: TaskId;
  /** Tasks whose training is to be undone now (may be empty). */
  readonly tasks: readonly TaskId[];
  /** Tasks that can no longer be unlearned from now on (past the unlearnable age): their records may be freed. */
  readonly expired: readonly TaskId[];
}

/** Figures an algorithm reports about itself: a line for the run's log, JSON for summary.json. */
export interface AlgorithmSummary {
  text: string;
  values: Record<string, unknown>;
}

/** What an algorithm keeps across tasks, for checkpoints: tensors plus JSON-able values. */
export interface AlgorithmState {
  tensors: Record<string, Tensor>;
  values: Record<string, unknown>;
}

/** A continual-learning algorithm: an object whose optional hooks the trainer calls at fixed points of every task (the header of this file, and docs/configuration.md, list them in order). Define one with defineAlgorithm; pass instances to runExperiment as `plugins`. */
export interface Algorithm {
  readonly name: string;
  /** Parameters outside the model that the optimizer of `task` trains alongside the model's. */
  trainableParameters?(model: ContinualModel, task: TaskId): Parameter[];
  onTaskStart?(ctx: TaskContext): void;
  /** True when `task` is not to be trained (no optimizer step, model in eval mode). */
  skipsTraining?(task: TaskId): boolean;
  /** The dataset the epochs of this task iterate in place of `ctx.trainData`, or null. */
  trainingSet?(ctx: TaskContext): TrainingSet | null;
  /** Before the first batch of epoch `epoch` (from 1). */
  onEpochStart?(ctx: TaskContext, epoch: number): void;
  /** The classification loss of this batch in place of cross-entropy, or null. */
  classificationLoss?(ctx: BatchContext): Tensor | null;
  /** An extra loss term for this batch, or null. */
  trainingLoss?(ctx: StepContext): Tensor | null;
  /** Why this batch's loss may have stopped being finite, as far as the algorithm can tell, or null. */
  nonFiniteLossHint?(ctx: StepContext): string | null;
  afterBackward?(ctx: StepContext): void;
  onBatchEnd?(ctx: StepContext): void;
  onTaskEnd?(ctx: TaskContext): void;
  /**
   * The forward pass for `task` on `x` in place of the model's own, or null to
   * use the model's. Called for training batches, with the batch's position
   * in its epoch, and for testing, without (`model.training` tells which).
   */
  forward?(model: ContinualModel, x: Tensor, task: TaskId, batch?: BatchPosition): ModelOutput | null;
  /**
   * Undoes the training of `ctx.tasks` in the model and in the algorithm's
   * own state, and frees the records of `ctx.expired`. Only algorithms that
   * can unlearn have it; the configuration checks that one is present when
   * unlearning is requested.
   */
  unlearn?(ctx: UnlearningContext): void;
  /** What the run reports about the algorithm after a task, or null for nothing yet. */
  summary?(): AlgorithmSummary | null;
  /** State to checkpoint (tensors are copied by the caller's save). */
  state?(): AlgorithmState;
  loadState?(state: AlgorithmState): void;
  /** Frees tensors the algorithm holds. */
  dispose?(): void;
}

/**
 * The answer of the first algorithm (in the run's order) whose hook gives one
 * that is not null or undefined, else null: how the "first wins" hooks
 * (forward, trainingSet, classificationLoss) combine.
 */
export function firstAnswer<T>(algorithms: readonly Algorithm[], ask: (algorithm: Algorithm) => T | null | undefined): T | null {
  for (const algorithm of algorithms) {
    const answer = ask(algorithm);
    if (answer != null) return answer;
  }
  return null;
}
