// The `perennial` command line:
//   perennial run [config.yaml] [key=value ...]   run an experiment (the default one without a file)
//   perennial run --resume <run directory>        continue a run that was stopped
//   perennial list                                benchmarks, datasets, backbones, algorithms, config keys
//   perennial plasticity <config.yaml>... [key=value ...] [--out <dir>]
//                                                 online accuracy per task of each config, compared
//   perennial download <dataset> [--dir <cache>]  fetch a dataset (needs a network; never used by tests)
//   perennial sweep [config.yaml] [key=v1,v2 ...] --dir <dir>   a grid of runs (src/cli/sweep.ts)
//   perennial aggregate <sweep or run dirs>...    mean ± std over seeds per configuration (aggregate.ts)
//   perennial report <runs, sweeps, dirs>... [--out <file>]   one HTML page of results (report.ts)
import { join } from 'node:path';
import { ConfigError, isOverrideArgument } from '../config/loader.js';
import { type ExperimentConfig, describeSchema, loadExperiment } from '../config/experiment.js';
import { ALGORITHM_DEFINITIONS } from '../continual/algorithms/registry.js';
import { BACKBONE_DEFINITIONS } from '../continual/backbones/index.js';
import { BENCHMARK_KINDS } from '../continual/benchmarks/index.js';
import { newRunCommand, readRunConfig, resumeCommand } from '../continual/experiment/resume.js';
import { RunInterruptedError, runExperiment } from '../continual/experiment/run.js';
import { RunDirectoryError } from '../continual/experiment/run_lock.js';
import { meanOnlineAccuracy, runPlasticityComparison } from '../continual/experiment/plasticity.js';
import type { FeatureDistances, UnlearningSummary } from '../continual/metrics/unlearning.js';
import { NonFiniteLossError, type TrainingObserver } from '../continual/training/trainer.js';
import { DATASET_NAMES } from '../data/registry.js';
import { DOWNLOADABLE_DATASETS, downloadDataset } from '../data/download.js';
import { outputError } from '../serialization/write_errors.js';
import { AGGREGATE_USAGE, aggregateCommand } from './aggregate.js';
import { interruptedExitCode, listenForInterrupts } from './interrupt.js';
import { ProgressBar } from './progress.js';
import { REPORT_USAGE, reportCommand } from './report.js';
import { SWEEP_USAGE, sweep } from './sweep.js';
import { formatRunSummary } from './table.js';

const USAGE = `usage:
  perennial run [config.yaml] [key=value ...]   run an experiment (without a file: the embedded default)
  perennial run --resume <run directory>        continue a stopped run from its last checkpoint
  perennial list                                what can be configured
  perennial plasticity <config.yaml>... [key=value ...] [--out <dir>]
                                                online (one-pass) accuracy per task of each config,
                                                one after the other, with a comparison plot
  perennial download <dataset> [--dir <cache>]  download a dataset (${DOWNLOADABLE_DATASETS.join(', ')})
  perennial sweep [config.yaml] [key=v1,v2 ...] [key=a..b] --dir <dir> [--workers N]
                                                a grid of runs over seeds and hyperparameters
  perennial sweep status <dir>                  the state of each run of a sweep
  perennial aggregate <sweep or run directory>... [--out <dir>] [--format md|csv|json|all]
                                                the paper's table: mean ± std over seeds per configuration
  perennial report <run, sweep or directory>... [--out <file>]
                                                one self-contained HTML page of the runs: heatmaps,
                                                curves, metrics, algorithm reports, configurations
  perennial <command> --help                    the usage of one command`;

/** What `perennial <command> --help` prints. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  run: `usage: perennial run [config.yaml] [key.path=value ...]
       perennial run --resume <run directory>

Runs an experiment: the YAML file (without one, the embedded default
experiment) with each key.path=value applied on top, in order; ~key.path
removes a key. \`perennial list\` shows every key with its type and default.
The run is written to output.dir/output.name.

options:
  --resume <dir>  continue the stopped run in <dir> from its last checkpoint,
                  with the configuration it was started with
  -h, --help      show this help`,
  list: `usage: perennial list

Prints the benchmarks, datasets, backbones (with their options), algorithms and
every configuration key with its type, default and meaning.

options:
  -h, --help  show this help`,
  plasticity: `usage: perennial plasticity <config.yaml>... [key.path=value ...] [--out <dir>]

Runs each config in turn as an online run (every example seen once,
training.epochs: 1) and compares their accuracy per task in one table and plot.
The overrides apply to every config.

options:
  --out <dir>  where to write the runs and the comparison
               (default: output.dir of the first config, in a dated folder)
  -h, --help   show this help`,
  download: `usage: perennial download <dataset> [--dir <cache>]

Downloads a dataset and checks it (needs a network): ${DOWNLOADABLE_DATASETS.join(', ')}.

options:
  --dir <cache>  the cache root; the dataset goes to <cache>/<dataset>
                 (default: $PERENNIAL_CACHE_DIR, else ~/.cache/perennial)
  -h, --help     show this help`,
  sweep: SWEEP_USAGE,
  aggregate: AGGREGATE_USAGE,
  report: REPORT_USAGE,
};

class UsageError extends Error {}

/**
 * A command's arguments split into its options' values and the rest. Each
 * option takes one value; `options` maps it to the message for a missing
 * value. Any other argument starting with `--` is an unknown option.
 */
