// What an algorithm declares about itself, in one place: its configuration
// name, a one-line summary, the schema of its options (the only place they
// are validated and defaulted), the paradigms it supports, how it stands
// towards unlearning requests, and how to make one from validated options.
// Each algorithm file exports one definition; registry.ts lists them all.
import type { ObjectSchema } from '../../config/schema.js';
import type { Paradigm } from '../contracts/types.js';
import type { Algorithm } from './algorithm.js';

/**
 * How a configured algorithm stands towards unlearning requests: it undoes
 * tasks ('unlearns': the Amnesiac algorithms), keeps nothing of a task once
 * it ended ('stateless'), or keeps per-task state that it cannot undo
 * ('retains': importances, anchors, buffers, masks), which would let an
 * unlearned task live on.
 */
export type UnlearningRole = 'unlearns' | 'stateless' | 'retains';

/** Every paradigm, for a definition's `paradigms` when the algorithm works in all of them. */
export const ALL_PARADIGMS: readonly Paradigm[] = ['til', 'cil', 'dil'];

/**
 * The class-incremental heads: one head per task, concatenated ('growing'),
 * or one head over all the benchmark's classes from task 1 ('full',
 * Mammoth's class-IL convention).
 */
export type CilHeads = 'growing' | 'full';

/** What a configured algorithm needs of the class-incremental heads, and why. */
export interface CilHeadsNeed {
  readonly heads: CilHeads;
  /** Why, for messages: 'it matches stored logits over all the benchmark's classes'. */
  readonly because: string;
  /** The option setting that lifts the need, for messages (`cilLogits: seen`), if any. */
  readonly unless?: string;
}

/** What an algorithm declares about itself, given to defineAlgorithm. */
export interface AlgorithmDefinition<Name extends string = string, Options extends object = object, Instance extends Algorithm = Algorithm> {
  /** The name written in `algorithms[].name`. */
  readonly name: Name;
  /** One line for `perennial list` and the docs. */
  readonly summary: string;
  /** Its options, defaults included (the `name` key is the registry's). */
  readonly options: ObjectSchema<Options>;
  /** The paradigms it can be configured with. */
  readonly paradigms: readonly Paradigm[];
  /** Why the other paradigms are refused (one clause, quoted in the configuration error), if it is worth saying. */
  readonly paradigmNote?: string;
  /**
   * Why these options do not work in `paradigm` (one of `paradigms`), naming
   * the option at fault and the fix, or null (GDumb: the greedy memory in DIL).
   */
  paradigmIssue?(options: Options, paradigm: Paradigm): ParadigmIssue | null;
  /** Its unlearning role, which may depend on its options (disableUnlearning). */
  unlearning(options: Options): UnlearningRole;
  /**
   * In CIL, the heads it needs, if it cares (DER matching logits over every
   * class needs 'full'): `cilHeads: auto` resolves to full when any
   * configured algorithm needs it, and an explicit setting that contradicts
   * a need is a configuration error. Absent or null: either serves.
   */
  cilHeads?(options: Options): CilHeadsNeed | null;
  /** A fresh instance from options the schema has validated and defaulted. */
  create(options: Options): Instance;
}

/**
 * A definition as the registry holds it: with the questions the runner
 * asks of any validated `algorithms` entry, answered only for its own name.
 */
export interface DefinedAlgorithm<Name extends string = string, Options extends object = object, Instance extends Algorithm = Algorithm>
  extends AlgorithmDefinition<Name, Options, Instance> {
  /** An instance when `config` (validated by the configuration schema) names this algorithm, else null. */
  createIfNamed(config: ValidatedEntry): Instance | null;
  /** The unlearning role when `config` names this algorithm, else null. */
  unlearningIfNamed(config: ValidatedEntry): UnlearningRole | null;
  /** What it needs of the CIL heads when `config` names this algorithm and it cares, else null. */
  cilHeadsIfNamed(config: ValidatedEntry): CilHeadsNeed | null;
  /** Why `config`'s options do not work in `paradigm` when `config` names this algorithm, else null. */
  paradigmIssueIfNamed(config: ValidatedEntry, paradigm: Paradigm): ParadigmIssue | null;
}

/** Why an algorithm's options do not work in a paradigm: the option at fault and a message naming the fix. */
export interface ParadigmIssue {
  readonly option: string;
  readonly message: string;
}

/** An `algorithms` entry the configuration schema has validated. */
export interface ValidatedEntry {
  readonly name: string;
}

/** Declares an algorithm. */
export function defineAlgorithm<const Name extends string, Options extends object, Instance extends Algorithm>(
  definition: AlgorithmDefinition<Name, Options, Instance>,
): DefinedAlgorithm<Name, Options, Instance> {
  return {
    ...definition,
    createIfNamed: (config) => (isConfigOf(definition, config) ? definition.create(config) : null),
    unlearningIfNamed: (config) => (isConfigOf(definition, config) ? definition.unlearning(config) : null),
    cilHeadsIfNamed: (config) => (isConfigOf(definition, config) ? (definition.cilHeads?.(config) ?? null) : null),
    paradigmIssueIfNamed: (config, paradigm) => (isConfigOf(definition, config) ? (definition.paradigmIssue?.(config, paradigm) ?? null) : null),
  };
}

/**
 * An instance made from options as a user writes them: validated and
 * defaulted by the definition's schema (a SchemaError lists every problem).
 *
 *   const rwalk = instantiate(rwalkDefinition, { lambda: 1 });
 */
export function instantiate<Options extends object, Instance extends Algorithm>(definition: AlgorithmDefinition<string, Options, Instance>, options: unknown = {}): Instance {
  return definition.create(definition.options.parse(options));
}

/** An entry of `algorithms` for a definition: its name and its options. */
export type ConfigOf<D> = D extends AlgorithmDefinition<infer Name, infer Options, Algorithm> ? { name: Name } & Options : never;

/**
 * Whether a validated `algorithms` entry is one of `definition`'s. The
 * configuration schema gives every entry named `definition.name` exactly that
 * definition's options, so the name decides.
 */
function isConfigOf<Name extends string, Options extends object, Instance extends Algorithm>(
  definition: AlgorithmDefinition<Name, Options, Instance>,
  config: ValidatedEntry,
): config is { name: Name } & Options {
  return config.name === definition.name;
}
