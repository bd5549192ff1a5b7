// `perennial sweep run-one DIR ID`: one run of a sweep, in this process. Both
// executors launch exactly this per run. It starts the run in DIR/runs/ID, or
// resumes it from its checkpoint when the directory already holds it, and
// records the outcome in the manifest. The run's log lines and summary are
// appended to DIR/logs/ID.log; the process's own output is one line saying
// how the run ended (the executors append it to the same log).
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../config/loader.js';
import { readRunConfig } from '../continual/experiment/resume.js';
import { RunInterruptedError, runExperiment } from '../continual/experiment/run.js';
import { RunDirectoryError } from '../continual/experiment/run_lock.js';
import { RESULT_FILES } from '../continual/results/index.js';
import { interruptedExitCode, listenForInterrupts } from '../cli/interrupt.js';
import { formatRunSummary } from '../cli/table.js';
import { SweepDirectoryError, requireManifest, runDirectory, runId, updateRun } from './manifest.js';
import { loadSweepExperiment } from './plan.js';

/** Runs (or resumes) run `id` of the sweep in `dir`; returns the exit status (0 done, 130/143 interrupted, else failed). */
export function runOne(sweepDir: string, id: string): number {
  const dir = resolve(sweepDir);
  const manifest = requireManifest(dir);
  const entry = manifest.runs.find((r) => r.id === id);
  if (entry === undefined) throw new SweepDirectoryError(`the sweep in ${dir} has no run ${id}; \`perennial sweep status ${dir}\` lists its runs`);
  const runDir = runDirectory(dir, id);
  const logPath = join(dir, entry.log);
  mkdirSync(dirname(logPath), { recursive: true });
  const log = (line: string): void => appendFileSync(logPath, `${line}\n`);
  if (entry.status === 'done' && existsSync(join(runDir, RESULT_FILES.summary))) {
    process.stderr.write(`run ${id} (${entry.label}) is done already: ${runDir}\n`);
    return 0;
  }
  const resume = existsSync(join(runDir, 'config.json'));
  const finish = (status: 'done' | 'failed' | 'queued', exitStatus: number, error: string | null): number => {
    updateRun(dir, id, (r) => Object.assign(r, { status, exitStatus, error }));
    return exitStatus;
  };
  updateRun(dir, id, (r) => Object.assign(r, { status: 'running', attempts: r.attempts + 1, exitStatus: null, error: null }));
  log(`${new Date().toISOString()} sweep run ${id} (${entry.label}), attempt ${entry.attempts + 1}: ${resume ? 'resuming' : 'starting'} in ${runDir}`);
  const interrupts = listenForInterrupts();
  try {
    const config = resume ? readRunConfig(runDir) : loadSweepExperiment(manifest.base.config, [...entry.overrides, `output.dir=${join(dir, 'runs')}`, `output.name=${id}`]);
    if (!resume && runId(config) !== id) {
      throw new SweepDirectoryError(`run ${id} now resolves to another configuration (${runId(config)}): the config file changed since the sweep started; restore it, or start the sweep again in another --dir`);
    }
    const result = runExperiment({
      config,
      runDir,
      resume,
      log,
      observer: {
        epochEnd(task, epoch, s) {
          log(`task ${task} epoch ${epoch}: train loss ${s.trainLoss.toFixed(4)}, train accuracy ${s.trainAccuracy.toFixed(4)}`);
        },
      },
      signal: interrupts.signal,
    });
    log(`\n${formatRunSummary(result.summary)}\nresults: ${runDir}`);
    process.stderr.write(`run ${id} (${entry.label}) is done: ${runDir}\n`);
    return finish('done', 0, null);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`perennial: ${message}`);
    if (error instanceof RunInterruptedError) {
      process.stderr.write(`run ${id} (${entry.label}): ${message}; running the sweep again resumes it\n`);
      return finish('queued', interruptedExitCode(error.reason), message);
    }
    process.stderr.write(`run ${id} (${entry.label}) failed: ${message}\n`);
    // As `perennial run` exits: 2 for a configuration or run directory that cannot be used, 1 for a failure.
    const usable = error instanceof ConfigError || error instanceof RunDirectoryError || error instanceof SweepDirectoryError;
    return finish('failed', usable ? 2 : 1, message);
  } finally {
    interrupts.stop();
  }
}
