// The report as one self-contained HTML file: its style, its data as JSON and
// the script that draws it (page.ts) are all inside, so that it opens from
// disk or from an e-mail with no network.
import { escapeXml } from '../continual/results/svg.js';
import { writeFileAtomic } from '../serialization/atomic.js';
import type { ReportData } from './data.js';
import { renderReport } from './page.js';

const STYLE = `
:root { color-scheme: light; --text: #1b1f24; --muted: #5b6470; --line: #d8dde3; --head: #f3f5f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: var(--text); background: #ffffff; }
#report { max-width: 1400px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 2px; overflow-wrap: anywhere; }
h4 { font-size: 13px; margin: 12px 0 4px; }
.meta, .note, .controls { color: var(--muted); margin: 4px 0; }
.note { font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--head); position: sticky; top: 0; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.dir, span.dir { color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; overflow-wrap: anywhere; }
td.name { min-width: 18em; }
td.seeds { white-space: nowrap; }
tr.unfinished td { font-style: italic; }
tr.hidden-run td, tr.partial td { opacity: 0.4; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
button { font: inherit; font-size: 12px; padding: 1px 8px; }
#charts { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 20px; }
svg text { font-family: system-ui, "DejaVu Sans", Arial, sans-serif; }
.chart { border: 1px solid var(--line); border-radius: 4px; background: #ffffff; }
.chart-title { font-size: 13px; font-weight: 600; }
.tick { font-size: 10px; fill: var(--muted); }
.axis-label { font-size: 11px; fill: var(--muted); }
.cell-value { font-size: 10px; pointer-events: none; }
.grid line { stroke: #eceff2; }
.axes { fill: none; stroke: #6b737d; }
.line { fill: none; stroke-linejoin: round; }
.band { opacity: 0.18; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }
.run-card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; content-visibility: auto; contain-intrinsic-size: auto 480px; }
.run-card .cell { stroke: #ffffff; stroke-width: 1; }
.run-card:has(.unlearning) { grid-column: 1 / -1; }
table.kv th { font-weight: 500; color: var(--muted); white-space: nowrap; }
table.kv table, table.list { margin: 2px 0; }
table.list td { white-space: nowrap; }
details.config pre { font-size: 11px; max-height: 360px; overflow: auto; background: var(--head); padding: 8px; margin: 4px 0 0; }
details.config summary { cursor: pointer; color: var(--muted); margin-top: 8px; }
#tip { position: fixed; z-index: 10; pointer-events: none; white-space: pre; background: #1b1f24; color: #ffffff; padding: 4px 8px; border-radius: 4px; font-size: 12px; }
`;

/**
 * Text safe inside a `<script type="application/json">` element: `<`, `>` and
 * `&` as JSON \u escapes, so that no string in the data (a configuration
 * value, a path) can close the element or open a comment; JSON.parse reads
 * the same values back.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The report page of `data`: one HTML document, with no reference to anything outside it. */
export function reportHtml(data: ReportData): string {
  const script = renderReport.toString();
  // The compiled function is our own code; a '</script' in it (a string, a
  // comment) would end the element early, and '<!--' can change how the rest
  // is read, so either is refused here, not shipped.
  if (/<\/script|<!--/i.test(script)) throw new Error('the report page script contains "</script" or "<!--": write it differently');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="perennial">
<title>${escapeXml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main id="report"><noscript>This report draws its tables and charts with JavaScript; its data is in the JSON block of this file.</noscript></main>
<script type="application/json" id="report-data">${scriptSafeJson(data)}</script>
<script>
(${script})(JSON.parse(document.getElementById('report-data').textContent));
</script>
</body>
</html>
`;
}

/** Writes the report page of `data` to `path`, atomically. */
export function writeReport(path: string, data: ReportData): void {
  writeFileAtomic(path, reportHtml(data));
}
