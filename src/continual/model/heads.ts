// Output heads per paradigm (algorithms.md section 1): linear layers from the
// backbone's feature to class logits.
//
//   TIL  one head per task; the task id picks it.
//   CIL  one head per task; logits of all heads set up so far are
//        concatenated, and local labels are offset into that class space.
//        Or, full-width (Mammoth's class-IL convention, which DER needs):
//        one head over every class of the benchmark, created at task 1;
//        training logits cover all classes (unseen ones included, so the
//        cross-entropy pushes their logits down), while testing and
//        validation (eval mode) score only the classes of the tasks set up
//        so far, as the growing heads do.
//   DIL  one head, created on the first task and shared by all.
//
// The heads live in the array property `heads` (task t is heads[t - 1]), so
// Module registers them as heads.0, heads.1, ... (parameter names
// 'heads.0.weight', 'heads.0.bias', ...) and state dicts hold every head
// created so far. Tasks must be set up in order, 1, 2, 3, ...; setting up a
// task again is a no-op, as a resumed run does when it rebuilds its heads.
import { Linear } from '../../nn/layers/linear.js';
import { Module } from '../../nn/module.js';
import type { DType } from '../../tensor/dtype.js';
import { cat } from '../../tensor/functions.js';
import { tidy } from '../../tensor/scope.js';
import type { Device, Tensor } from '../../tensor/tensor.js';
import type { Heads, Paradigm, TaskId } from '../contracts/types.js';

/** Where and how createHeads makes new heads. */
export interface HeadsOptions {
  /** Where new heads are created while none exists yet (default: cpu, or moved by to()). Later heads follow the first. */
  device?: Device;
  /** dtype of new heads while none exists yet (default float32). */
  dtype?: DType;
  /**
   * CIL only: one head over this many classes (all the benchmark's), created
   * at task 1, instead of one head per task. Absent: growing heads.
   */
  fullWidth?: number;
}

