// The check every algorithm's checkpoint gets: the same experiment run
// uninterrupted, and stopped after a task (an exception at its end, as a
// killed process leaves the run directory) then resumed, must end with the
// same accuracy and loss matrices, bit for bit.
import assert from 'node:assert/strict';
import { loadExperiment } from '../../src/config/experiment.js';
import { type RunResult, runExperiment } from '../../src/continual/experiment/run.js';

export interface ResumeCheck {
  /** The uninterrupted run. */
  readonly full: RunResult;
  /** The run that was stopped and resumed. */
  readonly resumed: RunResult;
}

/**
 * Runs `overrides` twice, in two directories from `runDir()`: once through,
 * once stopped at the end of task `stopAfter` and resumed. `whileStopped`
 * may inspect the stopped run's directory before it resumes.
 */
export function assertResumesBitIdentical(
  overrides: readonly string[],
  runDir: () => string,
  options: { stopAfter?: number; whileStopped?: (dir: string) => void; what?: string } = {},
): ResumeCheck {
  const stopAfter = options.stopAfter ?? 2;
  const prefix = options.what === undefined ? '' : `${options.what}: `;
  const full = runExperiment({ config: loadExperiment(undefined, overrides), runDir: runDir() });
  const dir = runDir();
  const stop = (task: number): void => {
    if (task === stopAfter) throw new Error('stopped');
  };
  assert.throws(() => runExperiment({ config: loadExperiment(undefined, overrides), runDir: dir, onTaskEnd: stop }), /stopped/);
  options.whileStopped?.(dir);
  const resumed = runExperiment({ config: loadExperiment(undefined, overrides), runDir: dir, resume: true });
  assert.deepEqual(resumed.accuracy, full.accuracy, `${prefix}accuracy`);
  assert.deepEqual(resumed.loss, full.loss, `${prefix}loss`);
  return { full, resumed };
}
