// An aggregation written out: the paper's table as Markdown and CSV, all of
// it as JSON, and the average-accuracy curves with a band of ±1 standard
// deviation as SVG. Markdown rounds to 4 decimals (as the run summary does);
// CSV and JSON keep every digit.
import { relative } from 'node:path';
import { csvNumber, formatJson, lineChart } from '../continual/results/index.js';
import type { AggregatedGroup, Aggregation, GroupMetrics, Stat } from './aggregate.js';

/** The metric columns, in table order: key in GroupMetrics, Markdown header, CSV column stem. */
const METRICS: readonly (readonly [keyof GroupMetrics, string, string])[] = [
  ['averageAccuracy', 'AA', 'aa'],
  ['bwt', 'BWT', 'bwt'],
  ['forgetting', 'forgetting', 'forgetting'],
  ['fwtIndependent', 'FWT (independent)', 'fwt_independent'],
  ['fwtRandom', 'FWT (random)', 'fwt_random'],
  ['forgettingRatio', 'forgetting ratio', 'forgetting_ratio'],
];

/** The metrics that need reference runs are shown only when some group has them. */
const ALWAYS_SHOWN: ReadonlySet<keyof GroupMetrics> = new Set(['averageAccuracy', 'bwt', 'forgetting']);

function numTasks(aggregation: Aggregation): number {
  return Math.max(...aggregation.groups.map((g) => g.finalAccuracy.length));
}

/** `mean ± std`; '—' for an undefined std (one seed) or mean, and the count when fewer runs than the group's have the value. */
export function formatStat(s: Stat | undefined, groupSize: number, digits = 4): string {
  if (s === undefined || s.mean === null) return '—';
  const text = `${s.mean.toFixed(digits)} ± ${s.std === null ? '—' : s.std.toFixed(digits)}`;
  return s.n < groupSize ? `${text} (n=${s.n})` : text;
}

function seedsCell(group: AggregatedGroup): string {
  return `${group.seeds.length} (${group.seeds.join(', ')})`;
}

/** A path as shown in the skipped list: relative to `base` when inside it. */
function shown(dir: string, base: string): string {
  const r = relative(base, dir);
  return r !== '' && !r.startsWith('..') ? r : dir;
}

/** The table in Markdown, then the skipped runs (paths relative to `base`). */
export function aggregateMarkdown(aggregation: Aggregation, base: string): string {
  const metrics = METRICS.filter(([key]) => ALWAYS_SHOWN.has(key) || aggregation.groups.some((g) => g.metrics[key].n > 0));
  const T = numTasks(aggregation);
  const header = ['group', 'seeds', ...metrics.map(([, title]) => title), ...Array.from({ length: T }, (_, j) => `task ${j + 1}`)];
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const row = (cells: readonly string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  const lines = [row(header), `|${header.map((_, c) => (c < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const g of aggregation.groups) {
    const size = g.seeds.length;
    lines.push(row([g.label, seedsCell(g), ...metrics.map(([key]) => formatStat(g.metrics[key], size)), ...Array.from({ length: T }, (_, j) => formatStat(g.finalAccuracy[j], size))]));
  }
  lines.push('', 'Mean ± sample standard deviation over seeds (— with one seed); task j: accuracy on task j after the last task.');
  if (aggregation.skipped.length > 0) {
    lines.push('', `Skipped (not finished): ${aggregation.skipped.length}`, '');
    for (const s of aggregation.skipped) lines.push(`- ${shown(s.dir, base)}: ${s.reason.replace(/\n/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvStat(s: Stat | undefined): string[] {
  return [s?.mean == null ? '' : csvNumber(s.mean), s?.std == null ? '' : csvNumber(s.std)];
}

/**
 * One row per group: label, seed count, seeds (space-separated), then mean
 * and std of each metric and of each task's final accuracy. Every column is
 * always present (blank where undefined), so that a script reads any table.
 */
export function aggregateCsv(aggregation: Aggregation): string {
  const T = numTasks(aggregation);
  const tasks = Array.from({ length: T }, (_, j) => j);
  const header = ['group', 'n', 'seeds', ...METRICS.flatMap(([, , stem]) => [`${stem}_mean`, `${stem}_std`]), ...tasks.flatMap((j) => [`task_${j + 1}_mean`, `task_${j + 1}_std`])];
  const lines = [header.join(',')];
  for (const g of aggregation.groups) {
    lines.push(
      [csvCell(g.label), String(g.seeds.length), g.seeds.join(' '), ...METRICS.flatMap(([key]) => csvStat(g.metrics[key])), ...tasks.flatMap((j) => csvStat(g.finalAccuracy[j]))].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Everything, machine-readable: the groups (with their runs) and the skipped runs. */
export function aggregateJson(aggregation: Aggregation): string {
  return `${formatJson({ version: 1, groups: aggregation.groups, skipped: aggregation.skipped })}\n`;
}

/**
 * AA after each task, per group: the mean over seeds as a line and ±1
 * standard deviation as a band (clipped to [0, 1], where accuracies live;
 * none with one seed).
 */
export function aggregateAccuracySvg(aggregation: Aggregation): string {
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  const series = aggregation.groups.map((g) => {
    const curve = g.averageAccuracyCurve;
    const withSpread = curve.every((s) => s.mean !== null && s.std !== null);
    return {
      name: `${g.label} (n=${g.seeds.length})`,
      points: curve.map((s, t) => ({ x: t + 1, y: s.mean })),
      ...(withSpread ? { band: curve.map((s, t) => ({ x: t + 1, low: clip(s.mean! - s.std!), high: clip(s.mean! + s.std!) })) } : {}),
    };
  });
  return lineChart(series, {
    title: 'Average accuracy (mean ± 1 std over seeds)',
    xLabel: 'after training task',
    yLabel: 'average accuracy',
    yDomain: [0, 1],
  });
}
