// The sweep's grid and plan, without running anything: values split at
// top-level commas only, integer ranges, the YAML sweep section, the cartesian
// product's order, run ids, the manifest's round trip, the refusal of a sweep
// directory that holds another sweep, and the errors, all before any run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { DEFAULT_EXPERIMENT_PATH } from '../../src/config/experiment.js';
import { ConfigError } from '../../src/config/loader.js';
import { expandGrid, parseGridValues, readSweepSection, splitTopLevel, sweepSpec } from '../../src/sweep/grid.js';
import { defaultThreads, oversubscription } from '../../src/sweep/local.js';
import { manifestDifferences, readManifest, runId, writeManifest } from '../../src/sweep/manifest.js';
import { loadSweepExperiment, planSweep } from '../../src/sweep/plan.js';
import { tempDir } from '../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

function configError(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

describe('sweep grid', () => {
  it('splits at top-level commas only: brackets, braces and quotes keep theirs', () => {
    assert.deepEqual(splitTopLevel('0.1,0.01', 'x'), ['0.1', '0.01']);
    assert.deepEqual(splitTopLevel('[{name: ewc, lambda: 1000}],[{name: si, c: 0.1}]', 'x'), ['[{name: ewc, lambda: 1000}]', '[{name: si, c: 0.1}]']);
    assert.deepEqual(splitTopLevel("'a,b',c", 'x'), ["'a,b'", 'c']);
    assert.deepEqual(splitTopLevel('[100, 100]', 'x'), ['[100, 100]']);
  });

  it('expands integer ranges inclusively, alone or among values', () => {
    assert.deepEqual(parseGridValues('seed', '0..4', 'x'), ['0', '1', '2', '3', '4']);
    assert.deepEqual(parseGridValues('seed', '-1..1,7', 'x'), ['-1', '0', '1', '7']);
  });

  it('reports malformed values with the cause and the fix', () => {
    assert.match(configError(() => splitTopLevel('1,,2', "argument 'seed=1,,2'")), /argument 'seed=1,,2': '1,,2' has an empty value between commas.*quote it/);
    assert.match(configError(() => splitTopLevel('[1,2', 'x')), /missing '\]'/);
    assert.match(configError(() => splitTopLevel('{a: 1]', 'x')), /unbalanced '\]' at character 6/);
    assert.match(configError(() => splitTopLevel("'a,b", 'x')), /quote ' in ''a,b' is never closed/);
    assert.match(configError(() => parseGridValues('seed', '4..0', 'x')), /the range 4\.\.0 is empty: write the smaller bound first \(0\.\.4\)/);
    assert.match(configError(() => parseGridValues('seed', '0..100000', 'x')), /100001 values, more than 10000/);
    assert.match(configError(() => parseGridValues('seed', '1,2,1', 'x')), /seed takes the value 1 twice/);
    assert.match(configError(() => sweepSpec(['seed=1,2', 'seed=3'], {})), /seed is given twice/);
    assert.match(configError(() => sweepSpec(['tra!ning.epochs=1,2'], {})), /is not a key path/);
  });

  it('separates fixed overrides from grid keys; the command line replaces the file grid of a key', () => {
    const spec = sweepSpec(['training.epochs=1', 'seed=0..1', 'algorithms=[{name: ewc, lambda: 1}],[{name: si}]', 'backbone.hiddenSizes=[16, 16]', 'benchmark.numTasks=3'], { 'benchmark.numTasks': ['2', '4'], 'training.optimizer.lr': ['0.1', '0.01'] });
    assert.deepEqual(spec.overrides, ['training.epochs=1', 'backbone.hiddenSizes=[16, 16]', 'benchmark.numTasks=3']);
    assert.deepEqual(spec.grid, { 'training.optimizer.lr': ['0.1', '0.01'], seed: ['0', '1'], algorithms: ['[{name: ewc, lambda: 1}]', '[{name: si}]'] });
  });

  it('expands the cartesian product in a fixed order, the first key slowest', () => {
    const points = expandGrid({ a: ['1', '2'], b: ['x', 'y', 'z'] });
    assert.equal(points.length, 6);
    assert.deepEqual(points.map((p) => p.label), ['a=1 b=x', 'a=1 b=y', 'a=1 b=z', 'a=2 b=x', 'a=2 b=y', 'a=2 b=z']);
    assert.deepEqual(points[4]!.assignments, ['a=2', 'b=y']);
    assert.deepEqual(expandGrid({}).map((p) => p.label), ['']);
  });

  it('reads the YAML sweep section (strings in the command-line syntax, or lists) and validates the rest with its line numbers', () => {
    const dir = tempDir('sweep-yaml-');
    const path = join(dir, 'exp.yaml');
    writeFileSync(path, 'seed: 1\nsweep:\n  grid:\n    seed: 0..2\n    algorithms:\n      - [{name: ewc, lambda: 10}]\n      - "[{name: si}]"\n  slurm: {partition: gpu}\ntraining:\n  epochs: -1\n');
    const section = readSweepSection(readFileSync(path, 'utf8'), path);
    assert.deepEqual(section.grid, { seed: ['0', '1', '2'], algorithms: ['[ { name: ewc, lambda: 10 } ]', '[{name: si}]'] });
    assert.deepEqual(section.options, { slurm: { partition: 'gpu' } });
    assert.equal(section.experimentText.split('\n').length, readFileSync(path, 'utf8').split('\n').length);
    assert.match(configError(() => loadSweepExperiment(path, [])), new RegExp(`${path}:10:11: training\\.epochs`));
    assert.match(configError(() => readSweepSection('sweep:\n  grid: {seed: 0..1}\n  workers: 2\n', 'f.yaml')), /f\.yaml: sweep: unknown key 'workers'/);
    assert.match(configError(() => readSweepSection('sweep:\n  grid: {seed: 3..1}\n', 'f.yaml')), /f\.yaml: sweep\.grid\.seed: the range 3\.\.1 is empty/);
  });
});

describe('sweep plan and ids', () => {
  const tiny = ['benchmark.numTasks=2', 'benchmark.trainLimit=500', 'backbone.hiddenSizes=[16]', 'training.epochs=1'];

  it('gives each run a stable 12-hex id, the same whatever the key order or output.*, another when the configuration differs', () => {
    const a = runId(loadSweepExperiment(null, [...tiny, 'seed=3']));
    assert.match(a, /^[0-9a-f]{12}$/);
    assert.equal(runId(loadSweepExperiment(null, ['seed=3', ...[...tiny].reverse()])), a, 'the order of overrides does not matter');
    assert.equal(runId(loadSweepExperiment(null, [...tiny, 'seed=3', 'output.dir=/elsewhere', 'output.name=x'])), a, 'output.* does not matter');
    const dir = tempDir('sweep-ids-');
    const reordered = join(dir, 'reordered.yaml');
    // The default experiment with every mapping's keys in reverse order: the same run.
    const reverse = (v: unknown): unknown =>
      v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const defaults = parse(readFileSync(DEFAULT_EXPERIMENT_PATH, 'utf8')) as Record<string, unknown>;
    assert.notEqual(Object.keys(defaults)[0], Object.keys(reverse(defaults) as object)[0]);
    writeFileSync(reordered, stringify(reverse(defaults)));
    assert.equal(runId(loadSweepExperiment(reordered, [...tiny, 'seed=3'])), a, 'the order of keys in the file does not matter');
    assert.notEqual(runId(loadSweepExperiment(null, [...tiny, 'seed=4'])), a);
    assert.notEqual(runId(loadSweepExperiment(null, [...tiny, 'seed=3', 'training.optimizer.lr=0.1'])), a);
    // Stable across versions of this code: a change to the hashing would orphan every sweep directory.
    // benchmark.normalize came later: at its default it leaves the id as it was, set otherwise it makes another run.
    assert.equal(runId(loadSweepExperiment(null, [...tiny, 'seed=1'])), '4bb7bd05402a');
    assert.equal(runId(loadSweepExperiment(null, [...tiny, 'seed=3', 'benchmark.normalize=dataset'])), a);
    assert.notEqual(runId(loadSweepExperiment(null, [...tiny, 'seed=3', 'benchmark.normalize=none'])), a);
  });

  it('plans runs with labels and overrides, and round-trips the manifest', () => {
    const plan = planSweep(undefined, [...tiny, 'seed=1..2', 'algorithms=[{name: finetuning}],[{name: ewc, lambda: 100}]']);
    const m = plan.manifest;
    assert.deepEqual(m.base, { config: null, overrides: tiny });
    assert.deepEqual(m.runs.map((r) => r.label), ['seed=1 algorithms=[{name: finetuning}]', 'seed=1 algorithms=[{name: ewc, lambda: 100}]', 'seed=2 algorithms=[{name: finetuning}]', 'seed=2 algorithms=[{name: ewc, lambda: 100}]']);
    assert.deepEqual(m.runs[1]!.overrides, [...tiny, 'seed=1', 'algorithms=[{name: ewc, lambda: 100}]']);
    assert.equal(new Set(m.runs.map((r) => r.id)).size, 4);
    for (const r of m.runs) assert.deepEqual({ ...r, id: '', label: '', overrides: [] }, { id: '', label: '', overrides: [], status: 'queued', attempts: 0, exitStatus: null, log: `logs/${r.id}.log`, error: null });
    const dir = tempDir('sweep-manifest-');
    writeManifest(dir, m);
    assert.deepEqual(readManifest(dir), m);
    assert.deepEqual(manifestDifferences(readManifest(dir)!, planSweep(undefined, [...tiny, 'seed=1..2', 'algorithms=[{name: finetuning}],[{name: ewc, lambda: 100}]']).manifest), []);
    const other = planSweep(undefined, [...tiny, 'seed=1..3', 'algorithms=[{name: finetuning}],[{name: ewc, lambda: 100}]']).manifest;
    assert.deepEqual(manifestDifferences(m, other), ['grid seed: 1,2 there, 1,2,3 now']);
  });

  it('reports every bad run by its label, each problem once with the runs that have it, and refuses runs that are the same', () => {
    const message = configError(() => planSweep(undefined, [...tiny, 'seed=1,x', 'algorithms=[{name: ewc}],[{name: bogus}]', 'trainig.epochs=1']));
    assert.match(message, /^invalid sweep: 4 of 4 runs are not valid experiments, so none was started/);
    assert.match(message, /4 runs 'seed=1 algorithms=\[\{name: ewc\}\]', 'seed=1 algorithms=\[\{name: bogus\}\]', 'seed=x algorithms=\[\{name: ewc\}\]', 'seed=x algorithms=\[\{name: bogus\}\]': \n\s+override 'trainig\.epochs=1': trainig: unknown key 'trainig' — did you mean 'training'\?/);
    assert.match(message, /2 runs 'seed=x algorithms=\[\{name: ewc\}\]', 'seed=x algorithms=\[\{name: bogus\}\]': \n\s+override 'seed=x': seed: expected an integer >= 0/);
    assert.match(configError(() => planSweep(undefined, [...tiny, 'seed=1,1.0'])), /run 'seed=1\.0': \n\s+it resolves to the same configuration as run 'seed=1'/);
  });

  it('checks workers × threads against the cores', () => {
    assert.equal(defaultThreads(2, 2), 1);
    assert.equal(defaultThreads(3, 2), 1);
    assert.equal(defaultThreads(2, 16), 8);
    assert.equal(oversubscription(2, 1, 2), undefined);
    assert.equal(oversubscription(2, 2, 2), '--workers 2 × --threads 2 = 4 threads, more than the 2 cores of this machine, which would slow every run; use --workers 1 or --threads 1');
    assert.match(oversubscription(3, 1, 2)!, /use --workers 2$/);
  });

  it('the command line refuses bad options and bad grids before making the sweep directory', () => {
    const dir = join(tempDir('sweep-cli-'), 'sweep');
    const cases: [string[], RegExp][] = [
      [['seed=1,2'], /sweep needs --dir <dir>/],
      [['seed=1,2', '--dir', dir, '--workers', '0'], /--workers must be an integer of at least 1, got '0'/],
      [['seed=1,2', '--dir', dir, '--workers', '2', '--threads', '4096'], /--workers 2 × --threads 4096 = 8192 threads, more than the \d+ cores/],
      [['seed=1,2', '--dir', dir, '--launcher', 'pbs'], /--launcher must be local or slurm, got 'pbs'/],
      [['seed=1,2', '--dir', dir, '--partition', 'gpu'], /--partition is an option of the Slurm launcher; add --launcher slurm/],
      [['seed=1,2', '--dir', dir, '--bogus'], /unknown option '--bogus'/],
      [['seed=1,,2', '--dir', dir], /has an empty value between commas/],
      [['seed=1,2', 'trainig.epochs=1', '--dir', dir], /unknown key 'trainig'/],
      [['status'], /sweep status needs the sweep directory/],
      [['status', dir], /is not a sweep directory: it has no sweep\.json/],
    ];
    for (const [args, expected] of cases) {
      const out = spawnSync(process.execPath, [cli, 'sweep', ...args], { encoding: 'utf8' });
      assert.equal(out.status, 2, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, expected, args.join(' '));
    }
    assert.ok(!existsSync(dir), 'nothing was made');
    const slurm = spawnSync(process.execPath, [cli, 'sweep', ...tiny, 'seed=1,2', '--dir', dir, '--launcher', 'slurm', '--partition', 'gpu', '--sbatch', '--gres=gpu:1', '--max-parallel', '2'], { encoding: 'utf8' });
    // The flags reach the array script; the one-node cluster has no GPU, so sbatch refuses it and says why.
    assert.equal(slurm.status, 1, slurm.stderr);
    assert.match(slurm.stderr, /sbatch --parsable .*sweep\.sbatch failed \(exit status 1\): sbatch: error: Invalid generic resource/);
    const script = readFileSync(join(dir, 'slurm', 'sweep.sbatch'), 'utf8');
    for (const directive of ['#SBATCH --partition=gpu', '#SBATCH --gres=gpu:1', '#SBATCH --array=0-1%2']) assert.ok(script.includes(`${directive}\n`), `${directive} in:\n${script}`);
  });
});
