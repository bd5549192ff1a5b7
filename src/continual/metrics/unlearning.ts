// Continual-unlearning metrics (algorithms.md section 10; docs/metrics.md,
// "Unlearning"). An unlearned model is compared with the retrain reference,
// a model trained on the same sequence without the unlearned tasks, which is
// what perfect unlearning would give:
//
//   accuracy gain  AG = (1/|R|) Σ_{j∈R} (a_{T,j} − ã_j)   over the remaining tasks R,
//                  ã_j the retrain reference's final accuracy on task j;
//   feature distances between the two backbones' outputs X, Y ∈ R^{N×D} on
//   the same N test inputs (row n is sample n):
//     euclidean    (1/N) Σ_n ‖x_n − y_n‖₂
//     cosine       (1/N) Σ_n (1 − cos(x_n, y_n))
//     manhattan    (1/N) Σ_n ‖x_n − y_n‖₁
//     linear CKA   ‖Ỹᵀ X̃‖²_F / (‖X̃ᵀ X̃‖_F ‖Ỹᵀ Ỹ‖_F)  (Kornblith et al. 2019),
//                  X̃, Ỹ with centred columns; a similarity in [0, 1], 1 when
//                  Y is X up to rotation and scale.
// Everything is computed in float64.
//
// An unlearned task's fall is intended, so it is reported apart from
// forgetting: BWT and forgetting after task t cover only the tasks no request
// up to t has unlearned (remainingBwtCurve, remainingForgettingCurve), and
// each unlearned task's drop is its accuracy just before the request minus
// a_{k,u} just after (k the task after which it was unlearned).
import { noGrad } from '../../tensor/autograd.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { TaskId } from '../contracts/types.js';
import { type AccuracyMatrix, forgettingPerTask } from './matrix.js';

/** Below this norm a feature vector counts as zero in the cosine (PyTorch's cosine_similarity eps). */
const COSINE_EPS = 1e-8;

