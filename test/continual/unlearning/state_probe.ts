// What the unlearning tests compare: copies of a model's whole state dict,
// taken by a probe plugin at the start and end of a task and after the
// unlearning that follows it, and the largest difference between two copies.
import assert from 'node:assert/strict';
import type { Algorithm, TaskContext, UnlearningContext } from '../../../src/continual/algorithms/index.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { type Tensor, keep, tidy } from '../../../src/index.js';

export function snapshotState(model: ContinualModel): Map<string, Tensor> {
  return tidy(() => new Map(Object.entries(model.stateDict()).map(([k, t]) => [k, keep(t.clone())] as [string, Tensor])));
}

export function freeState(state: Map<string, Tensor> | undefined): void {
  for (const t of state?.values() ?? []) t.dispose();
}

/** The largest absolute difference between two states over all entries (an integer entry differs by 1 or more). */
export function maxDifference(a: Map<string, Tensor>, b: Map<string, Tensor>): number {
  assert.deepEqual([...a.keys()], [...b.keys()], 'state entries');
  let worst = 0;
  tidy(() => {
    for (const [name, x] of a) worst = Math.max(worst, x.sub(b.get(name)!).abs().max().item());
  });
  return worst;
}

export type StateProbe = Algorithm & { start?: Map<string, Tensor>; end?: Map<string, Tensor>; after?: Map<string, Tensor>; free(): void };

/** A probe that records the model's state at the start of `task`, at its end, and after the unlearning step (it runs after the configured algorithms). */
export function stateProbe(task: number): StateProbe {
  const probe: StateProbe = {
    name: 'probe',
    onTaskStart: (ctx: TaskContext) => {
      if (ctx.task === task) probe.start = snapshotState(ctx.model);
    },
    onTaskEnd: (ctx: TaskContext) => {
      if (ctx.task === task) probe.end = snapshotState(ctx.model);
    },
    unlearn: (ctx: UnlearningContext) => {
      if (ctx.afterTask === task) probe.after = snapshotState(ctx.model);
    },
    free: () => [probe.start, probe.end, probe.after].forEach(freeState),
  };
  return probe;
}
