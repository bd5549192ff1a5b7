/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The report page's script: it draws the page from the report's data (data.ts)
// in the browser, as plain DOM and SVG. html.ts inlines this function's
// compiled source into the page, so it is type-checked with the rest of the
// code but runs in the browser: it must use nothing from outside its body
// (no imports but types, no module-level values), which the browser test
// would show as a ReferenceError.
import type { ReportData, ReportGroup, ReportMetrics, ReportRun } from './data.js';
import type { Stat } from '../sweep/aggregate.js';

/** Builds the report page from `data` into the page's element #report, and sets the performance mark `perennial-report-rendered` when done. */
export function renderReport(data: ReportData): void {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const METRICS: readonly (readonly [keyof ReportMetrics, string])[] = [
    ['averageAccuracy', 'AA'],
    ['bwt', 'BWT'],
    ['forgetting', 'forgetting'],
    ['fwtIndependent', 'FWT (independent)'],
    ['fwtRandom', 'FWT (random)'],
    ['forgettingRatio', 'forgetting ratio'],
  ];
  // The metrics that need reference runs get columns only when some run has them, as in aggregate's table.
  const ALWAYS_SHOWN = new Set<keyof ReportMetrics>(['averageAccuracy', 'bwt', 'forgetting']);
  const shownMetrics = METRICS.filter(([key]) => ALWAYS_SHOWN.has(key) || data.runs.some((r) => r.metrics[key] !== null));
  const maxTasks = Math.max(1, ...data.runs.map((r) => r.accuracy.length));
  const visible = new Set(data.runs.map((r) => r.id));
  const runById = new Map(data.runs.map((r) => [r.id, r]));
  // Beyond this many runs a chart draws no points (thousands of them slow the
  // page down and cannot be told apart); the groups' means keep theirs.
  const MAX_RUNS_WITH_POINTS = 30;
  const groupSizes = data.groups.map((g) => g.runs.length);
  const seedGroups = data.groups.filter((g) => g.runs.length > 1);

  // --- building blocks --------------------------------------------------------

  type Child = Node | string;
  function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
    e.append(...children);
    return e;
  }
  function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
    return e;
  }
  function svgText(x: number, y: number, content: string, attributes: Record<string, string | number> = {}): SVGTextElement {
    const t = svg('text', { x, y, ...attributes });
    t.textContent = content;
    return t;
  }
  function fixed(v: number | null | undefined, digits = 4): string {
    return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
  }
  /** As `perennial aggregate` writes a statistic: mean ± std, '—' where undefined, the count when fewer runs than the group's have it. */
  function formatStat(s: Stat | undefined, groupSize: number): string {
    if (s === undefined || s.mean === null) return '—';
    const text = `${s.mean.toFixed(4)} ± ${s.std === null ? '—' : s.std.toFixed(4)}`;
    return s.n < groupSize ? `${text} (n=${s.n})` : text;
  }
  /** A value of an algorithm's report: integers whole, other numbers to 4 decimals (or 4 significant digits when tiny). */
  function formatValue(v: unknown): string {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 && v !== 0 ? v.toPrecision(4) : v.toFixed(4);
    if (typeof v === 'string' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return v.map(formatValue).join(', ');
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${formatValue(x)}`)
      .join('; ');
  }
  /** Ascending seeds with each run of consecutive ones as first–last: 1–10, 12. */
  function seedRanges(seeds: readonly number[]): string {
    const parts: string[] = [];
    for (let i = 0; i < seeds.length; ) {
      let j = i;
      while (j + 1 < seeds.length && seeds[j + 1] === seeds[j]! + 1) j++;
      parts.push(j - i >= 2 ? `${seeds[i]}–${seeds[j]}` : seeds.slice(i, j + 1).join(', '));
      i = j + 1;
    }
    return parts.join(', ');
  }
  function isScalar(v: unknown): boolean {
    return v === null || typeof v !== 'object';
  }

  const runColour = new Map<string, string>();
  {
    // A group's runs share its colour; runs outside groups (unfinished) follow.
    const colourAt = (i: number): string => data.colours.series[i] ?? `hsl(${Math.round((i * 137.508) % 360)} 60% 42%)`;
    let next = data.groups.length;
    for (const run of data.runs) runColour.set(run.id, run.group === null ? colourAt(next++) : colourAt(run.group));
  }
  function groupColour(index: number): string {
    return runColour.get(data.groups[index]!.runs[0]!)!;
  }
  function swatch(colour: string): HTMLSpanElement {
    const s = el('span', { class: 'swatch' });
    s.style.background = colour;
    return s;
  }
  function heatColour(value: number): string {
    const stops = data.colours.heatmap;
    const f = Math.min(1, Math.max(0, value)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(f));
    const a = stops[i]!;
    const b = stops[i + 1]!;
    const mix = (k: 0 | 1 | 2): number => Math.round(a[k] + (b[k] - a[k]) * (f - i));
    return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
  }

  // --- charts --------------------------------------------------------------------

  interface Series {
    key: string;
    /** Whether its values get points, each with a tooltip. */
    points: boolean;
    colour: string;
    values: readonly (number | null)[];
    width: number;
    opacity: number;
    /** The name in a point's tooltip. */
    name: string;
    band?: readonly { low: number; high: number }[];
  }

  /** Values in [0, 1] against tasks 1..xCount: lines, points with a tooltip each, and shaded bands. */
  function lineChart(title: string, xLabel: string, yLabel: string, xCount: number, series: readonly Series[], chartClass: string): SVGSVGElement {
    const width = 560;
    const height = 340;
    const m = { left: 58, right: 16, top: 34, bottom: 46 };
    const pw = width - m.left - m.right;
    const ph = height - m.top - m.bottom;
    const sx = (x: number): number => m.left + (xCount === 1 ? pw / 2 : ((x - 1) / (xCount - 1)) * pw);
    // The y axis spans the values drawn, widened to tenths within [0, 1], so
    // that methods a few points apart are told apart.
    const drawn = series.flatMap((s) => [...s.values, ...(s.band ?? []).flatMap((b) => [b.low, b.high])]).filter((v): v is number => v !== null && Number.isFinite(v));
    const low = drawn.length === 0 ? 0 : Math.max(0, Math.floor(Math.min(...drawn) * 10 - 0.2) / 10);
    const high = drawn.length === 0 ? 1 : Math.min(1, Math.max(low + 0.1, Math.ceil(Math.max(...drawn) * 10 + 0.2) / 10));
    const sy = (y: number): number => m.top + ((high - y) / (high - low)) * ph;
    const chart = svg('svg', { class: `chart ${chartClass}`, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
    chart.append(svgText(width / 2, 20, title, { class: 'chart-title', 'text-anchor': 'middle' }));
    const grid = svg('g', { class: 'grid' });
    const tickStep = high - low <= 0.3 ? 0.05 : high - low <= 0.6 ? 0.1 : 0.2;
    for (let k = Math.ceil(low / tickStep - 1e-9); k * tickStep <= high + 1e-9; k++) {
      const y = sy(k * tickStep);
      grid.append(svg('line', { x1: m.left, y1: y, x2: m.left + pw, y2: y }));
      chart.append(svgText(m.left - 6, y + 4, (k * tickStep).toFixed(tickStep < 0.1 ? 2 : 1), { class: 'tick', 'text-anchor': 'end' }));
    }
    const step = Math.max(1, Math.ceil(xCount / 10));
    for (let x = 1; x <= xCount; x += step) chart.append(svgText(sx(x), m.top + ph + 16, String(x), { class: 'tick', 'text-anchor': 'middle' }));
    chart.append(grid);
    chart.append(svg('path', { class: 'axes', d: `M ${m.left} ${m.top} V ${m.top + ph} H ${m.left + pw}` }));
    chart.append(svgText(m.left + pw / 2, height - 8, xLabel, { class: 'axis-label', 'text-anchor': 'middle' }));
    chart.append(svgText(14, m.top + ph / 2, yLabel, { class: 'axis-label', 'text-anchor': 'middle', transform: `rotate(-90 14 ${m.top + ph / 2})` }));
    for (const s of series) {
      if (s.band === undefined) continue;
      const upper = s.band.map((b, i) => `${sx(i + 1).toFixed(1)} ${sy(b.high).toFixed(1)}`);
      const lower = s.band.map((b, i) => `${sx(i + 1).toFixed(1)} ${sy(b.low).toFixed(1)}`).reverse();
      const band = svg('path', { class: 'band', 'data-series': s.key, d: `M ${upper.join(' L ')} L ${lower.join(' L ')} Z`, fill: s.colour });
      chart.append(band);
    }
    const points = svg('g', { class: 'points' });
    for (const s of series) {
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        const x = sx(i + 1);
        const y = sy(v);
        d += `${pen ? 'L' : 'M'} ${x.toFixed(1)} ${y.toFixed(1)} `;
        pen = true;
        if (s.points) points.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: s.width > 2 ? 3.5 : 2.5, fill: s.colour, 'data-tip': `${s.name}\ntask ${i + 1}: ${v.toFixed(4)}` }));
      });
      const line = svg('path', { class: 'line', 'data-series': s.key, 'data-tip': s.name, d, stroke: s.colour, 'stroke-width': s.width, 'stroke-opacity': s.opacity });
      chart.append(line);
    }
    chart.append(points);
    return chart;
  }

  /** A group's mean and ±1 std band (clipped to [0, 1]) over its statistics, when every run of it is shown. */
  function groupSeries(index: number, stats: readonly Stat[]): Series | null {
    const group = data.groups[index]!;
    if (group.runs.length < 2 || !group.runs.every((id) => visible.has(id))) return null;
    const withSpread = stats.every((s) => s.mean !== null && s.std !== null);
    const clip = (v: number): number => Math.min(1, Math.max(0, v));
    return {
      key: `group-${index}`,
      points: true,
      colour: groupColour(index),
      values: stats.map((s) => s.mean),
      width: 3,
      opacity: 1,
      name: `${group.label} (mean of ${group.runs.length})`,
      ...(withSpread ? { band: stats.map((s) => ({ low: clip(s.mean! - s.std!), high: clip(s.mean! + s.std!) })) } : {}),
    };
  }

  function runSeries(run: ReportRun, values: readonly (number | null)[]): Series {
    const inSeedGroup = run.group !== null && data.groups[run.group]!.runs.length > 1;
    return { key: run.id, points: visible.size <= MAX_RUNS_WITH_POINTS, colour: runColour.get(run.id)!, values, width: inSeedGroup ? 1.25 : 2, opacity: inSeedGroup ? 0.55 : 1, name: run.name };
  }

  function drawCharts(container: HTMLElement): void {
    const shown = data.runs.filter((r) => visible.has(r.id));
    const curves = [...shown.map((r) => runSeries(r, r.averageAccuracy)), ...data.groups.map((g, i) => groupSeries(i, g.averageAccuracyCurve)).filter((s): s is Series => s !== null)];
    const finals = [
      ...shown.map((r) => runSeries(r, r.accuracy[r.accuracy.length - 1] ?? [])),
      ...data.groups.map((g, i) => groupSeries(i, g.finalAccuracy)).filter((s): s is Series => s !== null),
    ];
    const band = seedGroups.length > 0 ? ' (thick: mean ± 1 std over seeds)' : '';
    container.replaceChildren(
      lineChart(`Average accuracy after each task${band}`, 'after training task', 'average accuracy', maxTasks, curves, 'average-accuracy'),
      lineChart(`Final accuracy on each task${band}`, 'task', 'accuracy after the last task', maxTasks, finals, 'final-accuracy'),
    );
  }

  /** The run's accuracy matrix: a cell per (after task t, task j), its value on hover (see the tooltip below). */
  function heatmapLayout(T: number): { cell: number; left: number; top: number; size: number; width: number; height: number } {
    // Large enough cells to print the values in, up to 8 tasks; then as many as fit in 300 px.
    const cell = T <= 8 ? 34 : Math.max(10, Math.floor(300 / T));
    const size = cell * Math.max(T, 1);
    return { cell, left: 34, top: 18, size, width: 34 + size + 8, height: 18 + size + 30 };
  }
  function heatmap(run: ReportRun): SVGSVGElement {
    const T = run.accuracy.length;
    const { cell, left, top, size, width, height } = heatmapLayout(T);
    const chart = svg('svg', { class: 'heatmap', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'data-run': run.id });
    const labelEvery = Math.max(1, Math.ceil(T / 10));
    for (let t = 1; t <= T; t++) {
      if ((t - 1) % labelEvery === 0) {
        chart.append(svgText(left - 5, top + (t - 0.5) * cell + 4, String(t), { class: 'tick', 'text-anchor': 'end' }));
        chart.append(svgText(left + (t - 0.5) * cell, top + size + 13, String(t), { class: 'tick', 'text-anchor': 'middle' }));
      }
      run.accuracy[t - 1]!.forEach((v, k) => {
        chart.append(svg('rect', { class: 'cell', x: left + k * cell, y: top + (t - 1) * cell, width: cell, height: cell, fill: v === null ? '#dddddd' : heatColour(v), 'data-cell': `${t},${k + 1}` }));
        if (cell >= 30 && v !== null) {
          chart.append(svgText(left + (k + 0.5) * cell, top + (t - 0.5) * cell + 4, v.toFixed(2), { class: 'cell-value', 'text-anchor': 'middle', fill: v > 0.55 ? '#ffffff' : '#000000' }));
        }
      });
    }
    chart.append(svgText(left + size / 2, height - 3, 'test on task', { class: 'axis-label', 'text-anchor': 'middle' }));
    chart.append(svgText(left, 11, 'after training task ↓', { class: 'axis-label' }));
    return chart;
  }

  // A heatmap is drawn when its card comes near the window: a sweep of a
  // hundred runs has tens of thousands of cells, most of them far below.
  const heatmapsToDraw = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        const slot = entry.target as HTMLElement;
        heatmapsToDraw.unobserve(slot);
        slot.replaceChildren(heatmap(runById.get(slot.dataset['run']!)!));
      }
    },
    { rootMargin: '800px 0px' },
  );
  function heatmapSlot(run: ReportRun): HTMLElement {
    const slot = el('div', { class: 'heatmap-slot', 'data-run': run.id });
    // The size the heatmap will have, so that the page does not jump when it is drawn.
    slot.style.height = `${heatmapLayout(run.accuracy.length).height}px`;
    heatmapsToDraw.observe(slot);
    return slot;
  }

  /** What a heatmap cell shows on hover: the run, the cell and its value. */
  function cellTip(cell: Element): string | null {
    const run = runById.get(cell.closest('svg.heatmap')?.getAttribute('data-run') ?? '');
    const [t, j] = (cell.getAttribute('data-cell') ?? '').split(',').map(Number);
    if (run === undefined || t === undefined || j === undefined) return null;
    return `${run.name}\nafter training task ${t}, test on task ${j}: ${fixed(run.accuracy[t - 1]?.[j - 1])}`;
  }

  /**
   * Any JSON value of a report as HTML: objects as key-value tables (two
   * levels deep, inline text below that, which keeps a card narrow), lists of
   * objects as tables, lists of values inline.
   */
  function valueView(value: unknown, depth = 0): Node {
    if (isScalar(value) || (depth >= 2 && !Array.isArray(value))) return document.createTextNode(formatValue(value));
    if (Array.isArray(value)) {
      if (value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
        const columns = [...new Set(value.flatMap((v) => Object.keys(v as object)))];
        const head = el('tr', {}, ...columns.map((c) => el('th', {}, c)));
        const rows = value.map((v) => el('tr', {}, ...columns.map((c) => el('td', {}, formatValue((v as Record<string, unknown>)[c])))));
        return el('table', { class: 'list' }, el('thead', {}, head), el('tbody', {}, ...rows));
      }
      return document.createTextNode(formatValue(value));
    }
    const rows = Object.entries(value as Record<string, unknown>).map(([k, v]) => el('tr', { 'data-key': k }, el('th', {}, k), el('td', {}, valueView(v, depth + 1))));
    return el('table', { class: 'kv' }, el('tbody', {}, ...rows));
  }

  // --- sections --------------------------------------------------------------------

  function header(): HTMLElement {
    const finished = data.runs.filter((r) => r.unfinished === null).length;
    const counts = `${data.runs.length} ${data.runs.length === 1 ? 'run' : 'runs'} (${finished} finished)` + (seedGroups.length > 0 ? `, ${data.groups.length} configurations` : '');
    return el(
      'header',
      {},
      el('h1', {}, data.title),
      el('p', { class: 'meta' }, `${counts} · written ${data.written.replace('T', ' ').slice(0, 19)} UTC · from ${data.inputs.join(', ')}`),
    );
  }

  function runsTable(): HTMLElement {
    const head = el(
      'tr',
      {},
      el('th', {}, ''),
      el('th', {}, 'run'),
      el('th', {}, 'seed'),
      el('th', {}, 'tasks'),
      ...shownMetrics.map(([, title]) => el('th', { class: 'num' }, title)),
      el('th', {}, 'directory'),
    );
    const rows = data.runs.map((run) => {
      const box = el('input', { type: 'checkbox', 'data-run': run.id, 'aria-label': `show ${run.name}` });
      box.checked = true;
      const status = run.unfinished === null ? `${run.accuracy.length}` : `${run.accuracy.length} of ${run.numTasks}`;
      const tasks = el('td', { class: 'num', ...(run.unfinished === null ? {} : { title: run.unfinished }) }, status);
      return el(
        'tr',
        { 'data-run': run.id, ...(run.unfinished === null ? {} : { class: 'unfinished' }) },
        el('td', {}, box),
        el('td', { class: 'name' }, swatch(runColour.get(run.id)!), run.name),
        el('td', { class: 'num' }, String(run.seed)),
        tasks,
        ...shownMetrics.map(([key]) => el('td', { class: 'num', 'data-metric': key }, fixed(run.metrics[key]))),
        el('td', { class: 'dir' }, run.dir),
      );
    });
    const all = el('button', { type: 'button', 'data-action': 'show-all' }, 'show all');
    const none = el('button', { type: 'button', 'data-action': 'hide-all' }, 'hide all');
    const note = data.runs.some((r) => r.unfinished !== null) ? el('p', { class: 'note' }, 'Runs in italics are not finished: their metrics are after the last task finished.') : '';
    return el(
      'section',
      { id: 'runs' },
      el('h2', {}, 'Runs'),
      el('p', { class: 'controls' }, 'Untick a run to hide its curves, heatmap and rows. ', all, ' ', none),
      el('div', { class: 'scroll' }, el('table', { class: 'runs' }, el('thead', {}, head), el('tbody', {}, ...rows))),
      note,
    );
  }

  function groupsTable(): HTMLElement | string {
    if (data.groupingNote !== null) return el('section', { id: 'groups' }, el('h2', {}, 'Mean ± std over seeds'), el('p', { class: 'note' }, `The runs are not grouped: ${data.groupingNote}`));
    if (seedGroups.length === 0) return '';
    const metrics = METRICS.filter(([key]) => ALWAYS_SHOWN.has(key) || data.groups.some((g) => g.metrics[key].n > 0));
    const T = Math.max(...data.groups.map((g) => g.finalAccuracy.length));
    const head = el(
      'tr',
      {},
      el('th', {}, ''),
      el('th', {}, 'group'),
      el('th', {}, 'seeds'),
      ...metrics.map(([, title]) => el('th', { class: 'num' }, title)),
      ...Array.from({ length: T }, (_, j) => el('th', { class: 'num' }, `task ${j + 1}`)),
    );
    const rows = data.groups.map((g: ReportGroup, i) => {
      const size = groupSizes[i]!;
      const box = el('input', { type: 'checkbox', 'data-group': String(i), 'aria-label': `show the runs of ${g.label}` });
      box.checked = true;
      return el(
        'tr',
        { 'data-group': String(i) },
        el('td', {}, box),
        el('td', { class: 'name' }, swatch(groupColour(i)), g.label),
        el('td', { class: 'seeds', title: g.seeds.join(', ') }, `${g.seeds.length} (${seedRanges(g.seeds)})`),
        ...metrics.map(([key]) => el('td', { class: 'num', 'data-metric': key }, formatStat(g.metrics[key], size))),
        ...Array.from({ length: T }, (_, j) => el('td', { class: 'num', 'data-task': String(j + 1) }, formatStat(g.finalAccuracy[j], size))),
      );
    });
    return el(
      'section',
      { id: 'groups' },
      el('h2', {}, 'Mean ± std over seeds'),
      el('p', { class: 'note' }, 'Finished runs that share their configuration but the seed, as perennial aggregate groups them: mean ± sample standard deviation (— with one seed); task j: accuracy on task j after the last task. A group with hidden runs is greyed out and its curves are not drawn.'),
      el('div', { class: 'scroll' }, el('table', { class: 'groups' }, el('thead', {}, head), el('tbody', {}, ...rows))),
    );
  }

  function finalAccuracyTable(): HTMLElement {
    const head = el('tr', {}, el('th', {}, 'run'), ...Array.from({ length: maxTasks }, (_, j) => el('th', { class: 'num' }, `task ${j + 1}`)));
    const rows = data.runs.map((run) => {
      const last = run.accuracy[run.accuracy.length - 1] ?? [];
      return el(
        'tr',
        { 'data-run': run.id },
        el('td', { class: 'name' }, swatch(runColour.get(run.id)!), run.name),
        ...Array.from({ length: maxTasks }, (_, j) => el('td', { class: 'num', 'data-task': String(j + 1) }, j < last.length ? fixed(last[j]) : '')),
      );
    });
    return el(
      'section',
      { id: 'final-accuracy' },
      el('h2', {}, 'Accuracy on each task after the last task'),
      el('div', { class: 'scroll' }, el('table', { class: 'final' }, el('thead', {}, head), el('tbody', {}, ...rows))),
    );
  }

  function runCard(run: ReportRun): HTMLElement {
    const status = run.unfinished === null ? `${run.accuracy.length} tasks` : run.unfinished;
    const parts: Child[] = [
      el('h3', {}, swatch(runColour.get(run.id)!), run.name),
      el('p', { class: 'meta' }, `${run.dir} · seed ${run.seed} · ${status}`),
      heatmapSlot(run),
    ];
    if (run.algorithms !== null) {
      for (const [name, report] of Object.entries(run.algorithms)) parts.push(el('div', { class: 'algorithm scroll', 'data-algorithm': name }, el('h4', {}, `${name}'s report`), valueView(report)));
    }
    if (run.unlearning !== null) parts.push(el('div', { class: 'unlearning scroll' }, el('h4', {}, 'Unlearning'), valueView(run.unlearning)));
    // Written when first opened: most configurations of a large sweep are never looked at.
    const config = el('pre', {});
    const details = el('details', { class: 'config' }, el('summary', {}, 'configuration'), config);
    details.addEventListener('toggle', () => {
      if (config.textContent === '') config.textContent = JSON.stringify(run.config, null, 2);
    });
    parts.push(details);
    return el('article', { class: 'run-card', 'data-run': run.id }, ...parts);
  }

  function skippedList(): HTMLElement | string {
    if (data.skipped.length === 0) return '';
    return el('section', { id: 'skipped' }, el('h2', {}, 'Runs without results'), el('ul', {}, ...data.skipped.map((s) => el('li', {}, el('span', { class: 'dir' }, s.dir), `: ${s.reason}`))));
  }

  // --- the page and its interactions -----------------------------------------------

  const charts = el('section', { id: 'charts' });
  const root = document.getElementById('report')!;
  root.replaceChildren(
    header(),
    runsTable(),
    charts,
    groupsTable(),
    finalAccuracyTable(),
    el('section', { id: 'run-details' }, el('h2', {}, 'Each run'), el('div', { class: 'cards' }, ...data.runs.map(runCard))),
    skippedList(),
  );
  drawCharts(charts);

  function applyVisibility(): void {
    for (const e of root.querySelectorAll<HTMLElement>('tr[data-run], article[data-run]')) {
      // The runs table keeps every row (its checkbox brings the run back); it greys hidden runs out instead.
      const shown = visible.has(e.dataset['run']!);
      if (e.closest('table.runs') !== null) e.classList.toggle('hidden-run', !shown);
      else e.hidden = !shown;
    }
    for (const box of root.querySelectorAll<HTMLInputElement>('input[data-run]')) box.checked = visible.has(box.dataset['run']!);
    data.groups.forEach((g, i) => {
      const count = g.runs.filter((id) => visible.has(id)).length;
      const row = root.querySelector<HTMLElement>(`tr[data-group="${i}"]`);
      row?.classList.toggle('partial', count < g.runs.length);
      const box = root.querySelector<HTMLInputElement>(`input[data-group="${i}"]`);
      if (box !== null) {
        box.checked = count === g.runs.length;
        box.indeterminate = count > 0 && count < g.runs.length;
      }
    });
    drawCharts(charts);
  }

  root.addEventListener('change', (event) => {
    const box = event.target as HTMLInputElement;
    const runs = box.dataset['run'] !== undefined ? [box.dataset['run']] : box.dataset['group'] !== undefined ? data.groups[Number(box.dataset['group'])]!.runs : [];
    for (const id of runs) {
      if (box.checked) visible.add(id);
      else visible.delete(id);
    }
    applyVisibility();
  });
  root.addEventListener('click', (event) => {
    const action = (event.target as HTMLElement).dataset['action'];
    if (action === 'show-all') data.runs.forEach((r) => visible.add(r.id));
    else if (action === 'hide-all') visible.clear();
    else return;
    applyVisibility();
  });

  // One tooltip for the heatmaps' cells and every element with a data-tip (points, lines).
  const tip = el('div', { id: 'tip', role: 'tooltip' });
  tip.hidden = true;
  document.body.append(tip);
  document.addEventListener('mouseover', (event) => {
    const target = (event.target as Element).closest?.('[data-tip], rect[data-cell]');
    const text = target === null || target === undefined ? null : target.hasAttribute('data-cell') ? cellTip(target) : target.getAttribute('data-tip');
    tip.textContent = text;
    tip.hidden = text === null;
  });
  document.addEventListener('mousemove', (event) => {
    if (tip.hidden) return;
    // Kept inside the window: to the left of the pointer near the right edge.
    const x = event.clientX + 14 + tip.offsetWidth > window.innerWidth ? event.clientX - 14 - tip.offsetWidth : event.clientX + 14;
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${event.clientY + 14}px`;
  });
  performance.mark('perennial-report-rendered');
}
