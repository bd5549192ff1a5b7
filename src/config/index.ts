export * from './schema.js';
export * from './loader.js';
export * from './experiment.js';
