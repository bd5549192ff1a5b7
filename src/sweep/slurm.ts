// The Slurm executor: one sbatch array script per submission, one array task
// per run that is not done, each running `perennial sweep run-one DIR ID`.
// Array tasks are requeueable and ask for SIGUSR1 before their time limit; the
// script then stops its run at the next step boundary (the run keeps its
// finished tasks' checkpoint) and requeues its own array task, which resumes
// when Slurm starts it again. Submission returns at once; slurmStatus() reads
// back where each run is from squeue and the job-completion log.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../serialization/atomic.js';

/** The sbatch options of a sweep; every one but cpusPerTask is Slurm's default when absent. */
export interface SlurmOptions {
  partition?: string;
  /** The time limit of each run, in Slurm's formats (minutes, HH:MM:SS, D-HH:MM, ...). */
  time?: string;
  /** Memory per run, in Slurm's --mem format (4G, 4000M, 4000). */
  memory?: string;
  account?: string;
  /** How many runs at once (the array's %K); unlimited when absent. */
  concurrency?: number;
  /** Cores per run; each run gets PERENNIAL_NUM_THREADS equal to it. */
  cpusPerTask: number;
  /** More #SBATCH options, e.g. '--qos=short' or '#SBATCH --constraint=avx2'. */
  extraDirectives: string[];
}

/** The part of a sweep's manifest (DIR/sweep.json) the Slurm executor reads. */
export interface SlurmManifest {
  base: { config: string | null };
  runs: readonly { id: string; overrides: readonly string[]; status: string }[];
}

/** What DIR/slurm/job.json records of a submission. */
export interface SlurmJob {
  jobId: string;
  submittedAt: string;
  script: string;
  /** The run of each array index, as in DIR/slurm/runs.txt. */
  runs: string[];
}

/** Bad Slurm options, or sbatch/squeue failing; the message says what to do. */
export class SlurmError extends Error {}

/**
 * Seconds before the time limit at which Slurm signals a run to stop: enough
 * for a run to reach its next step boundary and write its checkpoint.
 */
export const STOP_BEFORE_LIMIT_S = 120;

/** Options the executor sets itself; setting them again would break requeue, logs or the array. */
const OWN_DIRECTIVES: Readonly<Record<string, string>> = {
  array: 'the array has one task per run; --max-parallel sets its %K',
  'cpus-per-task': 'it is the threads of each run (--threads)',
  partition: 'use --partition',
  time: 'use --time',
  mem: 'use --mem',
  account: 'use --account',
  output: 'each array task writes to DIR/logs/slurm-<job>_<index>.out',
  error: 'each array task writes to DIR/logs/slurm-<job>_<index>.out',
  'open-mode': 'a requeued task appends to its log',
  signal: `the script asks for SIGUSR1 ${STOP_BEFORE_LIMIT_S} s before the time limit to stop and requeue the run`,
  requeue: 'array tasks are always requeueable',
  'no-requeue': 'array tasks must be requeueable to resume after preemption',
};

// Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or no limit.
const TIME = /^(INFINITE|UNLIMITED|\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2})$/i;
const MEMORY = /^\d+[KMGT]?$/i;
// A partition or account name goes into the script unquoted.
const NAME = /^[A-Za-z0-9_.,-]+$/;

