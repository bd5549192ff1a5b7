// Loading an experiment: a YAML file (or the default experiment,
// experiments/default.yaml) plus `key.path=value` overrides, validated against
// experiment_schema.ts; and the schema's keys described for `perennial list`.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOP_LEVEL_KEYS, experimentSchema, registeredAlgorithms } from './experiment_schema.js';
import type { ExperimentConfig } from './experiment_types.js';
import { type ConfigSource, loadConfig, readConfigSource } from './loader.js';
import type { SchemaRow } from './schema.js';

export * from './experiment_types.js';
export { RUN_NAME_PATTERN, experimentSchema, registeredAlgorithms } from './experiment_schema.js';

/**
 * The experiment run when no file is given, read at run time. It spells out
 * the schema's defaults (a test keeps the two equal) where it does not change
 * them; docs/configuration.md quotes it whole. From dist/src/config/ the
 * package root is three levels up, as for the native addon.
 */
export const DEFAULT_EXPERIMENT_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'experiments', 'default.yaml');

const TITLE = 'invalid experiment configuration';

/**
 * Reads an experiment: the YAML file at `path` (or the default experiment
 * when undefined), then `overrides` (`key.path=value`, applied in order),
 * validated with defaults filled. Throws a ConfigError listing every problem.
 */
export function loadExperiment(path: string | undefined, overrides: readonly string[] = []): ExperimentConfig {
  const source: ConfigSource =
    path === undefined ? { name: '<default experiment>', text: readFileSync(DEFAULT_EXPERIMENT_PATH, 'utf8'), isDefault: true } : readConfigSource(path, TITLE, TOP_LEVEL_KEYS);
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