function checkPositiveInteger(fn: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${fn}: ${what} must be a positive integer, got ${n}`);
}

abstract class HeadsBase extends Module implements Heads {
  abstract readonly paradigm: Paradigm;
  readonly featureDim: number;
  /** Head of task t at index t - 1 (DIL: the one shared head at index 0). */
  heads: Linear[] = [];
  /** Tasks set up so far: 1..tasksSetUp. */
  protected tasksSetUp = 0;
  private device: Device | undefined;
  private dtype: DType | undefined;

  constructor(featureDim: number, options: HeadsOptions = {}) {
    super();
    checkPositiveInteger(new.target.name, 'featureDim', featureDim);
    this.featureDim = featureDim;
    this.device = options.device;
    this.dtype = options.dtype;
  }

  /** Number of tasks set up so far. */
  get numTasks(): number {
    return this.tasksSetUp;
  }

  /** A new head on the device and dtype of the existing ones (or the configured ones). */
  protected newHead(numClasses: number): Linear {
    const first = this.heads[0];
    const device = first?.weight.device ?? this.device;
    const dtype = first?.weight.dtype ?? this.dtype;
    return new Linear(this.featureDim, numClasses, { device, dtype });
  }

  /** Checks the task id for setupTask; returns true when the task is new. */
  protected checkSetup(task: TaskId, numClasses: number): boolean {
    const fn = `${this.constructor.name}.setupTask`;
    checkPositiveInteger(fn, 'the task id', task);
    checkPositiveInteger(fn, 'numClasses', numClasses);
    if (task > this.tasksSetUp + 1) {
      throw new RangeError(`${fn}: tasks are set up in order; task ${task} comes after task ${this.tasksSetUp + 1}, which is not set up`);
    }
    return task === this.tasksSetUp + 1;
  }

  protected checkTask(fn: string, task: TaskId): void {
    if (!Number.isInteger(task) || task < 1 || task > this.tasksSetUp) {
      const known = this.tasksSetUp === 0 ? 'no task is set up yet' : `tasks 1..${this.tasksSetUp} are set up`;
      throw new RangeError(`${this.constructor.name}.${fn}: task ${task} was never set up (${known}; call setupTask first)`);
    }
  }

  protected checkFeature(feature: Tensor): void {
    if (feature.ndim !== 2 || feature.shape[1] !== this.featureDim) {
      throw new RangeError(`${this.constructor.name}.forward: expected features [N, ${this.featureDim}], got shape [${feature.shape.join(', ')}]`);
    }
  }

  /** The head that serves `task` (TIL/CIL: the task's own; DIL: the shared one). */
  head(task: TaskId): Linear {
    this.checkTask('head', task);
    return this.heads[this.paradigm === 'dil' ? 0 : task - 1]!;
  }

  /** Number of classes of `task`. */
  numClasses(task: TaskId): number {
    return this.head(task).outFeatures;
  }

  /** Remembers the target so that heads created later go there too. */
  override to(target: DType | Device): this {
    super.to(target);
    if (target === 'cpu' || target.startsWith('cuda')) this.device = target as Device;
    else this.dtype = target as DType;
    return this;
  }

  /** One new head per task, in task order (TIL and CIL); setting a task up again is a no-op. */
  setupTask(task: TaskId, numClasses: number): void {
    if (!this.checkSetup(task, numClasses)) {
      checkSameClasses(this, task, numClasses, this.heads[task - 1]!.outFeatures);
      return;
    }
    this.heads.push(this.newHead(numClasses));
    this.tasksSetUp = task;
  }
  abstract forward(feature: Tensor, task: TaskId): Tensor;
  abstract targets(localLabels: Tensor, task: TaskId): Tensor;
}

/** Task-incremental: one head per task, chosen by the task id. */
export class HeadsTIL extends HeadsBase {
  readonly paradigm = 'til' as const;

  /** Logits of `task`'s own head, [N, numClasses(task)]. */
  forward(feature: Tensor, task: TaskId): Tensor {
    this.checkTask('forward', task);
    this.checkFeature(feature);
    return this.heads[task - 1]!.forward(feature);
  }

  /** The local labels (a new handle on the same data). */
  targets(localLabels: Tensor, task: TaskId): Tensor {
    this.checkTask('targets', task);
    return localLabels.detach();
  }
}

/**
 * Class-incremental: one head per task, logits over every class seen so far;
 * or (with `fullWidth`) one head over every class of the benchmark.
 */
export class HeadsCIL extends HeadsBase {
  readonly paradigm = 'cil' as const;
  /** The full head's number of classes, or undefined for growing heads. */
  readonly fullWidth: number | undefined;
  /** Classes of task t at index t - 1. */
  private readonly taskClasses: number[] = [];

  constructor(featureDim: number, options: HeadsOptions = {}) {
    super(featureDim, options);
    if (options.fullWidth !== undefined) checkPositiveInteger('HeadsCIL', 'fullWidth', options.fullWidth);
    this.fullWidth = options.fullWidth;
  }

  /** Whether one head covers every class of the benchmark from task 1. */
  get isFullWidth(): boolean {
    return this.fullWidth !== undefined;
  }

  /** Growing: one new head per task. Full-width: the one head at task 1; later tasks only claim their classes in it. */
  override setupTask(task: TaskId, numClasses: number): void {
    if (!this.checkSetup(task, numClasses)) {
      checkSameClasses(this, task, numClasses, this.taskClasses[task - 1]!);
      return;
    }
    if (this.fullWidth === undefined) this.heads.push(this.newHead(numClasses));
    else {
      const seen = this.seenClasses;
      if (seen + numClasses > this.fullWidth) {
        throw new RangeError(`HeadsCIL.setupTask: task ${task}'s ${numClasses} classes after ${seen} would exceed the full-width head's ${this.fullWidth} classes; give fullWidth the benchmark's total number of classes`);
      }
      if (task === 1) this.heads.push(this.newHead(this.fullWidth));
    }
    this.taskClasses.push(numClasses);
    this.tasksSetUp = task;
  }

  /** The head that serves `task`: its own, or the one full-width head. */
  override head(task: TaskId): Linear {
    this.checkTask('head', task);
    return this.heads[this.fullWidth === undefined ? task - 1 : 0]!;
  }

  override numClasses(task: TaskId): number {
    this.checkTask('numClasses', task);
    return this.taskClasses[task - 1]!;
  }

  /** Classes of all tasks before `task` (where its classes start in the logits). */
  classOffset(task: TaskId): number {
    this.checkTask('classOffset', task);
    let offset = 0;
    for (let t = 1; t < task; t++) offset += this.taskClasses[t - 1]!;
    return offset;
  }

  /** Classes of all tasks set up so far (the width of forward's logits in eval mode, and always with growing heads). */
  get seenClasses(): number {
    return this.taskClasses.reduce((n, c) => n + c, 0);
  }

  /** The width of forward's logits: in training, the full head's width when there is one, else the classes seen. */
  get totalClasses(): number {
    return this.fullWidth !== undefined && this.training ? this.fullWidth : this.seenClasses;
  }

  /**
   * Logits over every class seen so far, [N, seenClasses]: a sample of `task`
   * competes with every class seen, whichever task it comes from (`task` must
   * be set up). Growing heads concatenate their heads in task order. The
   * full-width head gives all its classes in training, [N, fullWidth], and in
   * eval mode (testing, validation) only the classes of the tasks set up so
   * far: a class no task has shown is never a prediction.
   */
  forward(feature: Tensor, task: TaskId): Tensor {
    this.checkTask('forward', task);
    this.checkFeature(feature);
    if (this.fullWidth !== undefined) {
      const seen = this.seenClasses;
      if (this.training || seen === this.fullWidth) return this.heads[0]!.forward(feature);
      return tidy(() => this.heads[0]!.forward(feature).narrow(1, 0, seen).contiguous());
    }
    if (this.heads.length === 1) return this.heads[0]!.forward(feature);
    return tidy(() => cat(this.heads.map((h) => h.forward(feature)), 1));
  }

  /** Local labels plus the task's class offset: indices into forward's logits. */
  targets(localLabels: Tensor, task: TaskId): Tensor {
    const offset = this.classOffset(task);
    return offset === 0 ? localLabels.detach() : localLabels.add(offset);
  }
}

