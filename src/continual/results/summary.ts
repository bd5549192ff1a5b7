// summary.json: every metric of a run in one machine-readable file. Undefined
// metrics are null (JSON has no NaN), and the matrices are included so that a
// summary alone is enough to recompute or re-plot anything.
import {
  type AccuracyMatrix,
  type LossMatrix,
  type TaskReference,
  TaskMatrix,
  averageAccuracies,
  bwtCurve,
  forgettingCurve,
  forgettingRatio,
  fwt,
} from '../metrics/matrix.js';
import { type UnlearningResults, type UnlearningSummary, remainingBwtCurve, remainingForgettingCurve, summarizeUnlearning } from '../metrics/unlearning.js';

/** Results of the reference runs the experiment asked for (see ReferenceConfig). */
export interface RunReferences {
  /** One model trained on all tasks jointly: its accuracy on each task. */
  joint?: TaskReference;
  /** A fresh model per task: ã_{t,t} is its accuracy on the task it was trained on. */
  independent?: TaskReference;
  /** The untrained model's accuracy on each task. */
  random?: TaskReference;
}

/** What a run produced, as handed to the writers. */
export interface RunResults {
  accuracy: AccuracyMatrix;
  loss?: LossMatrix;
  references?: RunReferences;
  /** Unlearning requests executed so far and, at the end, the unlearning references. */
  unlearning?: UnlearningResults;
  /** What each algorithm reports about itself (see Algorithm.summary), by algorithm name. */
  algorithms?: Readonly<Record<string, Record<string, unknown>>>;
  /** Anything describing the run (config, timings, versions); written as JSON. */
  metadata?: Readonly<Record<string, unknown>>;
}

/** summary.json: a run's metrics after its last finished task. */
export interface RunSummary {
  /** Tasks trained so far (rows of the matrices). */
  numTasks: number;
  /** AA after the last task. */
  finalAverageAccuracy: number;
  /** BWT after the last task; null with one task. With unlearning, over the tasks never unlearned (as bwtPerStep and forgetting). */
  bwt: number | null;
  /** F after the last task; null with one task. */
  finalForgetting: number | null;
  /** Forward transfer against each reference given (independent models, untrained model). */
  fwt?: { independent?: number | null; random?: number | null };
  /** CLArena's forgetting rate; needs the joint and random references. */
  forgettingRatio?: number | null;
  /** AA_t for t = 1..T. */
  averageAccuracy: number[];
  /** BWT_t for t = 1..T (null at t = 1). */
  bwtPerStep: (number | null)[];
  /** F_k for k = 1..T (null at k = 1). */
  forgetting: (number | null)[];
  /** Mean test loss over the tasks seen, per step (when losses were given). */
  averageLoss?: number[];
  /** a_{t,j}: row t−1 holds the accuracies on tasks 1..t after training task t. */
  accuracy: number[][];
  loss?: number[][];
  /** The reference results the metrics above used. */
  references?: { joint?: number[] | number[][]; independent?: number[] | number[][]; random?: number[] | number[][] };
  /** Continual unlearning: requests, accuracy gain, feature distances, per-task table. */
  unlearning?: UnlearningSummary;
  /** What each algorithm reports about itself, by algorithm name (e.g. WSN's capacity). */
  algorithms?: Record<string, Record<string, unknown>>;
  metadata: Record<string, unknown>;
}

function referenceJson(reference: TaskReference): number[] | number[][] {
  return reference instanceof TaskMatrix ? reference.toRows() : [...reference];
}

/** The metrics of summary.json (AA, BWT, forgetting and, with references, FWT and the forgetting ratio) from a run's results. */
export function buildSummary(results: RunResults): RunSummary {
  const { accuracy, loss, references = {} } = results;
  const aa = averageAccuracies(accuracy);
  // An unlearned task's fall is intended, not forgetting: with unlearning, BWT and forgetting cover the remaining tasks.
  const requests = results.unlearning?.requests;
  const bwtSteps = requests === undefined ? bwtCurve(accuracy) : remainingBwtCurve(accuracy, requests);
  const forgettingSteps = requests === undefined ? forgettingCurve(accuracy) : remainingForgettingCurve(accuracy, requests);
  let transfer: RunSummary['fwt'];
  if (references.independent !== undefined || references.random !== undefined) {
    transfer = {};
    if (references.independent !== undefined) transfer.independent = fwt(accuracy, references.independent);
    if (references.random !== undefined) transfer.random = fwt(accuracy, references.random);
  }
  const ratio = references.joint !== undefined && references.random !== undefined ? forgettingRatio(accuracy, references.joint, references.random) : undefined;
  const echoed: NonNullable<RunSummary['references']> = {};
  if (references.joint !== undefined) echoed.joint = referenceJson(references.joint);
  if (references.independent !== undefined) echoed.independent = referenceJson(references.independent);
  if (references.random !== undefined) echoed.random = referenceJson(references.random);
  // The literal's order is the order of summary.json: headline metrics,
  // curves, matrices, references, metadata.
  return {
    numTasks: accuracy.numTasks,
    finalAverageAccuracy: aa[aa.length - 1]!,
    bwt: bwtSteps[bwtSteps.length - 1] ?? null,
    finalForgetting: forgettingSteps[forgettingSteps.length - 1] ?? null,
    ...(transfer === undefined ? {} : { fwt: transfer }),
    ...(ratio === undefined ? {} : { forgettingRatio: ratio }),
    averageAccuracy: aa,
    bwtPerStep: bwtSteps,
    forgetting: forgettingSteps,
    ...(loss === undefined ? {} : { averageLoss: averageAccuracies(loss) }),
    accuracy: accuracy.toRows(),
    ...(loss === undefined ? {} : { loss: loss.toRows() }),
    ...(Object.keys(echoed).length === 0 ? {} : { references: echoed }),
    ...(results.unlearning === undefined ? {} : { unlearning: summarizeUnlearning(accuracy, results.unlearning) }),
    ...(results.algorithms === undefined || Object.keys(results.algorithms).length === 0 ? {} : { algorithms: { ...results.algorithms } }),
    metadata: { ...results.metadata },
  };
}

/**
 * JSON with two-space indentation, except that lists of plain values (a
 * matrix row, a per-step curve) stay on one line, which keeps matrices readable.
 */
export function formatJson(value: unknown): string {
  // A JSON round trip first applies JSON's own rules: toJSON, dropped
  // undefined and functions, non-finite numbers as null.
  const plain: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
  const render = (v: unknown, indent: string): string => {
    if (Array.isArray(v)) {
      if (v.every((item) => item === null || typeof item !== 'object')) return `[${v.map((item) => JSON.stringify(item)).join(', ')}]`;
      const inner = indent + '  ';
      return `[\n${v.map((item) => inner + render(item, inner)).join(',\n')}\n${indent}]`;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0) return '{}';
      const inner = indent + '  ';
      return `{\n${entries.map(([k, item]) => `${inner}${JSON.stringify(k)}: ${render(item, inner)}`).join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(v);
  };
  return render(plain, '');
}

/** The summary as written to summary.json (see formatJson; trailing newline; non-finite numbers become null). */
export function summaryJson(summary: RunSummary): string {
  return `${formatJson(summary)}\n`;
}
