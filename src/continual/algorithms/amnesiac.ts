// The bookkeeping of the Amnesiac algorithms (continual unlearning; CLArena's
// AmnesiacCLAlgorithm, algorithms.md section 10): while task t trains, record
//   Δθ_t = θ(end of t) − θ(start of t)
// for the model's whole state — every parameter and buffer of the backbone and
// of every head, the head set up for task t included, since the trainer sets
// it up before onTaskStart. Unlearning the tasks U then sets
//   θ ← θ − Σ_{u∈U} Δθ_u
// and deletes their records. Integer buffers (BatchNorm's numBatchesTracked)
// are treated like the rest: their delta is the number of batches task t
// counted, and subtracting it gives the count without that task.
//
// Deltas are kept in each entry's own dtype (float32 for parameters), which
// costs one model copy per recorded task; undoing a task is exact up to
// float32 rounding. TaskDeltas holds the records; AmnesiacBookkeeping is what
// an algorithm composes: the hooks, the switch `disableUnlearning`, and the
// checkpoint state.
import { boolean } from '../../config/schema.js';
import { noGrad } from '../../tensor/autograd.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ContinualModel } from '../model/model.js';
import type { AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import type { TaskId } from '../contracts/types.js';

type StateMap = Map<string, Tensor>;

/** Each task's change of the whole model state, recorded while it trains, so that unlearning can subtract it. */
export class TaskDeltas {
  /** The state when the task in training started, until it ends. */
  #start: { task: TaskId; state: StateMap } | null = null;
  readonly #deltas = new Map<TaskId, StateMap>();

  /** Tasks whose change is recorded, i.e. that can still be unlearned, in the order trained. */
  get tasks(): TaskId[] {
    return [...this.#deltas.keys()];
  }

  /** Δθ_task by state-dict name, or undefined when it is not recorded. */
  delta(task: TaskId): ReadonlyMap<string, Tensor> | undefined {
    return this.#deltas.get(task);
  }

  /** Snapshots the model's state as task `task` begins. */
  begin(model: ContinualModel, task: TaskId): void {
    this.#freeStart();
    const state: StateMap = new Map();
    tidy(() => {
      for (const [name, t] of Object.entries(model.stateDict())) state.set(name, keep(t.clone()));
    });
    this.#start = { task, state };
  }

  /** Records Δθ_task = θ now − θ at begin(). */
  end(model: ContinualModel, task: TaskId): void {
    const start = this.#start;
    if (start === null || start.task !== task) {
      throw new Error(`TaskDeltas: task ${task} ended, but ${start === null ? 'no task' : `task ${start.task}`} was begun`);
    }
    if (this.#deltas.has(task)) throw new Error(`TaskDeltas: task ${task} is already recorded`);
    const delta: StateMap = new Map();
    tidy(() =>
      noGrad(() => {
        for (const [name, now] of Object.entries(model.stateDict())) {
          const before = start.state.get(name);
          // An entry created during the task (a head made after onTaskStart,
          // which our trainer never does) counts from zero: unlearning the
          // task zeroes it.
          delta.set(name, keep(before === undefined ? now.clone() : now.sub(before)));
        }
      }),
    );
    this.#deltas.set(task, delta);
    this.#freeStart();
  }

  /** θ ← θ − Σ_{u∈tasks} Δθ_u in place (parameters and buffers). The records stay until forget(). */
  undo(model: ContinualModel, tasks: readonly TaskId[]): void {
    const missing = tasks.filter((u) => !this.#deltas.has(u));
    if (missing.length > 0) {
      const held = this.#deltas.size === 0 ? 'none is recorded' : `recorded: ${this.tasks.join(', ')}`;
      throw new Error(`cannot unlearn task ${missing.join(', ')}: its training was not recorded or was already unlearned or freed (${held})`);
    }
    tidy(() => {
      const state = model.stateDict();
      noGrad(() => {
        for (const u of tasks) {
          for (const [name, d] of this.#deltas.get(u)!) {
            const target = state[name];
            if (target === undefined) throw new Error(`cannot unlearn task ${u}: the model has no state entry '${name}' that the task changed`);
            target.sub_(d);
          }
        }
      });
    });
  }

  /** Frees the records of `tasks` (those recorded); they can no longer be unlearned. */
  forget(tasks: readonly TaskId[]): void {
    for (const u of tasks) {
      const delta = this.#deltas.get(u);
      if (delta === undefined) continue;
      for (const t of delta.values()) t.dispose();
      this.#deltas.delete(u);
    }
  }

  /** The recorded deltas for a checkpoint, under `${prefix}${task}.${name}`. */
  state(prefix: string): { tensors: Record<string, Tensor>; tasks: TaskId[] } {
    const tensors: Record<string, Tensor> = {};
    for (const [task, delta] of this.#deltas) for (const [name, t] of delta) tensors[`${prefix}${task}.${name}`] = t;
    return { tensors, tasks: this.tasks };
  }

  /** Replaces the records with those of a checkpoint (copies; the caller frees `tensors`). */
  loadState(prefix: string, tensors: Record<string, Tensor>, tasks: readonly TaskId[]): void {
    this.dispose();
    for (const task of tasks) {
      const head = `${prefix}${task}.`;
      const delta: StateMap = new Map();
      for (const [key, t] of Object.entries(tensors)) if (key.startsWith(head)) delta.set(key.slice(head.length), keep(t.clone()));
      if (delta.size === 0) throw new Error(`TaskDeltas: the checkpoint lists task ${task} but holds no delta for it`);
      this.#deltas.set(task, delta);
    }
  }

  #freeStart(): void {
    if (this.#start !== null) for (const t of this.#start.state.values()) t.dispose();
    this.#start = null;
  }

  dispose(): void {
    this.#freeStart();
    this.forget(this.tasks);
  }
}

/** The option every Amnesiac algorithm has (CLArena's disable_unlearning). */
export const disableUnlearning = boolean().default(false).describe('record nothing (no memory cost) and accept no unlearning requests');

/** The option every Amnesiac algorithm has. */
export interface AmnesiacOptions {
  /** Record nothing and refuse unlearning requests. */
  disableUnlearning: boolean;
}

/** The unlearning part shared by the Amnesiac algorithms: records, undo, checkpoint state. */
export class AmnesiacBookkeeping {
  /** null when unlearning is disabled. */
  readonly deltas: TaskDeltas | null;

  constructor(
    readonly algorithm: string,
    options: AmnesiacOptions,
  ) {
    this.deltas = options.disableUnlearning ? null : new TaskDeltas();
  }

  onTaskStart(ctx: TaskContext): void {
    this.deltas?.begin(ctx.model, ctx.task);
  }

  onTaskEnd(ctx: TaskContext): void {
    this.deltas?.end(ctx.model, ctx.task);
  }

  /** The records, checked to be on when tasks are to be unlearned. */
  enabledFor(ctx: UnlearningContext): TaskDeltas | null {
    if (this.deltas === null && ctx.tasks.length > 0) {
      throw new Error(`${this.algorithm}: asked to unlearn task ${ctx.tasks.join(', ')} after task ${ctx.afterTask}, but disableUnlearning is true (nothing was recorded)`);
    }
    return this.deltas;
  }

  /** Undoes ctx.tasks in the model and frees their records and those of ctx.expired. */
  unlearn(ctx: UnlearningContext): void {
    const deltas = this.enabledFor(ctx);
    deltas?.undo(ctx.model, ctx.tasks);
    deltas?.forget([...ctx.tasks, ...ctx.expired]);
  }

  state(): { tensors: AlgorithmState['tensors']; tasks: TaskId[] } {
    return this.deltas?.state('delta.') ?? { tensors: {}, tasks: [] };
  }

  loadState(tensors: AlgorithmState['tensors'], tasks: readonly TaskId[]): void {
    this.deltas?.loadState('delta.', tensors, tasks);
  }

  dispose(): void {
    this.deltas?.dispose();
  }
}
