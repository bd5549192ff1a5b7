// Opening a run directory for a new run or for --resume, where a resumed run
// continues, what --resume will do after an interruption, and the commands
// that resume a run or rerun its configuration.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type ExperimentConfig, parseExperiment } from '../../config/experiment.js';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { RunDirectoryError, RunLock } from './run_lock.js';
import type { Algorithm } from '../algorithms/index.js';
import type { ContinualBenchmark, TaskId } from '../contracts/types.js';
import type { ContinualModel } from '../model/model.js';
import { RESULT_FILES } from '../results/index.js';
import { FRESH_START, type SequenceStart } from './sequence.js';
import { checkpointPath, latestCheckpointTask, loadCheckpoint } from './checkpoint.js';

/** Why --resume cannot continue `runDir`: it holds no run's config.json. */
function notARunDirectory(runDir: string): RunDirectoryError {
  return new RunDirectoryError(`cannot resume ${runDir}: it has no config.json (is it a run directory?)`);
}

/**
 * Takes the run directory's lock (creating the directory for a new run). The
 * checks that it is free, or is a run to resume, are made under the lock, so
 * that of two processes started together only one can pass them.
 */
export function openRunDirectory(runDir: string, config: ExperimentConfig, resume: boolean): RunLock {
  const configPath = join(runDir, 'config.json');
  if (resume && !existsSync(configPath)) throw notARunDirectory(runDir);
  if (!resume) mkdirSync(runDir, { recursive: true });
  const lock = RunLock.acquire(runDir);
  try {
    if (!resume) {
      if (existsSync(configPath)) throw new RunDirectoryError(`the run directory ${runDir} already holds a run; choose another output.name or resume it with --resume`);
      writeFileAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`);
    }
    return lock;
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Where --resume continues the run in `runDir`: after the last checkpointed
 * task, whose checkpoint it loads into `model` and `algorithms` (setting up
 * the heads of the tasks before it); from task 1 when no task was finished.
 * Refuses a run whose results record finished tasks but whose checkpoints
 * are gone.
 */
export function resumePoint(
  runDir: string,
  config: ExperimentConfig,
  benchmark: ContinualBenchmark,
  model: ContinualModel,
  algorithms: readonly Algorithm[],
  log: (line: string) => void,
): SequenceStart {
  const last = latestCheckpointTask(runDir);
  if (last > 0) {
    for (let t = 1; t <= last; t++) model.heads.setupTask(t, benchmark.numClasses(t));
    const saved = loadCheckpoint(runDir, last, model, algorithms);
    log(`resumed from the checkpoint of task ${last}`);
    return { firstTask: last + 1, globalStep: saved.globalStep, accuracy: saved.accuracy, loss: saved.loss, ...(saved.beforeUnlearning === undefined ? {} : { beforeUnlearning: saved.beforeUnlearning }) };
  }
  if (existsSync(join(runDir, RESULT_FILES.accuracyCsv))) {
    // Starting over would replace the results of the finished tasks until it caught up with them.
    throw new RunDirectoryError(
      `cannot resume ${runDir}: its results (${RESULT_FILES.accuracyCsv}) record finished tasks, but ${join(runDir, 'checkpoints')} holds no checkpoint to continue from. ` +
        `Restore the checkpoints, or run the configuration again under a new name: ${newRunCommand(runDir, config, [], 'rerun')}`,
    );
  }
  log(`no checkpoint in ${join(runDir, 'checkpoints')}: no task was finished, so the run starts again from task 1`);
  return FRESH_START;
}

/** What --resume will do after an interruption at task `task`, for the log. */
export function whatResumeDoes(task: TaskId, finishedTasks: number, inReferences: boolean): string {
  if (inReferences) return `every task is finished and saved; --resume makes the reference runs again`;
  if (task <= finishedTasks) return `task ${task} is finished and saved; --resume continues after it`;
  const from = finishedTasks === 0 ? 'its start' : `the checkpoint of task ${finishedTasks} (${checkpointPath('', finishedTasks)})`;
  return `task ${task} was not finished and nothing of it was kept; --resume trains it again from ${from}`;
}

/** `arg` as a POSIX shell reads it back: unquoted when safe, else in single quotes. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues the run in `runDir`, from any working directory. */
export function resumeCommand(runDir: string): string {
  return `perennial run --resume ${shellQuote(resolve(runDir))}`;
}

/**
 * The command that starts a new run beside `runDir` with its configuration
 * and `overrides`: named after it with `suffix` when it has a fixed name.
 */
export function newRunCommand(runDir: string, config: ExperimentConfig, overrides: readonly string[], suffix: string): string {
  const where = resolve(runDir);
  const args = ['perennial', 'run', join(where, 'config.json'), ...overrides, `output.dir=${resolve(where, '..')}`];
  if (config.output.name !== undefined) args.push(`output.name=${basename(where)}-${suffix}`);
  return args.map(shellQuote).join(' ');
}

/**
 * The configuration a run directory was started with (for --resume), checked
 * against the same schema as a new run's: a ConfigError names config.json,
 * the line and the key.
 */
export function readRunConfig(runDir: string): ExperimentConfig {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) throw notARunDirectory(runDir);
  // JSON is YAML, so the experiment reader takes config.json as it is.
  return parseExperiment(readFileSync(path, 'utf8'), path);
}
