// Wrong input on the command line: every mistake gets a message naming the
// key or file, the value and the fix, before any run directory is made, and
// configuration errors exit with status 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RunLogger, withResumeHint } from '../../src/continual/results/index.js';
import { OutputError, outputError } from '../../src/serialization/write_errors.js';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

function runCli(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }) });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('perennial: the environment', () => {
  it('a thread count out of range in PERENNIAL_NUM_THREADS is a plain error with status 2, not an uncaught exception', () => {
    const out = spawnSync(process.execPath, [cli, 'list'], { encoding: 'utf8', env: { ...process.env, PERENNIAL_NUM_THREADS: '1000000000' } });
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, /^perennial: PERENNIAL_NUM_THREADS must be an integer from 1 to \d+, got '1000000000' .*unset it for libtorch's default\n$/);
    assert.equal(out.stdout, '');
  });
});

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
      [['aggregate'], /^usage: perennial aggregate <sweep or run directory>\.\.\. \[--out <dir>\][\s\S]*--allow-mixed/],
      [['report'], /^usage: perennial report <run, sweep or directory>\.\.\. \[--out <file>\]\n[\s\S]*--out <file>/],
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

/** An error as Node's fs functions raise it. */
function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

describe('filesystem errors of writing results', () => {
  it('name the cause, the path meant and the fix', () => {
    const cases: [NodeJS.ErrnoException, string, string][] = [
      [errno('EROFS', 'open', '/runs/a/.acc.csv.1.tmp'), '/runs/a/acc.csv', 'cannot write /runs/a/acc.csv: the file system is read-only (EROFS); write to a directory on a writable file system'],
      [errno('ENOSPC', 'write', '/runs/a/.acc.csv.1.tmp'), '/runs/a/acc.csv', 'cannot write /runs/a/acc.csv: no space left on the device (ENOSPC); free some space'],
      [errno('EDQUOT', 'write', '/runs/a/run.log'), '/runs/a/run.log', 'cannot write /runs/a/run.log: the disk quota is exceeded (EDQUOT); free some space or raise the quota'],
      [errno('EACCES', 'open', '/runs/a/summary.json'), '/runs/a/summary.json', 'cannot write /runs/a/summary.json: permission denied (EACCES); make the directory writable or write elsewhere'],
    ];
    for (const [error, path, message] of cases) {
      const mapped = outputError(error, path);
      assert.ok(mapped instanceof OutputError, error.code);
      assert.equal(mapped.message, message);
      assert.equal(mapped.path, path);
      assert.equal(mapped.code, error.code);
      assert.equal(mapped.cause, error);
    }
    const other = new Error('not a filesystem error');
    assert.equal(outputError(other, '/runs/a'), other);
    const unknownCode = errno('EBUSY', 'open', '/runs/a');
    assert.equal(outputError(unknownCode, '/runs/a'), unknownCode);
  });

  it('of making a directory blame the file in the way, whatever the code mkdir reported', () => {
    const dir = tempDir('write-errors-');
    writeFileSync(join(dir, 'file'), '');
    const target = join(dir, 'file', 'runs', 'r1');
    // A recursive mkdir reports ENOENT where it could not make a directory of the path.
    const mapped = outputError(errno('ENOENT', 'mkdir', target), target);
    assert.ok(mapped instanceof OutputError);
    assert.equal(mapped.message, `cannot create the directory ${target}: ${join(dir, 'file')} is a file, not a directory (ENOTDIR); move the file away or write elsewhere`);
    // Below a writable directory the reported code stands.
    const writable = join(dir, 'sub', 'r1');
    assert.equal((outputError(errno('EACCES', 'mkdir', writable), writable) as Error).message, `cannot create the directory ${writable}: permission denied (EACCES); make the directory writable or write elsewhere`);
  });

  it('of a full disk name the log file (a real ENOSPC: /dev/full); logging the error that stops a run does not hide it', () => {
    const logger = new RunLogger('/dev/full');
    assert.throws(() => logger.info('task 1 done'), (error: unknown) => {
      assert.ok(error instanceof OutputError);
      assert.equal(error.message, 'cannot write /dev/full: no space left on the device (ENOSPC); free some space');
      return true;
    });
    assert.doesNotThrow(() => logger.error('the disk is full'));
  });

  it('of a run that started say how to resume it', () => {
    const hinted = withResumeHint(outputError(errno('ENOSPC', 'write', '/runs/a/acc.csv'), '/runs/a/acc.csv'), '/runs/a');
    assert.ok(hinted instanceof OutputError);
    assert.equal(hinted.message, 'cannot write /runs/a/acc.csv: no space left on the device (ENOSPC); free some space\nthe run in /runs/a stopped; once that is fixed, continue it with: perennial run --resume /runs/a');
    const other = new Error('not a filesystem error');
    assert.equal(withResumeHint(other, '/runs/a'), other);
  });
});

