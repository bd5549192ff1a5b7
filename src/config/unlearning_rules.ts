// The rules that unlearning requests must follow, checked when an experiment
// is validated: what can be unlearned after which task, and by which
// algorithms.
import { unlearningRole, useAnUnlearningAlgorithm } from '../continual/algorithms/registry.js';
import type { ExperimentConfig } from './experiment_types.js';
import type { Reporter } from './schema.js';

/**
 * The cross-field checks of `unlearning`: each request names tasks already
 * trained, not yet unlearned and young enough; one algorithm undoes them and
 * no other keeps state of them; the unlearning references need requests.
 */
export function checkUnlearning(e: ExperimentConfig, report: Reporter): void {
  const requests = e.unlearning?.requests ?? [];
  for (const key of ['retrain', 'original'] as const) {
    if (e.reference[key] === true && requests.length === 0) {
      report(['reference', key], 'is a reference for unlearning, but unlearning.requests is empty; add requests or remove the key');
    }
  }
  if (requests.length === 0) return;
  const age = e.unlearning?.unlearnableAge;
  const numTasks = e.benchmark.numTasks;
  const firstAt = new Map<number, number>();
  const unlearnedBy = new Map<number, number>();
  const order = requests.map((r, i) => ({ r, i })).sort((a, b) => a.r.afterTask - b.r.afterTask);
  for (const { r, i } of order) {
    const k = r.afterTask;
    const first = firstAt.get(k);
    if (first !== undefined) {
      report(['unlearning', 'requests', i, 'afterTask'], `there is already a request after task ${k} (unlearning.requests[${first}]); merge their tasks into one request`);
      continue;
    }
    firstAt.set(k, i);
    if (k > numTasks) {
      report(['unlearning', 'requests', i, 'afterTask'], `task ${k} is never trained: benchmark.numTasks is ${numTasks}; use a task in 1..${numTasks}`);
      continue;
    }
    r.tasks.forEach((u, j) => {
      const path = ['unlearning', 'requests', i, 'tasks', j];
      const earlier = unlearnedBy.get(u);
      if (r.tasks.indexOf(u) < j) report(path, `task ${u} is listed twice in this request`);
      else if (u > k) report(path, `task ${u} is not trained yet after task ${k}; a request after task ${k} can unlearn tasks 1..${k}`);
      else if (earlier !== undefined) report(path, `task ${u} is already unlearned by the request after task ${requests[earlier]!.afterTask} (unlearning.requests[${earlier}])`);
      else if (age !== undefined && k - u >= age) {
        report(path, `task ${u} is too old to unlearn after task ${k}: with unlearning.unlearnableAge ${age} a request after task ${k} can unlearn tasks ${Math.max(1, k - age + 1)}..${k}; raise unlearnableAge or request it after an earlier task`);
      } else unlearnedBy.set(u, i);
    });
  }
  const roles = e.algorithms.map(unlearningRole);
  const unlearners = roles.flatMap((role, i) => (role === 'unlearns' ? [i] : []));
  const disabled = e.algorithms.flatMap((a, i) => ('disableUnlearning' in a && a.disableUnlearning === true ? [i] : []));
  for (const i of disabled) {
    report(['algorithms', i, 'disableUnlearning'], `is true, but unlearning.requests asks '${e.algorithms[i]!.name}' to unlearn; set it to false or remove the requests`);
  }
  if (unlearners.length === 0 && disabled.length === 0) {
    report(['unlearning', 'requests'], `unlearning is requested, but no configured algorithm can unlearn (${e.algorithms.map((a) => a.name).join(', ')}); ${useAnUnlearningAlgorithm()}`);
  }
  for (const i of unlearners.slice(1)) {
    report(['algorithms', i, 'name'], `'${e.algorithms[i]!.name}' would undo the unlearned tasks a second time after algorithms[${unlearners[0]}] ('${e.algorithms[unlearners[0]!]!.name}'); configure one Amnesiac algorithm`);
  }
  roles.forEach((role, i) => {
    if (role === 'retains' && !disabled.includes(i)) {
      report(['algorithms', i, 'name'], `'${e.algorithms[i]!.name}' keeps state of every task that unlearning cannot undo, so unlearned tasks would live on in it; remove it or the unlearning requests`);
    }
  });
}
