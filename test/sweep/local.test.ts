// The local executor end to end, through the `perennial sweep` command: a
// failing run does not stop the others and is retried, running the sweep
// again skips finished runs, a directory holding another sweep is refused,
// and a sweep stopped by Ctrl-C resumes to results byte-identical to an
// uninterrupted sweep's.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Manifest, readManifest } from '../../src/sweep/manifest.js';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

function sweep(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, 'sweep', ...args], { encoding: 'utf8' });
}

function manifest(dir: string): Manifest {
  const m = readManifest(dir);
  assert.ok(m !== undefined, `${dir} holds a manifest`);
  return m;
}

describe('perennial sweep, local executor', () => {
  it('a run whose loss is NaN fails, is retried, and does not stop the others; a second sweep skips the finished run and retries the failed one', () => {
    const dir = join(tempDir('sweep-retry-'), 'sweep');
    const args = ['benchmark.numTasks=2', 'benchmark.trainLimit=500', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.optimizer.lr=0.05,1e30', '--dir', dir, '--workers', '2'];
    const first = sweep(args);
    assert.equal(first.status, 1, first.stderr);
    const [good, bad] = manifest(dir).runs;
    assert.deepEqual([good!.label, good!.status, good!.attempts, good!.exitStatus, good!.error], ['training.optimizer.lr=0.05', 'done', 1, 0, null]);
    assert.deepEqual([bad!.label, bad!.status, bad!.attempts, bad!.exitStatus], ['training.optimizer.lr=1e30', 'failed', 2, 1]);
    assert.match(bad!.error!, /the training loss became NaN at task 1/);
    const badLog = join(dir, 'logs', `${bad!.id}.log`);
    assert.equal(readFileSync(badLog, 'utf8').match(/the training loss became NaN/g)?.length, 4, 'each attempt logs the failure twice: its log line and its outcome line');
    assert.match(first.stdout, new RegExp(`^sweep ${dir}: 1 of 2 runs done, 1 failed\\n  failed: ${bad!.id} \\(training\\.optimizer\\.lr=1e30\\): exit status 1 after 2 attempts; log ${badLog}: the training loss became NaN`));
    assert.match(first.stderr, /sweep: run \w+ \(training\.optimizer\.lr=1e30\) failed; starting it again \(attempt 2 of 2 in this sweep\)/);
    assert.match(first.stderr, /^sweep: 1\/2 done, 0 running, 1 failed, 0 queued, ETA 0s$/m);
    const accuracy = readFileSync(join(dir, 'runs', good!.id, 'acc.csv'));
    assert.equal(readFileSync(join(dir, 'runs', good!.id, 'acc.csv'), 'utf8').trim().split('\n').length, 3, 'a header and one row per task');

    const again = sweep([...args, '--retries', '0']);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /2 runs, 1 done already; running 1 with 2 workers/);
    const [good2, bad2] = manifest(dir).runs;
    assert.equal(good2!.attempts, 1, 'the finished run is skipped');
    assert.ok(readFileSync(join(dir, 'runs', good!.id, 'acc.csv')).equals(accuracy), 'its results are untouched');
    assert.deepEqual([bad2!.status, bad2!.attempts, bad2!.exitStatus], ['failed', 3, 1]);

    const status = spawnSync(process.execPath, [cli, 'sweep', 'status', dir], { encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^sweep ${dir}: 2 runs, 1 done, 0 running, 1 failed, 0 queued$`, 'm'));
    assert.match(status.stdout, new RegExp(`^${good!.id}  done    2/2    1         0     training\\.optimizer\\.lr=0\\.05$`, 'm'));
    assert.match(status.stdout, new RegExp(`^${bad!.id}  failed  0/2    3         1     training\\.optimizer\\.lr=1e30$`, 'm'));

    const noop = sweep(['run-one', dir, good!.id]);
    assert.equal(noop.status, 0, noop.stderr);
    assert.match(noop.stderr, /is done already/);
    assert.equal(manifest(dir).runs[0]!.attempts, 1, 'run-one of a finished run does nothing');
    const unknown = sweep(['run-one', dir, '000000000000']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /the sweep in .* has no run 000000000000; `perennial sweep status .*` lists its runs/);

    const other = sweep([...args.slice(0, 4), 'training.optimizer.lr=0.05,0.1', '--dir', dir]);
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /the sweep directory .* holds another sweep:\n  grid training\.optimizer\.lr: 0\.05,1e30 there, 0\.05,0\.1 now\nGive this sweep another --dir/);
    assert.equal(manifest(dir).grid['training.optimizer.lr']!.join(','), '0.05,1e30', 'the manifest is untouched');
  });

  it('Ctrl-C stops every worker at a step boundary, exits 130 saying how to resume, and the resumed sweep ends byte-identical to an uninterrupted one', async () => {
    const root = tempDir('sweep-interrupt-');
    // Two runs of three tasks, long enough (a few seconds each) to be stopped inside one.
    const grid = ['benchmark.numTasks=3', 'benchmark.trainLimit=2000', 'backbone.hiddenSizes=[32]', 'training.epochs=2', 'backbone.dropout=0.2', 'seed=1..2'];
    const whole = join(root, 'whole');
    const uninterrupted = sweep([...grid, '--dir', whole, '--workers', '2']);
    assert.equal(uninterrupted.status, 0, uninterrupted.stderr);

    const dir = join(root, 'stopped');
    const child = spawn(process.execPath, [cli, 'sweep', ...grid, '--dir', dir, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Stop it once a run has finished its first task and before either finished the last.
    const firstTaskDone = (): boolean => existsSync(join(dir, 'runs')) && readdirSync(join(dir, 'runs')).some((id) => existsSync(join(dir, 'runs', id, 'checkpoints', 'task_1.safetensors')));
    const deadline = Date.now() + 30_000;
    while (!firstTaskDone()) {
      assert.ok(Date.now() < deadline, `no run finished its first task within 30 s:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGINT');
    assert.equal(await ended, 130, stderr);
    assert.match(stderr, /sweep: SIGINT: stopping 2 running runs at their next step boundary/);
    assert.match(stderr, /perennial: the sweep was interrupted by SIGINT; .* Resume with the same command:\n  perennial sweep benchmark\.numTasks=3 .* seed=1\.\.2 --dir \S+ --workers 2\n/);
    const stopped = manifest(dir);
    assert.ok(stopped.runs.every((r) => r.status === 'queued' && r.exitStatus === 130 && /interrupted by SIGINT after task [0-2], step \d+/.test(r.error ?? '')), JSON.stringify(stopped.runs, null, 2));
    assert.ok(!stopped.runs.some((r) => existsSync(join(dir, 'runs', r.id, 'run.lock'))), 'every run directory is unlocked');

    const resumed = sweep([...grid, '--dir', dir, '--workers', '2']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const final = manifest(dir);
    assert.deepEqual(final.runs.map((r) => [r.id, r.status, r.attempts]), manifest(whole).runs.map((r) => [r.id, 'done', 2]));
    for (const run of final.runs) {
      assert.match(readFileSync(join(dir, run.log), 'utf8'), /attempt 2: resuming in /);
      for (const file of ['acc.csv', 'loss.csv', join('checkpoints', 'task_3.safetensors')]) {
        assert.ok(readFileSync(join(dir, 'runs', run.id, file)).equals(readFileSync(join(whole, 'runs', run.id, file))), `${run.label}: ${file} is byte-identical to the uninterrupted sweep's`);
      }
    }
  });
});
