// Aggregation: the runs of sweeps (or run directories given directly, or found
// in the directories given) grouped by their configuration minus the seed and
// the output location, and each group's metrics as mean ± sample standard
// deviation over its seeds: the rows of a paper's table. Only finished runs
// are averaged; the others are listed as skipped with the reason. See
// aggregate_tables.ts for the files; reports (src/report/) read runs here too.
import { type Dirent, existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { ConfigError } from '../config/loader.js';
import type { ExperimentConfig } from '../config/experiment.js';
import { DefaultSchema } from '../config/schema.js';
import { algorithmDefinition } from '../continual/algorithms/registry.js';
import { readRunConfig } from '../continual/experiment/resume.js';
import { RESULT_FILES, type RunSummary } from '../continual/results/index.js';

/** Input that cannot be aggregated as given: the message names the cause and the fix. */
export class AggregateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AggregateError';
  }
}

/** Mean and sample standard deviation (n − 1) of the runs that have the value; std is null below two values, mean null with none. */
export interface Stat {
  mean: number | null;
  std: number | null;
  n: number;
}

/** A run whose tasks and reference runs are all finished. */
export interface FinishedRun {
  /** The run directory, as found (absolute). */
  dir: string;
  config: ExperimentConfig;
  summary: RunSummary;
}

/** A run left out of the table, and why. */
export interface SkippedRun {
  dir: string;
  reason: string;
  /** When the reason is a file that cannot be read or is not what perennial run writes: the file, and what is wrong with it. */
  damaged?: { file: string; problem: string };
}

/** A run directory's configuration and its results so far (at least one task finished). */
export interface RunRecord extends FinishedRun {
  /** Why the run is not finished yet (tasks or reference runs still to come); null when it is. */
  unfinished: string | null;
}

/** The benchmark a group was run on; a table compares groups on one benchmark unless mixing is asked for. */
export interface BenchmarkSetting {
  name: string;
  dataset: string;
  numTasks: number;
}

export interface GroupMetrics {
  averageAccuracy: Stat;
  bwt: Stat;
  forgetting: Stat;
  fwtIndependent: Stat;
  fwtRandom: Stat;
  forgettingRatio: Stat;
}

export interface AggregatedGroup {
  /** The keys that vary across all the runs aggregated, as key=value (algorithms compactly). */
  label: string;
  benchmark: BenchmarkSetting;
  /** Seeds in ascending order, one per run. */
  seeds: number[];
  /** Run directories, in the order of `seeds`. */
  runs: string[];
  metrics: GroupMetrics;
  /** Accuracy on task j after the last task, for j = 1..T. */
  finalAccuracy: Stat[];
  /** AA_t for t = 1..T. */
  averageAccuracyCurve: Stat[];
}

export interface Aggregation {
  groups: AggregatedGroup[];
  skipped: SkippedRun[];
}

export interface AggregateOptions {
  /** Allow groups on different benchmarks or numbers of tasks in one table. */
  allowMixed?: boolean;
}

// --- statistics ------------------------------------------------------------------

