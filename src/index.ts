// Perennial: continual learning for TypeScript on libtorch.
export * from './tensor/index.js';
/** Neural-network layers, functions and initialisers, as torch.nn (also the entry point `perennial/nn`). */
export * as nn from './nn/index.js';
/** Optimizers, learning-rate schedules and gradient clipping, as torch.optim (also `perennial/optim`). */
export * as optim from './optim/index.js';
export * from './serialization/index.js';
/** The continual-learning framework: benchmarks, backbones, heads, algorithms and their definitions, the trainer, the runner, metrics and results (also `perennial/continual`). */
export * as continual from './continual/index.js';
/** Experiment configurations: loading YAML with overrides, the experiment's types, and the schema language algorithms declare their options in (also `perennial/config`). */
export * as config from './config/index.js';
/** Datasets on disk and bundled: IDX and CIFAR readers, the embedded MNIST digits, the dataset registry and downloads (also `perennial/data`). */
export * as data from './data/index.js';
