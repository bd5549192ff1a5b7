// The local executor: `sweep run-one` child processes, `workers` at a time,
// each with PERENNIAL_NUM_THREADS threads and its output appended to the run's
// log. SIGINT and SIGTERM are forwarded to the children once, which stop at
// their next step boundary with their finished tasks checkpointed.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { dirname, join } from 'node:path';
import { type Manifest, type ManifestRun, requireManifest, updateRun } from './manifest.js';

export interface LocalOptions {
  workers: number;
  /** PERENNIAL_NUM_THREADS of each run. */
  threads: number;
  /** How many times a failed run is started again within this sweep. */
  retries: number;
  /** The `perennial` script the children run (main.js). */
  cliPath: string;
  /** Where progress lines go (stderr). */
  write(line: string): void;
  /** The clock in ms, injectable for tests. */
  now?: () => number;
}

export interface LocalOutcome {
  /** The signal that stopped the sweep, if one did. */
  interrupted?: NodeJS.Signals;
}

/** The threads per worker when --threads is not given: the cores shared out, at least one. */
export function defaultThreads(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/**
 * Why `workers` runs of `threads` threads each do not fit on `cores` cores, or
 * undefined when they fit. Oversubscribed cores slow every run (their threads
 * wait on each other at every operation), so this is an error, not a warning.
 */
export function oversubscription(workers: number, threads: number, cores = availableParallelism()): string | undefined {
  if (workers * threads <= cores) return undefined;
  const fewer = Math.max(1, Math.floor(cores / threads));
  return (
    `--workers ${workers} × --threads ${threads} = ${workers * threads} threads, more than the ${cores} cores of this machine, which would slow every run; ` +
    `use --workers ${fewer}${threads > 1 ? ` or --threads ${Math.max(1, Math.floor(cores / workers))}` : ''}`
  );
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Runs every run of the manifest that is not done; resolves when all have ended or stopped. */
export function runLocal(dir: string, manifest: Manifest, options: LocalOptions): Promise<LocalOutcome> {
  const now = options.now ?? (() => Date.now());
  const queue: ManifestRun[] = manifest.runs.filter((r) => r.status !== 'done');
  let done = manifest.runs.length - queue.length;
  let failed = 0;
  const running = new Map<string, ChildProcess>();
  const startsHere = new Map<string, number>();
  const durations: number[] = [];
  let stopping: NodeJS.Signals | undefined;

  const progress = (): void => {
    const remaining = queue.length + running.size;
    const mean = durations.length === 0 ? undefined : durations.reduce((a, b) => a + b, 0) / durations.length;
    const eta = remaining === 0 ? '0s' : mean === undefined ? 'after the first run' : formatDuration((mean * remaining) / options.workers);
    options.write(`sweep: ${done}/${manifest.runs.length} done, ${running.size} running, ${failed} failed, ${queue.length} queued, ETA ${eta}`);
  };

  return new Promise((resolvePromise) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping === undefined) {
        stopping = signal;
        options.write(`sweep: ${signal}: stopping ${running.size} running ${running.size === 1 ? 'run' : 'runs'} at their next step boundary (another Ctrl-C stops them at once)`);
      }
      for (const child of running.values()) child.kill(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const end = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolvePromise(stopping === undefined ? {} : { interrupted: stopping });
    };

    const exited = (run: ManifestRun, started: number, code: number | null, signal: NodeJS.Signals | null): void => {
      running.delete(run.id);
      const entry = requireManifest(dir).runs.find((r) => r.id === run.id);
      // A child that died before it could record its end (killed, or crashed) is recorded here.
      const recorded = entry !== undefined && (entry.status === 'done' || entry.status === 'failed' || (entry.status === 'queued' && code !== null && entry.exitStatus === code));
      if (!recorded) {
        const exitStatus = code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
        // Stopped by the sweep's own Ctrl-C before it could catch it: unfinished, not failed.
        const status = stopping === undefined ? 'failed' : 'queued';
        updateRun(dir, run.id, (r) => Object.assign(r, { status, exitStatus, error: `sweep run-one ended by ${signal ?? `exit status ${code}`} before recording its outcome; see ${r.log}` }));
      }
      const status = requireManifest(dir).runs.find((r) => r.id === run.id)?.status;
      if (status === 'done') {
        done++;
        durations.push(now() - started);
      } else if (status === 'failed') {
        const starts = startsHere.get(run.id) ?? 0;
        if (stopping === undefined && starts <= options.retries) {
          options.write(`sweep: run ${run.id} (${run.label}) failed; starting it again (attempt ${starts + 1} of ${options.retries + 1} in this sweep)`);
          queue.push(run);
        } else failed++;
      }
      next();
    };

    const launch = (run: ManifestRun): void => {
      startsHere.set(run.id, (startsHere.get(run.id) ?? 0) + 1);
      const logPath = join(dir, run.log);
      mkdirSync(dirname(logPath), { recursive: true });
      const fd = openSync(logPath, 'a');
      const started = now();
      // Its own process group: a Ctrl-C in the terminal reaches only this
      // process, which forwards it once (a second signal would kill the run at once).
      const child = spawn(process.execPath, [options.cliPath, 'sweep', 'run-one', dir, run.id], {
        stdio: ['ignore', fd, fd],
        detached: true,
        env: { ...process.env, PERENNIAL_NUM_THREADS: String(options.threads) },
      });
      closeSync(fd);
      running.set(run.id, child);
      let ended = false;
      const once = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (ended) return;
        ended = true;
        exited(run, started, code, signal);
      };
      child.once('exit', once);
      child.once('error', () => once(1, null));
    };

    /** Starts runs while workers are free, prints the progress line, and ends when nothing runs. */
    const next = (): void => {
      while (stopping === undefined && running.size < options.workers && queue.length > 0) launch(queue.shift()!);
      progress();
      if (running.size === 0) end();
    };

    next();
  });
}
