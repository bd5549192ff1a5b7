// The continual-learning metrics, computed from the lower-triangular matrix of
// test results a_{t,j}: the accuracy on task j after training task t (j <= t).
// Tasks are 1-based here as in the papers; see docs/metrics.md for the
// formulas and where they differ from CLArena's.
//
// A metric that is undefined for the given number of tasks (backward transfer
// or forgetting with one task) is null, never NaN, so that it survives JSON
// and cannot silently poison an average.

/**
 * A lower-triangular matrix of per-task results, filled row by row as the run
 * proceeds: row t holds the results after training task t on tasks 1..t.
 */
export class TaskMatrix {
  private readonly rows: (number | undefined)[][] = [];

  /** `rows[t-1]` must hold exactly t values (the results after training task t). */
  constructor(
    readonly kind: 'accuracy' | 'loss',
    rows: readonly (readonly number[])[] = [],
  ) {
    rows.forEach((row, i) => {
      if (row.length !== i + 1) {
        throw new RangeError(`${kind} matrix: row ${i + 1} (after training task ${i + 1}) has ${row.length} ${row.length === 1 ? 'value' : 'values'}; expected ${i + 1}`);
      }
      row.forEach((value, j) => this.set(i + 1, j + 1, value));
    });
  }

  /** Number of rows begun, i.e. the last task trained so far. */
  get numTasks(): number {
    return this.rows.length;
  }

  /** Records the result on task `j` after training task `t` (1 <= j <= t). */
  set(t: number, j: number, value: number): void {
    checkIndex(t, j, this.kind);
    this.checkValue(t, j, value);
    while (this.rows.length < t) this.rows.push(new Array<number | undefined>(this.rows.length + 1).fill(undefined));
    this.rows[t - 1]![j - 1] = value;
  }

  has(t: number, j: number): boolean {
    return Number.isInteger(t) && Number.isInteger(j) && t >= 1 && j >= 1 && j <= t && this.rows[t - 1]?.[j - 1] !== undefined;
  }

  /** The result on task j after training task t; throws if it was never recorded. */
  get(t: number, j: number): number {
    checkIndex(t, j, this.kind);
    const value = this.rows[t - 1]?.[j - 1];
    if (value === undefined) throw new RangeError(`${this.kind} matrix: a_{${t},${j}} (task ${j} after training task ${t}) has not been recorded`);
    return value;
  }

  /** Row t: the results on tasks 1..t after training task t; throws if incomplete. */
  row(t: number): number[] {
    if (!Number.isInteger(t) || t < 1 || t > this.rows.length) {
      throw new RangeError(`${this.kind} matrix: no row for task ${t} (rows: 1..${this.rows.length})`);
    }
    return Array.from({ length: t }, (_, j) => this.get(t, j + 1));
  }

  /** Every row, as plain arrays (e.g. for JSON); throws if any value is missing. */
  toRows(): number[][] {
    return this.rows.map((_, i) => this.row(i + 1));
  }

  isComplete(): boolean {
    return this.rows.every((row) => row.every((v) => v !== undefined));
  }

  private checkValue(t: number, j: number, value: number): void {
    if (this.kind === 'accuracy') {
      // Accuracies are fractions of samples, not percentages.
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
        throw new RangeError(`accuracy matrix: a_{${t},${j}} must be a fraction in [0, 1], got ${value}`);
      }
    } else if (typeof value !== 'number' || value < 0) {
      // A diverged model may have an infinite or NaN test loss; that is a
      // result to report, but a negative cross-entropy is a bug.
      throw new RangeError(`loss matrix: l_{${t},${j}} must be >= 0 (or NaN/Infinity for a diverged model), got ${value}`);
    }
  }
}

function checkIndex(t: number, j: number, kind: string): void {
  if (!Number.isInteger(t) || !Number.isInteger(j) || t < 1 || j < 1 || j > t) {
    throw new RangeError(`${kind} matrix: (${t}, ${j}) is not a cell of the lower triangle (tasks count from 1, test task <= trained task)`);
  }
}

/** Test accuracies a_{t,j}, fractions in [0, 1]. */
export class AccuracyMatrix extends TaskMatrix {
  constructor(rows: readonly (readonly number[])[] = []) {
    super('accuracy', rows);
  }
}

/** Test classification losses l_{t,j}. */
export class LossMatrix extends TaskMatrix {
  constructor(rows: readonly (readonly number[])[] = []) {
    super('loss', rows);
  }
}

/**
 * Results of a reference run, either as a matrix or as one value per task.
 * What is read from it depends on the metric (see fwt and forgettingRatio).
 */
export type TaskReference = TaskMatrix | readonly number[];

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function lastTask(matrix: TaskMatrix, t: number | undefined, what: string): number {
  const T = t ?? matrix.numTasks;
  if (matrix.numTasks === 0) throw new RangeError(`${what}: the ${matrix.kind} matrix has no rows`);
  if (!Number.isInteger(T) || T < 1 || T > matrix.numTasks) throw new RangeError(`${what}: task ${T} is out of range 1..${matrix.numTasks}`);
  return T;
}

/** AA_t = (1/t) Σ_{j<=t} a_{t,j}; t defaults to the last task. Also the average loss when given a LossMatrix. */
export function averageAccuracy(acc: TaskMatrix, t?: number): number {
  const T = lastTask(acc, t, 'averageAccuracy');
  return mean(acc.row(T));
}

