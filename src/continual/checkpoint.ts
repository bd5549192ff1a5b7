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
import { type OptimizerStateDict, packStateDict } from '../optim/optimizer.js';
import { loadSafetensors, saveSafetensors } from '../serialization/safetensors.js';
import { getRngState, setRngState } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import type { Algorithm } from './algorithms/algorithm.js';
import type { ContinualModel } from './model.js';
import type { TaskId } from './types.js';

const FORMAT = 'perennial-checkpoint-1';

export interface CheckpointProgress {
  task: TaskId;
  globalStep: number;
  /** accuracy[t-1][j-1] = a_{t,j} for j <= t. */
  accuracy: number[][];
  loss: number[][];
}

export function checkpointPath(runDir: string, task: TaskId): string {
  return join(runDir, 'checkpoints', `task_${task}.safetensors`);
}

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

/**
 * Restores model, algorithms and generator from the checkpoint of `task`.
 * The model's heads for tasks 1..task must already be set up.
 */
export function loadCheckpoint(runDir: string, task: TaskId, model: ContinualModel, algorithms: readonly Algorithm[]): CheckpointProgress {
  const path = checkpointPath(runDir, task);
  const { tensors, metadata } = loadSafetensors(path);
  try {
    const raw = metadata['perennial'];
    const meta = raw === undefined ? undefined : (JSON.parse(raw) as CheckpointProgress & { format: string; algorithms: { name: string; values: Record<string, unknown> }[] });
    if (meta?.format !== FORMAT) throw new Error(`${path}: not a Perennial checkpoint (no '${FORMAT}' metadata)`);
    if (meta.algorithms.length !== algorithms.length || meta.algorithms.some((a, i) => a.name !== algorithms[i]!.name)) {
      throw new Error(`${path}: saved with algorithms [${meta.algorithms.map((a) => a.name).join(', ')}], but the run has [${algorithms.map((a) => a.name).join(', ')}]`);
    }
    const part = (prefix: string): Record<string, Tensor> =>
      Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
    model.loadStateDict(part('model.'));
    algorithms.forEach((a, i) => a.loadState?.({ tensors: part(`algorithm.${i}.`), values: meta.algorithms[i]!.values }));
    const rng = tensors['rng'];
    if (rng === undefined) throw new Error(`${path}: the checkpoint has no 'rng' state`);
    setRngState(rng);
    return { task: meta.task, globalStep: meta.globalStep, accuracy: meta.accuracy, loss: meta.loss };
  } finally {
    // Algorithms copy what they keep in loadState; everything read here is freed.
    for (const t of Object.values(tensors)) t.dispose();
  }
}
