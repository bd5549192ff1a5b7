// `perennial sweep`: a grid of experiments run by the local executor (or
// submitted to Slurm), `sweep run-one` (one run, as each executor launches
// it) and `sweep status`.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isOverrideArgument } from '../config/loader.js';
import { shellQuote } from '../continual/experiment/resume.js';
import { defaultThreads, oversubscription, runLocal } from '../sweep/local.js';
import { type Manifest, SweepDirectoryError, holdExecutorLock, manifestDifferences, readManifest, withManifestLock, writeManifest } from '../sweep/manifest.js';
import { planSweep } from '../sweep/plan.js';
import { runOne } from '../sweep/run_one.js';
import { type SlurmOptions, launchSlurm } from '../sweep/slurm.js';
import { sweepStatus } from '../sweep/status.js';
import { interruptedExitCode } from './interrupt.js';

export const SWEEP_USAGE = `usage: perennial sweep [config.yaml] [key=value ...] [key=v1,v2,...] [key=a..b] --dir <dir> [options]
       perennial sweep status <dir>
       perennial sweep run-one <dir> <run id>

Runs an experiment for every combination of the swept keys' values (their
cartesian product): key=v1,v2 sweeps a key over values, key=a..b over the
integers a to b; key=value fixes a key for every run. Only top-level commas
separate values: [{name: ewc, lambda: 1000}] is one value; quote a value to
give a literal comma ('a,b'). The file's sweep: {grid: {key: values}} section
gives more swept keys (the command line wins). Every run is validated before
any starts. Running the same command again skips finished runs, resumes
unfinished ones from their checkpoints and retries failed ones.

options:
  --dir <dir>          the sweep directory (manifest sweep.json, runs/<id>/, logs/<id>.log)
  --workers <n>        runs at once (default 1)
  --threads <t>        PERENNIAL_NUM_THREADS of each run (default: cores / workers, at least 1);
                       workers × threads may not exceed the cores
  --retries <r>        times a failed run is started again (default 1)
  --launcher <name>    local (default) or slurm
  --partition <p>, --time <t>, --mem <m>, --account <a>, --max-parallel <k>,
  --sbatch "<line>"    Slurm options (--launcher slurm); --sbatch may be repeated
  -h, --help           show this help

sweep status <dir>     each run's state, tasks finished, attempts, exit status
sweep run-one <dir> <id>
                       one run of the sweep (what the executors launch per run)`;

class SweepUsageError extends Error {}

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

const VALUE_OPTIONS = ['--dir', '--workers', '--threads', '--retries', '--launcher', '--partition', '--time', '--mem', '--account', '--max-parallel', '--sbatch'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number];
const SLURM_OPTIONS: readonly ValueOption[] = ['--partition', '--time', '--mem', '--account', '--max-parallel', '--sbatch'];

interface ParsedArgs {
  values: Partial<Record<ValueOption, string>>;
  sbatch: string[];
  positional: string[];
}

function parseArgs(args: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { values: {}, sbatch: [], positional: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if ((VALUE_OPTIONS as readonly string[]).includes(arg)) {
      const value = args[++i];
      // An #SBATCH line is itself an option (--gres=gpu:1); any other value starting with -- is a missing value.
      if (value === undefined || (value.startsWith('--') && arg !== '--sbatch')) throw new SweepUsageError(`${arg} needs a value`);
      if (arg === '--sbatch') parsed.sbatch.push(value);
      else if (parsed.values[arg as ValueOption] !== undefined) throw new SweepUsageError(`${arg} is given twice`);
      else parsed.values[arg as ValueOption] = value;
    } else if (arg.startsWith('--')) throw new SweepUsageError(`unknown option '${arg}'`);
    else parsed.positional.push(arg);
  }
  return parsed;
}

function integerOption(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) throw new SweepUsageError(`${name} must be an integer of at least ${min}, got '${text}'`);
  return Number(text);
}