/** The directives from extraDirectives, without their '#SBATCH ' prefix; throws on one that cannot be used. */
function extraDirectives(lines: readonly string[]): string[] {
  return lines.map((line) => {
    const directive = line.trim().replace(/^#SBATCH\s+/, '');
    if (/[\n\r]/.test(line) || !/^--?[A-Za-z]/.test(directive)) {
      throw new SlurmError(`extra #SBATCH line '${line}' is not an sbatch option: write it as '--option=value', e.g. '--qos=short'`);
    }
    const name = /^--([A-Za-z-]+)/.exec(directive)?.[1];
    const why = name === undefined ? undefined : OWN_DIRECTIVES[name];
    if (why !== undefined) throw new SlurmError(`extra #SBATCH line '${line}' sets --${name}, which the Slurm executor sets itself: ${why}`);
    return directive;
  });
}

/** Checks every option, reporting all the problems at once. */
export function validateSlurmOptions(options: SlurmOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.cpusPerTask) || options.cpusPerTask < 1) problems.push(`cpus per task must be a whole number of at least 1, got ${options.cpusPerTask}`);
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    problems.push(`concurrency (the runs at once) must be a whole number of at least 1, got ${options.concurrency}`);
  }
  if (options.time !== undefined && !TIME.test(options.time)) problems.push(`time '${options.time}' is not a Slurm time limit: use minutes (90), HH:MM:SS (01:30:00) or D-HH:MM:SS (1-00:00:00)`);
  if (options.memory !== undefined && !MEMORY.test(options.memory)) problems.push(`memory '${options.memory}' is not a Slurm memory size: use a number with an optional unit K, M, G or T (4G, 4000M)`);
  for (const key of ['partition', 'account'] as const) {
    const value = options[key];
    if (value !== undefined && !NAME.test(value)) problems.push(`${key} '${value}' is not a Slurm ${key} name (letters, digits, '_', '.', '-')`);
  }
  try {
    extraDirectives(options.extraDirectives);
  } catch (error) {
    if (!(error instanceof SlurmError)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0) throw new SlurmError(`invalid Slurm options:\n  ${problems.join('\n  ')}`);
}