function parseOptions<O extends string>(args: readonly string[], options: Record<O, string>): { values: Partial<Record<O, string>>; positional: string[] } {
  const values: Partial<Record<O, string>> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (Object.hasOwn(options, arg)) {
      const value = args[++i];
      if (value === undefined) throw new UsageError(options[arg as O]);
      values[arg as O] = value;
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option '${arg}'`);
    else positional.push(arg);
  }
  return { values, positional };
}

function runDirectoryFor(config: ExperimentConfig): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const name = config.output.name ?? `${stamp}_${config.benchmark.name}-${config.benchmark.dataset}_${config.algorithms.map((a) => a.name).join('+')}`;
  return join(config.output.dir, name);
}

/** Progress bars per task and epoch, and one line per finished epoch; end() closes a bar left unfinished. */
function progressObserver(numTasks: number): TrainingObserver & { end(): void } {
  let bar: ProgressBar | undefined;
  return {
    end() {
      bar?.finish();
    },
    epochStart(task, epoch, totalBatches) {
      bar = new ProgressBar({ label: `task ${task}/${numTasks} epoch ${epoch}`, total: totalBatches });
    },
    batchEnd(_task, _epoch, _step, loss, accuracy) {
      bar?.tick(1, { loss, acc: accuracy });
    },
    epochEnd(task, epoch, s) {
      const validation = s.validation ? `, validation accuracy ${s.validation.accuracy.toFixed(4)}` : '';
      bar?.finish(`task ${task} epoch ${epoch}: train loss ${s.trainLoss.toFixed(4)}, train accuracy ${s.trainAccuracy.toFixed(4)}${validation}, lr ${s.lr}`);
    },
  };
}

/** Runs or resumes an experiment; returns the exit status. */
function run(args: string[]): number {
  const { values, positional } = parseOptions(args, { '--resume': '--resume needs the run directory to continue' });
  const resume = values['--resume'];
  const configPath = positional[0] !== undefined && !isOverrideArgument(positional[0]) ? positional.shift() : undefined;
  if (resume !== undefined && (configPath !== undefined || positional.length > 0)) {
    throw new UsageError('--resume continues a run with the configuration it was started with; give no config file or overrides');
  }
  const config = resume !== undefined ? readRunConfig(resume) : loadExperiment(configPath, positional);
  const runDir = resume ?? runDirectoryFor(config);
  const progress = progressObserver(config.benchmark.numTasks);
  const interrupts = listenForInterrupts();
  try {
    const result = runExperiment({
      config,
      runDir,
      resume: resume !== undefined,
      observer: progress,
      // A bar cut short by an interruption would run into the line logged.
      log: (line) => {
        progress.end();
        process.stderr.write(`${line}\n`);
      },
      signal: interrupts.signal,
    });
    const unlearning = result.unlearning === undefined ? '' : `\n${formatUnlearning(result.unlearning)}\n`;
    process.stdout.write(`\n${formatRunSummary(result.summary)}\n${unlearning}results: ${result.runDir}\n`);
    return 0;
  } catch (error) {
    progress.end();
    if (error instanceof RunInterruptedError) {
      process.stderr.write(`perennial: ${error.message}; resume with: ${resumeCommand(runDir)}\n`);
      return interruptedExitCode(error.reason);
    }
    if (error instanceof NonFiniteLossError) {
      // The run is deterministic: resuming it would meet the same loss, and
      // --resume takes no overrides. A new run with a lower rate can follow.
      const lr = config.training.optimizer.lr / 2;
      process.stderr.write(
        `perennial: ${error.message}\n` +
          `To try half the learning rate, start a new run with this run's configuration (--resume would meet the same loss):\n` +
          `  ${newRunCommand(runDir, config, [`training.optimizer.lr=${lr}`], `lr${lr}`)}\n`,
      );
      return 1;
    }
    throw error;
  } finally {
    interrupts.stop();
  }
}

