// Wrong input on the command line: every mistake gets a message naming the
// key or file, the value and the fix, before any run directory is made, and
// configuration errors exit with status 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

function runCli(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }) });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('perennial run: configuration errors', () => {
  it('rejects a YAML alias bomb with status 2, naming the file', () => {
    const dir = tempDir('cli-errors-');
    const path = join(dir, 'bomb.yaml');
    const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, from] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${from}`).join(', ')}]`);
    }
    writeFileSync(path, `${lines.join('\n')}\n`);
    const out = runCli(['run', path, `output.dir=${join(dir, 'runs')}`]);
    assert.equal(out.status, 2, out.stderr);
    assert.equal(out.stderr, `perennial: invalid experiment configuration (1 error):\n  ${path}: YAML aliases (*name) expand to more than 100 copies, as in a "billion laughs" alias bomb, so the file is not read; write the values out instead of nesting aliases\n`);
    assert.deepEqual(readdirSync(dir), ['bomb.yaml']);
  });

  it('says that a configuration key without =value needs one, instead of looking for a file of that name', () => {
    const dir = tempDir('cli-errors-');
    const out = runCli(['run', 'training.epochs', 'output.dir=runs'], dir);
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, /argument 'training\.epochs': a configuration key needs a value: write training\.epochs=<value>/);
    const later = runCli(['run', 'training.epochs=2', 'seed', 'output.dir=runs'], dir);
    assert.equal(later.status, 2, later.stderr);
    assert.match(later.stderr, /override 'seed': 'seed' has no value: write seed=<value>/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('names a config file that does not exist', () => {
    const dir = tempDir('cli-errors-');
    const out = runCli(['run', 'missing.yaml', 'output.dir=runs'], dir);
    assert.equal(out.status, 2, out.stderr);
    assert.equal(out.stderr, 'perennial: invalid experiment configuration (1 error):\n  missing.yaml: no such config file\n');
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('perennial --help', () => {
  it('every command prints its usage with --help and -h and exits 0', () => {
    const usages: [string[], RegExp][] = [
      [[], /^usage:\n {2}perennial run /],
      [['run'], /^usage: perennial run \[config\.yaml\] \[key\.path=value \.\.\.\]\n {7}perennial run --resume <run directory>\n[\s\S]*--resume <dir>/],
      [['list'], /^usage: perennial list\n/],
      [['plasticity'], /^usage: perennial plasticity <config\.yaml>\.\.\. \[key\.path=value \.\.\.\] \[--out <dir>\]\n[\s\S]*--out <dir>/],
      [['download'], /^usage: perennial download <dataset> \[--dir <cache>\]\n[\s\S]*--dir <cache>/],
    ];
    for (const [command, usage] of usages) {
      for (const flag of ['--help', '-h']) {
        const out = runCli([...command, flag]);
        assert.equal(out.status, 0, `${command.join(' ')} ${flag}: ${out.stderr}`);
        assert.match(out.stdout, usage, `${command.join(' ')} ${flag}`);
        assert.equal(out.stderr, '');
      }
    }
    // The flag wins over the other arguments: nothing runs.
    const dir = tempDir('cli-help-');
    const withArgs = runCli(['run', 'training.epochs=2', '--help'], dir);
    assert.equal(withArgs.status, 0, withArgs.stderr);
    assert.match(withArgs.stdout, /^usage: perennial run /);
    assert.deepEqual(readdirSync(dir), []);
    assert.match(runCli(['help', 'plasticity']).stdout, /^usage: perennial plasticity /);
  });

  it('help on something that is not a command is a usage error', () => {
    const out = runCli(['help', 'nosuch']);
    assert.equal(out.status, 2);
    assert.match(out.stderr, /^perennial: no help on 'nosuch': it is not a command\nusage:/);
  });
});

describe('perennial run: an infeasible benchmark', () => {
  it('is a configuration error (status 2) before any directory is made', () => {
    const dir = tempDir('cli-errors-');
    const out = runCli(['run', 'benchmark.name=split', 'benchmark.numTasks=1000', `output.dir=${join(dir, 'runs')}`]);
    assert.equal(out.status, 2, out.stderr);
    assert.equal(
      out.stderr,
      "perennial: invalid experiment configuration (1 error):\n  override 'benchmark.numTasks=1000': benchmark.numTasks: 1000 tasks but mnist-embedded has only 10 classes; use a divisor of 10 (1, 2, 5, 10) or give classSplit\n",
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('perennial run: an override that switches a variant', () => {
  it("blames the file's options of the old variant, saying whose they are and what to do", () => {
    const dir = tempDir('cli-errors-');
    const path = join(dir, 'exp.yaml');
    writeFileSync(path, 'backbone:\n  name: mlp\n  hiddenSizes: [10]\n');
    const out = runCli(['run', path, 'backbone.name=cnn', `output.dir=${join(dir, 'runs')}`]);
    assert.equal(out.status, 2, out.stderr);
    assert.equal(
      out.stderr,
      `perennial: invalid experiment configuration (1 error):\n  ${path}:3:3: backbone.hiddenSizes: 'hiddenSizes' is an option of the 'mlp' backbone, not of 'cnn', which override 'backbone.name=cnn' selects; remove it from ${path}, or replace the whole section: backbone={name: cnn}\n`,
    );
    assert.deepEqual(readdirSync(dir), ['exp.yaml']);
  });
});
