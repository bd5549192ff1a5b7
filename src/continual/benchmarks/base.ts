// What every image benchmark shares: loading the dataset once (its images
// kept as uint8), a fixed validation split of the training set, the optional
// cap on training examples, and each task's splits, made on first use and
// cached: a split holds its examples' indices and local labels, and builds
// inputs on demand (task_dataset.ts), so a task costs little memory however
// large the dataset, and many tasks can stay available for testing.
//
// An input is built as: select the task's examples from the raw bytes, scale
// to [0, 1], apply the task's transform (permutation, rotation, or nothing),
// normalise per channel (benchmark.normalize), relabel to local labels. The
// selections are fixed by the benchmark seed alone:
//   - validation: within each class, a seeded shuffle of the class's training
//     examples puts round(validationFraction x count) of them in the
//     validation set; the rest form the training pool. The split is made once
//     over the whole training set, so for every kind of benchmark the
//     validation examples of all tasks are disjoint from their training
//     examples, and a split benchmark's tasks see disjoint pieces of one split.
//   - trainLimit: a seeded shuffle of the training pool; a task keeps the first
//     trainLimit examples of its classes in that order. Permuted and rotated
//     tasks therefore share one subset (seen through different transforms).
// Selected examples keep the dataset's order; batches() does the shuffling.
import { type DatasetSpec, datasetSpec, loadDataset } from '../../data/registry.js';
import { type RawDataset, channelStatistics } from '../../data/raw.js';
import { tensor } from '../../tensor/creation.js';
import { keep } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Rng, deriveSeed } from './rng.js';
import type { ContinualBenchmark, TaskId, TaskSplits } from '../contracts/types.js';
import type { InputNormalization } from './options.js';
import { type ImageSource, type Selection, TaskDataset, selection } from './task_dataset.js';
import type { ImageTransform } from './transforms.js';

/** What every image benchmark is built from: the dataset, the number of tasks, the seed and the splits. */
export interface ImageBenchmarkOptions {
  /** A name from the dataset registry (default 'mnist-embedded'). */
  dataset?: string;
  /** Where the dataset's files are, when it has files (default: the dataset's default directory). */
  dataDir?: string;
  numTasks: number;
  /** Fixes task definitions (permutations, class order), the validation split and the training subset. */
  seed: number;
  /** Fraction of each class's training examples held out for validation, in [0, 1) (default 0.1). */
  validationFraction?: number;
  /** At most this many training examples per task (default: all). */
  trainLimit?: number;
  /** How pixels are scaled (default 'dataset': the dataset's per-channel mean and std). */
  normalize?: InputNormalization;
}

