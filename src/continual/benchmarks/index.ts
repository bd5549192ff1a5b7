// Benchmarks from a validated configuration (options.ts declares and checks
// its settings, so that a typo or an impossible combination fails before any
// data is loaded).
import { ImageBenchmark } from './base.js';
import type { BenchmarkConfig } from './options.js';
import { PermutedBenchmark } from './permuted.js';
import { RotatedBenchmark } from './rotated.js';
import { SplitBenchmark } from './split.js';

export { ImageBenchmark, type ImageBenchmarkOptions, type TaskIndices } from './base.js';
export { PermutedBenchmark, type PermutedOptions } from './permuted.js';
export { RotatedBenchmark, type RotatedOptions } from './rotated.js';
export { SplitBenchmark, type SplitOptions } from './split.js';
export { type BenchmarkProblem, benchmarkProblems } from './feasibility.js';
export { BENCHMARK_KINDS, INPUT_NORMALIZATIONS, type BenchmarkConfig, type BenchmarkKind, type InputNormalization, benchmarkSchema } from './options.js';
export { batches, batchOrder, subset, tensorDataset, type Batch, type BatchOptions } from './data.js';
export { type ImageTransform, permutationTransform, permutePixels, rotateImages, rotationSampler, rotationTransform, type RotationSampler } from './transforms.js';
export { type ImageSource, TaskDataset } from './task_dataset.js';

function fail(message: string): never {
  throw new Error(`benchmark configuration: ${message}`);
}

/** The benchmark a validated configuration describes, drawn from `seed`; nothing is loaded until a task is asked for. */
export function createBenchmark(config: BenchmarkConfig & { readonly seed: number }): ImageBenchmark {
  const common = {
    dataset: config.dataset,
    numTasks: config.numTasks,
    seed: config.seed,
    validationFraction: config.validationFraction,
    normalize: config.normalize,
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    ...(config.trainLimit !== undefined ? { trainLimit: config.trainLimit } : {}),
  };
  try {
    switch (config.name) {
      case 'permuted':
        return new PermutedBenchmark({ ...common, keepFirstUnpermuted: config.keepFirstUnpermuted });
      case 'split':
        return new SplitBenchmark({ ...common, ...(config.classSplit !== undefined ? { classSplit: config.classSplit } : {}) });
      case 'rotated':
        return new RotatedBenchmark({ ...common, ...(config.angles !== undefined ? { angles: config.angles } : {}) });
    }
  } catch (error) {
    if (error instanceof RangeError) fail(error.message);
    throw error;
  }
}
