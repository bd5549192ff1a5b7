// Perennial: continual learning for TypeScript on libtorch.
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * from './serialization/index.js';
export * as continual from './continual/index.js';
export * as config from './config/index.js';
export * as data from './data/index.js';
