// The continual-learning framework: benchmarks, backbones, heads, algorithms,
// the trainer, metrics and results.
export type * from './contracts/types.js';
export * from './algorithms/index.js';
export * from './backbones/index.js';
export * from './benchmarks/index.js';
export * from './model/heads.js';
export * from './metrics/index.js';
export * from './results/index.js';
export { ContinualModel, forwardWith, type ModelOutput } from './model/model.js';
export { evaluateTask, type TaskScore } from './training/evaluation.js';
export { trainTask, NonFiniteLossError, TrainingInterruptedError, createOptimizer, createScheduler, type StopSignal, type TrainingObserver } from './training/trainer.js';
export { runExperiment, RunInterruptedError, type RunOptions, type RunResult } from './experiment/run.js';
export { runReferences, type ReferenceResults } from './experiment/references.js';
export { readRunConfig } from './experiment/resume.js';
export { buildModel } from './experiment/sequence.js';
export { RunDirectoryError, RunLockedError, type LockHolder } from './experiment/run_lock.js';
export { runPlasticity, runPlasticityComparison, meanOnlineAccuracy, PLASTICITY_FILES, type PlasticityResult, type PlasticityRunOptions } from './experiment/plasticity.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpointTask, checkpointPath, CheckpointError } from './experiment/checkpoint.js';
export { Rng, deriveSeed } from './benchmarks/rng.js';
export { computeFisher, type ComputeFisherOptions, type FisherBatch, type FisherEstimator, type FisherTaskKind } from './fisher/index.js';