/** The unlearning requests and metrics, a few lines for the terminal. */
function formatUnlearning(u: UnlearningSummary): string {
  const distances = (d: FeatureDistances | null): string =>
    d === null ? 'none' : `euclidean ${d.euclidean.toFixed(4)}, cosine ${d.cosine.toFixed(4)}, manhattan ${d.manhattan.toFixed(4)}, linear CKA ${d.linearCka?.toFixed(4) ?? 'undefined'}`;
  const lines = [`unlearned: ${u.requests.map((r) => `task ${r.tasks.join(', ')} after task ${r.afterTask}`).join('; ')}`];
  if (u.remainingAverageAccuracy !== null) lines.push(`average accuracy on the remaining tasks           ${u.remainingAverageAccuracy.toFixed(4)}`);
  if (u.accuracyGain !== null) lines.push(`accuracy gain on the remaining tasks (vs retrain)  ${u.accuracyGain.toFixed(4)}`);
  if (u.originalAverageAccuracy !== null) lines.push(`average accuracy without unlearning (original)    ${u.originalAverageAccuracy.toFixed(4)}`);
  if (u.distance !== null) {
    lines.push(`features vs retrain, unlearned tasks: ${distances(u.distance.unlearned)}`);
    lines.push(`features vs retrain, remaining tasks: ${distances(u.distance.remaining)}`);
  }
  return lines.join('\n');
}

function plasticity(args: string[]): void {
  const { values, positional } = parseOptions(args, { '--out': '--out needs a directory' });
  const out = values['--out'];
  const files = positional.filter((arg) => !isOverrideArgument(arg));
  const overrides = positional.filter(isOverrideArgument);
  if (files.length === 0) throw new UsageError('plasticity needs at least one config file');
  const runs = files.map((file) => ({ config: loadExperiment(file, overrides) }));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = out ?? join(runs[0]!.config.output.dir, `${stamp}_plasticity`);
  const results = runPlasticityComparison({ runs, outDir, log: (line) => process.stderr.write(`${line}\n`) });
  const lines = results.map((r) => {
    const n = r.onlineAccuracy.length;
    const k = Math.max(1, Math.floor(n / 10));
    return `${r.label}: online accuracy, first ${k} tasks ${meanOnlineAccuracy(r, 1, k).toFixed(4)}, last ${k} tasks ${meanOnlineAccuracy(r, n - k + 1, n).toFixed(4)}`;
  });
  process.stdout.write(`\n${lines.join('\n')}\nresults: ${outDir}\n`);
}

function list(): void {
  const lines = ['benchmarks: ' + BENCHMARK_KINDS.join(', '), 'datasets: ' + DATASET_NAMES.join(', '), '', 'backbones:'];
  for (const b of BACKBONE_DEFINITIONS) {
    lines.push(`  ${b.name}: ${b.summary}`);
    for (const o of b.options.describeRows('')) lines.push(`    ${o.key} (default ${o.defaultValue}): ${o.doc}`);
  }
  lines.push('', 'algorithms:');
  for (const a of ALGORITHM_DEFINITIONS) lines.push(`  ${a.name}: ${a.summary}`);
  lines.push('', 'configuration keys:', describeSchema());
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function download(args: string[]): Promise<void> {
  const { values, positional: names } = parseOptions(args, { '--dir': '--dir needs the directory to download into' });
  const cacheDir = values['--dir'];
  const name = names[0];
  if (name === undefined) throw new UsageError(`download needs a dataset name (${DOWNLOADABLE_DATASETS.join(', ')})`);
  if (names.length > 1) throw new UsageError(`download takes one dataset name, got ${names.join(', ')}`);
  const dir = await downloadDataset(name, cacheDir === undefined ? {} : { cacheDir });
  process.stdout.write(`${name} is in ${dir}; use it with benchmark.dataset=${name} benchmark.dataDir=${dir}\n`);
}

/** Runs one command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const usage = command === 'help' && rest[0] !== undefined ? COMMAND_USAGE[rest[0]] : COMMAND_USAGE[command ?? ''];
  if (usage !== undefined && (command === 'help' || rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    if (command === 'run') return run(rest);
    else if (command === 'list') list();
    else if (command === 'plasticity') plasticity(rest);
    else if (command === 'download') await download(rest);
    else if (command === 'sweep') return await sweep(rest);
    else if (command === 'aggregate') return aggregateCommand(rest);
    else if (command === 'report') return reportCommand(rest);
    else if (command === 'help' && rest[0] !== undefined) throw new UsageError(`no help on '${rest[0]}': it is not a command`);
    else if (command === undefined || command === '--help' || command === '-h' || command === 'help') process.stdout.write(`${USAGE}\n`);
    else throw new UsageError(`unknown command '${command}'`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`perennial: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof RunDirectoryError) {
      process.stderr.write(`perennial: ${error.message}\n`);
      return 2;
    }
    if (error instanceof NonFiniteLossError) {
      process.stderr.write(`perennial: ${error.message}\n`);
      return 1;
    }
    // A filesystem error from a write not made through writeFileAtomic or
    // RunLogger gets the same plain description of its cause.
    const path = error instanceof Error ? (error as NodeJS.ErrnoException).path : undefined;
    const shown = path === undefined ? error : outputError(error, path);
    process.stderr.write(`perennial: ${shown instanceof Error ? shown.message : String(shown)}\n`);
    return 1;
  }
}
