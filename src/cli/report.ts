// `perennial report`: one self-contained HTML page of runs, sweeps or the runs
// found in directories (src/report/).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ReportError, collectReport } from '../report/collect.js';
import { reportHtml } from '../report/html.js';
import { writeFileAtomic } from '../serialization/atomic.js';

/** What `perennial report --help` prints. */
export const REPORT_USAGE = `usage: perennial report <run, sweep or directory>... [--out <file>]

Writes one HTML page of the runs given: each run directory, each run of a
sweep directory, and the runs and sweeps found up to 4 levels inside any
other directory. The page shows each run's accuracy matrix as a heatmap
(values on hover), the average-accuracy curves of all runs (with a band of
±1 standard deviation for runs that differ only in their seed), each task's
final accuracy, the metrics table and, for runs that differ only in their
seed, the mean ± std table of \`perennial aggregate\`; each algorithm's own
report (WSN, HAT and PackNet capacity), the unlearning metrics, and each
run's configuration. Runs can be shown and hidden. Unfinished runs are shown
with the tasks they finished. The file needs no network: open it from disk
or send it. (\`perennial run\` also writes report.html into its run directory
after each task.)

options:
  --out <file>  the HTML file to write (default: report.html in the current
                directory; an existing directory gets report.html inside it)
  -h, --help    show this help`;

class ReportUsageError extends Error {}

function parseArgs(args: readonly string[]): { paths: string[]; out: string } {
  const paths: string[] = [];
  let out = 'report.html';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--out') {
      const value = args[++i];
      if (value === undefined || value.startsWith('--')) throw new ReportUsageError('--out needs the HTML file to write');
      out = value;
    } else if (arg.startsWith('--')) throw new ReportUsageError(`unknown option '${arg}'`);
    else paths.push(arg);
  }
  if (paths.length === 0) throw new ReportUsageError('report needs at least one run directory, sweep directory or directory holding runs');
  return { paths, out };
}

/** Runs `perennial report`; returns the exit status (2 for input a report cannot be made from). */
export function reportCommand(args: readonly string[]): number {
  try {
    const parsed = parseArgs(args);
    const given = resolve(parsed.out);
    const out = existsSync(given) && statSync(given).isDirectory() ? join(given, 'report.html') : given;
    const data = collectReport(parsed.paths, { base: dirname(out), inputs: parsed.paths });
    const html = reportHtml(data);
    writeFileAtomic(out, html);
    const skipped = data.skipped.length === 0 ? '' : `; ${data.skipped.length} without results, listed at its end`;
    process.stderr.write(`report of ${data.runs.length} ${data.runs.length === 1 ? 'run' : 'runs'}${skipped} (${Math.ceil(Buffer.byteLength(html) / 1024)} KB)\n`);
    process.stdout.write(`${pathToFileURL(out).href}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ReportUsageError) {
      process.stderr.write(`perennial: ${error.message}\n${REPORT_USAGE}\n`);
      return 2;
    }
    if (error instanceof ReportError) {
      process.stderr.write(`perennial: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
