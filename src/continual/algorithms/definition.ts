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

export const ALL_PARADIGMS: readonly Paradigm[] = ['til', 'cil', 'dil'];

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
  /** Its unlearning role, which may depend on its options (disableUnlearning). */
  unlearning(options: Options): UnlearningRole;
  /** A fresh instance from options the schema has validated and defaulted. */
  create(options: Options): Instance;
}

/**
 * A definition as the registry holds it: with the two questions the runner
 * asks of any validated `algorithms` entry, answered only for its own name.
 */
export interface DefinedAlgorithm<Name extends string = string, Options extends object = object, Instance extends Algorithm = Algorithm>
  extends AlgorithmDefinition<Name, Options, Instance> {
  /** An instance when `config` (validated by the configuration schema) names this algorithm, else null. */
  createIfNamed(config: ValidatedEntry): Instance | null;
  /** The unlearning role when `config` names this algorithm, else null. */
  unlearningIfNamed(config: ValidatedEntry): UnlearningRole | null;
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
