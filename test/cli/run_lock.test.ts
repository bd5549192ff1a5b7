// One process per run directory: of several runs started at once on the same
// output.name, or several resumes of one run, exactly one runs and the others
// are refused with status 2 and a message naming the holder; a lock left by a
// process that died is taken over.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../../src/config/experiment.js';
import { RunInterruptedError, runExperiment } from '../../src/continual/experiment/run.js';
import { RunLock } from '../../src/continual/experiment/run_lock.js';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');
const overrides = ['benchmark.numTasks=2', 'benchmark.trainLimit=600', 'backbone.hiddenSizes=[32]', 'training.epochs=1'];
const PROCESSES = 4;

interface Outcome {
  code: number | null;
  stderr: string;
}

/** Starts every command line at the same moment and waits for all of them. */
function together(commands: string[][]): Promise<Outcome[]> {
  return Promise.all(
    commands.map(
      (args) =>
        new Promise<Outcome>((resolve) => {
          const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
          child.once('close', (code) => resolve({ code, stderr }));
        }),
    ),
  );
}

const refusal = /^perennial: the run directory .* (is in use by another perennial process \(pid \d+ on .*, since .*\)|already holds a run)/m;

function exactlyOneRan(outcomes: Outcome[]): void {
  const ran = outcomes.filter((o) => o.code === 0);
  assert.equal(ran.length, 1, `exactly one process ran; statuses ${outcomes.map((o) => o.code).join(', ')}`);
  for (const o of outcomes.filter((o) => o.code !== 0)) {
    assert.equal(o.code, 2, o.stderr);
    assert.match(o.stderr, refusal);
  }
}

describe('perennial run, one process per run directory', () => {
  const root = tempDir('cli-lock-');
  const runDir = join(root, 'shared');

  it(`${PROCESSES} runs started at once with one output.name: one runs, the others are refused`, async () => {
    const outcomes = await together(Array.from({ length: PROCESSES }, () => ['run', ...overrides, `output.dir=${root}`, 'output.name=shared']));
    exactlyOneRan(outcomes);
    const log = readFileSync(join(runDir, 'run.log'), 'utf8');
    assert.equal(log.match(/starting a run in/g)?.length, 1, 'one run wrote to run.log');
    assert.ok(!existsSync(join(runDir, 'run.lock')), 'the lock is released at the end');
  });

  it(`${PROCESSES} resumes of one run started at once: one runs, the others are refused`, async () => {
    // A run stopped after its first task, with two long tasks left: the
    // resume that gets the lock holds it for seconds, while the others start.
    const stopped = join(root, 'stopped');
    const config = loadExperiment(undefined, ['benchmark.numTasks=3', 'benchmark.trainLimit=3000', 'backbone.hiddenSizes=[64]', 'training.epochs=2']);
    const controller = new AbortController();
    assert.throws(() => runExperiment({ config, runDir: stopped, signal: controller.signal, onTaskEnd: () => controller.abort() }), RunInterruptedError);
    const outcomes = await together(Array.from({ length: PROCESSES }, () => ['run', '--resume', stopped]));
    exactlyOneRan(outcomes);
    for (const o of outcomes.filter((o) => o.code !== 0)) assert.match(o.stderr, /is in use by another perennial process/);
    const log = readFileSync(join(stopped, 'run.log'), 'utf8');
    assert.equal(log.match(/resuming the run in/g)?.length, 1, 'one resume wrote to run.log');
    assert.equal(log.match(/task 2 done/g)?.length, 1, 'task 2 was trained once');
  });

  it('a run directory held by a live process is refused with status 2, naming the holder', () => {
    const lock = RunLock.acquire(runDir);
    try {
      const out = spawnSync(process.execPath, [cli, 'run', '--resume', runDir], { encoding: 'utf8' });
      assert.equal(out.status, 2, out.stderr);
      assert.match(out.stderr, new RegExp(`is in use by another perennial process \\(pid ${process.pid} on ${hostname()}, since \\d{4}-`));
    } finally {
      lock.release();
    }
  });

  it('a lock left by a dead process is taken over, and the log says so', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    writeFileSync(join(runDir, 'run.lock'), `${JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' })}\n`);
    const out = spawnSync(process.execPath, [cli, 'run', '--resume', runDir], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const said = `took over ${join(runDir, 'run.lock')}, left by pid ${pid} on ${hostname()} (started 2026-01-01T00:00:00.000Z), which ended without releasing it`;
    assert.ok(out.stderr.includes(said), out.stderr);
    assert.ok(readFileSync(join(runDir, 'run.log'), 'utf8').includes(said));
    assert.ok(!existsSync(join(runDir, 'run.lock')));
  });
});
