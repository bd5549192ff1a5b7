// The settings of a benchmark as an experiment's `benchmark` section holds
// them: the one place they are validated and defaulted (`perennial list` and
// docs/configuration.md show this schema), including what the benchmark
// would refuse when the run builds it.
import { type Infer, array, boolean, enumOf, integer, number, object, string } from '../../config/schema.js';
import { DEFAULT_DATASET } from '../../data/registry.js';
import { benchmarkProblems } from './feasibility.js';

/** How tasks are made from a dataset (`benchmark.name`). */
export type BenchmarkKind = 'permuted' | 'split' | 'rotated';
/** Every BenchmarkKind, for validation and messages. */
export const BENCHMARK_KINDS: readonly BenchmarkKind[] = ['permuted', 'split', 'rotated'];

/**
 * How pixels are scaled before the network sees them: 'dataset' subtracts the
 * dataset's per-channel mean and divides by its std; 'none' leaves them in
 * [0, 1]; 'symmetric' maps them to [-1, 1] (mean 0.5 and std 0.5 per channel,
 * torchvision's Normalize((0.5,), (0.5,))).
 */
export type InputNormalization = 'dataset' | 'none' | 'symmetric';
/** Every InputNormalization, for validation and messages. */
export const INPUT_NORMALIZATIONS: readonly InputNormalization[] = ['dataset', 'none', 'symmetric'];

/** The schema of the `benchmark` section: the only place its keys are validated and defaulted. */
export const benchmarkSchema = object({
  name: enumOf(BENCHMARK_KINDS).default('permuted').describe('how tasks are made from the dataset'),
  dataset: string({ nonEmpty: true }).default(DEFAULT_DATASET).describe('the dataset the tasks are drawn from'),
  dataDir: string({ nonEmpty: true }).optional().describe('directory holding the dataset files (IDX or CIFAR binary)'),
  numTasks: integer({ min: 1 }).default(5).describe('number of tasks'),
  validationFraction: number({ min: 0, max: 1, maxExclusive: true }).default(0.1).describe("fraction of each task's training set held out for validation"),
  keepFirstUnpermuted: boolean().default(false).describe('permuted only: task 1 sees the original images'),
  classSplit: array(array(integer({ min: 0 }), { minLength: 1 }), { minLength: 1 }).optional().describe('split only: the classes of each task'),
  angles: array(number()).optional().describe('rotated only: the rotation of each task in degrees'),
  trainLimit: integer({ min: 1 }).optional().describe('at most this many training samples per task'),
  normalize: enumOf(INPUT_NORMALIZATIONS)
    .default('dataset')
    .describe("input scaling: 'dataset' (the dataset's per-channel mean and std), 'none' (pixels in [0, 1]) or 'symmetric' (pixels in [-1, 1])"),
}).refine((b, report) => {
  if (b.classSplit !== undefined && b.name !== 'split') report(['classSplit'], `is an option of the 'split' benchmark, but benchmark.name is '${b.name}'; remove it, or set benchmark.name: split`);
  if (b.angles !== undefined && b.name !== 'rotated') report(['angles'], `is an option of the 'rotated' benchmark, but benchmark.name is '${b.name}'; remove it, or set benchmark.name: rotated`);
  if (b.keepFirstUnpermuted && b.name !== 'permuted') {
    report(['keepFirstUnpermuted'], `only meaningful when benchmark.name is 'permuted' (it is '${b.name}'); remove it or set it to false`);
  }
  // What the benchmark would refuse when the run builds it (an unknown
  // dataset, tasks that do not divide the classes, a class split or angles
  // that do not fit the tasks), checked by the benchmarks' own function.
  for (const problem of benchmarkProblems(b)) report(problem.path, problem.message);
});

/** A validated `benchmark` section, defaults filled. */
export type BenchmarkConfig = Infer<typeof benchmarkSchema>;