/** Domain-incremental: one head, created on the first task and shared by all tasks (which must have its class count). */
export class HeadDIL extends HeadsBase {
  readonly paradigm = 'dil' as const;

  override setupTask(task: TaskId, numClasses: number): void {
    const isNew = this.checkSetup(task, numClasses);
    const head = this.heads[0];
    if (head === undefined) this.heads.push(this.newHead(numClasses));
    else if (head.outFeatures !== numClasses) {
      throw new RangeError(
        `HeadDIL.setupTask: task ${task} has ${numClasses} classes, but the shared head has ${head.outFeatures}; domain-incremental tasks must share one label space`,
      );
    }
    if (isNew) this.tasksSetUp = task;
  }

  /** Logits of the shared head, [N, numClasses]. */
  forward(feature: Tensor, task: TaskId): Tensor {
    this.checkTask('forward', task);
    this.checkFeature(feature);
    return this.heads[0]!.forward(feature);
  }

  /** The local labels (a new handle on the same data). */
  targets(localLabels: Tensor, task: TaskId): Tensor {
    this.checkTask('targets', task);
    return localLabels.detach();
  }
}

function checkSameClasses(heads: HeadsBase, task: TaskId, numClasses: number, existing: number): void {
  if (numClasses !== existing) {
    throw new RangeError(`${heads.constructor.name}.setupTask: task ${task} is already set up with ${existing} classes, not ${numClasses}`);
  }
}

/** The heads of any paradigm, as createHeads returns them. */
export type AnyHeads = HeadsTIL | HeadsCIL | HeadDIL;

/** The heads of `paradigm` for features of size `featureDim`. */
export function createHeads(paradigm: Paradigm, featureDim: number, options: HeadsOptions = {}): AnyHeads {
  if (options.fullWidth !== undefined && paradigm !== 'cil') throw new RangeError(`createHeads: a full-width head is for paradigm cil only, not ${paradigm}`);
  switch (paradigm) {
    case 'til':
      return new HeadsTIL(featureDim, options);
    case 'cil':
      return new HeadsCIL(featureDim, options);
    case 'dil':
      return new HeadDIL(featureDim, options);
    default:
      throw new Error(`unknown paradigm '${String(paradigm)}' (available: til, cil, dil)`);
  }
}
