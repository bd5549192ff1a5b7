// What a report page is drawn from: the runs' results and configurations and
// the groups' statistics, as one JSON document embedded in the page. The
// server side builds it (collect.ts) and the page's script reads it (page.ts);
// both are typed by these declarations.
import type { Stat } from '../sweep/aggregate.js';

/** A run's headline metrics after its last finished task; null where undefined (one task, no reference runs). */
export interface ReportMetrics {
  averageAccuracy: number | null;
  bwt: number | null;
  forgetting: number | null;
  fwtIndependent: number | null;
  fwtRandom: number | null;
  forgettingRatio: number | null;
}

/** One run as the page shows it. */
export interface ReportRun {
  /** The run's key in the page (`run-0`, `run-1`, …): its rows, curves and card carry it. */
  id: string;
  /** The configuration keys that vary across the report's runs, with the seed when seeds vary. */
  name: string;
  /** The run directory, relative to the report's directory when inside it. */
  dir: string;
  seed: number;
  /** The index of its group in ReportData.groups; null for a run not aggregated (unfinished). */
  group: number | null;
  /** Tasks the run is configured for; its matrix has a row per task finished so far. */
  numTasks: number;
  /** Why the run is not finished yet; null when it is. */
  unfinished: string | null;
  metrics: ReportMetrics;
  /** a_{t,j}: row t−1 holds the accuracies on tasks 1..t after training task t (as summary.json). */
  accuracy: (number | null)[][];
  /** AA_t after each finished task. */
  averageAccuracy: (number | null)[];
  /** What each algorithm reports about itself, by name (summary.json `algorithms`). */
  algorithms: Record<string, unknown> | null;
  /** The continual-unlearning metrics (summary.json `unlearning`). */
  unlearning: Record<string, unknown> | null;
  /** The configuration the run was started with (its config.json). */
  config: unknown;
}

/** Runs that share their configuration but the seed, with mean ± sample std over them (as `perennial aggregate`). */
export interface ReportGroup {
  label: string;
  seeds: number[];
  /** The ids of its runs, in the order of `seeds`. */
  runs: string[];
  metrics: { [K in keyof ReportMetrics]: Stat };
  /** Accuracy on task j after the last task, j = 1..T. */
  finalAccuracy: Stat[];
  /** AA_t, t = 1..T. */
  averageAccuracyCurve: Stat[];
}

/** Everything a report page shows. */
export interface ReportData {
  version: 1;
  title: string;
  /** When the report was written (ISO 8601). */
  written: string;
  /** The paths the report was made from, as given. */
  inputs: string[];
  runs: ReportRun[];
  groups: ReportGroup[];
  /** Why the runs could not be grouped (e.g. one configuration and seed run twice); null when they were. */
  groupingNote: string | null;
  /** Runs found without results (not started, or no task finished yet), and why. */
  skipped: { dir: string; reason: string }[];
  /** The series colours and the heatmap scale (RGB stops, low to high) of the SVG plots, so that the page looks like them. */
  colours: { series: readonly string[]; heatmap: readonly (readonly [number, number, number])[] };
}
