// The unlearning schedule of a run: which tasks to unlearn after which task,
// which records expire with the unlearnable age, and executing what is due
// through the algorithms that can unlearn.
import type { ExperimentConfig } from '../../config/experiment.js';
import type { Algorithm, UnlearningContext } from '../algorithms/index.js';
import { useAnUnlearningAlgorithm } from '../algorithms/registry.js';
import { ContinualModel } from '../model/model.js';
import type { UnlearningRequestRecord } from '../metrics/unlearning.js';
import type { Paradigm, TaskId } from '../contracts/types.js';

/**
 * The unlearning schedule of a configuration: the tasks to unlearn after each
 * task, and the unlearnable age after which records are freed.
 */
export interface UnlearningPlan {
  requests: Map<TaskId, TaskId[]>;
  unlearnableAge?: number;
}

/** The configuration's unlearning schedule, or undefined when it has no `unlearning` section. */
export function unlearningPlan(config: ExperimentConfig): UnlearningPlan | undefined {
  if (config.unlearning === undefined) return undefined;
  const plan: UnlearningPlan = { requests: new Map(config.unlearning.requests.map((r) => [r.afterTask, [...r.tasks]])) };
  if (config.unlearning.unlearnableAge !== undefined) plan.unlearnableAge = config.unlearning.unlearnableAge;
  return plan;
}

/** The requests executed up to task `task`, in order. */
export function requestsUpTo(plan: UnlearningPlan, task: TaskId): UnlearningRequestRecord[] {
  return [...plan.requests]
    .filter(([k]) => k <= task)
    .sort(([a], [b]) => a - b)
    .map(([afterTask, tasks]) => ({ afterTask, tasks }));
}

/**
 * What is due after training `task`: the tasks to unlearn, and the task whose
 * record expires (with unlearnable age A, task u can be unlearned after tasks
 * u .. u + A − 1, so task task + 1 − A expires now unless it was unlearned).
 */
export function dueAfter(plan: UnlearningPlan, task: TaskId): { tasks: TaskId[]; expired: TaskId[] } {
  const tasks = plan.requests.get(task) ?? [];
  const age = plan.unlearnableAge;
  const old = age === undefined ? 0 : task + 1 - age;
  const unlearned = new Set(requestsUpTo(plan, task).flatMap((r) => r.tasks));
  return { tasks, expired: old >= 1 && !unlearned.has(old) ? [old] : [] };
}

/** Runs the unlearning due after `task` through every algorithm that can unlearn. */
export function unlearnAfter(task: TaskId, plan: UnlearningPlan, model: ContinualModel, algorithms: readonly Algorithm[], paradigm: Paradigm): { tasks: TaskId[]; expired: TaskId[] } {
  const due = dueAfter(plan, task);
  if (due.tasks.length === 0 && due.expired.length === 0) return due;
  const unlearners = algorithms.filter((a) => a.unlearn !== undefined);
  if (due.tasks.length > 0 && unlearners.length === 0) {
    throw new Error(`unlearning task ${due.tasks.join(', ')} after task ${task} was requested, but no algorithm can unlearn (${algorithms.map((a) => a.name).join(', ')}); ${useAnUnlearningAlgorithm()}`);
  }
  const ctx: UnlearningContext = { model, paradigm, afterTask: task, tasks: due.tasks, expired: due.expired };
  for (const a of unlearners) a.unlearn!(ctx);
  return due;
}
