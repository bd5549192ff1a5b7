// Whether a benchmark can be built, decided from its settings and the dataset
// registry alone, without loading any data. The configuration schema reports
// these problems before a run starts (and before its directory is made); the
// benchmark classes refuse the same settings when built directly. Both call
// the functions here, so the two can never disagree.
import { closestMatch } from '../../config/schema.js';
import { DATASET_NAMES, datasetSpec } from '../../data/registry.js';

/** One reason a benchmark cannot be built. */
export interface BenchmarkProblem {
  /** The setting concerned, relative to the benchmark's settings: `['numTasks']`, `['classSplit', 1, 0]`. */
  readonly path: readonly (string | number)[];
  /** A sentence that stands alone: the benchmark classes throw it without the path. */
  readonly message: string;
}

/** The settings the checks need, as both the configuration and the benchmark classes hold them. */
export interface BenchmarkShape {
  readonly name: string;
  readonly dataset: string;
  readonly numTasks: number;
  readonly classSplit?: readonly (readonly number[])[];
  readonly angles?: readonly number[];
}

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

/** The classes of each split task when none are given: equal groups of consecutive classes (splitProblems has checked that they divide). */
export function equalClassSplit(numClasses: number, numTasks: number): number[][] {
  const k = numClasses / numTasks;
  return Array.from({ length: numTasks }, (_, t) => Array.from({ length: k }, (_, i) => t * k + i));
}

/**
 * A split benchmark of `numTasks` tasks over the classes of `dataset`: without
 * `classSplit` the classes must divide into equal tasks; with it, one
 * non-empty group of existing classes per task, no class in two tasks.
 */
export function splitProblems(dataset: { readonly name: string; readonly numClasses: number }, numTasks: number, classSplit?: readonly (readonly number[])[]): BenchmarkProblem[] {
  const n = dataset.numClasses;
  if (classSplit === undefined) {
    if (numTasks > n) {
      return [{ path: ['numTasks'], message: `${numTasks} tasks but ${dataset.name} has only ${n} classes; use a divisor of ${n} (${divisors(n).join(', ')}) or give classSplit` }];
    }
    if (n % numTasks !== 0) {
      return [{ path: ['numTasks'], message: `${dataset.name}'s ${n} classes do not divide into ${numTasks} equal tasks; choose a divisor of ${n} or give classSplit explicitly (divisors: ${divisors(n).join(', ')})` }];
    }
    return [];
  }
  const problems: BenchmarkProblem[] = [];
  if (classSplit.length !== numTasks) problems.push({ path: ['classSplit'], message: `classSplit has ${classSplit.length} tasks but numTasks is ${numTasks}; give one group of classes per task` });
  const owner = new Map<number, number>();
  classSplit.forEach((classes, t) => {
    if (!Array.isArray(classes) || classes.length === 0) {
      problems.push({ path: ['classSplit', t], message: `classSplit task ${t + 1} has no classes` });
      return;
    }
    classes.forEach((c, k) => {
      const path = ['classSplit', t, k];
      if (!Number.isInteger(c) || c < 0 || c >= n) {
        problems.push({ path, message: `classSplit task ${t + 1} names class ${String(c)}, but ${dataset.name} has classes 0..${n - 1}` });
        return;
      }
      const before = owner.get(c);
      if (before !== undefined) problems.push({ path, message: `class ${c} is in task ${before + 1} and task ${t + 1}; tasks must have disjoint classes` });
      else owner.set(c, t);
    });
  });
  return problems;
}

/** A rotated benchmark's angles, when given: one finite angle per task. */
export function rotatedProblems(numTasks: number, angles?: readonly number[]): BenchmarkProblem[] {
  if (angles === undefined) return [];
  const problems: BenchmarkProblem[] = [];
  if (angles.length !== numTasks) problems.push({ path: ['angles'], message: `${angles.length} angles given for ${numTasks} tasks; give one angle per task` });
  angles.forEach((a, i) => {
    if (typeof a !== 'number' || !Number.isFinite(a)) problems.push({ path: ['angles', i], message: `angle ${String(a)} is not a finite number of degrees` });
  });
  return problems;
}

/** Every reason the benchmark `b` cannot be built: an unknown dataset, or settings its kind cannot satisfy. */
export function benchmarkProblems(b: BenchmarkShape): BenchmarkProblem[] {
  if (!DATASET_NAMES.includes(b.dataset)) {
    const match = closestMatch(b.dataset, DATASET_NAMES);
    return [{ path: ['dataset'], message: `unknown dataset '${b.dataset}'${match === undefined ? ';' : ` — did you mean '${match}'?`} known datasets: ${DATASET_NAMES.join(', ')}` }];
  }
  if (b.name === 'split') return splitProblems(datasetSpec(b.dataset), b.numTasks, b.classSplit);
  if (b.name === 'rotated') return rotatedProblems(b.numTasks, b.angles);
  return [];
}

/** The problems as one line for an exception: `split benchmark: classSplit has 2 tasks ...; class 1 is in ...`. */
export function formatBenchmarkProblems(kind: string, problems: readonly BenchmarkProblem[]): string {
  return `${kind} benchmark: ${problems.map((p) => p.message).join('; ')}`;
}
