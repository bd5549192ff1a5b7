// Split benchmarks (e.g. Split MNIST 5 x 2, Split CIFAR-100 10 x 10): the
// classes are partitioned into tasks. By default task t gets the t-th group
// of consecutive classes (numClasses / numTasks each, which must divide);
// `classSplit` names the classes of each task explicitly (disjoint, not
// necessarily covering every class). Labels in the task datasets are local:
// the position of the class in its task's list, 0 .. k-1. classOffset(t)
// counts the classes of the tasks before t, which the class-incremental
// heads add to reach the global label.
import type { TaskId } from '../contracts/types.js';
import { ImageBenchmark, type ImageBenchmarkOptions } from './base.js';
import { equalClassSplit, formatBenchmarkProblems, splitProblems } from './feasibility.js';

/** Options of the split benchmark: each task holds some of the dataset's classes. */
export interface SplitOptions extends ImageBenchmarkOptions {
  /** The dataset classes of each task, in local-label order (default: consecutive equal groups). */
  classSplit?: readonly (readonly number[])[];
}

export class SplitBenchmark extends ImageBenchmark {
  readonly name: string;
  /** The dataset classes of each task (task t at index t - 1), in local-label order. */
  readonly classSplit: readonly (readonly number[])[];
  readonly #offsets: number[];

  constructor(options: SplitOptions) {
    super(options);
    const problems = splitProblems(this.dataset, this.numTasks, options.classSplit);
    if (problems.length > 0) throw new RangeError(formatBenchmarkProblems('split', problems));
    const split = options.classSplit?.map((c) => [...c]) ?? equalClassSplit(this.dataset.numClasses, this.numTasks);
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
