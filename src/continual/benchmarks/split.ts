// Split benchmarks (e.g. Split MNIST 5 x 2, Split CIFAR-100 10 x 10): the
// classes are partitioned into tasks. By default task t gets the t-th group
// of consecutive classes (numClasses / numTasks each, which must divide);
// `classSplit` names the classes of each task explicitly (disjoint, not
// necessarily covering every class). Labels in the task datasets are local:
// the position of the class in its task's list, 0 .. k-1. classOffset(t)
// counts the classes of the tasks before t, which the class-incremental
// heads add to reach the global label.
import type { TaskId } from '../types.js';
import { ImageBenchmark, type ImageBenchmarkOptions } from './base.js';

export interface SplitOptions extends ImageBenchmarkOptions {
  /** The dataset classes of each task, in local-label order (default: consecutive equal groups). */
  classSplit?: readonly (readonly number[])[];
}

function defaultSplit(numClasses: number, numTasks: number, dataset: string): number[][] {
  if (numTasks > numClasses) throw new RangeError(`split benchmark: ${numTasks} tasks but ${dataset} has only ${numClasses} classes; use at most ${numClasses} tasks`);
  if (numClasses % numTasks !== 0) {
    throw new RangeError(`split benchmark: ${dataset}'s ${numClasses} classes do not divide into ${numTasks} equal tasks; choose a divisor of ${numClasses} or give classSplit explicitly`);
  }
  const k = numClasses / numTasks;
  return Array.from({ length: numTasks }, (_, t) => Array.from({ length: k }, (_, i) => t * k + i));
}

function checkSplit(split: readonly (readonly number[])[], numClasses: number, numTasks: number, dataset: string): number[][] {
  if (split.length !== numTasks) throw new RangeError(`split benchmark: classSplit has ${split.length} tasks but numTasks is ${numTasks}; they must agree`);
  const owner = new Map<number, number>();
  split.forEach((classes, t) => {
    if (!Array.isArray(classes) || classes.length === 0) throw new RangeError(`split benchmark: classSplit task ${t + 1} has no classes`);
    for (const c of classes) {
      if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new RangeError(`split benchmark: classSplit task ${t + 1} names class ${String(c)}, but ${dataset} has classes 0..${numClasses - 1}`);
      const before = owner.get(c);
      if (before !== undefined) throw new RangeError(`split benchmark: class ${c} is in task ${before + 1} and task ${t + 1}; tasks must have disjoint classes`);
      owner.set(c, t);
    }
  });
  return split.map((c) => [...c]);
}

export class SplitBenchmark extends ImageBenchmark {
  readonly name: string;
  /** The dataset classes of each task (task t at index t - 1), in local-label order. */
  readonly classSplit: readonly (readonly number[])[];
  readonly #offsets: number[];

  constructor(options: SplitOptions) {
    super(options);
    const n = this.dataset.numClasses;
    const split = options.classSplit === undefined ? defaultSplit(n, this.numTasks, this.dataset.name) : checkSplit(options.classSplit, n, this.numTasks, this.dataset.name);
    this.classSplit = Object.freeze(split.map((c) => Object.freeze(c)));
    this.#offsets = [];
    let offset = 0;
    for (const classes of split) {
      this.#offsets.push(offset);
      offset += classes.length;
    }
    this.name = `split-${this.dataset.name}`;
  }

  override numClasses(task: TaskId): number {
    this.checkTask(task);
    return this.classSplit[task - 1]!.length;
  }

  override classOffset(task: TaskId): number {
    this.checkTask(task);
    return this.#offsets[task - 1]!;
  }

  /** The dataset classes of `task`; local label i is classes(task)[i]. */
  classes(task: TaskId): readonly number[] {
    this.checkTask(task);
    return this.classSplit[task - 1]!;
  }

  protected taskClasses(task: TaskId): readonly number[] {
    return this.classSplit[task - 1]!;
  }
}
