// Plots as SVG: a text format that every browser and image viewer renders,
// written with no native code or plotting library. The output is
// deterministic (same data, same bytes), so plots can be compared in tests.
import { type TaskMatrix, averageAccuracies } from '../metrics/matrix.js';
import type { UnlearningSummary } from '../metrics/unlearning.js';

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Coordinates rounded to 0.01 px: enough for any screen, and stable text. */
function px(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function svgOpen(width: number, height: number, title: string): string[] {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect class="background" x="0" y="0" width="${px(width)}" height="${px(height)}" fill="#ffffff"/>`,
    `<text class="title" x="${px(width / 2)}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
  ];
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attributes === '' ? '' : ` ${attributes}`}>${escapeXml(content)}</text>`;
}

// --- colour ----------------------------------------------------------------

/** A colour as red, green and blue from 0 to 255. */
export type Rgb = readonly [number, number, number];

/**
 * The heatmaps' colour scale, low to high, as evenly spaced RGB stops: white
 * to dark green (as matplotlib's "Greens", which CLArena's plots use), so
 * that light cells are low values.
 */
export const HEATMAP_SCALE: readonly Rgb[] = [
  [247, 252, 245],
  [199, 233, 192],
  [116, 196, 118],
  [35, 139, 69],
  [0, 68, 27],
];

function colourAt(fraction: number): Rgb {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)) * (HEATMAP_SCALE.length - 1);
  const i = Math.min(HEATMAP_SCALE.length - 2, Math.floor(f));
  const a = HEATMAP_SCALE[i]!;
  const b = HEATMAP_SCALE[i + 1]!;
  const w = f - i;
  const mix = (k: 0 | 1 | 2): number => Math.round(a[k] + (b[k] - a[k]) * w);
  return [mix(0), mix(1), mix(2)];
}

function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Black or white, whichever reads better on `background` (relative luminance). */
function textColour([r, g, b]: Rgb): string {
  const luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  return luminance < 0.5 ? '#ffffff' : '#000000';
}

// --- heatmap -----------------------------------------------------------------

/** How an SVG heatmap is drawn. */
export interface HeatmapOptions {
  title?: string;
  /** Values mapped to the ends of the colour scale (default [0, 1]). */
  domain?: readonly [number, number];
  /** Decimals of the printed values (default 3). */
  digits?: number;
}

/**
 * The lower-triangular matrix as a heatmap: one square per recorded cell,
 * coloured by value with the value printed in it; rows are "after training
 * task t" (top to bottom), columns "test on task j", with a colour bar.
 */
export function matrixHeatmapSvg(matrix: TaskMatrix, options: HeatmapOptions = {}): string {
  const title = options.title ?? (matrix.kind === 'accuracy' ? 'Accuracy matrix' : 'Loss matrix');
  const [lo, hi] = options.domain ?? [0, 1];
  const digits = options.digits ?? 3;
  const T = Math.max(1, matrix.numTasks);
  const cell = Math.min(64, Math.max(28, Math.floor(480 / T)));
  const fontSize = Math.max(7, Math.round(cell * 0.24));
  const left = 80;
  const top = 50;
  const gridSize = cell * T;
  const barX = left + gridSize + 24;
  const barWidth = 14;
  const width = barX + barWidth + 48;
  const height = top + gridSize + 62;
  const out = svgOpen(width, height, title);

  out.push('<g class="cells">');
  for (let t = 1; t <= matrix.numTasks; t++) {
    for (let j = 1; j <= t; j++) {
      if (!matrix.has(t, j)) continue;
      const value = matrix.get(t, j);
      const colour = colourAt(hi === lo ? 0 : (value - lo) / (hi - lo));
      const x = left + (j - 1) * cell;
      const y = top + (t - 1) * cell;
      out.push(
        `<rect class="cell" data-after-task="${t}" data-test-task="${j}" x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${hex(colour)}" stroke="#ffffff" stroke-width="1"><title>after training task ${t}, test on task ${j}: ${escapeXml(String(value))}</title></rect>`,
      );
      out.push(text(x + cell / 2, y + cell / 2 + fontSize * 0.35, value.toFixed(digits), `class="value" text-anchor="middle" font-size="${fontSize}" fill="${textColour(colour)}"`));
    }
  }
  out.push('</g>');

  // Ticks: task numbers along both axes.
  out.push('<g class="ticks" font-size="11">');
  for (let k = 1; k <= T; k++) {
    out.push(text(left + (k - 0.5) * cell, top + gridSize + 16, String(k), 'text-anchor="middle"'));
    out.push(text(left - 8, top + (k - 0.5) * cell + 4, String(k), 'text-anchor="end"'));
  }
  out.push('</g>');
  out.push(text(left + gridSize / 2, top + gridSize + 40, 'test on task', 'class="axis-label" text-anchor="middle" font-size="13"'));
  const yMid = top + gridSize / 2;
  out.push(text(28, yMid, 'after training task', `class="axis-label" text-anchor="middle" font-size="13" transform="rotate(-90 28 ${px(yMid)})"`));

  // Colour bar: the scale's stops as a vertical gradient, high at the top.
  out.push('<defs><linearGradient id="scale" x1="0" y1="1" x2="0" y2="0">');
  HEATMAP_SCALE.forEach((c, i) => out.push(`<stop offset="${px(i / (HEATMAP_SCALE.length - 1))}" stop-color="${hex(c)}"/>`));
  out.push('</linearGradient></defs>');
  out.push(`<rect class="legend" x="${px(barX)}" y="${px(top)}" width="${barWidth}" height="${px(gridSize)}" fill="url(#scale)" stroke="#888888" stroke-width="0.5"/>`);
  out.push('<g class="legend-ticks" font-size="10">');
  for (const f of [0, 0.5, 1]) {
    const v = lo + (hi - lo) * f;
    out.push(text(barX + barWidth + 4, top + gridSize * (1 - f) + 3.5, formatTick(v, (hi - lo) / 2)));
  }
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The accuracy matrix heatmap (values in [0, 1]). */
export function accuracyHeatmapSvg(acc: TaskMatrix, options: Omit<HeatmapOptions, 'domain'> = {}): string {
  return matrixHeatmapSvg(acc, { title: 'Accuracy matrix', ...options, domain: [0, 1] });
}

