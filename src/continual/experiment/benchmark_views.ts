// Reference runs from the same configuration, as CLArena's full evaluation
// makes them: a model trained jointly on all tasks (the upper bound), a fresh
// model per task (for forward transfer), and an untrained model (chance).
// Each is a view of the benchmark with a single task, so the ordinary
// trainer trains it. The retrain reference of unlearning trains a view that
// leaves the unlearned tasks out.
import { cat } from '../../tensor/functions.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { ContinualBenchmark, TaskId, TaskSplits, TensorDataset } from '../contracts/types.js';

function dataset(x: TensorDataset['x'], y: TensorDataset['y']): TensorDataset {
  return { x, y, size: y.shape[0]! };
}

/** Task `task` of `benchmark` as a one-task benchmark (an independent model's whole world). */
export function singleTaskView(benchmark: ContinualBenchmark, task: TaskId): ContinualBenchmark {
  return {
    name: `${benchmark.name}[task ${task}]`,
    numTasks: 1,
    inputShape: benchmark.inputShape,
    numClasses: () => benchmark.numClasses(task),
    classOffset: () => 0,
    task: () => benchmark.task(task),
    releaseInputs: () => benchmark.releaseInputs?.(task),
    dispose: () => undefined,
  };
}

/**
 * All tasks as one task: inputs concatenated and labels placed in the global
 * class space (each task's classes after the earlier tasks'), or kept shared
 * for the domain-incremental paradigm, where every task has the same classes.
 */
export function jointView(benchmark: ContinualBenchmark, sharedLabels: boolean): ContinualBenchmark {
  let cached: TaskSplits | undefined;
  const tasks = Array.from({ length: benchmark.numTasks }, (_, i) => i + 1);
  const numClasses = sharedLabels ? benchmark.numClasses(1) : tasks.reduce((n, t) => n + benchmark.numClasses(t), 0);
  const join = (pick: (s: TaskSplits) => TensorDataset): TensorDataset => {
    const joined = tidy(() => {
      const parts = tasks.map((t) => pick(benchmark.task(t)));
      const x = keep(cat(parts.map((p) => p.x)));
      const y = keep(cat(parts.map((p, i) => (sharedLabels ? p.y : p.y.add(benchmark.classOffset(i + 1))))));
      return dataset(x, y);
    });
    // The concatenation is a copy: the tasks' own full inputs are not needed.
    for (const t of tasks) benchmark.releaseInputs?.(t);
    return joined;
  };
  return {
    name: `${benchmark.name}[joint]`,
    numTasks: 1,
    inputShape: benchmark.inputShape,
    numClasses: () => numClasses,
    classOffset: () => 0,
    task: () => (cached ??= { train: join((s) => s.train), val: join((s) => s.val), test: join((s) => s.test) }),
    dispose: () => {
      if (cached) for (const d of [cached.train, cached.val, cached.test]) { d.x.dispose(); d.y.dispose(); }
    },
  };
}

/**
 * The tasks `tasks` of `benchmark`, in that order, as a benchmark of their own
 * (the retrain reference of unlearning): its task i is task tasks[i − 1], and
 * its class offsets count the classes of the chosen tasks only. The data is
 * the benchmark's, not copied.
 */
export function subsequenceView(benchmark: ContinualBenchmark, tasks: readonly TaskId[]): ContinualBenchmark {
  const name = `${benchmark.name}[tasks ${tasks.join(', ')}]`;
  const index = (i: TaskId): number => {
    if (!Number.isInteger(i) || i < 1 || i > tasks.length) throw new RangeError(`${name}: no task ${i} (it has tasks 1..${tasks.length})`);
    return i - 1;
  };
  const offsets = tasks.map((_, i) => tasks.slice(0, i).reduce((n, t) => n + benchmark.numClasses(t), 0));
  return {
    name,
    numTasks: tasks.length,
    inputShape: benchmark.inputShape,
    numClasses: (i) => benchmark.numClasses(tasks[index(i)]!),
    classOffset: (i) => offsets[index(i)]!,
    task: (i) => benchmark.task(tasks[index(i)]!),
    releaseInputs: (i) => benchmark.releaseInputs?.(tasks[index(i)]!),
    dispose: () => undefined,
  };
}