/** Mean and sample standard deviation of the finite values among `values`. */
export function stat(values: readonly (number | null | undefined)[]): Stat {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: null, std: null, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  // One seed has no spread to estimate: null, not 0, so that a table never claims none.
  const std = n < 2 ? null : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

// --- reading runs ------------------------------------------------------------------

const MANIFEST = 'sweep.json';
const CONFIG = 'config.json';

interface ManifestRun {
  id: string;
  status?: string;
  exitStatus?: number | null;
  log?: string;
  error?: string | null;
}

/** The runs listed in a sweep's manifest (only what aggregation needs of it). */
function manifestRuns(sweepDir: string): ManifestRun[] {
  const path = join(sweepDir, MANIFEST);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AggregateError(`cannot read the sweep manifest ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const runs = (parsed as { runs?: unknown } | null)?.runs;
  if (!Array.isArray(runs) || !runs.every((r) => typeof (r as { id?: unknown } | null)?.id === 'string' && /^[0-9a-f]+$/.test((r as { id: string }).id))) {
    throw new AggregateError(`${path} is not a sweep manifest: it needs a "runs" list whose entries have a hexadecimal "id"`);
  }
  return runs as ManifestRun[];
}

/** What the manifest says of an unfinished run, for its skip reason. */
function manifestNote(entry: ManifestRun | undefined): string {
  if (entry?.status === undefined) return '';
  const parts = [entry.status];
  if (typeof entry.exitStatus === 'number') parts.push(`exit status ${entry.exitStatus}`);
  if (typeof entry.error === 'string' && entry.error !== '') parts.push(entry.error);
  if (typeof entry.log === 'string') parts.push(`log ${entry.log}`);
  return ` (sweep: ${parts.join(', ')})`;
}

const REFERENCE_KINDS = ['joint', 'independent', 'random'] as const;

function damagedRun(dir: string, file: string, problem: string): SkippedRun {
  return { dir, reason: `its ${basename(file)} ${problem}`, damaged: { file, problem } };
}

/** A run directory's configuration and its results so far, or why it has none. */
function readRun(dir: string, entry?: ManifestRun): RunRecord | SkippedRun {
  const note = manifestNote(entry);
  const configPath = join(dir, CONFIG);
  if (!existsSync(configPath)) return { dir, reason: `not started (no ${CONFIG})${note}` };
  let config: ExperimentConfig;
  try {
    config = readRunConfig(dir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return damagedRun(dir, configPath, `is not a valid configuration: ${error.message}`);
  }
  const summaryPath = join(dir, RESULT_FILES.summary);
  if (!existsSync(summaryPath)) return { dir, reason: `no task finished (no ${RESULT_FILES.summary})${note}` };
  const total = config.benchmark.numTasks;
  let summary: RunSummary;
  try {
    const parsed: unknown = JSON.parse(readFileSync(summaryPath, 'utf8'));
    const problem = summaryProblem(parsed, total);
    if (problem !== null) return damagedRun(dir, summaryPath, `is not a run summary: ${problem}`);
    summary = parsed as RunSummary;
  } catch (error) {
    return damagedRun(dir, summaryPath, `cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const unfinished = unfinishedReason(config, summary);
  return { dir, config, summary, unfinished: unfinished === null ? null : `${unfinished}${note}` };
}

/** Why a run with this configuration and summary is not finished (tasks or reference runs to come); null when it is. */
export function unfinishedReason(config: ExperimentConfig, summary: RunSummary): string | null {
  const total = config.benchmark.numTasks;
  if (summary.numTasks < total) return `${summary.numTasks} of ${total} tasks finished`;
  // References are run after the last task, and the summary is written again with them.
  const pending = REFERENCE_KINDS.filter((kind) => config.reference[kind] && summary.references?.[kind] === undefined);
  return pending.length > 0 ? `every task finished, but not the ${pending.join(', ')} reference runs` : null;
}

/**
 * What is wrong with a parsed summary.json of a run configured for `total`
 * tasks, as far as aggregation and reports read it; null when nothing is.
 * (JSON writes a NaN as null, so null stands in for any number.)
 */
function summaryProblem(value: unknown, total: number): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'it is not a JSON object';
  const s = value as Record<string, unknown>;
  const isNumber = (v: unknown): boolean => v === null || typeof v === 'number';
  const numbers = (v: unknown, length: number): boolean => Array.isArray(v) && v.length === length && v.every(isNumber);
  const n = s['numTasks'];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > total) return `numTasks is ${JSON.stringify(n)}, not a count of tasks from 1 to ${total}`;
  const accuracy = s['accuracy'];
  if (!Array.isArray(accuracy) || accuracy.length !== n) return `accuracy is not a list of ${n} rows (one per task trained)`;
  const badRow = accuracy.findIndex((row, i) => !numbers(row, i + 1));
  if (badRow >= 0) return `accuracy row ${badRow + 1} is not a list of ${badRow + 1} numbers`;
  if (!numbers(s['averageAccuracy'], n)) return `averageAccuracy is not a list of ${n} numbers`;
  for (const key of ['finalAverageAccuracy', 'bwt', 'finalForgetting']) if (!isNumber(s[key])) return `${key} is not a number`;
  if (s['forgettingRatio'] !== undefined && !isNumber(s['forgettingRatio'])) return 'forgettingRatio is not a number';
  const transfer = s['fwt'];
  if (transfer !== undefined && (transfer === null || typeof transfer !== 'object' || !Object.values(transfer).every(isNumber))) return 'fwt is not an object of numbers';
  for (const key of ['algorithms', 'unlearning', 'references']) {
    const v = s[key];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) return `${key} is not a JSON object`;
  }
  return null;
}

