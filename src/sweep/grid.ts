// A sweep's grid: which keys vary and over which values, from the command line
// (`key=v1,v2`, `seed=0..4`) and from the `sweep:` section of the YAML file,
// and its expansion into runs, in Hydra's multirun style.
import { parseDocument, stringify } from 'yaml';
import { ConfigError, type ConfigIssue, parseOverride } from '../config/loader.js';

/** The keys that vary, each with its values as override text, in the order given. */
export type Grid = Record<string, string[]>;

/** One point of the grid: the value of each grid key, in the grid's key order. */
export interface GridPoint {
  /** `key=value` for each grid key, e.g. `seed=1`. */
  readonly assignments: string[];
  /** The assignments space-separated, e.g. `algorithms=[{name: ewc}] seed=1`. */
  readonly label: string;
}

const TITLE = 'invalid sweep';

function gridError(location: string, message: string): ConfigError {
  return new ConfigError([{ path: null, location, message }], TITLE);
}

const LITERAL_COMMA_HINT = `to give a value that contains a comma, quote it ('a,b') or write it inside brackets or braces`;

/**
 * Splits a value at its top-level commas: a comma inside brackets, braces or
 * quotes belongs to the value (`[{name: ewc, lambda: 1000}]` is one value).
 * Throws (naming `where`) on unbalanced brackets, an unclosed quote or an empty value.
 */
export function splitTopLevel(text: string, where: string): string[] {
  const parts: string[] = [];
  const open: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') open.push(c === '[' ? ']' : '}');
    else if (c === ']' || c === '}') {
      if (open.pop() !== c) throw gridError(where, `unbalanced '${c}' at character ${i + 1} of '${text}'; every '[' needs its ']' and every '{' its '}'`);
    } else if (c === ',' && open.length === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quote !== undefined) throw gridError(where, `the quote ${quote} in '${text}' is never closed`);
  if (open.length > 0) throw gridError(where, `'${text}' is missing ${open.reverse().map((c) => `'${c}'`).join(', ')}; every '[' needs its ']' and every '{' its '}'`);
  parts.push(text.slice(start));
  const values = parts.map((p) => p.trim());
  if (values.length > 1 && values.some((v) => v === '')) {
    throw gridError(where, `'${text}' has an empty value between commas; write the values as v1,v2,... (${LITERAL_COMMA_HINT})`);
  }
  return values;
}

const RANGE = /^(-?\d+)\.\.(-?\d+)$/;
// A sweep of 10^5 values of one key is surely a typo (0..100000 for 0..10).
const MAX_RANGE = 10_000;

/** The values of one grid key: its top-level comma-separated parts, each `a..b` integer range expanded (inclusive). */
export function parseGridValues(key: string, text: string, where: string): string[] {
  const values: string[] = [];
  for (const part of splitTopLevel(text, where)) {
    const range = RANGE.exec(part);
    if (range === null) {
      values.push(part);
      continue;
    }
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw gridError(where, `the range ${part} is empty: write the smaller bound first (${to}..${from})`);
    if (to - from + 1 > MAX_RANGE) throw gridError(where, `the range ${part} has ${to - from + 1} values, more than ${MAX_RANGE}; is a bound mistyped?`);
    for (let v = from; v <= to; v++) values.push(String(v));
  }
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw gridError(where, `${key} takes the value ${v} twice; each value of a grid key is run once`);
    seen.add(v);
  }
  return values;
}

/** Whether an override argument is a grid (several values, or a range) rather than one fixed value. */
function gridValues(arg: string): { key: string; values: string[] } | undefined {
  const eq = arg.indexOf('=');
  if (eq < 0 || arg.startsWith('~')) return undefined;
  const key = arg.slice(0, eq).trim().replace(/^\+/, '');
  const value = arg.slice(eq + 1);
  const values = parseGridValues(key, value, `argument '${arg}'`);
  return values.length > 1 || RANGE.test(value.trim()) ? { key, values } : undefined;
}

/** The `sweep:` section of a config file, and the file's text without it (for the experiment's validation). */
export interface SweepSection {
  /** The file's text with the section blanked out, so that line numbers in messages still match the file. */
  readonly experimentText: string;
  readonly grid: Grid;
  /** Anything else the section holds besides `grid` (options of the launchers), as plain values. */
  readonly options: Record<string, unknown>;
}

/** What the `sweep:` section may hold besides `grid`. */
export const SWEEP_SECTION_KEYS = ['grid', 'slurm'] as const;