// --- line charts ---------------------------------------------------------------

/** A point of a line chart. */
export interface LinePoint {
  x: number;
  /** null leaves a gap (an undefined metric at that step). */
  y: number | null;
}

/** A shaded range around a series at x (a spread over seeds), from low to high. */
export interface BandPoint {
  x: number;
  low: number;
  high: number;
}

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  points: readonly LinePoint[];
  /** A shaded range drawn under the line, in the series' colour; at least two points. */
  band?: readonly BandPoint[];
}

/** How an SVG line chart is drawn. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Fixed y range; by default it fits the data with round ticks. */
  yDomain?: readonly [number, number];
  /** x positions of ticks; by default every integer when x is a small integer range (task ids). */
  xTicks?: readonly number[];
  width?: number;
  height?: number;
  /** Decimals of the values in point tooltips (default 4). */
  digits?: number;
  /** A marker (with a tooltip) at every point (default true); off for long series, where only the lines are drawn. */
  markers?: boolean;
}

/** The line charts' series colours, in order (Okabe–Ito: distinguishable with the common colour-vision deficiencies). */
export const SERIES_COLOURS: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((step) => step >= raw * (1 - 1e-9)) ?? 10 * power;
}

/** Decimals needed to write multiples of `step` exactly (0.25 → 2, 0.5 → 1, 10 → 0). */
function decimalsFor(step: number): number {
  for (let d = 0; d < 10; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6) return d;
  }
  return 10;
}

function ticksOf(start: number, end: number, step: number): number[] {
  const decimals = decimalsFor(step);
  const ticks: number[] = [];
  const first = Math.ceil(start / step - 1e-9);
  const last = Math.floor(end / step + 1e-9);
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toFixed(decimals)));
  return ticks;
}

/** Round tick positions within [min, max]: steps of 1, 2, 2.5 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  return ticksOf(min, max, niceStep(max - min, count));
}

function formatTick(value: number, step: number): string {
  return value.toFixed(decimalsFor(step));
}

/**
 * A line chart with points, axes, ticks, grid, axis labels and, with more
 * than one series, a legend; a series with a band gets it shaded under its
 * line. Generic, for any per-step metric.
 */
