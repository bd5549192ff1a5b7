// The data of a report: the runs found under the paths given (by the
// aggregation's discovery, which reads sweeps, runs and directories holding
// them), each with its results so far, and the groups of finished runs that
// share a configuration but the seed, with the aggregation's mean ± std.
import { basename, relative, resolve } from 'node:path';
import type { ExperimentConfig } from '../config/experiment.js';
import type { RunSummary } from '../continual/results/index.js';
import { HEATMAP_SCALE, SERIES_COLOURS } from '../continual/results/svg.js';
import { AggregateError, type AggregatedGroup, type RunRecord, type SkippedRun, configurationLabels, findRuns, groupRuns, unfinishedReason } from '../sweep/aggregate.js';
import type { ReportData, ReportGroup, ReportRun } from './data.js';

/** Input a report cannot be made from: the message names the cause and the fix. */
export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

/** How a report is labelled and where it is written. */
export interface ReportOptions {
  /** The directory the report is written to: run directories inside it are shown relative to it. */
  base: string;
  /** The paths the report was made from, as given (shown in its header). */
  inputs: readonly string[];
  /** Default: "Perennial report", or the run directory's name for a report of one run. */
  title?: string;
  /** When the report is written (default: now). */
  written?: Date;
}

function shownDir(dir: string, base: string): string {
  const r = relative(resolve(base), dir);
  if (r === '') return '.';
  return r.startsWith('..') ? dir : r;
}

function reportRun(run: RunRecord, id: string, name: string, group: number | null, base: string): ReportRun {
  const s = run.summary;
  return {
    id,
    name,
    dir: shownDir(run.dir, base),
    seed: run.config.seed,
    group,
    numTasks: run.config.benchmark.numTasks,
    unfinished: run.unfinished,
    metrics: {
      averageAccuracy: s.finalAverageAccuracy,
      bwt: s.bwt,
      forgetting: s.finalForgetting,
      fwtIndependent: s.fwt?.independent ?? null,
      fwtRandom: s.fwt?.random ?? null,
      forgettingRatio: s.forgettingRatio ?? null,
    },
    accuracy: s.accuracy,
    averageAccuracy: s.averageAccuracy,
    algorithms: s.algorithms ?? null,
    unlearning: (s.unlearning as unknown as Record<string, unknown> | undefined) ?? null,
    config: run.config,
  };
}

function reportGroup(group: AggregatedGroup, runIds: readonly string[]): ReportGroup {
  return {
    label: group.label,
    seeds: group.seeds,
    runs: [...runIds],
    metrics: {
      averageAccuracy: group.metrics.averageAccuracy,
      bwt: group.metrics.bwt,
      forgetting: group.metrics.forgetting,
      fwtIndependent: group.metrics.fwtIndependent,
      fwtRandom: group.metrics.fwtRandom,
      forgettingRatio: group.metrics.forgettingRatio,
    },
    finalAccuracy: group.finalAccuracy,
    averageAccuracyCurve: group.averageAccuracyCurve,
  };
}

/**
 * A report's data from runs with results (finished or not) and the runs
 * without. Finished runs are grouped as `perennial aggregate` groups them,
 * on any benchmark; when they cannot be (a configuration run twice with the
 * same seed), the runs are shown without groups and the reason is noted.
 */
export function reportData(records: readonly RunRecord[], skipped: readonly SkippedRun[], options: ReportOptions): ReportData {
  const ids = records.map((_, i) => `run-${i}`);
  const labels = configurationLabels(records.map((r) => r.config));
  const seedsVary = new Set(records.map((r) => r.config.seed)).size > 1;
  const finished = records.filter((r) => r.unfinished === null);
  let groups: AggregatedGroup[] = [];
  let groupingNote: string | null = null;
  try {
    groups = groupRuns(finished, { allowMixed: true });
  } catch (error) {
    if (!(error instanceof AggregateError)) throw error;
    groupingNote = error.message;
  }
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.runs.forEach((dir) => groupOf.set(dir, i)));
  const idOf = new Map(records.map((r, i) => [r.dir, ids[i]!]));
  const runs = records.map((r, i) => reportRun(r, ids[i]!, seedsVary ? `${labels[i]!} seed=${r.config.seed}` : labels[i]!, groupOf.get(r.dir) ?? null, options.base));
  const title = options.title ?? (records.length === 1 && skipped.length === 0 ? basename(records[0]!.dir) : 'Perennial report');
  return {
    version: 1,
    title,
    written: (options.written ?? new Date()).toISOString(),
    inputs: [...options.inputs],
    runs,
    groups: groups.map((g) => reportGroup(g, g.runs.map((dir) => idOf.get(dir)!))),
    groupingNote,
    skipped: skipped.map((s) => ({ dir: shownDir(s.dir, options.base), reason: s.reason })),
    colours: { series: SERIES_COLOURS, heatmap: HEATMAP_SCALE },
  };
}

/** The data of the report of one run, from its configuration and its summary so far (as `perennial run` writes it after each task). */
export function runReportData(dir: string, config: ExperimentConfig, summary: RunSummary, written?: Date): ReportData {
  const record: RunRecord = { dir: resolve(dir), config, summary, unfinished: unfinishedReason(config, summary) };
  return reportData([record], [], { base: dir, inputs: [dir], ...(written === undefined ? {} : { written }) });
}

/**
 * The data of the report of the runs under `paths` (run directories, sweep
 * directories, directories holding them). A path that does not exist or holds
 * no run, a run whose config.json or summary.json is damaged, and paths
 * holding no run with results are ReportErrors naming the file and the fix.
 */
export function collectReport(paths: readonly string[], options: ReportOptions): ReportData {
  let found: ReturnType<typeof findRuns>;
  try {
    found = findRuns(paths);
  } catch (error) {
    if (error instanceof AggregateError) throw new ReportError(error.message);
    throw error;
  }
  const records: RunRecord[] = [];
  const skipped: SkippedRun[] = [];
  for (const run of found) {
    if (!('reason' in run)) records.push(run);
    else if (run.damaged !== undefined) {
      throw new ReportError(`${run.damaged.file} ${run.damaged.problem}; restore the file, run that experiment again, or leave ${run.dir} out of the report`);
    } else skipped.push(run);
  }
  if (records.length === 0) {
    const reasons = skipped.map((s) => `  ${s.dir}: ${s.reason}`);
    throw new ReportError(
      `no run with results to report${reasons.length === 0 ? ' (the sweep lists no runs)' : `:\n${reasons.join('\n')}`}\n` +
        'a run writes its results after its first task; report it once that is done',
    );
  }
  return reportData(records, skipped, options);
}
