// `perennial aggregate`: the paper's table of sweeps or runs (src/sweep/aggregate.ts),
// printed as Markdown and written as Markdown, CSV, JSON and an SVG plot.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../serialization/atomic.js';
import { AggregateError, aggregate } from '../sweep/aggregate.js';
import { aggregateAccuracySvg, aggregateCsv, aggregateJson, aggregateMarkdown } from '../sweep/aggregate_tables.js';

export const AGGREGATE_USAGE = `usage: perennial aggregate <sweep or run directory>... [--out <dir>] [--format md|csv|json|all] [--allow-mixed]

Groups the finished runs (of the sweeps and runs given, and those found up to
4 levels inside any other directory given) by their configuration minus the
seed and output.*, and prints per group AA, BWT, forgetting, FWT and the
forgetting ratio (when the runs made reference runs) and each task's final
accuracy, as mean ± sample standard deviation over the seeds. Groups are labelled by the keys that vary.
Unfinished runs are listed as skipped, not averaged.

options:
  --out <dir>       where to write aggregate.md, .csv, .json and
                    aggregate_accuracy.svg (default: the first sweep directory
                    given, else the current directory)
  --format <f>      the table files to write: md, csv, json or all (default all;
                    the plot is always written)
  --allow-mixed     allow groups on different benchmarks or numbers of tasks
  -h, --help        show this help`;

const FORMATS = ['md', 'csv', 'json', 'all'] as const;
type Format = (typeof FORMATS)[number];

interface AggregateArgs {
  paths: string[];
  out?: string;
  format: Format;
  allowMixed: boolean;
}

class AggregateUsageError extends Error {}

function parseArgs(args: readonly string[]): AggregateArgs {
  const parsed: AggregateArgs = { paths: [], format: 'all', allowMixed: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--out' || arg === '--format') {
      const value = args[++i];
      if (value === undefined || value.startsWith('--')) throw new AggregateUsageError(`${arg} needs a value`);
      if (arg === '--out') parsed.out = value;
      else if ((FORMATS as readonly string[]).includes(value)) parsed.format = value as Format;
      else throw new AggregateUsageError(`--format takes one of ${FORMATS.join(', ')}, got '${value}'`);
    } else if (arg === '--allow-mixed') parsed.allowMixed = true;
    else if (arg.startsWith('--')) throw new AggregateUsageError(`unknown option '${arg}'`);
    else parsed.paths.push(arg);
  }
  if (parsed.paths.length === 0) throw new AggregateUsageError('aggregate needs at least one sweep directory or run directory');
  return parsed;
}

/** Runs `perennial aggregate`; returns the exit status (2 for input that cannot be aggregated). */
export function aggregateCommand(args: readonly string[]): number {
  let parsed: AggregateArgs;
  let result: ReturnType<typeof aggregate>;
  try {
    parsed = parseArgs(args);
    result = aggregate(parsed.paths, { allowMixed: parsed.allowMixed });
  } catch (error) {
    if (error instanceof AggregateUsageError) {
      process.stderr.write(`perennial: ${error.message}\n${AGGREGATE_USAGE}\n`);
      return 2;
    }
    if (error instanceof AggregateError) {
      process.stderr.write(`perennial: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const firstSweep = parsed.paths.find((p) => existsSync(join(p, 'sweep.json')));
  const outDir = resolve(parsed.out ?? firstSweep ?? '.');
  const markdown = aggregateMarkdown(result, outDir);
  const files: [string, string][] = [];
  if (parsed.format === 'md' || parsed.format === 'all') files.push(['aggregate.md', markdown]);
  if (parsed.format === 'csv' || parsed.format === 'all') files.push(['aggregate.csv', aggregateCsv(result)]);
  if (parsed.format === 'json' || parsed.format === 'all') files.push(['aggregate.json', aggregateJson(result)]);
  files.push(['aggregate_accuracy.svg', aggregateAccuracySvg(result)]);
  for (const [name, content] of files) writeFileAtomic(join(outDir, name), content);
  process.stdout.write(markdown);
  if (result.skipped.length > 0) process.stderr.write(`perennial: ${result.skipped.length} unfinished ${result.skipped.length === 1 ? 'run was' : 'runs were'} skipped (listed under the table)\n`);
  process.stderr.write(`written: ${files.map(([name]) => join(outDir, name)).join(', ')}\n`);
  return 0;
}
