// Checkpoints: after each task, everything needed to continue the run exactly
// as if it had never stopped, in one safetensors file written atomically:
//   model.*        the model's state dict (backbone and every head so far)
//   optimizer.*    the finished task's optimizer state (each task starts a fresh one)
//   algorithm.N.*  each algorithm's tensors
//   rng            libtorch's generator state (dropout, new heads' initialisation)
// and, as JSON metadata, the task, the global step, the metrics so far and the
// algorithms' other values. Loading runs no code and validates what it reads.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type OptimizerStateDict, packStateDict } from '../../optim/optimizer.js';
import { loadSafetensors, saveSafetensors } from '../../serialization/safetensors.js';
import { getRngState, setRngState } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/scope.js';
import type { Algorithm } from '../algorithms/algorithm.js';
import type { ContinualModel } from '../model/model.js';
import type { TaskId } from '../contracts/types.js';
import type { TaskAccuracy } from '../metrics/unlearning.js';

const FORMAT = 'perennial-checkpoint-1';

export interface CheckpointProgress {
  task: TaskId;
  globalStep: number;
  /** accuracy[t-1][j-1] = a_{t,j} for j <= t. */
  accuracy: number[][];
  loss: number[][];
  /** With unlearning requests: each unlearned task's accuracy just before its request ran. */
  beforeUnlearning?: TaskAccuracy[];
}

/** Where task `task`'s checkpoint is in `runDir`. */
export function checkpointPath(runDir: string, task: TaskId): string {
  return join(runDir, 'checkpoints', `task_${task}.safetensors`);
}

/** Writes the checkpoint after a task (model, optimizer, every algorithm's state, the metrics so far and libtorch's generator state), atomically, as safetensors. */
export function saveCheckpoint(runDir: string, model: ContinualModel, algorithms: readonly Algorithm[], optimizerState: OptimizerStateDict, progress: CheckpointProgress): void {
  tidy(() => {
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(model.stateDict())) tensors[`model.${name}`] = t;
    const packed = packStateDict(optimizerState);
    for (const [name, t] of Object.entries(packed.tensors)) tensors[`optimizer.${name}`] = t;
    const algorithmValues: Record<string, unknown>[] = [];
    algorithms.forEach((a, i) => {
      const state = a.state?.() ?? { tensors: {}, values: {} };
      for (const [name, t] of Object.entries(state.tensors)) tensors[`algorithm.${i}.${name}`] = t;
      algorithmValues.push({ name: a.name, values: state.values });
    });
    tensors['rng'] = getRngState();
    const meta = { format: FORMAT, ...progress, optimizer: packed.json, algorithms: algorithmValues };
    saveSafetensors(checkpointPath(runDir, progress.task), tensors, { perennial: JSON.stringify(meta) });
  });
}

/** The last task with a checkpoint in the run directory, or 0. */
export function latestCheckpointTask(runDir: string): TaskId {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const f of readdirSync(dir)) {
    const m = /^task_(\d+)\.safetensors$/.exec(f);
    if (m) latest = Math.max(latest, Number(m[1]));
  }
  return latest;
}

/** A checkpoint that cannot be used; the message names the file and what is wrong with it. */
export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