/** Indices of a task's examples in the dataset's training and test sets. */
export interface TaskIndices {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

interface Source {
  train: ImageSource;
  test: ImageSource;
  trainLabels: Uint8Array;
  testLabels: Uint8Array;
  /** Training examples not held out for validation, ascending. */
  trainPool: Int32Array;
  /** Validation examples, ascending. */
  valPool: Int32Array;
  /** The training pool in a fixed random order, for trainLimit. */
  limitOrder: Int32Array;
  mean: number[];
  std: number[];
}

/** A task's splits' selections (train, val, test). */
type Selections = readonly [Selection, Selection, Selection];

/** A task's splits, and what the benchmark frees with them. */
interface Task {
  splits: TaskSplits & { readonly train: TaskDataset; readonly val: TaskDataset; readonly test: TaskDataset };
  transform: ImageTransform | null;
  /** The task's own selections, or null when it uses the ones every task with all classes shares. */
  selections: Selections | null;
}

function disposeSelections(selections: readonly Selection[]): void {
  for (const s of selections) {
    s.index.dispose();
    s.y.dispose();
  }
}

function checkInteger(value: number, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${what} must be an integer >= ${min}, got ${value}`);
}

export abstract class ImageBenchmark implements ContinualBenchmark {
  abstract readonly name: string;
  readonly numTasks: number;
  readonly inputShape: readonly number[];
  readonly seed: number;
  readonly validationFraction: number;
  readonly trainLimit: number | null;
  readonly normalize: InputNormalization;
  readonly dataset: DatasetSpec;
  readonly dataDir: string | undefined;
  #source: Source | undefined;
  readonly #tasks = new Map<TaskId, Task>();
  /** The selections of the tasks that have every class (permuted, rotated): the same examples for all of them. */
  #allClasses: Selections | undefined;
  #disposed = false;

  constructor(options: ImageBenchmarkOptions) {
    this.dataset = datasetSpec(options.dataset ?? 'mnist-embedded');
    checkInteger(options.numTasks, 'numTasks', 1);
    checkInteger(options.seed, 'seed', 0);
    const fraction = options.validationFraction ?? 0.1;
    if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validationFraction must be in [0, 1), got ${fraction}`);
    if (options.trainLimit !== undefined) checkInteger(options.trainLimit, 'trainLimit', 1);
    this.numTasks = options.numTasks;
    this.seed = options.seed;
    this.validationFraction = fraction;
    this.trainLimit = options.trainLimit ?? null;
    this.normalize = options.normalize ?? 'dataset';
    this.dataDir = options.dataDir;
    this.inputShape = Object.freeze([...this.dataset.inputShape]);
  }

  /** Every task has all the dataset's classes (permuted, rotated); Split overrides this. */
  numClasses(task: TaskId): number {
    this.checkTask(task);
    return this.dataset.numClasses;
  }

  /** With every task holding all classes, task t's classes come after (t - 1) full sets. */
  classOffset(task: TaskId): number {
    this.checkTask(task);
    return (task - 1) * this.dataset.numClasses;
  }

  /** The dataset classes of `task` in local-label order, or null when the task has every class under its own label. */
  protected abstract taskClasses(task: TaskId): readonly number[] | null;

  /** The task's transform of images [N, C, H, W] in [0, 1], prepared for its batches; null (none) unless overridden. */
  protected taskTransform(_task: TaskId): ImageTransform | null {
    return null;
  }

  protected checkTask(task: TaskId): void {
    if (!Number.isInteger(task) || task < 1 || task > this.numTasks) throw new RangeError(`${this.name}: task ${task} does not exist (tasks are 1..${this.numTasks})`);
  }

  /** The per-channel mean and std (on the [0, 1] scale) that normalise the images, as `normalize` chose them (loads the dataset if needed). */
  get normalization(): { mean: readonly number[]; std: readonly number[] } {
    const { mean, std } = this.#load();
    return { mean, std };
  }

  #load(): Source {
    if (this.#disposed) throw new Error(`${this.name}: the benchmark has been disposed`);
    if (this.#source !== undefined) return this.#source;
    const rawTrain = loadDataset(this.dataset.name, 'train', this.dataDir);
    const rawTest = loadDataset(this.dataset.name, 'test', this.dataDir);
    const stats = this.#statistics(rawTrain);
    const { trainPool, valPool } = this.#validationSplit(rawTrain.labels);
    const limitOrder = new Rng(deriveSeed(this.seed, 'train-subset')).shuffle(trainPool.slice());
    const channels = stats.mean.length;
    const shape = [1, channels, 1, 1];
    // Scaling to [0, 1] and normalising share one multiply and one
    // subtraction: (p / 255 - mean) / std = p * (1 / (255 std)) - mean / std.
    const scale = keep(tensor(Float32Array.from(stats.std, (s) => 1 / (255 * s)), { shape }));
    const shift = keep(tensor(Float32Array.from(stats.mean, (m, c) => m / stats.std[c]!), { shape }));
    const held: Tensor[] = [scale, shift];
    try {
      for (const raw of [rawTrain, rawTest]) held.push(keep(tensor(raw.images, { shape: raw.shape })));
    } catch (error) {
      for (const t of held) t.dispose();
      throw error;
    }
    const [, , train, test] = held as [Tensor, Tensor, Tensor, Tensor];
    this.#source = {
      train: { images: train, scale, shift },
      test: { images: test, scale, shift },
      trainLabels: rawTrain.labels,
      testLabels: rawTest.labels,
      trainPool,
      valPool,
      limitOrder,
      mean: stats.mean,
      std: stats.std,
    };
    return this.#source;
  }

  /** The per-channel mean and std that normalisation uses, on the [0, 1] scale. */
  #statistics(rawTrain: RawDataset): { mean: number[]; std: number[] } {
    const channels = this.dataset.inputShape[0]!;
    switch (this.normalize) {
      case 'none':
        return { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
      case 'symmetric':
        return { mean: new Array<number>(channels).fill(0.5), std: new Array<number>(channels).fill(0.5) };
      case 'dataset':
        return this.dataset.mean !== null && this.dataset.std !== null ? { mean: [...this.dataset.mean], std: [...this.dataset.std] } : channelStatistics(rawTrain);
    }
  }

  #validationSplit(labels: Uint8Array): { trainPool: Int32Array; valPool: Int32Array } {
    const byClass = new Map<number, number[]>();
    labels.forEach((label, i) => {
      let list = byClass.get(label);
      if (list === undefined) byClass.set(label, (list = []));
      list.push(i);
    });
    const rng = new Rng(deriveSeed(this.seed, 'validation'));
    const isVal = new Uint8Array(labels.length);
    for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
      const members = rng.shuffle(byClass.get(label)!);
      const take = Math.round(members.length * this.validationFraction);
      for (let k = 0; k < take; k++) isVal[members[k]!] = 1;
    }
    const trainPool: number[] = [];
    const valPool: number[] = [];
    isVal.forEach((v, i) => (v ? valPool : trainPool).push(i));
    return { trainPool: Int32Array.from(trainPool), valPool: Int32Array.from(valPool) };
  }

  /** Which examples of the dataset's training and test sets make up `task`'s splits. */
  taskIndices(task: TaskId): TaskIndices {
    this.checkTask(task);
    const source = this.#load();
    const classes = this.taskClasses(task);
    const member = classes === null ? null : new Set(classes);
    const keepLabel = (label: number): boolean => member === null || member.has(label);
    const select = (candidates: ArrayLike<number>, labels: Uint8Array, limit: number | null): Int32Array => {
      const out: number[] = [];
      for (let k = 0; k < candidates.length && (limit === null || out.length < limit); k++) {
        const i = candidates[k]!;
        if (keepLabel(labels[i]!)) out.push(i);
      }
      return Int32Array.from(out).sort();
    };
    const all = Int32Array.from({ length: source.testLabels.length }, (_, i) => i);
    return {
      train: this.trainLimit === null ? select(source.trainPool, source.trainLabels, null) : select(source.limitOrder, source.trainLabels, this.trainLimit),
      val: select(source.valPool, source.trainLabels, null),
      test: select(all, source.testLabels, null),
    };
  }

  task(task: TaskId): TaskSplits {
    this.checkTask(task);
    const cached = this.#tasks.get(task);
    if (cached !== undefined) return cached.splits;
    const source = this.#load();
    const classes = this.taskClasses(task);
    let selections = classes === null ? this.#allClasses : undefined;
    selections ??= this.#selections(task, source, classes);
    if (classes === null) this.#allClasses = selections;
    let transform: ImageTransform | null;
    try {
      transform = this.taskTransform(task);
    } catch (error) {
      if (classes !== null) disposeSelections(selections);
      throw error;
    }
    const [train, val, test] = selections;
    const splits = { train: new TaskDataset(source.train, train, transform), val: new TaskDataset(source.train, val, transform), test: new TaskDataset(source.test, test, transform) };
    this.#tasks.set(task, { splits, transform, selections: classes === null ? null : selections });
    return splits;
  }

  /** The examples and local labels of `task`'s splits (indices computed once per task). */
  #selections(task: TaskId, source: Source, classes: readonly number[] | null): Selections {
    const indices = this.taskIndices(task);
    const localOf = new Int32Array(256).fill(-1);
    if (classes === null) for (let c = 0; c < 256; c++) localOf[c] = c;
    else classes.forEach((c, local) => (localOf[c] = local));
    const labels = (all: Uint8Array, ids: Int32Array): BigInt64Array => {
      const y = new BigInt64Array(ids.length);
      ids.forEach((i, k) => (y[k] = BigInt(localOf[all[i]!]!)));
      return y;
    };
    const made: Selection[] = [];
    try {
      for (const [all, ids] of [
        [source.trainLabels, indices.train],
        [source.trainLabels, indices.val],
        [source.testLabels, indices.test],
      ] as const) {
        made.push(selection(ids, labels(all, ids)));
      }
    } catch (error) {
      disposeSelections(made);
      throw error;
    }
    return [made[0]!, made[1]!, made[2]!];
  }

  /**
   * Frees the inputs of `task` that reading a split's `x` built in full; the
   * task's indices, labels and transform stay, so its batches can still be
   * built (testing it later costs no rebuilding).
   */
  releaseInputs(task: TaskId): void {
    const splits = this.#tasks.get(task)?.splits;
    if (splits !== undefined) for (const d of [splits.train, splits.val, splits.test]) d.releaseInputs();
  }

  /**
   * Frees everything the benchmark holds for `task` (made again if asked for
   * later), so that a long sequence of tasks used once each (the online
   * plasticity run) holds one task at a time.
   */
  release(task: TaskId): void {
    const held = this.#tasks.get(task);
    if (held === undefined) return;
    for (const d of [held.splits.train, held.splits.val, held.splits.test]) d.dispose();
    held.transform?.dispose();
    if (held.selections !== null) disposeSelections(held.selections);
    this.#tasks.delete(task);
  }

  /** Frees the cached tasks and the dataset tensors. The benchmark cannot be used afterwards. */
  dispose(): void {
    for (const task of [...this.#tasks.keys()]) this.release(task);
    if (this.#allClasses !== undefined) disposeSelections(this.#allClasses);
    this.#allClasses = undefined;
    if (this.#source !== undefined) {
      const { train, test } = this.#source;
      for (const t of [train.images, test.images, train.scale, train.shift]) t.dispose();
      this.#source = undefined;
    }
    this.#disposed = true;
  }
}