export function lineChart(series: readonly LineSeries[], options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const digits = options.digits ?? 4;
  const legend = series.length > 1;
  const margin = { left: 72, right: legend ? 170 : 24, top: 46, bottom: 58 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p.x).filter(Number.isFinite);
  const bands = series.flatMap((s) => s.band ?? []).flatMap((b) => [b.low, b.high]);
  const ys = [...points.map((p) => p.y), ...bands].filter((y): y is number => y !== null && Number.isFinite(y));
  let xMin = xs.length > 0 ? Math.min(...xs) : 0;
  let xMax = xs.length > 0 ? Math.max(...xs) : 1;
  if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  const integerX = xs.every(Number.isInteger) && xMax - xMin <= 20;
  const xTicks = options.xTicks ?? (integerX ? Array.from({ length: xMax - xMin + 1 }, (_, i) => xMin + i) : niceTicks(xMin, xMax));
  if (integerX && options.xTicks === undefined) {
    // Half a step of room so that the first and last points are not on the frame.
    xMin -= 0.5;
    xMax += 0.5;
  }

  let yMin: number;
  let yMax: number;
  let yStep: number;
  if (options.yDomain !== undefined) {
    [yMin, yMax] = options.yDomain;
    yStep = niceStep(yMax - yMin, 5);
  } else {
    // Fit the data, then widen to whole steps so the frame ends on ticks.
    let lo = ys.length > 0 ? Math.min(...ys) : 0;
    let hi = ys.length > 0 ? Math.max(...ys) : 1;
    if (lo === hi) {
      const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= pad;
      hi += pad;
    }
    yStep = niceStep(hi - lo, 5);
    yMin = Math.floor(lo / yStep + 1e-9) * yStep;
    yMax = Math.ceil(hi / yStep - 1e-9) * yStep;
  }
  const yTicks = ticksOf(yMin, yMax, yStep);
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;

  const sx = (x: number): number => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number): number => margin.top + (1 - (y - yMin) / (yMax - yMin || 1)) * plotH;

  const out = svgOpen(width, height, options.title);
  // Grid and ticks.
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const y of yTicks) out.push(`<line x1="${px(margin.left)}" y1="${px(sy(y))}" x2="${px(margin.left + plotW)}" y2="${px(sy(y))}"/>`);
  out.push('</g>');
  out.push('<g class="ticks" font-size="11">');
  for (const y of yTicks) out.push(text(margin.left - 6, sy(y) + 4, formatTick(y, yStep), 'text-anchor="end"'));
  for (const x of xTicks) {
    out.push(`<line x1="${px(sx(x))}" y1="${px(margin.top + plotH)}" x2="${px(sx(x))}" y2="${px(margin.top + plotH + 5)}" stroke="#333333"/>`);
    out.push(text(sx(x), margin.top + plotH + 18, integerX ? String(x) : formatTick(x, xStep), 'text-anchor="middle"'));
  }
  out.push('</g>');
  // Axes.
  out.push(
    `<path class="axes" d="M ${px(margin.left)} ${px(margin.top)} V ${px(margin.top + plotH)} H ${px(margin.left + plotW)}" fill="none" stroke="#333333" stroke-width="1"/>`,
  );
  out.push(text(margin.left + plotW / 2, height - 14, options.xLabel, 'class="axis-label" text-anchor="middle" font-size="13"'));
  const yMid = margin.top + plotH / 2;
  out.push(text(18, yMid, options.yLabel, `class="axis-label" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${px(yMid)})"`));

  // Series: lines broken at missing values, a marker per point.
  series.forEach((s, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length]!;
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (s.band !== undefined && s.band.length > 1) {
      // Along the upper edge and back along the lower one, closed.
      const edge = [...s.band.map((b) => [b.x, b.high] as const), ...[...s.band].reverse().map((b) => [b.x, b.low] as const)];
      const d = edge.map(([x, y], k) => `${k === 0 ? 'M' : 'L'} ${px(sx(x))} ${px(sy(y))}`).join(' ');
      out.push(`<path class="band" d="${d} Z" fill="${colour}" fill-opacity="0.18" stroke="none"/>`);
    }
    const segments: string[] = [];
    let current: string[] = [];
    for (const p of s.points) {
      if (p.y === null || !Number.isFinite(p.y)) {
        if (current.length > 1) segments.push(current.join(' '));
        current = [];
        continue;
      }
      current.push(`${current.length === 0 ? 'M' : 'L'} ${px(sx(p.x))} ${px(sy(p.y))}`);
    }
    if (current.length > 1) segments.push(current.join(' '));
    for (const d of segments) out.push(`<path class="line" d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of s.points) {
      if (options.markers === false || p.y === null || !Number.isFinite(p.y)) continue;
      out.push(
        `<circle class="point" cx="${px(sx(p.x))}" cy="${px(sy(p.y))}" r="4" fill="${colour}"><title>${escapeXml(`${s.name}: x = ${p.x}, y = ${p.y.toFixed(digits)}`)}</title></circle>`,
      );
    }
    out.push('</g>');
  });

  if (legend) {
    out.push('<g class="legend" font-size="12">');
    series.forEach((s, i) => {
      const y = margin.top + 10 + i * 20;
      const x = margin.left + plotW + 16;
      out.push(`<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 22)}" y2="${px(y)}" stroke="${SERIES_COLOURS[i % SERIES_COLOURS.length]!}" stroke-width="2"/>`);
      out.push(text(x + 28, y + 4, s.name));
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** AA_t against t, on a fixed [0, 1] scale so that runs can be compared by eye. */
export function averageAccuracyCurveSvg(acc: TaskMatrix, options: { title?: string } = {}): string {
  const aa = averageAccuracies(acc);
  return lineChart([{ name: 'average accuracy', points: aa.map((y, i) => ({ x: i + 1, y })) }], {
    title: options.title ?? 'Average accuracy',
    xLabel: 'after training task',
    yLabel: 'average accuracy',
    yDomain: [0, 1],
  });
}