/** AA_1, ..., AA_T. */
export function averageAccuracies(acc: TaskMatrix): number[] {
  return Array.from({ length: acc.numTasks }, (_, i) => averageAccuracy(acc, i + 1));
}

/**
 * Backward transfer after task T (the last by default):
 * BWT_T = 1/(T−1) Σ_{j<T} (a_{T,j} − a_{j,j}). Negative means forgetting.
 * Null for T = 1, where no earlier task exists.
 */
export function bwt(acc: AccuracyMatrix, t?: number): number | null {
  const T = lastTask(acc, t, 'bwt');
  if (T === 1) return null;
  const diffs: number[] = [];
  for (let j = 1; j < T; j++) diffs.push(acc.get(T, j) - acc.get(j, j));
  return mean(diffs);
}

/** BWT_1 (null), BWT_2, ..., BWT_T. */
export function bwtCurve(acc: AccuracyMatrix): (number | null)[] {
  return Array.from({ length: acc.numTasks }, (_, i) => bwt(acc, i + 1));
}

/**
 * Forgetting of each earlier task after training task k (Chaudhry et al. 2018):
 * f_j^k = max_{l<k} a_{l,j} − a_{k,j} for j < k (the best accuracy task j ever
 * had before, minus its accuracy now). Index j−1 holds f_j^k.
 */
export function forgettingPerTask(acc: AccuracyMatrix, k?: number): number[] {
  const K = lastTask(acc, k, 'forgetting');
  const out: number[] = [];
  for (let j = 1; j < K; j++) {
    let best = -Infinity;
    for (let l = j; l < K; l++) best = Math.max(best, acc.get(l, j));
    out.push(best - acc.get(K, j));
  }
  return out;
}

/** F_k = 1/(k−1) Σ_{j<k} f_j^k; k defaults to the last task. Null for k = 1. */
export function forgetting(acc: AccuracyMatrix, k?: number): number | null {
  const K = lastTask(acc, k, 'forgetting');
  return K === 1 ? null : mean(forgettingPerTask(acc, K));
}

/** F_1 (null), F_2, ..., F_T. */
export function forgettingCurve(acc: AccuracyMatrix): (number | null)[] {
  return Array.from({ length: acc.numTasks }, (_, i) => forgetting(acc, i + 1));
}

/** ã_{t,t} of a reference: the diagonal of a matrix, or entry t−1 of a per-task list. */
function referenceDiagonal(reference: TaskReference, t: number, what: string): number {
  if (reference instanceof TaskMatrix) {
    if (reference.numTasks < t) throw new RangeError(`${what}: the reference matrix has ${reference.numTasks} tasks; task ${t} is needed`);
    return reference.get(t, t);
  }
  const value = reference[t - 1];
  if (value === undefined) throw new RangeError(`${what}: the reference has ${reference.length} tasks; task ${t} is needed`);
  return value;
}

/** The reference's accuracy on each task 1..T at the end: row T of a matrix, or the list itself. */
function referenceFinal(reference: TaskReference, T: number, what: string): number[] {
  if (reference instanceof TaskMatrix) {
    if (reference.numTasks < T) throw new RangeError(`${what}: the reference matrix has ${reference.numTasks} tasks; ${T} are needed`);
    return reference.row(T);
  }
  if (reference.length < T) throw new RangeError(`${what}: the reference has ${reference.length} tasks; ${T} are needed`);
  return reference.slice(0, T);
}

/**
 * Forward transfer after task T (the last by default) against a reference run:
 * FWT_T = 1/(T−1) Σ_{t=2..T} (a_{t,t} − ã_{t,t}), where ã_{t,t} is the
 * reference's accuracy on task t: independent models trained on each task
 * alone, or an untrained (random) model. Positive means earlier tasks helped
 * learn later ones. Null for T = 1.
 */
export function fwt(acc: AccuracyMatrix, reference: TaskReference, t?: number): number | null {
  const T = lastTask(acc, t, 'fwt');
  if (T === 1) return null;
  const diffs: number[] = [];
  for (let k = 2; k <= T; k++) diffs.push(acc.get(k, k) - referenceDiagonal(reference, k, 'fwt'));
  return mean(diffs);
}

/**
 * The forgetting ratio after the last task T, as CLArena's full evaluation
 * computes its "forgetting rate" (FR):
 *
 *   FR = (1/T) Σ_{t=1..T} (a_{T,t} − r_t) / (J_t − r_t) − 1
 *
 * where J_t is the accuracy on task t of one model trained jointly on all
 * tasks and r_t that of an untrained (random) model. Each term places the
 * final accuracy between chance (0) and the joint upper bound (1); FR is their
 * mean minus one: 0 when every task is as good as joint training, −1 at chance.
 * From a matrix reference, row T is read (the joint model after all tasks, the
 * random model's accuracy on each task). Null when some J_t equals r_t (the
 * ratio is undefined), instead of CLArena's division by zero.
 */
export function forgettingRatio(acc: AccuracyMatrix, joint: TaskReference, random: TaskReference): number | null {
  const T = lastTask(acc, undefined, 'forgettingRatio');
  const final = acc.row(T);
  const j = referenceFinal(joint, T, 'forgettingRatio (joint)');
  const r = referenceFinal(random, T, 'forgettingRatio (random)');
  const terms: number[] = [];
  for (let t = 0; t < T; t++) {
    const span = j[t]! - r[t]!;
    if (span === 0) return null;
    terms.push((final[t]! - r[t]!) / span);
  }
  return mean(terms) - 1;
}