/**
 * Reads the `sweep:` section of a config file's text. Its `grid` maps keys to
 * a value string in the command line's syntax (`0..4`, `0.1,0.01`) or a YAML
 * list of values. A file without the section has an empty grid.
 */
export function readSweepSection(text: string, name: string): SweepSection {
  const doc = parseDocument(text, { prettyErrors: false });
  // A file that is not valid YAML is reported by the experiment's validation, with positions.
  if (doc.errors.length > 0) return { experimentText: text, grid: {}, options: {} };
  const pair = (doc.contents as { items?: { key: unknown; value: unknown }[] } | null)?.items?.find((p) => (p.key as { value?: unknown } | null)?.value === 'sweep');
  if (pair === undefined) return { experimentText: text, grid: {}, options: {} };
  const start = (pair.key as { range: number[] }).range[0]!;
  const end = (pair.value as { range?: number[] } | null)?.range?.[2] ?? (pair.key as { range: number[] }).range[2]!;
  const experimentText = text.slice(0, start) + text.slice(start, end).replace(/[^\n]/g, ' ') + text.slice(end);
  const section: unknown = (doc.toJS() as Record<string, unknown>)['sweep'];
  const where = `${name}: sweep`;
  if (section === null || typeof section !== 'object' || Array.isArray(section)) throw gridError(where, `expected a mapping with a 'grid' of keys to sweep, e.g. sweep: {grid: {seed: 0..4}}`);
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(section)) {
    if (!(SWEEP_SECTION_KEYS as readonly string[]).includes(key)) issues.push({ path: null, location: where, message: `unknown key '${key}' (the section holds ${SWEEP_SECTION_KEYS.join(', ')})` });
  }
  const rawGrid = (section as Record<string, unknown>)['grid'] ?? {};
  const grid: Grid = {};
  if (rawGrid === null || typeof rawGrid !== 'object' || Array.isArray(rawGrid)) {
    issues.push({ path: null, location: `${where}.grid`, message: `expected a mapping of keys to their values, e.g. grid: {seed: 0..4, training.optimizer.lr: [0.1, 0.01]}` });
  } else {
    for (const [key, value] of Object.entries(rawGrid)) {
      try {
        grid[key] = Array.isArray(value) ? value.map(valueText) : parseGridValues(key, valueText(value), `${where}.grid.${key}`);
        if (grid[key]!.length === 0) throw gridError(`${where}.grid.${key}`, 'the list of values is empty');
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        issues.push(...error.issues);
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, TITLE);
  const { grid: _grid, ...options } = section as Record<string, unknown>;
  return { experimentText, grid, options };
}

/** A YAML value as override text: strings as written, anything else in YAML's flow style (`[{name: ewc}]`). */
function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}

/** The sweep as given: fixed overrides and the grid. */
export interface SweepSpec {
  readonly overrides: string[];
  readonly grid: Grid;
}

/**
 * Splits command-line overrides into fixed ones and grid keys, merged with the
 * file's grid: a key given on the command line replaces the file's grid of
 * that key (fixing it to one value, or to other values), as in Hydra.
 */
export function sweepSpec(args: readonly string[], fileGrid: Grid): SweepSpec {
  const grid: Grid = { ...fileGrid };
  const overrides: string[] = [];
  const issues: ConfigIssue[] = [];
  const fromCommandLine = new Set<string>();
  for (const arg of args) {
    try {
      parseOverride(arg.includes('=') ? `${arg.slice(0, arg.indexOf('='))}=0` : arg);
      const g = gridValues(arg);
      const key = (g?.key ?? arg.slice(0, Math.max(0, arg.indexOf('=')))).trim().replace(/^[+~]/, '');
      if (fromCommandLine.has(key)) throw gridError(`argument '${arg}'`, `${key} is given twice; give its values once, separated by commas (${key}=v1,v2)`);
      if (key !== '') fromCommandLine.add(key);
      delete grid[key];
      if (g === undefined) overrides.push(arg);
      else grid[g.key] = g.values;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  for (const key of Object.keys(grid)) {
    try {
      parseOverride(`${key}=0`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues.map((i) => ({ ...i, location: `grid key '${key}'` })));
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, TITLE);
  return { overrides, grid };
}

/** The cartesian product of the grid, the first key varying slowest, values in the order given. */
export function expandGrid(grid: Grid): GridPoint[] {
  let points: string[][] = [[]];
  for (const [key, values] of Object.entries(grid)) points = points.flatMap((p) => values.map((v) => [...p, `${key}=${v}`]));
  return points.map((assignments) => ({ assignments, label: assignments.join(' ') }));
}