/** The Slurm launcher's options: the sweep section's `slurm:` mapping, then the command line's flags. */
function slurmOptions(section: unknown = {}, parsed: ParsedArgs, threads: number | undefined): SlurmOptions {
  const fromFile = section as Record<string, unknown>;
  const known = ['partition', 'time', 'mem', 'account', 'maxParallel', 'sbatch'];
  const bad = section === null || typeof section !== 'object' ? [] : Object.keys(fromFile).filter((k) => !known.includes(k));
  if (section === null || typeof section !== 'object' || Array.isArray(section) || bad.length > 0) {
    throw new SweepUsageError(`the sweep section's slurm: must be a mapping of ${known.join(', ')}${bad.length > 0 ? `; unknown: ${bad.join(', ')}` : ''}`);
  }
  const text = (key: string, flag: ValueOption): string | undefined => {
    const value = parsed.values[flag] ?? fromFile[key];
    if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') throw new SweepUsageError(`sweep.slurm.${key} must be a string, got ${JSON.stringify(value)}`);
    return value === undefined ? undefined : String(value);
  };
  const fileLines = fromFile['sbatch'] ?? [];
  if (!Array.isArray(fileLines) || fileLines.some((l) => typeof l !== 'string')) throw new SweepUsageError(`sweep.slurm.sbatch must be a list of #SBATCH lines (strings)`);
  const options: SlurmOptions = { cpusPerTask: threads ?? 1, extraDirectives: [...(fileLines as string[]), ...parsed.sbatch] };
  const [partition, time, memory, account] = [text('partition', '--partition'), text('time', '--time'), text('mem', '--mem'), text('account', '--account')];
  if (partition !== undefined) options.partition = partition;
  if (time !== undefined) options.time = time;
  if (memory !== undefined) options.memory = memory;
  if (account !== undefined) options.account = account;
  const concurrency = integerOption('--max-parallel', text('maxParallel', '--max-parallel'), 1);
  if (concurrency !== undefined) options.concurrency = concurrency;
  return options;
}

/**
 * The manifest the sweep directory holds, or the planned one written there
 * when it holds none. A directory holding another sweep is refused.
 */
function openSweepDirectory(dir: string, planned: Manifest): Manifest {
  return withManifestLock(dir, () => {
    const held = readManifest(dir);
    if (held === undefined) {
      writeManifest(dir, planned);
      return planned;
    }
    const differences = manifestDifferences(held, planned);
    if (differences.length > 0) {
      throw new SweepDirectoryError(
        `the sweep directory ${dir} holds another sweep:\n  ${differences.join('\n  ')}\n` +
          `Give this sweep another --dir; to continue the sweep held there, run it with the arguments it was started with.`,
      );
    }
    return held;
  });
}