/** How many directory levels below a given directory the search for runs looks. */
const SEARCH_DEPTH = 4;
/** Directories a search never enters: a run's own subdirectories, a sweep's logs, installed packages. */
const NOT_SEARCHED: ReadonlySet<string> = new Set(['checkpoints', 'logs', 'node_modules']);

/**
 * A run directory as a search recognises it: config.json beside a run's log
 * or summary, so that an unrelated config.json is not taken for a run.
 */
function looksLikeRun(dir: string): boolean {
  return existsSync(join(dir, CONFIG)) && (existsSync(join(dir, RESULT_FILES.log)) || existsSync(join(dir, RESULT_FILES.summary)));
}

/**
 * The sweep and run directories below `dir`, in name order, at most `depth`
 * levels down; a sweep or run found is not searched further. Hidden
 * directories and symbolic links are not followed, and a directory that
 * cannot be listed is passed over: the search looks for runs, it does not
 * check the tree.
 */
function searchRuns(dir: string, depth: number, found: string[] = []): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !NOT_SEARCHED.has(e.name)).map((e) => e.name);
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (existsSync(join(path, MANIFEST)) || looksLikeRun(path)) found.push(path);
    else if (depth > 1) searchRuns(path, depth - 1, found);
  }
  return found;
}

/**
 * Every run under `paths`, finished or not, in the order given: each path a
 * sweep directory (its sweep.json lists the runs, in DIR/runs/<id>/), a run
 * directory (config.json), or a directory holding sweeps and runs a few
 * levels down (searched). A directory given twice, or a run given both
 * directly and through its sweep, counts once. A run with results has its
 * configuration and summary; one without, or whose files cannot be read, is
 * a SkippedRun with the reason.
 */
export function findRuns(paths: readonly string[]): (RunRecord | SkippedRun)[] {
  if (paths.length === 0) throw new AggregateError('give at least one sweep directory or run directory');
  const found: (RunRecord | SkippedRun)[] = [];
  const seen = new Set<string>();
  const add = (dir: string, entry?: ManifestRun): void => {
    const key = existsSync(dir) ? realpathSync(dir) : dir;
    if (seen.has(key)) return;
    seen.add(key);
    found.push(readRun(dir, entry));
  };
  const addSweepOrRun = (dir: string): void => {
    if (existsSync(join(dir, MANIFEST))) {
      for (const entry of manifestRuns(dir)) add(join(dir, 'runs', entry.id), entry);
    } else add(dir);
  };
  for (const given of paths) {
    const dir = resolve(given);
    const what = `give a run directory (with ${CONFIG}), a sweep directory (with ${MANIFEST}) or a directory holding them`;
    if (!existsSync(dir)) throw new AggregateError(`${given} does not exist: ${what}`);
    if (!statSync(dir).isDirectory()) throw new AggregateError(`${given} is not a directory: ${what}`);
    if (existsSync(join(dir, MANIFEST)) || existsSync(join(dir, CONFIG))) addSweepOrRun(dir);
    else {
      const inside = searchRuns(dir, SEARCH_DEPTH);
      if (inside.length === 0) {
        throw new AggregateError(
          `${given} holds no run: it is neither a sweep directory (no ${MANIFEST}) nor a run directory (no ${CONFIG}), ` +
            `and none is in the ${SEARCH_DEPTH} levels of directories below it; ${what}`,
        );
      }
      inside.forEach(addSweepOrRun);
    }
  }
  return found;
}

/**
 * The runs under `paths` (see findRuns) split into the finished ones and the
 * others, each with the reason it is left out.
 */
