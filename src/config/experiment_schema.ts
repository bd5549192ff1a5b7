// The schema of an experiment: every key with its type, default and meaning
// (which `perennial list` and docs/configuration.md show), and the checks
// across fields.
import { ALGORITHM_DEFINITIONS, type AlgorithmConfig, algorithmDefinition, paradigmIssue } from '../continual/algorithms/registry.js';
import { BACKBONE_DEFINITIONS, type BackboneConfig } from '../continual/backbones/registry.js';
import { benchmarkSchema } from '../continual/benchmarks/options.js';
import type { ExperimentConfig } from './experiment_types.js';
import {
  type Schema,
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
import { checkCilHeads } from './heads_rules.js';
import { checkUnlearning } from './unlearning_rules.js';

// Benchmarks (benchmarks/options.ts), backbones and algorithms declare their
// settings next to their code; the backbones' and algorithms' registries list
// their definitions.
const backboneSchema = new UnionSchema<BackboneConfig>('name', Object.fromEntries(BACKBONE_DEFINITIONS.map((d) => [d.name, d.options])), {
  defaultVariant: 'mlp',
  kind: 'backbone',
}).describe('the feature extractor shared by the heads');

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
    .describe('continual unlearning: which tasks to unlearn after which task, at most one request per afterTask (needs an Amnesiac algorithm)'),
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
  cilHeads: enumOf(['auto', 'growing', 'full'])
    .default('auto')
    .describe("CIL: a head per task ('growing') or one over all the benchmark's classes from task 1 ('full'); auto: full when an algorithm needs it (der, derpp)"),
  benchmark: benchmarkSchema.default(benchmarkSchema.parse({})),
  backbone: backboneSchema.default(backboneSchema.parse({})),
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
  checkCilHeads(e, report);
  e.algorithms.forEach((a, i) => {
    const definition = algorithmDefinition(a.name);
    const paradigms = definition?.paradigms;
    if (paradigms !== undefined && !paradigms.includes(e.paradigm)) {
      const why = definition?.paradigmNote === undefined ? '' : ` (${definition.paradigmNote})`;
      report(['algorithms', i, 'name'], `'${a.name}' supports paradigm ${paradigms.join(' or ')} only, but paradigm is '${e.paradigm}'${why}; set paradigm: ${paradigms[0]} or choose another algorithm`);
    } else {
      const issue = paradigmIssue(a, e.paradigm);
      if (issue !== null) report(['algorithms', i, issue.option], issue.message);
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

/** The schema of a whole experiment: validates a parsed YAML document, fills the defaults and runs the cross-field checks (loadExperiment uses it). */
export const experimentSchema: Schema<ExperimentConfig> = experimentObject;

/** The keys an experiment file has at its top level. */
export const TOP_LEVEL_KEYS = Object.keys(experimentObject.fields);
