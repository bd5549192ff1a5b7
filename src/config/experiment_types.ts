// The experiment configuration as the trainer consumes it: the types that
// experiment_schema.ts produces, with defaults filled.
//
// The interfaces are written out by hand for readers; `experimentSchema` is
// declared as Schema<ExperimentConfig>, so the compiler checks that the schema
// produces exactly these types. Each algorithm's settings are its definition's
// option schema; the list of definitions is continual/algorithms/registry.ts.
import type { AlgorithmConfig, AlgorithmName } from '../continual/algorithms/registry.js';
import type { Paradigm } from '../continual/contracts/types.js';

export type { AlgorithmConfig, AlgorithmName, Paradigm };

export type BenchmarkName = 'permuted' | 'split' | 'rotated';

export interface BenchmarkConfig {
  name: BenchmarkName;
  /** A dataset name known to the benchmark loader, e.g. 'mnist-embedded', 'mnist', 'cifar10'. */
  dataset: string;
  /** Directory with the dataset's files (IDX or CIFAR binary). */
  dataDir?: string;
  numTasks: number;
  /** Fraction of each task's training set held out for validation, in [0, 1). */
  validationFraction: number;
  /** Permuted only: task 1 sees the original images. */
  keepFirstUnpermuted: boolean;
  /** Split only: the classes of each task, one list per task. */
  classSplit?: number[][];
  /** Rotated only: the rotation of each task, in degrees. */
  angles?: number[];
  /** Keep at most this many training samples per task (quick runs). */
  trainLimit?: number;
}

// Backbone settings are type aliases rather than interfaces so that they fit
// the backbone factory's open `{ name: string; [option: string]: unknown }`.
export type MlpBackboneConfig = {
  name: 'mlp';
  hiddenSizes: number[];
  batchNorm?: boolean;
  dropout?: number;
  activation?: 'relu' | 'tanh' | 'sigmoid';
};

export type CnnBackboneConfig = {
  name: 'cnn';
  channels?: number[];
  /** Odd, so that 'same' padding keeps the spatial size. */
  kernelSize?: number;
  featureDim?: number;
  batchNorm?: boolean;
};

export type ResNet18BackboneConfig = {
  name: 'resnet18';
};

export type BackboneConfig = MlpBackboneConfig | CnnBackboneConfig | ResNet18BackboneConfig;

/** Flat on purpose: the schema allows momentum only for sgd and betas only for adam/adamw. */
export interface OptimizerConfig {
  name: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum?: number;
  weightDecay?: number;
  betas?: [number, number];
}

/** Flat on purpose: the schema allows each field only for the scheduler that uses it. */
export interface SchedulerConfig {
  name: 'none' | 'step' | 'cosine' | 'plateau';
  /** step: epochs between decays (required). */
  stepSize?: number;
  /** step: decay factor (default 0.1). */
  gamma?: number;
  /** cosine: period in epochs (when absent, the number of epochs of a task). */
  tMax?: number;
  /** cosine: the lowest learning rate (default 0). */
  etaMin?: number;
  /** plateau: decay factor (default 0.1). */
  factor?: number;
  /** plateau: epochs without improvement before decaying (default 10). */
  patience?: number;
}

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  optimizer: OptimizerConfig;
  scheduler: SchedulerConfig;
  validateEveryEpoch: boolean;
}

export interface ReferenceConfig {
  /** Also train one model on all tasks at once (upper bound; needed for the forgetting ratio). */
  joint: boolean;
  /** Also train a fresh model per task (needed for forward transfer). */
  independent: boolean;
  /** Also evaluate an untrained model (needed for the forgetting ratio; forward transfer against chance). */
  random: boolean;
  /** Unlearning: also train the task sequence without the unlearned tasks (absent: on when there are requests). */
  retrain?: boolean;
  /** Unlearning: also run the same configuration without unlearning requests (absent: on when there are requests). */
  original?: boolean;
}

/** Unlearn `tasks` right after training task `afterTask`, before testing it. */
export interface UnlearningRequest {
  afterTask: number;
  tasks: number[];
}

/** Continual unlearning: when to unlearn which tasks (needs an Amnesiac algorithm). */
export interface UnlearningConfig {
  requests: UnlearningRequest[];
  /**
   * A task u can be unlearned by the requests after tasks u .. u + age − 1;
   * its record is freed after that (absent: always).
   */
  unlearnableAge?: number;
}

export interface OutputConfig {
  /** Runs are written under this directory. */
  dir: string;
  /** The run's directory name (default: chosen by the runner, e.g. from the date). */
  name?: string;
}

export interface ExperimentConfig {
  seed: number;
  paradigm: Paradigm;
  benchmark: BenchmarkConfig;
  backbone: BackboneConfig;
  training: TrainingConfig;
  algorithms: AlgorithmConfig[];
  reference: ReferenceConfig;
  unlearning?: UnlearningConfig;
  output: OutputConfig;
}
