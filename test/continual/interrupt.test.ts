// Stopping a run through its stop signal (an AbortSignal here; SIGINT and
// SIGTERM from the command line): at a step boundary, between tasks and in the
// reference runs. The run keeps exactly what its finished tasks wrote, and a
// resumed run ends with the bytes of an uninterrupted one.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../src/config/experiment.js';
import { type RunOptions, RunInterruptedError, runExperiment } from '../../src/continual/experiment/run.js';
import { tempDir } from '../helpers.js';

// 600 examples in batches of 64: 10 steps per epoch, 20 per task.
const config = loadExperiment(undefined, [
  'benchmark.numTasks=3', 'benchmark.trainLimit=600', 'backbone.hiddenSizes=[32]', 'training.epochs=2', 'training.batchSize=64',
  'backbone.dropout=0.2', 'reference.independent=true',
]);
const STEPS_PER_TASK = 20;
const compared = ['acc.csv', 'loss.csv', 'summary.json', join('checkpoints', 'task_3.safetensors')];

function bytesOf(runDir: string): Map<string, Buffer> {
  return new Map(compared.map((f) => [f, readFileSync(join(runDir, f))]));
}

/** Runs with a stop signal that `setUp` aborts from one of the run's callbacks; returns the interruption. */
function interrupted(runDir: string, setUp: (abort: () => void) => Partial<RunOptions>): RunInterruptedError {
  const controller = new AbortController();
  let caught: unknown;
  try {
    runExperiment({ config, runDir, signal: controller.signal, ...setUp(() => controller.abort()) });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RunInterruptedError, `the run stopped with a RunInterruptedError, not ${String(caught)}`);
  return caught;
}

function assertNoTemporaryFiles(runDir: string): void {
  const leftovers = readdirSync(runDir, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'no half-written file is left');
}

describe('interrupting a run', () => {
  const root = tempDir('interrupt-');
  const whole = join(root, 'whole');
  const expected = (): Map<string, Buffer> => {
    if (!existsSync(join(whole, 'summary.json'))) runExperiment({ config, runDir: whole });
    return bytesOf(whole);
  };

  it('between tasks: stops after the finished task, which is kept, and the resumed run ends byte-identical', () => {
    const want = expected();
    const runDir = join(root, 'between');
    const error = interrupted(runDir, (abort) => ({ onTaskEnd: (task) => task === 1 && abort() }));
    assert.deepEqual(error.at, { task: 1, step: STEPS_PER_TASK });
    assert.equal(error.finishedTasks, 1);
    assert.equal(error.message, `interrupted (This operation was aborted) after task 1, step ${STEPS_PER_TASK}`);
    assert.equal(readFileSync(join(runDir, 'acc.csv'), 'utf8').trim().split('\n').length, 2, 'acc.csv holds the header and task 1');
    assert.ok(!existsSync(join(runDir, 'checkpoints', 'task_2.safetensors')));
    assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), /after task 1, step 20: task 1 is finished and saved; --resume continues after it/);
    assert.ok(!existsSync(join(runDir, 'run.lock')), 'the lock is released');
    assertNoTemporaryFiles(runDir);
    runExperiment({ config, runDir, resume: true });
    assert.deepEqual(bytesOf(runDir), want);
  });

  it('at a step boundary inside a later task: drops that task, keeps the results of the earlier ones, and resumes byte-identical', () => {
    const want = expected();
    const runDir = join(root, 'step');
    const error = interrupted(runDir, (abort) => ({
      observer: { batchEnd: (task, epoch, step) => task === 2 && epoch === 2 && step === 3 && abort() },
    }));
    // Epoch 2's step index 3 is the task's 14th step.
    assert.deepEqual(error.at, { task: 2, step: 14 });
    assert.equal(error.finishedTasks, 1);
    const afterTask1 = join(root, 'between-task-1');
    interrupted(afterTask1, (abort) => ({ onTaskEnd: (task) => task === 1 && abort() }));
    for (const f of ['acc.csv', 'loss.csv', 'summary.json']) {
      assert.equal(readFileSync(join(runDir, f), 'utf8'), readFileSync(join(afterTask1, f), 'utf8'), `${f} is exactly as task 1 left it`);
    }
    assert.ok(!existsSync(join(runDir, 'checkpoints', 'task_2.safetensors')));
    assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), /task 2 was not finished and nothing of it was kept; --resume trains it again from the checkpoint of task 1/);
    assertNoTemporaryFiles(runDir);
    runExperiment({ config, runDir, resume: true });
    assert.deepEqual(bytesOf(runDir), want);
  });

  it('in the reference runs: every task is kept, and the resumed run makes the references and ends byte-identical', () => {
    const want = expected();
    const runDir = join(root, 'references');
    const error = interrupted(runDir, (abort) => ({ log: (line) => line.startsWith('reference:') && abort() }));
    assert.deepEqual(error.at, { references: true, task: 3 });
    assert.equal(error.finishedTasks, 3);
    assert.match(error.message, /after task 3, in the reference runs$/);
    assert.equal(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).fwt, undefined, 'no reference was written');
    runExperiment({ config, runDir, resume: true });
    assert.deepEqual(bytesOf(runDir), want);
  });

  it('before the first step: nothing is trained and nothing but config.json and run.log is written', () => {
    const runDir = join(root, 'start');
    const controller = new AbortController();
    controller.abort('SIGTERM');
    assert.throws(() => runExperiment({ config, runDir, signal: controller.signal }), (error: unknown) => {
      assert.ok(error instanceof RunInterruptedError);
      assert.equal(error.message, 'interrupted by SIGTERM after task 1, step 0');
      return true;
    });
    assert.deepEqual(readdirSync(runDir).sort(), ['config.json', 'run.log']);
  });
});
