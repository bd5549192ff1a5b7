// SIGINT and SIGTERM sent to `perennial run` at several moments: the run stops
// at the next step boundary, exits 130 or 143 with the command that resumes
// it, and the resumed run ends byte-identical to an uninterrupted one. A
// second signal stops it at once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');
// 3000 examples in batches of 64: 47 steps per epoch, 141 per task, so that
// a signal sent on a task's first progress line arrives well inside it.
const overrides = ['benchmark.numTasks=3', 'benchmark.trainLimit=3000', 'backbone.hiddenSizes=[64]', 'training.epochs=3', 'backbone.dropout=0.2'];
const STEPS_PER_TASK = 141;
const compared = ['acc.csv', 'loss.csv', 'summary.json', join('checkpoints', 'task_3.safetensors')];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts a run, waits until its stderr matches `moment`, sends `signals` (the
 * next one `gapMs` after the last), and waits for the process to end.
 */
async function interruptAt(runDir: string, moment: RegExp, signals: NodeJS.Signals[], gapMs = 0): Promise<Outcome> {
  const [dir, name] = [join(runDir, '..'), runDir.slice(runDir.lastIndexOf('/') + 1)];
  const child = spawn(process.execPath, [cli, 'run', ...overrides, `output.dir=${dir}`, `output.name=${name}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let sent = false;
  const ended = new Promise<Outcome>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (sent || !moment.test(stderr)) return;
    sent = true;
    void (async () => {
      for (const [i, signal] of signals.entries()) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
        child.kill(signal);
      }
    })();
  });
  const outcome = await ended;
  assert.ok(sent, `the run ended before ${moment} appeared:\n${outcome.stderr}`);
  return outcome;
}

/** Where the run said it stopped, after checking the line that says so. */
function stoppedAt(outcome: Outcome, signal: string, runDir: string): { task: number; step: number } {
  const line = new RegExp(`^perennial: interrupted by ${signal} after task (\\d+), step (\\d+); resume with: (.*)$`, 'm').exec(outcome.stderr);
  assert.ok(line, `the interruption line is printed:\n${outcome.stderr}`);
  const quoted = runDir.includes(' ') ? `'${runDir}'` : runDir;
  assert.equal(line[3], `perennial run --resume ${quoted}`);
  assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), new RegExp(`INFO  interrupted by ${signal} after task ${line[1]}, step ${line[2]}: `));
  return { task: Number(line[1]), step: Number(line[2]) };
}

function resumeAndCompare(runDir: string, whole: string): string {
  const resumed = spawnSync(process.execPath, [cli, 'run', '--resume', runDir], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  for (const f of compared) assert.ok(readFileSync(join(runDir, f)).equals(readFileSync(join(whole, f))), `${f} is byte-identical to the uninterrupted run's`);
  assert.ok(!existsSync(join(runDir, 'run.lock')), 'the lock is released');
  return resumed.stderr;
}

function assertNoTemporaryFiles(runDir: string): void {
  const leftovers = readdirSync(runDir, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'no half-written file is left');
}

describe('perennial run, interrupted', () => {
  // A space in the path: the printed command must quote it.
  const root = join(tempDir('cli-interrupt-'), 'with space');
  const whole = join(root, 'whole');
  const uninterrupted = (): string => {
    if (!existsSync(join(whole, 'summary.json'))) {
      const out = spawnSync(process.execPath, [cli, 'run', ...overrides, `output.dir=${root}`, 'output.name=whole'], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
    }
    return whole;
  };

  it('SIGINT during task 1: exits 130 inside task 1, keeps nothing of it, and resumes byte-identical', async () => {
    const runDir = join(root, 'int-task1');
    const outcome = await interruptAt(runDir, /^task 1\/3 epoch 1 /m, ['SIGINT']);
    assert.equal(outcome.code, 130, outcome.stderr);
    const at = stoppedAt(outcome, 'SIGINT', runDir);
    assert.equal(at.task, 1);
    assert.ok(at.step >= 1 && at.step < STEPS_PER_TASK, `step ${at.step}`);
    assert.ok(!existsSync(join(runDir, 'checkpoints')) && !existsSync(join(runDir, 'acc.csv')), 'nothing of task 1 is written');
    assertNoTemporaryFiles(runDir);
    assert.match(resumeAndCompare(runDir, uninterrupted()), /no task was finished, so the run starts again from task 1/);
  });

  it('SIGTERM as task 1 ends: exits 143 with task 1 kept (or task 2 just begun), and resumes byte-identical', async () => {
    const runDir = join(root, 'term-between');
    const outcome = await interruptAt(runDir, /^task 1 epoch 3: train loss/m, ['SIGTERM']);
    assert.equal(outcome.code, 143, outcome.stderr);
    const at = stoppedAt(outcome, 'SIGTERM', runDir);
    // The signal arrives while task 1 is tested and saved, or just after.
    assert.ok((at.task === 1 && at.step === STEPS_PER_TASK) || (at.task === 2 && at.step < STEPS_PER_TASK), `stopped after task ${at.task}, step ${at.step}`);
    assert.ok(existsSync(join(runDir, 'checkpoints', 'task_1.safetensors')) && !existsSync(join(runDir, 'checkpoints', 'task_2.safetensors')));
    assert.equal(readFileSync(join(runDir, 'acc.csv'), 'utf8').trim().split('\n').length, 2, 'acc.csv holds task 1');
    assertNoTemporaryFiles(runDir);
    assert.match(resumeAndCompare(runDir, uninterrupted()), /resumed from the checkpoint of task 1/);
  });

  it('SIGTERM during task 3: exits 143 inside task 3 with tasks 1 and 2 kept, and resumes byte-identical', async () => {
    const runDir = join(root, 'term-task3');
    const outcome = await interruptAt(runDir, /^task 3\/3 epoch 1 /m, ['SIGTERM']);
    assert.equal(outcome.code, 143, outcome.stderr);
    const at = stoppedAt(outcome, 'SIGTERM', runDir);
    assert.equal(at.task, 3);
    assert.ok(at.step >= 1 && at.step < STEPS_PER_TASK, `step ${at.step}`);
    assert.ok(!existsSync(join(runDir, 'checkpoints', 'task_3.safetensors')));
    assert.equal(readFileSync(join(runDir, 'acc.csv'), 'utf8').trim().split('\n').length, 3, 'acc.csv holds tasks 1 and 2');
    assertNoTemporaryFiles(runDir);
    assert.match(resumeAndCompare(runDir, uninterrupted()), /resumed from the checkpoint of task 2/);
  });

  it('a second SIGINT stops the run at once, without waiting for a step boundary; the lock it leaves is taken over by --resume', async () => {
    const runDir = join(root, 'int-twice');
    // While the data are loaded, before the first step: the first signal alone would wait for it.
    const outcome = await interruptAt(runDir, /^starting a run in /m, ['SIGINT', 'SIGINT'], 100);
    assert.equal(outcome.signal, 'SIGINT', `killed by the signal, not exited with ${outcome.code}:\n${outcome.stderr}`);
    assert.doesNotMatch(outcome.stderr, /interrupted by/);
    const lock = JSON.parse(readFileSync(join(runDir, 'run.lock'), 'utf8')) as { pid: number };
    assert.ok(Number.isInteger(lock.pid));
    assert.deepEqual(readdirSync(runDir).sort(), ['config.json', 'run.lock', 'run.log']);
    const resumed = resumeAndCompare(runDir, uninterrupted());
    assert.match(resumed, new RegExp(`took over .*run\\.lock, left by pid ${lock.pid} on .* which ended without releasing it`));
  });
});
