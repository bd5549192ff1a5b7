// From a command line to a sweep's manifest: the config file's sweep section
// and the command line's grid are expanded into runs, each resolved and
// validated before anything starts, every bad run's problems reported together.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ExperimentConfig, loadExperiment, parseExperiment } from '../config/experiment.js';
import { ConfigError, type ConfigIssue, formatConfigIssue, readConfigSource } from '../config/loader.js';
import { expandGrid, readSweepSection, sweepSpec } from './grid.js';
import { type Manifest, type ManifestRun, runId } from './manifest.js';

/**
 * A run's experiment: the config file (without its sweep section; the default
 * experiment when null) with `overrides` applied, validated.
 */
export function loadSweepExperiment(configPath: string | null, overrides: readonly string[]): ExperimentConfig {
  if (configPath === null) return loadExperiment(undefined, overrides);
  const { experimentText } = readSweepSection(readFileSync(configPath, 'utf8'), configPath);
  return parseExperiment(experimentText, configPath, overrides);
}

export interface SweepPlan {
  readonly manifest: Manifest;
  /** The sweep section's options besides the grid (the Slurm launcher's). */
  readonly options: Record<string, unknown>;
}

// A problem shared by many runs names at most this many of them.
const LABELS_SHOWN = 5;

/**
 * Expands and validates the sweep of `configPath` (undefined: the default
 * experiment) with the command line's `args`. Throws a ConfigError naming
 * every bad run by its label, runs with the same problems together.
 */
export function planSweep(configPath: string | undefined, args: readonly string[]): SweepPlan {
  const path = configPath === undefined ? null : resolve(configPath);
  const section = path === null ? { grid: {}, options: {} } : readSweepSection(readConfigSource(configPath!, 'invalid experiment configuration').text, configPath!);
  const spec = sweepSpec(args, section.grid);
  // Each problem with the labels of the runs that have it: an unknown key is reported once, not once per run.
  const failures = new Map<string, string[]>();
  let badRuns = 0;
  const runs: ManifestRun[] = [];
  const seen = new Map<string, string>();
  for (const point of expandGrid(spec.grid)) {
    const overrides = [...spec.overrides, ...point.assignments];
    const label = point.label === '' ? '(the base configuration)' : point.label;
    try {
      const id = runId(loadSweepExperiment(path, overrides));
      const same = seen.get(id);
      if (same !== undefined) throw new ConfigError([{ path: null, message: `it resolves to the same configuration as run '${same}'; drop one of the two values` }]);
      seen.set(id, label);
      runs.push({ id, label: point.label, overrides, status: 'queued', attempts: 0, exitStatus: null, log: `logs/${id}.log`, error: null });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      badRuns++;
      for (const issue of error.issues) {
        const text = formatConfigIssue(issue);
        failures.set(text, [...(failures.get(text) ?? []), label]);
      }
    }
  }
  if (failures.size > 0) {
    const issues: ConfigIssue[] = [...failures].map(([text, labels]) => {
      const shown = labels.slice(0, LABELS_SHOWN).map((l) => `'${l}'`).join(', ');
      const more = labels.length > LABELS_SHOWN ? ` and ${labels.length - LABELS_SHOWN} more` : '';
      return { path: null, location: `${labels.length === 1 ? 'run' : `${labels.length} runs`} ${shown}${more}`, message: `\n${text}` };
    });
    throw new ConfigError(issues, `invalid sweep: ${badRuns} of ${expandGrid(spec.grid).length} runs are not valid experiments, so none was started`);
  }
  return { manifest: { version: 1, base: { config: path, overrides: spec.overrides }, grid: spec.grid, runs }, options: section.options };
}