export function collectRuns(paths: readonly string[]): { runs: FinishedRun[]; skipped: SkippedRun[] } {
  const runs: FinishedRun[] = [];
  const skipped: SkippedRun[] = [];
  for (const run of findRuns(paths)) {
    if ('reason' in run) skipped.push(run);
    else if (run.unfinished !== null) skipped.push({ dir: run.dir, reason: run.unfinished });
    else runs.push({ dir: run.dir, config: run.config, summary: run.summary });
  }
  return { runs, skipped };
}

// --- grouping and labels -------------------------------------------------------------

/** The configuration that defines a group: everything but the seed and where the output goes. */
function groupedPart(config: ExperimentConfig): Record<string, unknown> {
  const { seed: _seed, output: _output, ...rest } = config;
  return rest;
}

/** JSON with object keys sorted, so that equal configurations give equal strings. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A value as a label shows it: compact flow style, no quotes, no spaces. */
function flow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flow).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${k}:${flow(v)}`).join(',')}}`;
  return String(value);
}

/** Leaf key paths and their values; lists are leaves (a list of hidden sizes is one setting). */
function flatten(value: Record<string, unknown>, prefix: string, out: Map<string, string>): Map<string, string> {
  for (const [key, v] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, path, out);
    else out.set(path, canonical(v));
  }
  return out;
}

type AlgorithmEntry = { name: string } & Record<string, unknown>;

function isDefault(name: string, option: string, value: unknown): boolean {
  const schema = (algorithmDefinition(name)?.options.fields as Record<string, unknown> | undefined)?.[option];
  return schema instanceof DefaultSchema && canonical(schema.defaultValue) === canonical(value);
}

/**
 * `algorithms` as a label shows it: each algorithm's name with, in
 * parentheses, the options that are not at their default or that differ
 * between the runs using that algorithm; several algorithms joined by '+'.
 */
function algorithmsLabel(entries: readonly AlgorithmEntry[], all: readonly AlgorithmEntry[]): string {
  return entries
    .map((entry) => {
      const options = Object.entries(entry).filter(([option, value]) => {
        if (option === 'name') return false;
        const varies = new Set(all.filter((e) => e.name === entry.name).map((e) => canonical(e[option]))).size > 1;
        return varies || !isDefault(entry.name, option, value);
      });
      return options.length === 0 ? entry.name : `${entry.name}(${options.map(([k, v]) => `${k}=${flow(v)}`).join(',')})`;
    })
    .join('+');
}

/**
 * A label per configuration: the keys whose values are not the same in all
 * of them (algorithms first, then in the configuration's order), as key=value;
 * when nothing varies, the algorithms. The seed and output.* are left out.
 */
export function configurationLabels(configs: readonly ExperimentConfig[]): string[] {
  const parts = configs.map((c) => {
    const { algorithms: _algorithms, ...rest } = groupedPart(c);
    return flatten(rest, '', new Map());
  });
  const keys: string[] = [];
  for (const flat of parts) for (const key of flat.keys()) if (!keys.includes(key)) keys.push(key);
  const varying = keys.filter((key) => new Set(parts.map((flat) => flat.get(key))).size > 1);
  const allAlgorithms = configs.flatMap((c) => c.algorithms as readonly AlgorithmEntry[]);
  const algorithmsVary = new Set(configs.map((c) => canonical(c.algorithms))).size > 1;
  return configs.map((config, i) => {
    const shown = varying.filter((key) => parts[i]!.has(key)).map((key) => `${key}=${flow(JSON.parse(parts[i]!.get(key)!))}`);
    if (algorithmsVary || shown.length === 0) shown.unshift(`algorithms=${algorithmsLabel(config.algorithms as readonly AlgorithmEntry[], allAlgorithms)}`);
    return shown.join(' ');
  });
}

function benchmarkOf(config: ExperimentConfig): BenchmarkSetting {
  return { name: config.benchmark.name, dataset: config.benchmark.dataset, numTasks: config.benchmark.numTasks };
}

function describeBenchmark(b: BenchmarkSetting): string {
  return `${b.name} ${b.dataset} with ${b.numTasks} tasks`;
}

