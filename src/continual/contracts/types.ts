// The contracts between the parts of the continual-learning framework:
// benchmarks produce task data, a backbone turns inputs into features, heads
// turn features into logits per paradigm, algorithms hook into the trainer.
import type { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';

/** TIL: a head per task, chosen by task id. CIL: heads concatenated over classes seen. DIL: one shared head. */
export type Paradigm = 'til' | 'cil' | 'dil';

/** Task ids count from 1, as in the papers and CLArena. */
export type TaskId = number;

/**
 * Inputs x [N, C, H, W] float32 (normalised) and labels y [N] int64. A
 * benchmark's task datasets build their inputs on demand from the dataset's
 * bytes: `rows` builds the examples a batch needs, and reading `x` builds all
 * of them once (kept until the task's inputs are released).
 */
export interface TensorDataset {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly size: number;
  /** The examples at `index` (int64 [B]), as new tensors owned by the caller; batches() uses it where present instead of indexing `x`. */
  rows?(index: Tensor): { x: Tensor; y: Tensor };
}

/** A task's training, validation and test data. */
export interface TaskSplits {
  train: TensorDataset;
  val: TensorDataset;
  test: TensorDataset;
}

/**
 * A sequence of tasks. Labels in the datasets are LOCAL to the task
 * (0 .. numClasses(t) - 1); for CIL the trainer maps them into the global
 * class space by adding classOffset(t) (the heads do this, see Heads.targets).
 */
export interface ContinualBenchmark {
  readonly name: string;
  readonly numTasks: number;
  /** [C, H, W] */
  readonly inputShape: readonly number[];
  numClasses(task: TaskId): number;
  /** Number of classes of all tasks before `task`. */
  classOffset(task: TaskId): number;
  /** The task's data; built on first use and cached. */
  task(task: TaskId): TaskSplits;
  /**
   * Frees the inputs of `task` that reading a dataset's `x` built in full
   * (built again if read again); the trainer calls it when the task is
   * trained, so that a long sequence holds at most one task's full inputs.
   */
  releaseInputs?(task: TaskId): void;
  /** Frees every tensor the benchmark holds. */
  dispose(): void;
}

/** The output of a backbone's forward pass. */
export interface BackboneOutput {
  /** The feature fed to the heads, [N, outputDim]. */
  feature: Tensor;
  /** The post-activation output of every weighted layer, by layer name, in layer order. */
  activations: Map<string, Tensor>;
}

/** A weighted layer of a backbone (Linear or Conv2d): what CBP and WSN act on. */
export interface WeightedLayer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
}

/** The feature extractor shared by all tasks: a Module whose weighted layers have names, so that algorithms can act on them layer by layer. */
export interface Backbone extends Module {
  /** Size of the feature vector. */
  readonly outputDim: number;
  /** Names of the weighted layers, input to output (e.g. 'fc1', 'fc2'). */
  readonly weightedLayerNames: readonly string[];
  forward(x: Tensor): BackboneOutput;
  /** The weighted layer called `name`. */
  layer(name: string): WeightedLayer;
  /** The weighted layer feeding `name`, or null for the first. */
  precedingLayer(name: string): string | null;
  /** The weighted layer `name` feeds, or null for the last. */
  followingLayer(name: string): string | null;
}

/** The classifier heads on top of a backbone: a head per task (TIL), heads concatenated over the classes seen (CIL), or one shared head (DIL). */
export interface Heads extends Module {
  readonly paradigm: Paradigm;
  /** Prepares the head(s) for a new task with `numClasses` classes (TIL/CIL create a head; DIL creates its one head on the first task). */
  setupTask(task: TaskId, numClasses: number): void;
  /** Logits for inputs of `task`: TIL its head, CIL all heads of tasks seen so far concatenated, DIL the shared head. */
  forward(feature: Tensor, task: TaskId): Tensor;
  /** Local labels of `task` mapped to the targets of forward()'s logits (CIL adds the class offset). */
  targets(localLabels: Tensor, task: TaskId): Tensor;
}