function checkPair(fn: string, x: Tensor, y: Tensor): void {
  if (x.ndim !== 2 || y.ndim !== 2 || x.shape[0] !== y.shape[0] || x.shape[1] !== y.shape[1]) {
    throw new RangeError(`${fn}: expected two feature matrices of the same shape [N, D], got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
  }
  if (x.shape[0] === 0) throw new RangeError(`${fn}: no samples to compare`);
}

/** (1/N) Σ_n ‖x_n − y_n‖₂. */
export function euclideanDistance(x: Tensor, y: Tensor): number {
  checkPair('euclideanDistance', x, y);
  return noGrad(() => tidy(() => x.double().sub(y.double()).norm(2, 1).mean().item()));
}

/** (1/N) Σ_n ‖x_n − y_n‖₁. */
export function manhattanDistance(x: Tensor, y: Tensor): number {
  checkPair('manhattanDistance', x, y);
  return noGrad(() => tidy(() => x.double().sub(y.double()).abs().sum(1).mean().item()));
}

/**
 * (1/N) Σ_n (1 − x_n·y_n / (max(‖x_n‖, ε) max(‖y_n‖, ε))), ε = 1e-8: a zero
 * vector has cosine similarity 0 with a non-zero one, as in PyTorch, but two
 * zero vectors (both norms ≤ ε) are the same feature, similarity 1. (PyTorch
 * gives them 0: ReLU backbones map many inputs to the zero vector, and two
 * identical models would then be at a distance of the share of such inputs.)
 */
export function cosineDistance(x: Tensor, y: Tensor): number {
  checkPair('cosineDistance', x, y);
  return noGrad(() =>
    tidy(() => {
      const a = x.double();
      const b = y.double();
      const normA = a.norm(2, 1);
      const normB = b.norm(2, 1);
      const cos = a.mul(b).sum(1).div(normA.clamp(COSINE_EPS).mul(normB.clamp(COSINE_EPS)));
      const bothZero = normA.le(COSINE_EPS).logicalAnd(normB.le(COSINE_EPS));
      return cos.maskedFill(bothZero, 1).neg().add(1).mean().item();
    }),
  );
}

/** Linear CKA of two representations of the same samples; null when either is constant over the samples. */
export function linearCka(x: Tensor, y: Tensor): number | null {
  if (x.ndim !== 2 || y.ndim !== 2 || x.shape[0] !== y.shape[0]) {
    throw new RangeError(`linearCka: expected feature matrices [N, D] and [N, D'] of the same samples, got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
  }
  return noGrad(() =>
    tidy(() => {
      const a = x.double();
      const b = y.double();
      const ac = a.sub(a.mean(0, true));
      const bc = b.sub(b.mean(0, true));
      const cross = bc.t().matmul(ac).square().sum().item();
      const denominator = ac.t().matmul(ac).norm().item() * bc.t().matmul(bc).norm().item();
      return denominator > 0 ? cross / denominator : null;
    }),
  );
}

/** How far apart two models' features are on the same inputs (unlearning compares the unlearned model with the retrain reference). */
export interface FeatureDistances {
  euclidean: number;
  cosine: number;
  manhattan: number;
  /** A similarity (1 = the same up to rotation and scale); null when undefined. */
  linearCka: number | null;
}

/** Euclidean, cosine and manhattan distances and linear CKA between two feature matrices of the same inputs. */
export function featureDistances(x: Tensor, y: Tensor): FeatureDistances {
  return { euclidean: euclideanDistance(x, y), cosine: cosineDistance(x, y), manhattan: manhattanDistance(x, y), linearCka: linearCka(x, y) };
}

/** AG = mean over the remaining tasks of (unlearned model's accuracy − retrain reference's); null with no remaining task. */
export function accuracyGain(unlearned: readonly number[], retrain: readonly number[]): number | null {
  if (unlearned.length !== retrain.length) throw new RangeError(`accuracyGain: ${unlearned.length} accuracies of the unlearned model but ${retrain.length} of the retrain reference`);
  if (unlearned.length === 0) return null;
  return unlearned.reduce((sum, a, i) => sum + (a - retrain[i]!), 0) / unlearned.length;
}

/** The mean of each distance over several tasks (CKA over those where it is defined); null for no task. */
export function meanDistances(list: readonly FeatureDistances[]): FeatureDistances | null {
  if (list.length === 0) return null;
  const mean = (values: number[]): number => values.reduce((s, v) => s + v, 0) / values.length;
  const cka = list.map((d) => d.linearCka).filter((v): v is number => v !== null);
  return {
    euclidean: mean(list.map((d) => d.euclidean)),
    cosine: mean(list.map((d) => d.cosine)),
    manhattan: mean(list.map((d) => d.manhattan)),
    linearCka: cka.length === 0 ? null : mean(cka),
  };
}

/** Unlearn `tasks` after training task `afterTask`. */
export interface UnlearningRequestRecord {
  afterTask: TaskId;
  tasks: TaskId[];
}

/** A task's accuracy at one moment (here: just before a request unlearned it). */
export interface TaskAccuracy {
  task: TaskId;
  accuracy: number;
}

/** What a run with unlearning requests produced besides its accuracy matrix. */
export interface UnlearningResults {
  requests: readonly UnlearningRequestRecord[];
  /** Each unlearned task's test accuracy measured just before its request ran (after the task that request follows was trained). */
  beforeUnlearning?: readonly TaskAccuracy[];
  /** The retrain reference: trained on the kept `tasks` in order. */
  retrain?: {
    tasks: TaskId[];
    /** Its final accuracy on tasks[i]. */
    accuracy: number[];
    /** Feature distances to the unlearned model on the test data of every task 1..T. */
    distances: FeatureDistances[];
  };
  /** The accuracy matrix of the original reference (the same run without unlearning). */
  original?: number[][];
}

/** One task's line of the unlearning table (unlearning.csv). */
export interface UnlearningTaskRow {
  task: TaskId;
  /** The task after which this task was unlearned; null for a remaining task. */
  unlearnedAfterTask: TaskId | null;
  /** The unlearned model's final accuracy a_{T,j}. */
  accuracy: number;
  /** The retrain reference's final accuracy (remaining tasks only). */
  retrainAccuracy: number | null;
  /** The original reference's final accuracy. */
  originalAccuracy: number | null;
  /** a_{T,j} − retrain accuracy (remaining tasks only). */
  accuracyGain: number | null;
  /** Feature distances to the retrain reference on this task's test data. */
  distance: FeatureDistances | null;
  /** An unlearned task's accuracy just before its request ran. */
  accuracyBeforeUnlearning: number | null;
  /** That accuracy minus a_{k,j} just after the request (after task k): what unlearning took away. */
  unlearnedDrop: number | null;
}

/** A run's continual-unlearning results, as summary.json holds them. */
export interface UnlearningSummary {
  requests: UnlearningRequestRecord[];
  unlearnedTasks: TaskId[];
  remainingTasks: TaskId[];
  /** The unlearned model's mean final accuracy over the remaining tasks; null with none. */
  remainingAverageAccuracy: number | null;
  /** AG over the remaining tasks; null without the retrain reference or without remaining tasks. */
  accuracyGain: number | null;
  /** Mean feature distances to the retrain reference on the unlearned tasks' and on the remaining tasks' test data. */
  distance: { unlearned: FeatureDistances | null; remaining: FeatureDistances | null } | null;
  /** AA of the original reference after the last task. */
  originalAverageAccuracy: number | null;
  /** The mean drop of the unlearned tasks whose accuracy before the request was measured; null with none. */
  unlearnedDrop: number | null;
  tasks: UnlearningTaskRow[];
}

/** The tasks unlearned by the requests that ran after tasks 1..t. */
function unlearnedBy(requests: readonly UnlearningRequestRecord[], t: TaskId): Set<TaskId> {
  return new Set(requests.filter((r) => r.afterTask <= t).flatMap((r) => r.tasks));
}

function meanOrNull(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * BWT_t over the remaining tasks, t = 1..T: 1/|R_t| Σ_{j<t, j∈R_t} (a_{t,j} − a_{j,j}),
 * R_t the tasks no request up to t unlearned; null when no earlier task
 * remains. Without requests it is bwtCurve, value for value.
 */
export function remainingBwtCurve(acc: AccuracyMatrix, requests: readonly UnlearningRequestRecord[]): (number | null)[] {
  return Array.from({ length: acc.numTasks }, (_, i) => {
    const t = i + 1;
    const gone = unlearnedBy(requests, t);
    const diffs: number[] = [];
    for (let j = 1; j < t; j++) if (!gone.has(j)) diffs.push(acc.get(t, j) - acc.get(j, j));
    return meanOrNull(diffs);
  });
}

/**
 * Forgetting F_t over the remaining tasks, t = 1..T: the mean of f_j^t over
 * j < t in R_t; null when no earlier task remains. Without requests it is
 * forgettingCurve, value for value.
 */
export function remainingForgettingCurve(acc: AccuracyMatrix, requests: readonly UnlearningRequestRecord[]): (number | null)[] {
  return Array.from({ length: acc.numTasks }, (_, i) => {
    const t = i + 1;
    if (t === 1) return null;
    const gone = unlearnedBy(requests, t);
    return meanOrNull(forgettingPerTask(acc, t).filter((_f, j) => !gone.has(j + 1)));
  });
}

/** The unlearning table and headline numbers from the run's accuracy matrix and the references. */
export function summarizeUnlearning(acc: AccuracyMatrix, results: UnlearningResults): UnlearningSummary {
  const numTasks = acc.numTasks;
  const finalAccuracy = acc.row(numTasks);
  const unlearnedAfter = new Map<TaskId, TaskId>();
  for (const r of results.requests) for (const u of r.tasks) unlearnedAfter.set(u, r.afterTask);
  const before = new Map((results.beforeUnlearning ?? []).map((b) => [b.task, b.accuracy]));
  const { retrain, original } = results;
  const originalFinal = original?.[numTasks - 1];
  if (original !== undefined && originalFinal?.length !== numTasks) {
    throw new RangeError(`summarizeUnlearning: the original reference has ${original.length} rows, expected ${numTasks}`);
  }
  if (retrain !== undefined && retrain.distances.length !== numTasks) {
    throw new RangeError(`summarizeUnlearning: feature distances for ${retrain.distances.length} tasks, expected ${numTasks}`);
  }
  const tasks: UnlearningTaskRow[] = finalAccuracy.map((accuracy, i) => {
    const task = i + 1;
    const k = retrain?.tasks.indexOf(task) ?? -1;
    const retrainAccuracy = k >= 0 ? retrain!.accuracy[k]! : null;
    const afterTask = unlearnedAfter.get(task);
    const accuracyBeforeUnlearning = afterTask === undefined ? null : before.get(task) ?? null;
    return {
      task,
      unlearnedAfterTask: unlearnedAfter.get(task) ?? null,
      accuracy,
      retrainAccuracy,
      originalAccuracy: originalFinal?.[i] ?? null,
      accuracyGain: retrainAccuracy === null ? null : accuracy - retrainAccuracy,
      distance: retrain?.distances[i] ?? null,
      accuracyBeforeUnlearning,
      unlearnedDrop: accuracyBeforeUnlearning === null ? null : accuracyBeforeUnlearning - acc.get(afterTask!, task),
    };
  });
  const unlearnedTasks = tasks.filter((r) => r.unlearnedAfterTask !== null).map((r) => r.task);
  const remainingTasks = tasks.filter((r) => r.unlearnedAfterTask === null).map((r) => r.task);
  if (retrain !== undefined && retrain.tasks.join() !== remainingTasks.join()) {
    throw new RangeError(`summarizeUnlearning: the retrain reference was trained on tasks [${retrain.tasks.join(', ')}], but the remaining tasks are [${remainingTasks.join(', ')}]`);
  }
  const distancesOf = (list: TaskId[]): FeatureDistances | null => meanDistances(list.map((t) => tasks[t - 1]!.distance!));
  return {
    requests: results.requests.map((r) => ({ afterTask: r.afterTask, tasks: [...r.tasks] })),
    unlearnedTasks,
    remainingTasks,
    remainingAverageAccuracy: remainingTasks.length === 0 ? null : remainingTasks.reduce((s, t) => s + finalAccuracy[t - 1]!, 0) / remainingTasks.length,
    accuracyGain: retrain === undefined ? null : accuracyGain(remainingTasks.map((t) => finalAccuracy[t - 1]!), remainingTasks.map((t) => tasks[t - 1]!.retrainAccuracy!)),
    distance: retrain === undefined ? null : { unlearned: distancesOf(unlearnedTasks), remaining: distancesOf(remainingTasks) },
    originalAverageAccuracy: originalFinal === undefined ? null : originalFinal.reduce((s, a) => s + a, 0) / numTasks,
    unlearnedDrop: meanOrNull(tasks.flatMap((r) => (r.unlearnedDrop === null ? [] : [r.unlearnedDrop]))),
    tasks,
  };
}