/** A word for bash, single-quoted. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The --output option for the sweep in `dir`; sbatch splits an #SBATCH line at blanks unless double-quoted, and expands '%'. */
function outputDirective(dir: string): string {
  if (/["%\n]/.test(dir)) throw new SlurmError(`the sweep directory ${dir} has '"', '%' or a newline in its path, which #SBATCH lines cannot hold: choose another directory`);
  const path = join(dir, 'logs', 'slurm-%A_%a.out');
  return `--output=${/\s/.test(path) ? `"${path}"` : path}`;
}

/** How this process's perennial is started on the compute node: the same node binary and build. */
export interface PerennialCommand {
  node: string;
  main: string;
}

export function thisPerennial(): PerennialCommand {
  return { node: process.execPath, main: resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js') };
}

/**
 * The shell function an array task runs: `perennial sweep run-one DIR <id>`,
 * which runs the manifest's run (resuming it from its checkpoint when a
 * requeue or the time-limit signal stopped it) and records its outcome in
 * the manifest.
 */
function runOneFunction(dir: string, perennial: PerennialCommand): string {
  // exec: the run is the background child the USR1 trap signals, not a shell around it.
  return ['run_one() {', `  exec ${quote(perennial.node)} ${quote(perennial.main)} sweep run-one ${quote(dir)} "$1"`, '}'].join('\n');
}

/**
 * The array script that runs `ids` (array index i runs ids[i]), as submitted
 * by launchSlurm, which writes the ids to DIR/slurm/runs.txt.
 */
export function sbatchScript(dir: string, ids: readonly string[], options: SlurmOptions, perennial: PerennialCommand = thisPerennial()): string {
  validateSlurmOptions(options);
  if (ids.length === 0) throw new SlurmError('an array script needs at least one run');
  const directives = [
    '--job-name=perennial-sweep',
    `--array=0-${ids.length - 1}${options.concurrency === undefined ? '' : `%${options.concurrency}`}`,
    `--cpus-per-task=${options.cpusPerTask}`,
    ...(options.partition === undefined ? [] : [`--partition=${options.partition}`]),
    ...(options.time === undefined ? [] : [`--time=${options.time}`]),
    ...(options.memory === undefined ? [] : [`--mem=${options.memory}`]),
    ...(options.account === undefined ? [] : [`--account=${options.account}`]),
    '--requeue',
    '--open-mode=append',
    outputDirective(dir),
    `--signal=B:USR1@${STOP_BEFORE_LIMIT_S}`,
    ...extraDirectives(options.extraDirectives),
  ];
  const task = '"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"';
  return [
    '#!/bin/bash',
    `# A perennial sweep (${dir}): array task i runs the i-th run of slurm/runs.txt.`,
    ...directives.map((d) => `#SBATCH ${d}`),
    'set -u',
    'export PERENNIAL_NUM_THREADS="$SLURM_CPUS_PER_TASK"',
    `id=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${quote(join(dir, 'slurm', 'runs.txt'))})`,
    'if [ -z "$id" ]; then echo "perennial: no run for array index $SLURM_ARRAY_TASK_ID in slurm/runs.txt" >&2; exit 1; fi',
    `echo "perennial: run $id, array task ${'$'}{SLURM_ARRAY_JOB_ID}_${'$'}{SLURM_ARRAY_TASK_ID} on $(hostname), start $((${'$'}{SLURM_RESTART_COUNT:-0} + 1)) at $(date -u +%FT%TZ)"`,
    runOneFunction(dir, perennial),
    '# Near the time limit: stop the run at its next step boundary (it keeps its',
    '# finished tasks\' checkpoint), then requeue this task so that it resumes.',
    'stop_and_requeue() {',
    '  kill -TERM "$child" 2>/dev/null',
    '  wait "$child"',
    '  local status=$?',
    '  if [ "$status" -eq 143 ]; then',
    `    echo "perennial: run $id stopped before the time limit; requeueing ${'$'}{SLURM_ARRAY_JOB_ID}_${'$'}{SLURM_ARRAY_TASK_ID}"`,
    `    scontrol requeue ${task}`,
    '  fi',
    '  exit "$status"',
    '}',
    'trap stop_and_requeue USR1',
    // In the background so that bash runs the trap at once, not after the run.
    'run_one "$id" &',
    'child=$!',
    'wait "$child"',
    '',
  ].join('\n');
}

// Slurm's commands give up on an unreachable controller after about 10 s;
// this bounds one that hangs otherwise (a stalled shared filesystem).
const COMMAND_TIMEOUT_MS = 120_000;

/** Runs a Slurm command; throws when it cannot be started or does not end. */
function spawnSlurm(command: string, args: readonly string[]): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    throw new SlurmError(
      code === 'ENOENT'
        ? `${command} was not found: the Slurm executor runs on a machine with Slurm's commands (a cluster's login node); scripts/slurm.sh start sets up a one-node cluster on this machine`
        : code === 'ETIMEDOUT'
          ? `${command} ${args.join(' ')} did not answer within ${COMMAND_TIMEOUT_MS / 1000} s: check the cluster with 'scontrol ping'`
          : `${command} failed: ${result.error.message}`,
    );
  }
  return result;
}

/** A Slurm command's output; throws when it fails. */
function runSlurm(command: string, args: readonly string[]): string {
  const result = spawnSlurm(command, args);
  if (result.status !== 0) throw new SlurmError(`${command} ${args.join(' ')} failed (exit status ${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
}

function jobPath(dir: string): string {
  return join(dir, 'slurm', 'job.json');
}

/** The last submission of the sweep in `dir`, or null when none was made. */
export function readSlurmJob(dir: string): SlurmJob | null {
  const path = jobPath(dir);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as SlurmJob) : null;
}

/** The array tasks of `job` that squeue still knows, by array index (pending, running, or recently ended). */
function queueStates(job: SlurmJob): Map<number, { state: string; reason: string }> {
  const states = new Map<number, { state: string; reason: string }>();
  const result = spawnSlurm('squeue', ['--noheader', '--array', '--states=all', `--jobs=${job.jobId}`, '--format=%i|%T|%r']);
  // squeue fails for a job id the controller has forgotten: nothing is queued.
  if (result.status !== 0) return states;
  for (const line of result.stdout.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    const index = /_(\d+)$/.exec(id ?? '')?.[1];
    if (index !== undefined && state !== undefined) states.set(Number(index), { state, reason: reason ?? '' });
  }
  return states;
}

/** The job-completion log's file, when the cluster writes one as text (jobcomp/filetxt). */
function jobCompletionLog(): string | null {
  const config = runSlurm('scontrol', ['show', 'config']);
  const value = (key: string): string | undefined => new RegExp(`^${key}\\s*=\\s*(\\S+)`, 'm').exec(config)?.[1];
  const location = value('JobCompLoc');
  return value('JobCompType') === 'jobcomp/filetxt' && location !== undefined && existsSync(location) ? location : null;
}

/**
 * The final state of each ended array task of `job` in the job-completion log,
 * by array index; the last record wins (a requeued task ends more than once).
 * Empty when the cluster keeps no such log as text.
 */
export function completedStates(job: SlurmJob): Map<number, string> {
  const states = new Map<number, string>();
  const log = jobCompletionLog();
  if (log === null) return states;
  // A cluster whose state was reset numbers its jobs from 1 again: a record
  // that ended before this job was submitted is another job's. Slurm writes
  // local times, as JavaScript reads a time without a zone; a minute's slack
  // covers the seconds they are rounded to.
  const submitted = Date.parse(job.submittedAt) - 60_000;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const field = (key: string): string | undefined => new RegExp(`(?:^| )${key}=(\\S+)`).exec(line)?.[1];
    if (field('ArrayJobId') !== job.jobId || Date.parse(field('EndTime') ?? '') < submitted) continue;
    const index = field('ArrayTaskId');
    const state = field('JobState');
    if (index !== undefined && state !== undefined) states.set(Number(index), state);
  }
  return states;
}

/** Where Slurm has a run of the sweep. */
export interface RunSlurmState {
  /** Slurm's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
  state: string;
  /** Why a pending task waits (Priority, Resources, BeginTime, ...), else ''. */
  reason: string;
  /** The array task, e.g. '123_4'. */
  task: string;
}

/**
 * Each run's state in the sweep's last submission, by run id: from squeue while
 * Slurm still lists the array task, else from the job-completion log. A run
 * Slurm no longer knows of is absent (its run directory says the rest).
 */
export function slurmStatus(dir: string): Map<string, RunSlurmState> {
  const status = new Map<string, RunSlurmState>();
  const job = readSlurmJob(dir);
  if (job === null) return status;
  const queued = queueStates(job);
  const completed = completedStates(job);
  job.runs.forEach((id, index) => {
    const task = `${job.jobId}_${index}`;
    const q = queued.get(index);
    const c = completed.get(index);
    if (q !== undefined) status.set(id, { state: q.state, reason: q.reason === 'None' ? '' : q.reason, task });
    else if (c !== undefined) status.set(id, { state: c, reason: '', task });
  });
  return status;
}

/** What launchSlurm submitted; jobId is null when every run was already done. */
export interface SlurmLaunch {
  jobId: string | null;
  runs: string[];
  script: string;
}

/** How many array tasks of the sweep's last submission are still pending or running. */
function activeTasks(job: SlurmJob): number {
  let n = 0;
  for (const { state } of queueStates(job).values()) if (['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'RESIZING', 'SUSPENDED'].includes(state)) n++;
  return n;
}

/**
 * Writes DIR/slurm/sweep.sbatch for the runs of `manifest` that are not done,
 * submits it with sbatch and records the job in DIR/slurm/job.json. Refuses
 * while an earlier submission of the sweep still has tasks queued or running,
 * which would run the same runs twice.
 */
export function launchSlurm(dir: string, manifest: SlurmManifest, options: SlurmOptions): SlurmLaunch {
  validateSlurmOptions(options);
  const root = resolve(dir);
  const ids = manifest.runs.filter((r) => r.status !== 'done').map((r) => r.id);
  const script = join(root, 'slurm', 'sweep.sbatch');
  if (ids.length === 0) return { jobId: null, runs: [], script };
  const previous = readSlurmJob(root);
  if (previous !== null) {
    const active = activeTasks(previous);
    if (active > 0) {
      throw new SlurmError(`job ${previous.jobId} of this sweep still has ${active} run(s) queued or running: wait for it (perennial sweep status ${dir}), or cancel it with: scancel ${previous.jobId}`);
    }
  }
  mkdirSync(join(root, 'slurm'), { recursive: true });
  mkdirSync(join(root, 'logs'), { recursive: true });
  writeFileAtomic(join(root, 'slurm', 'runs.txt'), `${ids.join('\n')}\n`);
  writeFileAtomic(script, sbatchScript(root, ids, options));
  const jobId = runSlurm('sbatch', ['--parsable', script]).trim().split(';')[0]!;
  if (!/^\d+$/.test(jobId)) throw new SlurmError(`sbatch answered '${jobId}' instead of a job id`);
  const job: SlurmJob = { jobId, submittedAt: new Date().toISOString(), script, runs: ids };
  writeFileAtomic(jobPath(root), `${JSON.stringify(job, null, 2)}\n`);
  return { jobId, runs: ids, script };
}
