// The experiment configuration as the trainer consumes it: the types that
// experiment_schema.ts produces, with defaults filled.
//
// Algorithms, backbones and benchmarks declare their settings next to their
// code, as schemas (continual/algorithms/registry.ts, backbones/registry.ts,
// benchmarks/options.ts), and their configuration types are derived from
// those. The other sections are written out by hand for readers;
// `experimentSchema` is declared as Schema<ExperimentConfig>, so the compiler
// checks that the schema produces exactly these types.
import type { AlgorithmConfig, AlgorithmName } from '../continual/algorithms/registry.js';
import type { BackboneConfig, BackboneName } from '../continual/backbones/registry.js';
import type { BenchmarkConfig, BenchmarkKind } from '../continual/benchmarks/options.js';
import type { Paradigm } from '../continual/contracts/types.js';

export type { AlgorithmConfig, AlgorithmName, BackboneConfig, BackboneName, BenchmarkConfig, BenchmarkKind as BenchmarkName, Paradigm };

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

/** The `training` section: how each task is trained. */
export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  optimizer: OptimizerConfig;
  scheduler: SchedulerConfig;
  validateEveryEpoch: boolean;
}

/** The `reference` section: extra runs made for the metrics that compare against them. */
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

/** The `output` section: where the run directory is made. */
export interface OutputConfig {
  /** Runs are written under this directory. */
  dir: string;
  /** The run's directory name (default: chosen by the runner, e.g. from the date). */
  name?: string;
}

/**
 * The class-incremental heads: a head per task ('growing'), one head over all
 * the benchmark's classes from task 1 ('full'), or whichever the algorithms
 * need ('auto': full when one of them needs it, else growing).
 */
export type CilHeadsSetting = 'auto' | 'growing' | 'full';

/** A validated experiment with every default filled: what loadExperiment returns and runExperiment takes (docs/configuration.md lists every key). */
export interface ExperimentConfig {
  seed: number;
  paradigm: Paradigm;
  cilHeads: CilHeadsSetting;
  benchmark: BenchmarkConfig;
  backbone: BackboneConfig;
  training: TrainingConfig;
  algorithms: AlgorithmConfig[];
  reference: ReferenceConfig;
  unlearning?: UnlearningConfig;
  output: OutputConfig;
}