function unlearnedNote(summary: UnlearningSummary): string {
  return summary.requests.map((r) => `${r.tasks.join(', ')} after task ${r.afterTask}`).join(', ');
}

/**
 * Final accuracy per task of the unlearned model next to the retrain and
 * original references (the retrain reference has no value on unlearned tasks).
 */
export function unlearningAccuracySvg(summary: UnlearningSummary): string {
  const series: LineSeries[] = [{ name: 'unlearned model', points: summary.tasks.map((r) => ({ x: r.task, y: r.accuracy })) }];
  if (summary.tasks.some((r) => r.retrainAccuracy !== null)) series.push({ name: 'retrain reference', points: summary.tasks.map((r) => ({ x: r.task, y: r.retrainAccuracy })) });
  if (summary.tasks.some((r) => r.originalAccuracy !== null)) series.push({ name: 'original reference', points: summary.tasks.map((r) => ({ x: r.task, y: r.originalAccuracy })) });
  const gain = summary.accuracyGain === null ? '' : `; AG ${summary.accuracyGain.toFixed(4)}`;
  return lineChart(series, {
    title: `Final accuracy (unlearned ${unlearnedNote(summary)}${gain})`,
    xLabel: 'test on task',
    yLabel: 'accuracy',
    yDomain: [0, 1],
  });
}

/** Cosine distance and 1 − linear CKA between the unlearned model's and the retrain reference's features, per task's test data. */
export function unlearningDistanceSvg(summary: UnlearningSummary): string {
  const distance = (pick: (d: NonNullable<UnlearningSummary['tasks'][number]['distance']>) => number | null): LinePoint[] =>
    summary.tasks.map((r) => ({ x: r.task, y: r.distance === null ? null : pick(r.distance) }));
  return lineChart(
    [
      { name: 'cosine distance', points: distance((d) => d.cosine) },
      { name: '1 − linear CKA', points: distance((d) => (d.linearCka === null ? null : 1 - d.linearCka)) },
    ],
    {
      title: `Features vs the retrain reference (unlearned ${unlearnedNote(summary)})`,
      xLabel: 'test data of task',
      yLabel: 'distance',
      yDomain: [0, 1],
    },
  );
}