/** Some of `dirs`, for messages (relative to the working directory when shorter). */
function someRuns(dirs: readonly string[]): string {
  const shown = dirs.slice(0, 3).map((d) => {
    const r = relative(process.cwd(), d);
    return r.length < d.length && !r.startsWith('..') ? r : d;
  });
  return dirs.length > 3 ? `${shown.join(', ')} and ${dirs.length - 3} more` : shown.join(', ');
}

function groupStats(runs: readonly FinishedRun[]): Pick<AggregatedGroup, 'metrics' | 'finalAccuracy' | 'averageAccuracyCurve'> {
  const summaries = runs.map((r) => r.summary);
  const T = summaries[0]!.numTasks;
  return {
    metrics: {
      averageAccuracy: stat(summaries.map((s) => s.finalAverageAccuracy)),
      bwt: stat(summaries.map((s) => s.bwt)),
      forgetting: stat(summaries.map((s) => s.finalForgetting)),
      fwtIndependent: stat(summaries.map((s) => s.fwt?.independent)),
      fwtRandom: stat(summaries.map((s) => s.fwt?.random)),
      forgettingRatio: stat(summaries.map((s) => s.forgettingRatio)),
    },
    finalAccuracy: Array.from({ length: T }, (_, j) => stat(summaries.map((s) => s.accuracy[T - 1]?.[j]))),
    averageAccuracyCurve: Array.from({ length: T }, (_, t) => stat(summaries.map((s) => s.averageAccuracy[t]))),
  };
}

/**
 * Groups finished runs by configuration minus seed and output, in the order
 * their first run was given. Two runs of one group with the same seed, and
 * (unless allowMixed) groups on different benchmarks or numbers of tasks,
 * are AggregateErrors naming the runs.
 */
export function groupRuns(runs: readonly FinishedRun[], options: AggregateOptions = {}): AggregatedGroup[] {
  const byKey = new Map<string, FinishedRun[]>();
  for (const run of runs) {
    const key = canonical(groupedPart(run.config));
    const group = byKey.get(key) ?? [];
    const twin = group.find((r) => r.config.seed === run.config.seed);
    if (twin !== undefined) {
      throw new AggregateError(
        `${someRuns([twin.dir])} and ${someRuns([run.dir])} are the same configuration with the same seed (${run.config.seed}): ` +
          `a mean over seeds would count that seed twice; give only one of them`,
      );
    }
    group.push(run);
    byKey.set(key, group);
  }
  const groups = [...byKey.values()];
  const settings = new Map<string, string[]>();
  for (const group of groups) {
    const setting = describeBenchmark(benchmarkOf(group[0]!.config));
    settings.set(setting, [...(settings.get(setting) ?? []), ...group.map((r) => r.dir)]);
  }
  if (settings.size > 1 && options.allowMixed !== true) {
    const lines = [...settings].map(([setting, dirs]) => `  ${setting}: ${someRuns(dirs)}`);
    throw new AggregateError(
      `the runs were made on different benchmarks or numbers of tasks, and a table compares like with like:\n${lines.join('\n')}\n` +
        `aggregate each benchmark's runs separately, or pass --allow-mixed to put them in one table`,
    );
  }
  const groupLabels = configurationLabels(groups.map((g) => g[0]!.config));
  return groups.map((group, i) => {
    const sorted = [...group].sort((a, b) => a.config.seed - b.config.seed);
    return {
      label: groupLabels[i]!,
      benchmark: benchmarkOf(sorted[0]!.config),
      seeds: sorted.map((r) => r.config.seed),
      runs: sorted.map((r) => r.dir),
      ...groupStats(sorted),
    };
  });
}

/** Reads the runs under `paths`, skips the unfinished ones, and groups the rest. */
export function aggregate(paths: readonly string[], options: AggregateOptions = {}): Aggregation {
  const { runs, skipped } = collectRuns(paths);
  if (runs.length === 0) {
    const reasons = skipped.map((s) => `  ${someRuns([s.dir])}: ${s.reason}`);
    throw new AggregateError(`no finished run to aggregate${reasons.length === 0 ? ' (the sweep lists no runs)' : `:\n${reasons.join('\n')}`}`);
  }
  return { groups: groupRuns(runs, options), skipped };
}
