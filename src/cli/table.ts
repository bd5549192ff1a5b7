// Plain-text tables for the terminal: the accuracy matrix and the run's
// summary metrics, aligned in columns. ASCII only, so that they read the same
// in any terminal, log file or CI page.
import { AccuracyMatrix, type TaskMatrix, averageAccuracy } from '../continual/metrics/matrix.js';
import type { RunSummary } from '../continual/results/summary.js';

export type Align = 'left' | 'right';

/**
 * Columns separated by two spaces, a dashed rule under the header; cells are
 * left-aligned unless `align` says otherwise. Trailing spaces are trimmed.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const columns = Math.max(header.length, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(header[c]?.length ?? 0, ...rows.map((r) => r[c]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, c) => {
        const cell = cells[c] ?? '';
        return align[c] === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface MatrixTableOptions {
  /** Decimals (default 4). */
  digits?: number;
  /** Show percentages instead of fractions (accuracy only). */
  percent?: boolean;
}

/**
 * The matrix as a table: a row per trained task with its average, then the
 * result on each task tested; cells above the diagonal are blank.
 */
export function formatAccuracyMatrix(matrix: TaskMatrix, options: MatrixTableOptions = {}): string {
  const digits = options.digits ?? 4;
  const scale = options.percent ? 100 : 1;
  const format = (v: number): string => (v * scale).toFixed(digits);
  const T = matrix.numTasks;
  const header = ['after task', matrix.kind === 'accuracy' ? 'average' : 'avg loss', ...Array.from({ length: T }, (_, j) => `task ${j + 1}`)];
  const rows: string[][] = [];
  for (let t = 1; t <= T; t++) {
    const cells = Array.from({ length: t }, (_, j) => (matrix.has(t, j + 1) ? format(matrix.get(t, j + 1)) : '?'));
    const complete = cells.every((c) => c !== '?');
    rows.push([String(t), complete ? format(averageAccuracy(matrix, t)) : '?', ...cells]);
  }
  return formatTable(header, rows, header.map(() => 'right'));
}

function signed(value: number, digits: number): string {
  return value > 0 ? `+${value.toFixed(digits)}` : value.toFixed(digits);
}

/**
 * The headline metrics of a run, one per line: final average accuracy, BWT,
 * forgetting, and FWT and the forgetting ratio when references were run.
 * Undefined metrics (one task only) read `n/a`.
 */
export function formatSummary(summary: RunSummary, options: { digits?: number } = {}): string {
  const digits = options.digits ?? 4;
  const undefinedText = 'n/a (needs 2 or more tasks)';
  const rows: [string, string][] = [
    ['tasks', String(summary.numTasks)],
    ['average accuracy (AA)', summary.finalAverageAccuracy.toFixed(digits)],
    ['backward transfer (BWT)', summary.bwt === null ? undefinedText : signed(summary.bwt, digits)],
    ['forgetting (F)', summary.finalForgetting === null ? undefinedText : summary.finalForgetting.toFixed(digits)],
  ];
  const transfer = summary.fwt;
  if (transfer?.independent !== undefined) {
    rows.push(['forward transfer (FWT) vs independent', transfer.independent === null ? undefinedText : signed(transfer.independent, digits)]);
  }
  if (transfer?.random !== undefined) {
    rows.push(['forward transfer (FWT) vs random', transfer.random === null ? undefinedText : signed(transfer.random, digits)]);
  }
  if (summary.forgettingRatio !== undefined) {
    rows.push(['forgetting ratio (FR)', summary.forgettingRatio === null ? 'n/a (joint and random accuracies coincide)' : signed(summary.forgettingRatio, digits)]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** The accuracy matrix of a summary followed by its headline metrics (the end-of-run report). */
export function formatRunSummary(summary: RunSummary, options: { digits?: number } = {}): string {
  const matrix = formatAccuracyMatrix(new AccuracyMatrix(summary.accuracy), options);
  return `accuracy matrix (rows: after training task t; columns: test on task j)\n${matrix}\n\n${formatSummary(summary, options)}`;
}
