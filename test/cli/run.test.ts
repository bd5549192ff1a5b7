// The command line as a user drives it: a run killed mid-way and resumed ends
// with exactly the results of an uninterrupted run; configuration mistakes
// exit with status 2 and say what is wrong.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../../src/config/experiment.js';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');
const overrides = ['benchmark.numTasks=3', 'benchmark.trainLimit=1500', 'backbone.hiddenSizes=[64]', 'training.epochs=2', 'backbone.dropout=0.2'];

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** A run directory holding only config.json: `edit` changes the configuration a valid run would have saved. */
function runDirWithConfig(edit: (config: { training: Record<string, unknown> }) => void): string {
  const dir = join(tempDir('cli-config-'), 'run');
  mkdirSync(dir);
  const config = JSON.parse(JSON.stringify(loadExperiment(undefined, overrides))) as { training: Record<string, unknown> };
  edit(config);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}

async function waitFor(path: string, child: ChildProcess): Promise<void> {
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`the run ended before ${path} appeared`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('perennial run', () => {
  it('a run killed after its first task and resumed ends with exactly the results of an uninterrupted run', async () => {
    const dir = tempDir('cli-');
    const whole = runCli(['run', ...overrides, `output.dir=${dir}`, 'output.name=whole']);
    assert.equal(whole.status, 0, whole.stderr);

    const child = spawn(process.execPath, [cli, 'run', ...overrides, `output.dir=${dir}`, 'output.name=killed'], { stdio: 'ignore' });
    await waitFor(join(dir, 'killed', 'checkpoints', 'task_1.safetensors'), child);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(!existsSync(join(dir, 'killed', 'checkpoints', 'task_3.safetensors')), 'the run was stopped before it finished');

    const resumed = runCli(['run', '--resume', join(dir, 'killed')]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resumed from the checkpoint of task [12]/);
    for (const file of ['acc.csv', 'loss.csv']) {
      assert.equal(readFileSync(join(dir, 'killed', file), 'utf8'), readFileSync(join(dir, 'whole', file), 'utf8'), file);
    }
  });

  it('--resume validates config.json as a new run is validated: status 2, naming the file, the line and the key', () => {
    for (const [key, value, allowed] of [['epochs', -1, /integer >= 1|>= 1/], ['batchSize', 0, /integer >= 1|>= 1/]] as const) {
      const dir = runDirWithConfig((c) => (c.training[key] = value));
      const line = readFileSync(join(dir, 'config.json'), 'utf8').split('\n').findIndex((l) => l.includes(`"${key}": ${value}`)) + 1;
      const out = runCli(['run', '--resume', dir]);
      assert.equal(out.status, 2, out.stderr);
      assert.ok(out.stderr.includes(`${join(dir, 'config.json')}:${line}:`), out.stderr);
      assert.match(out.stderr, new RegExp(`training\\.${key}: .*`));
      assert.match(out.stderr, allowed);
      assert.ok(!existsSync(join(dir, 'run.log')), 'nothing ran');
    }
    const notJson = runDirWithConfig(() => undefined);
    writeFileSync(join(notJson, 'config.json'), '{"seed": 1,');
    const out = runCli(['run', '--resume', notJson]);
    assert.equal(out.status, 2, out.stderr);
    assert.ok(out.stderr.includes(`${join(notJson, 'config.json')}:1:`), out.stderr);
  });

  it('--resume of a run whose checkpoints are all gone but whose results record finished tasks is refused, with the command that runs it again', () => {
    const dir = tempDir('cli-nockpt-');
    const first = runCli(['run', ...overrides, 'benchmark.numTasks=2', `output.dir=${dir}`, 'output.name=gone']);
    assert.equal(first.status, 0, first.stderr);
    const runDir = join(dir, 'gone');
    rmSync(join(runDir, 'checkpoints'), { recursive: true });
    const acc = readFileSync(join(runDir, 'acc.csv'));
    const out = runCli(['run', '--resume', runDir]);
    assert.equal(out.status, 2, out.stderr);
    assert.ok(
      out.stderr.includes(
        `perennial: cannot resume ${runDir}: its results (acc.csv) record finished tasks, but ${join(runDir, 'checkpoints')} holds no checkpoint to continue from. ` +
          `Restore the checkpoints, or run the configuration again under a new name: perennial run ${join(runDir, 'config.json')} output.dir=${dir} output.name=gone-rerun\n`,
      ),
      out.stderr,
    );
    assert.ok(readFileSync(join(runDir, 'acc.csv')).equals(acc), 'the results are untouched');
    assert.ok(!existsSync(join(runDir, 'checkpoints')));
  });

  it('a NaN loss prints the exact command of a new run with half the learning rate, and that command runs', () => {
    const dir = tempDir('cli-nan-');
    const nan = ['benchmark.numTasks=2', 'benchmark.trainLimit=300', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.optimizer.lr=1e6'];
    const out = runCli(['run', ...nan, `output.dir=${dir}`, 'output.name=diverged']);
    assert.equal(out.status, 1, out.stderr);
    assert.match(out.stderr, /^perennial: the training loss became NaN at task \d+, epoch \d+, step \d+/m);
    const advice = `perennial run ${join(dir, 'diverged', 'config.json')} training.optimizer.lr=500000 output.dir=${dir} output.name=diverged-lr500000`;
    assert.ok(out.stderr.includes(`\n  ${advice}\n`), out.stderr);
    // Followed as printed (the words split as a shell splits them: no quoting was needed here).
    const again = runCli(advice.split(' ').slice(1));
    const config = JSON.parse(readFileSync(join(dir, 'diverged-lr500000', 'config.json'), 'utf8')) as { training: { optimizer: { lr: number } } };
    assert.equal(config.training.optimizer.lr, 500000);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /training\.optimizer\.lr=250000 /);
  });

  it('rejects a wrong configuration key with status 2, naming the key and a suggestion', () => {
    const out = runCli(['run', 'training.optimizer.lerning_rate=0.1']);
    assert.equal(out.status, 2);
    assert.match(out.stderr, /training\.optimizer\.lerning_rate/);
    assert.match(out.stderr, /did you mean 'lr'/);
  });

  it('rejects a bad value with status 2, naming the key, the value and what is allowed', () => {
    const out = runCli(['run', 'paradigm=tl']);
    assert.equal(out.status, 2);
    assert.match(out.stderr, /paradigm/);
    assert.match(out.stderr, /'tl'|"tl"/);
    assert.match(out.stderr, /til/);
  });

  it('lists benchmarks, backbones and algorithms', () => {
    const out = runCli(['list']);
    assert.equal(out.status, 0);
    for (const word of ['permuted', 'split', 'rotated', 'mlp', 'cnn', 'resnet18', 'finetuning', 'fashion-mnist']) assert.match(out.stdout, new RegExp(word));
  });
});