describe('perennial run: an output directory that cannot be written', () => {
  const quick = ['benchmark.numTasks=1', 'benchmark.trainLimit=100', 'backbone.hiddenSizes=[16]', 'training.epochs=1'];

  it('under a file: status 1, naming the file in the way, before anything is written', () => {
    const dir = tempDir('cli-output-');
    writeFileSync(join(dir, 'file'), '');
    const out = runCli(['run', ...quick, `output.dir=${join(dir, 'file', 'runs')}`, 'output.name=r1']);
    assert.equal(out.status, 1, out.stderr);
    assert.equal(
      out.stderr,
      `perennial: cannot create the directory ${join(dir, 'file', 'runs', 'r1')}: ${join(dir, 'file')} is a file, not a directory (ENOTDIR); move the file away or write elsewhere\n`,
    );
    assert.deepEqual(readdirSync(dir), ['file']);
  });

  it('made outside the result writers (plasticity --out under a file): the same plain description', () => {
    const dir = tempDir('cli-output-');
    writeFileSync(join(dir, 'file'), '');
    writeFileSync(join(dir, 'online.yaml'), 'training:\n  epochs: 1\n');
    const out = runCli(['plasticity', join(dir, 'online.yaml'), '--out', join(dir, 'file', 'out')]);
    assert.equal(out.status, 1, out.stderr);
    assert.equal(out.stderr, `perennial: cannot create the directory ${join(dir, 'file', 'out')}: ${join(dir, 'file')} is a file, not a directory (ENOTDIR); move the file away or write elsewhere\n`);
  });

  it('once the run started: the file, the cause and how to resume, which then works', () => {
    const dir = tempDir('cli-output-');
    const runDir = join(dir, 'r1');
    // A directory where the results table goes fails the first write of results, after task 1 trained.
    mkdirSync(join(runDir, 'acc.csv'), { recursive: true });
    const out = runCli(['run', ...quick, `output.dir=${dir}`, 'output.name=r1']);
    assert.equal(out.status, 1, out.stderr);
    assert.match(
      out.stderr,
      new RegExp(`perennial: cannot write ${join(runDir, 'acc.csv')}: a directory is in the way \\(EISDIR\\); move the directory away\nthe run in ${runDir} stopped; once that is fixed, continue it with: perennial run --resume ${runDir}\n$`),
    );
    rmdirSync(join(runDir, 'acc.csv'));
    const resumed = runCli(['run', '--resume', runDir]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`results: ${runDir}`));
  });
});

describe('perennial download: arguments', () => {
  it('rejects an unknown option and a --dir without a directory, before any download', () => {
    const unknown = runCli(['download', 'mnist', '--cache', '/tmp/x']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^perennial: unknown option '--cache'\nusage:/);
    const noDir = runCli(['download', 'mnist', '--dir']);
    assert.equal(noDir.status, 2);
    assert.match(noDir.stderr, /^perennial: --dir needs the directory to download into\nusage:/);
  });
});