async function startSweep(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args);
  const dirText = parsed.values['--dir'];
  if (dirText === undefined) throw new SweepUsageError('sweep needs --dir <dir>, the directory that holds the sweep (its manifest, runs and logs)');
  const launcher = parsed.values['--launcher'] ?? 'local';
  if (launcher !== 'local' && launcher !== 'slurm') throw new SweepUsageError(`--launcher must be local or slurm, got '${launcher}'`);
  const workers = integerOption('--workers', parsed.values['--workers'], 1);
  const threadsGiven = integerOption('--threads', parsed.values['--threads'], 1);
  const retries = integerOption('--retries', parsed.values['--retries'], 0) ?? 1;
  if (launcher === 'local') {
    const slurmOnly = SLURM_OPTIONS.filter((o) => (o === '--sbatch' ? parsed.sbatch.length > 0 : parsed.values[o] !== undefined));
    if (slurmOnly.length > 0) throw new SweepUsageError(`${slurmOnly.join(', ')} ${slurmOnly.length === 1 ? 'is an option' : 'are options'} of the Slurm launcher; add --launcher slurm, or drop ${slurmOnly.length === 1 ? 'it' : 'them'}`);
  } else if (workers !== undefined) {
    throw new SweepUsageError('--workers is an option of the local launcher; on Slurm, --max-parallel limits the runs at once');
  }
  const threads = threadsGiven ?? defaultThreads(workers ?? 1);
  if (launcher === 'local') {
    const problem = oversubscription(workers ?? 1, threads);
    if (problem !== undefined) throw new SweepUsageError(problem);
  }

  const configPath = parsed.positional[0] !== undefined && !isOverrideArgument(parsed.positional[0]) ? parsed.positional.shift() : undefined;
  const plan = planSweep(configPath, parsed.positional);
  const slurm = launcher === 'slurm' ? slurmOptions(plan.options['slurm'], parsed, threadsGiven) : undefined;
  const dir = resolve(dirText);
  const manifest = openSweepDirectory(dir, plan.manifest);
  if (slurm !== undefined) {
    launchSlurm(dir, manifest, slurm);
    return 0;
  }

  const release = holdExecutorLock(dir);
  let interrupted: NodeJS.Signals | undefined;
  try {
    const pending = manifest.runs.filter((r) => r.status !== 'done').length;
    process.stderr.write(`sweep ${dir}: ${manifest.runs.length} runs, ${manifest.runs.length - pending} done already; running ${pending} with ${workers ?? 1} ${workers === 1 || workers === undefined ? 'worker' : 'workers'} × ${threads} ${threads === 1 ? 'thread' : 'threads'}\n`);
    ({ interrupted } = await runLocal(dir, manifest, { workers: workers ?? 1, threads, retries, cliPath: CLI_PATH, write: (line) => process.stderr.write(`${line}\n`) }));
  } finally {
    release();
  }
  const final = readManifest(dir)!;
  const failed = final.runs.filter((r) => r.status === 'failed');
  const done = final.runs.filter((r) => r.status === 'done').length;
  const lines = [`sweep ${dir}: ${done} of ${final.runs.length} runs done, ${failed.length} failed`];
  for (const r of failed) lines.push(`  failed: ${r.id} (${r.label}): exit status ${r.exitStatus ?? '-'} after ${r.attempts} ${r.attempts === 1 ? 'attempt' : 'attempts'}; log ${join(dir, r.log)}${r.error === null ? '' : `: ${r.error.split('\n')[0]}`}`);
  lines.push(`results: ${join(dir, 'runs')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (interrupted !== undefined) {
    const command = ['perennial', 'sweep', ...args].map((a, i) => (i < 2 ? a : shellQuote(a))).join(' ');
    process.stderr.write(`perennial: the sweep was interrupted by ${interrupted}; the unfinished runs keep their finished tasks' checkpoints. Resume with the same command:\n  ${command}\n`);
    return interruptedExitCode(interrupted);
  }
  return failed.length > 0 ? 1 : 0;
}

/** `perennial sweep ...`; returns the exit status. Configuration errors are thrown to the caller, which reports them. */
export async function sweep(args: readonly string[]): Promise<number> {
  try {
    if (args[0] === 'run-one') {
      if (args.length !== 3) throw new SweepUsageError('sweep run-one needs the sweep directory and the run id: perennial sweep run-one <dir> <id>');
      return runOne(args[1]!, args[2]!);
    }
    if (args[0] === 'status') {
      if (args.length !== 2) throw new SweepUsageError('sweep status needs the sweep directory: perennial sweep status <dir>');
      process.stdout.write(`${sweepStatus(resolve(args[1]!))}\n`);
      return 0;
    }
    return await startSweep(args);
  } catch (error) {
    if (error instanceof SweepUsageError) {
      process.stderr.write(`perennial: ${error.message}\n(perennial sweep --help shows the usage)\n`);
      return 2;
    }
    if (error instanceof SweepDirectoryError) {
      process.stderr.write(`perennial: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
