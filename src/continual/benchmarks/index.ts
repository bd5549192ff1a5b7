// Benchmarks from a plain configuration object (as read from YAML or the
// command line), with every field checked so that a typo or an impossible
// combination fails before any data is loaded.
import { DATASET_NAMES, DEFAULT_DATASET } from '../../data/registry.js';
import { ImageBenchmark } from './base.js';
import { PermutedBenchmark } from './permuted.js';
import { RotatedBenchmark } from './rotated.js';
import { SplitBenchmark } from './split.js';

export { ImageBenchmark, type ImageBenchmarkOptions, type TaskIndices } from './base.js';
export { PermutedBenchmark, type PermutedOptions } from './permuted.js';
export { RotatedBenchmark, type RotatedOptions } from './rotated.js';
export { SplitBenchmark, type SplitOptions } from './split.js';
export { type BenchmarkProblem, benchmarkProblems } from './feasibility.js';
export { batches, batchOrder, subset, tensorDataset, type Batch, type BatchOptions } from './data.js';
export { permutePixels, rotateImages, rotationSampler, type RotationSampler } from './transforms.js';

export type BenchmarkKind = 'permuted' | 'split' | 'rotated';
export const BENCHMARK_KINDS: readonly BenchmarkKind[] = ['permuted', 'split', 'rotated'];

export interface BenchmarkConfig {
  name: BenchmarkKind;
  /** A dataset name (see DATASET_NAMES); default 'mnist-embedded'. */
  dataset?: string;
  dataDir?: string;
  numTasks: number;
  seed: number;
  validationFraction?: number;
  /** permuted only. */
  keepFirstUnpermuted?: boolean;
  /** split only. */
  classSplit?: number[][];
  /** rotated only. */
  angles?: number[];
  trainLimit?: number;
}

const COMMON_KEYS = ['name', 'dataset', 'dataDir', 'numTasks', 'seed', 'validationFraction', 'trainLimit'];
const KIND_KEYS: Record<BenchmarkKind, string[]> = {
  permuted: ['keepFirstUnpermuted'],
  split: ['classSplit'],
  rotated: ['angles'],
};

function fail(message: string): never {
  throw new Error(`benchmark configuration: ${message}`);
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Checks a configuration read from an untyped source and returns it typed. */
export function validateBenchmarkConfig(config: unknown): BenchmarkConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) fail('expected an object with at least name, numTasks and seed');
  const c = config as Record<string, unknown>;
  const kind = c['name'];
  if (typeof kind !== 'string' || !(BENCHMARK_KINDS as readonly string[]).includes(kind)) {
    fail(`name must be one of ${BENCHMARK_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
  const k = kind as BenchmarkKind;
  const allowed = new Set([...COMMON_KEYS, ...KIND_KEYS[k]]);
  for (const key of Object.keys(c)) {
    // An unset option, or keepFirstUnpermuted: false (a configuration default for every kind), says nothing.
    if (allowed.has(key) || c[key] === undefined || (key === 'keepFirstUnpermuted' && c[key] === false)) continue;
    const owner = BENCHMARK_KINDS.find((other) => KIND_KEYS[other].includes(key));
    fail(owner !== undefined ? `'${key}' applies to ${owner} benchmarks only, not ${k}` : `unknown field '${key}' (allowed for ${k}: ${[...allowed].join(', ')})`);
  }
  const dataset = c['dataset'] ?? DEFAULT_DATASET;
  if (typeof dataset !== 'string' || !DATASET_NAMES.includes(dataset)) fail(`unknown dataset ${JSON.stringify(dataset)}; known datasets: ${DATASET_NAMES.join(', ')}`);
  if (c['dataDir'] !== undefined && typeof c['dataDir'] !== 'string') fail('dataDir must be a path (string)');
  if (!isInteger(c['numTasks']) || c['numTasks'] < 1) fail(`numTasks must be a positive integer, got ${JSON.stringify(c['numTasks'])}`);
  if (!isInteger(c['seed']) || c['seed'] < 0) fail(`seed must be a non-negative integer, got ${JSON.stringify(c['seed'])}`);
  const vf = c['validationFraction'];
  if (vf !== undefined && !(typeof vf === 'number' && vf >= 0 && vf < 1)) fail(`validationFraction must be a number in [0, 1), got ${JSON.stringify(vf)}`);
  const tl = c['trainLimit'];
  if (tl !== undefined && !(isInteger(tl) && tl >= 1)) fail(`trainLimit must be a positive integer, got ${JSON.stringify(tl)}`);
  if (c['keepFirstUnpermuted'] !== undefined && typeof c['keepFirstUnpermuted'] !== 'boolean') fail('keepFirstUnpermuted must be true or false');
  const split = c['classSplit'];
  if (split !== undefined && !(Array.isArray(split) && split.every((g) => Array.isArray(g) && g.every(isInteger)))) {
    fail('classSplit must be a list of lists of class indices, e.g. [[0, 1], [2, 3]]');
  }
  const angles = c['angles'];
  if (angles !== undefined && !(Array.isArray(angles) && angles.every((a) => typeof a === 'number' && Number.isFinite(a)))) fail('angles must be a list of numbers (degrees)');
  return { ...(c as unknown as BenchmarkConfig), dataset };
}

/** The benchmark a configuration describes; nothing is loaded until a task is asked for. */
export function createBenchmark(config: BenchmarkConfig): ImageBenchmark {
  const c = validateBenchmarkConfig(config);
  const common = {
    dataset: c.dataset ?? DEFAULT_DATASET,
    numTasks: c.numTasks,
    seed: c.seed,
    ...(c.dataDir !== undefined ? { dataDir: c.dataDir } : {}),
    ...(c.validationFraction !== undefined ? { validationFraction: c.validationFraction } : {}),
    ...(c.trainLimit !== undefined ? { trainLimit: c.trainLimit } : {}),
  };
  try {
    switch (c.name) {
      case 'permuted':
        return new PermutedBenchmark({ ...common, keepFirstUnpermuted: c.keepFirstUnpermuted ?? false });
      case 'split':
        return new SplitBenchmark({ ...common, ...(c.classSplit !== undefined ? { classSplit: c.classSplit } : {}) });
      case 'rotated':
        return new RotatedBenchmark({ ...common, ...(c.angles !== undefined ? { angles: c.angles } : {}) });
    }
  } catch (error) {
    if (error instanceof RangeError) fail(error.message);
    throw error;
  }
}
