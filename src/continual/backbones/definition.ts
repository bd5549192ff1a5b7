// What a backbone declares about itself, in one place, as an algorithm does
// (algorithms/definition.ts): its configuration name, a one-line summary, the
// schema of its options (the only place they are validated and defaulted;
// `perennial list` and docs/configuration.md show it), and how to build one
// from validated options for inputs of a given shape. registry.ts lists them.
import type { ObjectSchema } from '../../config/schema.js';
import type { BackboneBase } from './common.js';

/** What a backbone declares about itself: its name in `backbone.name`, a summary, the schema of its options and how to build one. */
export interface BackboneDefinition<Name extends string = string, Options extends object = object, Instance extends BackboneBase = BackboneBase> {
  /** The name written in `backbone.name`. */
  readonly name: Name;
  /** One line for `perennial list`. */
  readonly summary: string;
  /** Its options, defaults included (the `name` key is the registry's). */
  readonly options: ObjectSchema<Options>;
  /** A fresh backbone for inputs of `inputShape` ([C, H, W]) from options the schema has validated and defaulted. */
  create(options: Options, inputShape: readonly number[]): Instance;
}

/** A backbone's definition, with the dispatch the registry needs. */
export interface DefinedBackbone<Name extends string = string, Options extends object = object, Instance extends BackboneBase = BackboneBase>
  extends BackboneDefinition<Name, Options, Instance> {
  /** A backbone when `config` (validated by the configuration schema) names this one, else null. */
  createIfNamed(config: { readonly name: string }, inputShape: readonly number[]): Instance | null;
}

/** Declares a backbone. */
export function defineBackbone<const Name extends string, Options extends object, Instance extends BackboneBase>(
  definition: BackboneDefinition<Name, Options, Instance>,
): DefinedBackbone<Name, Options, Instance> {
  return {
    ...definition,
    createIfNamed: (config, inputShape) => (isConfigOf(definition, config) ? definition.create(config, inputShape) : null),
  };
}

/**
 * Whether a validated `backbone` section is `definition`'s. The configuration
 * schema gives a section named `definition.name` exactly that definition's
 * options, so the name decides.
 */
function isConfigOf<Name extends string, Options extends object, Instance extends BackboneBase>(
  definition: BackboneDefinition<Name, Options, Instance>,
  config: { readonly name: string },
): config is { name: Name } & Options {
  return config.name === definition.name;
}

/**
 * A backbone built from options as a user writes them: validated and
 * defaulted by the definition's schema (a SchemaError lists every problem).
 *
 *   const mlp = instantiateBackbone(mlpDefinition, [1, 28, 28], { hiddenSizes: [100, 100] });
 */
export function instantiateBackbone<Options extends object, Instance extends BackboneBase>(
  definition: BackboneDefinition<string, Options, Instance>,
  inputShape: readonly number[],
  options: unknown = {},
): Instance {
  return definition.create(definition.options.parse(options), inputShape);
}

/** The `backbone` section for a definition: its name and its options. */
export type BackboneConfigOf<D> = D extends BackboneDefinition<infer Name, infer Options, BackboneBase> ? { name: Name } & Options : never;
