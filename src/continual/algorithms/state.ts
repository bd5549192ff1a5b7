// Reading an algorithm's checkpointed state back. Each algorithm declares the
// JSON part of its state as a schema and its tensors by key, so that a
// checkpoint that was edited, truncated or written by another version is
// refused with the key at fault instead of being half-loaded.
import { type Schema, formatIssue, isPlainObject } from '../../config/schema.js';
import { loadSafetensors } from '../../serialization/safetensors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AlgorithmState } from './algorithm.js';

/** The state's values, checked against `schema`; throws naming every problem. */
export function readStateValues<T>(schema: Schema<T>, values: Record<string, unknown>): T {
  const result = schema.validate(values);
  if (!result.ok) throw new Error(`its saved values do not fit: ${result.issues.map((issue) => formatIssue(issue)).join('; ')}`);
  return result.value;
}

/** The saved tensor under `key`; throws when it is missing or, given `shape`, of another shape. */
export function readStateTensor(state: AlgorithmState, key: string, shape?: readonly number[]): Tensor {
  const tensor = state.tensors[key];
  if (tensor === undefined) throw new Error(`its saved tensor '${key}' is missing`);
  if (shape !== undefined && (tensor.shape.length !== shape.length || tensor.shape.some((n, i) => n !== shape[i]))) {
    throw new Error(`its saved tensor '${key}' has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return tensor;
}

/**
 * The JSON values the algorithm `name` checkpointed in `checkpointFile`
 * (`runs/<run>/checkpoints/task_t.safetensors`), checked against `schema`, or
 * null when the run has no such algorithm.
 */
export function readCheckpointedValues<T>(checkpointFile: string, name: string, schema: Schema<T>): T | null {
  const { tensors, metadata } = loadSafetensors(checkpointFile);
  for (const t of Object.values(tensors)) t.dispose();
  const raw = metadata['perennial'];
  if (raw === undefined) throw new Error(`${checkpointFile}: not a Perennial checkpoint`);
  const meta: unknown = JSON.parse(raw);
  const algorithms = isPlainObject(meta) && Array.isArray(meta['algorithms']) ? meta['algorithms'] : [];
  const entry: unknown = algorithms.find((a: unknown) => isPlainObject(a) && a['name'] === name);
  if (!isPlainObject(entry) || !isPlainObject(entry['values'])) return null;
  return readStateValues(schema, entry['values']);
}