interface Manifest extends CheckpointProgress {
  algorithms: { name: string; values: Record<string, unknown> }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * The checkpoint's JSON metadata, checked key by key against what this
 * version writes for the checkpoint of `task` of a run with `algorithms`.
 * (The optimizer entry is not read back: every task starts a fresh optimizer.)
 */
function readManifest(path: string, raw: string | undefined, task: TaskId, algorithms: readonly Algorithm[]): Manifest {
  const fail = (problem: string): never => {
    throw new CheckpointError(path, problem);
  };
  if (raw === undefined) fail(`not a Perennial checkpoint: it has no 'perennial' metadata`);
  let meta: unknown;
  try {
    meta = JSON.parse(raw!);
  } catch (error) {
    fail(`the 'perennial' metadata is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(meta)) fail(`the 'perennial' metadata is not a JSON object`);
  const m = meta as Record<string, unknown>;
  if (m['format'] !== FORMAT) fail(`metadata 'format' is ${JSON.stringify(m['format'])}, expected '${FORMAT}'`);
  if (m['task'] !== task) fail(`metadata 'task' is ${JSON.stringify(m['task'])}, but the file is the checkpoint of task ${task}`);
  if (!isCount(m['globalStep'])) fail(`metadata 'globalStep' must be a non-negative integer, got ${JSON.stringify(m['globalStep'])}`);
  for (const key of ['accuracy', 'loss'] as const) {
    // One row per finished task t = 1..task, with the scores on tasks 1..t.
    const rows = m[key];
    const valid =
      Array.isArray(rows) &&
      rows.length === task &&
      rows.every((row, i) => Array.isArray(row) && row.length === i + 1 && row.every((v) => typeof v === 'number' && (key === 'loss' || (v >= 0 && v <= 1))));
    if (!valid) fail(`metadata '${key}' must hold ${task} rows of ${key === 'accuracy' ? 'accuracies in [0, 1]' : 'numbers'}, row t with t entries`);
  }
  const before = m['beforeUnlearning'];
  if (before !== undefined && !(Array.isArray(before) && before.every((b) => isObject(b) && isCount(b['task']) && typeof b['accuracy'] === 'number' && b['accuracy'] >= 0 && b['accuracy'] <= 1))) {
    fail(`metadata 'beforeUnlearning' must be a list of {task, accuracy} entries with accuracies in [0, 1]`);
  }
  const saved = m['algorithms'];
  if (!Array.isArray(saved) || !saved.every((a) => isObject(a) && typeof a['name'] === 'string' && isObject(a['values']))) {
    fail(`metadata 'algorithms' must be a list of {name, values} entries`);
  }
  const names = (saved as { name: string }[]).map((a) => a.name);
  if (names.length !== algorithms.length || names.some((n, i) => n !== algorithms[i]!.name)) {
    fail(`saved with algorithms [${names.join(', ')}], but the run has [${algorithms.map((a) => a.name).join(', ')}]`);
  }
  return meta as Manifest;
}

/** `float32 [64, 784]`, to compare and to show. */
function describeTensor(t: Tensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

/**
 * Checks that `saved` holds exactly the tensors of `expected`, each with the
 * same dtype and shape: a cast would go unnoticed until it broke training.
 */
function checkTensors(path: string, what: string, saved: Record<string, Tensor>, expected: Record<string, string>): void {
  const missing = Object.keys(expected).filter((k) => !(k in saved));
  if (missing.length > 0) throw new CheckpointError(path, `${what} lacks tensor${missing.length === 1 ? '' : 's'} ${missing.map((k) => `'${k}'`).join(', ')}`);
  const unexpected = Object.keys(saved).filter((k) => !(k in expected));
  if (unexpected.length > 0) throw new CheckpointError(path, `${what} has unexpected tensor${unexpected.length === 1 ? '' : 's'} ${unexpected.map((k) => `'${k}'`).join(', ')}`);
  for (const [key, want] of Object.entries(expected)) {
    const got = describeTensor(saved[key]!);
    if (got !== want) throw new CheckpointError(path, `${what}: tensor '${key}' is ${got}, expected ${want}`);
  }
}

/**
 * Restores model, algorithms and generator from the checkpoint of `task`,
 * after checking its metadata and the dtype and shape of every tensor.
 * The model's heads for tasks 1..task must already be set up.
 */
export function loadCheckpoint(runDir: string, task: TaskId, model: ContinualModel, algorithms: readonly Algorithm[]): CheckpointProgress {
  const path = checkpointPath(runDir, task);
  const { tensors, metadata } = loadSafetensors(path);
  try {
    const meta = readManifest(path, metadata['perennial'], task, algorithms);
    const parts = new Map<string, Record<string, Tensor>>();
    for (const [key, t] of Object.entries(tensors)) {
      const match = /^(model|optimizer|algorithm\.\d+)\.(.+)$/.exec(key);
      const prefix = match === null ? (key === 'rng' ? 'rng' : undefined) : match[1]!;
      const known = prefix === 'model' || prefix === 'optimizer' || prefix === 'rng' || (prefix !== undefined && Number(prefix.slice('algorithm.'.length)) < algorithms.length);
      if (!known) throw new CheckpointError(path, `unexpected tensor '${key}'`);
      if (match !== null) {
        const part = parts.get(match[1]!) ?? {};
        part[match[2]!] = t;
        parts.set(match[1]!, part);
      }
    }
    const expectedModel = tidy(() => Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, describeTensor(t)])));
    checkTensors(path, 'the model state', parts.get('model') ?? {}, expectedModel);
    const rng = tensors['rng'];
    if (rng === undefined) throw new CheckpointError(path, `the checkpoint has no 'rng' state`);
    const expectedRng = tidy(() => describeTensor(getRngState()));
    if (describeTensor(rng) !== expectedRng) throw new CheckpointError(path, `tensor 'rng' is ${describeTensor(rng)}, expected ${expectedRng}`);

    algorithms.forEach((a, i) => {
      // Algorithms keep per-parameter tensors (anchors, importances, deltas,
      // scores) under the parameter's name: they must match the parameter.
      for (const [key, t] of Object.entries(parts.get(`algorithm.${i}`) ?? {})) {
        const parameter = Object.keys(expectedModel).find((name) => key.endsWith(`.${name}`));
        if (parameter !== undefined && describeTensor(t) !== expectedModel[parameter]) {
          throw new CheckpointError(path, `the state of algorithm ${a.name}: tensor '${key}' is ${describeTensor(t)}, but the parameter ${parameter} is ${expectedModel[parameter]}`);
        }
      }
    });

    model.loadStateDict(parts.get('model')!);
    algorithms.forEach((a, i) => {
      const saved = parts.get(`algorithm.${i}`) ?? {};
      try {
        a.loadState?.({ tensors: saved, values: meta.algorithms[i]!.values });
      } catch (error) {
        throw new CheckpointError(path, `algorithm ${a.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      // An algorithm's tensors have no fixed layout to check against; what it
      // restored must at least save back as the same tensors, so a tensor it
      // ignored, or cast or reshaped on the way in, is caught here.
      const restored = tidy(() => Object.fromEntries(Object.entries(a.state?.().tensors ?? {}).map(([k, t]) => [k, describeTensor(t)])));
      checkTensors(path, `the state of algorithm ${a.name}`, saved, restored);
    });
    setRngState(rng);
    return { task: meta.task, globalStep: meta.globalStep, accuracy: meta.accuracy, loss: meta.loss, ...(meta.beforeUnlearning === undefined ? {} : { beforeUnlearning: meta.beforeUnlearning }) };
  } finally {
    // Algorithms copy what they keep in loadState; everything read here is freed.
    for (const t of Object.values(tensors)) t.dispose();
  }
}
