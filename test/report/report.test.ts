// perennial report without a browser: the data collected from runs (every
// number summary.json's, the groups perennial aggregate's, unfinished runs
// shown, runs without results listed, directories searched), a page that
// needs nothing outside itself and whose data no string can break out of,
// and clear errors for input a report cannot be made from.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadExperiment } from '../../src/config/index.js';
import { TaskMatrix } from '../../src/continual/metrics/matrix.js';
import { type RunSummary, writeRunResults } from '../../src/continual/results/index.js';
import { ReportError, collectReport } from '../../src/report/collect.js';
import { reportHtml, scriptSafeJson } from '../../src/report/html.js';
import { aggregate } from '../../src/sweep/aggregate.js';
import { tempDir } from '../helpers.js';
import { reportDataOf, syntheticSweep } from './fixtures.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

function perennial(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** A run directory with config.json and run.log and, given accuracy rows, the results of those tasks. */
function writeRun(dir: string, overrides: string[], accuracy?: number[][]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(loadExperiment(undefined, overrides), null, 2));
  writeFileSync(join(dir, 'run.log'), '');
  if (accuracy !== undefined) writeRunResults(dir, { accuracy: new TaskMatrix('accuracy', accuracy), metadata: {} });
  return dir;
}

describe('perennial report', () => {
  it("collects every run found: its numbers are summary.json's, the groups perennial aggregate's; unfinished runs shown, runs without results listed", () => {
    const dir = tempDir('report-data-');
    const sweep = syntheticSweep(join(dir, 'results', 'sweep'), 2, 3, 4);
    writeRun(join(dir, 'results', 'more', 'unfinished'), ['benchmark.numTasks=4', 'seed=9'], [[0.9], [0.8, 0.95]]);
    const unstarted = writeRun(join(dir, 'results', 'more', 'unstarted'), ['benchmark.numTasks=4', 'seed=10']);
    // Not a run: a config.json with neither a log nor results beside it is passed over by the search.
    mkdirSync(join(dir, 'results', 'other'));
    writeFileSync(join(dir, 'results', 'other', 'config.json'), '{"editor": "settings"}');

    const data = collectReport([join(dir, 'results')], { base: dir, inputs: ['results'], written: new Date('2026-01-02T03:04:05Z') });
    assert.equal(data.written, '2026-01-02T03:04:05.000Z');
    assert.deepEqual(data.inputs, ['results']);
    assert.equal(data.runs.length, 7, 'the unfinished run and the six runs of the sweep');
    assert.deepEqual(data.skipped, [{ dir: join('results', 'more', 'unstarted'), reason: 'no task finished (no summary.json)' }]);
    assert.ok(!existsSync(join(unstarted, 'summary.json')));
    for (const run of data.runs) {
      const summary = readJson<RunSummary>(join(dir, run.dir, 'summary.json'));
      assert.deepEqual(run.accuracy, summary.accuracy, `${run.dir}: accuracy`);
      assert.deepEqual(run.averageAccuracy, summary.averageAccuracy, `${run.dir}: AA curve`);
      assert.deepEqual(
        [run.metrics.averageAccuracy, run.metrics.bwt, run.metrics.forgetting, run.metrics.fwtIndependent, run.metrics.forgettingRatio],
        [summary.finalAverageAccuracy, summary.bwt, summary.finalForgetting, null, null],
        `${run.dir}: metrics`,
      );
      assert.deepEqual(run.config, readJson(join(dir, run.dir, 'config.json')), `${run.dir}: configuration`);
    }
    const last = data.runs[0]!;
    assert.deepEqual([last.dir, last.unfinished, last.group, last.numTasks], [join('results', 'more', 'unfinished'), '2 of 4 tasks finished', null, 4]);
    // The unfinished run has the default algorithm, so the algorithms are what varies.
    assert.deepEqual(
      data.runs.map((r) => r.name),
      ['algorithms=finetuning seed=9', ...[1, 2, 3].map((s) => `algorithms=ewc(lambda=1) seed=${s}`), ...[1, 2, 3].map((s) => `algorithms=ewc(lambda=10) seed=${s}`)],
      'in name order of the directories searched; the manifest order within a sweep',
    );

    const { groups } = aggregate([sweep]);
    assert.equal(data.groups.length, 2);
    data.groups.forEach((g, i) => {
      const expected = groups[i]!;
      assert.deepEqual([g.label, g.seeds], [expected.label, expected.seeds]);
      assert.deepEqual(g.metrics, expected.metrics, `${g.label}: metrics equal aggregate's`);
      assert.deepEqual(g.finalAccuracy, expected.finalAccuracy, `${g.label}: final accuracy`);
      assert.deepEqual(g.averageAccuracyCurve, expected.averageAccuracyCurve, `${g.label}: AA curve`);
      assert.deepEqual(
        g.runs.map((id) => join(dir, data.runs.find((r) => r.id === id)!.dir)),
        expected.runs,
        `${g.label}: its runs`,
      );
      assert.ok(g.metrics.averageAccuracy.std! > 0 && g.metrics.averageAccuracy.n === 3, 'three seeds with a spread');
    });
    assert.equal(data.groupingNote, null);
  });

  it('the page needs nothing outside itself, and no string in the data can end its script element', () => {
    const dir = tempDir('report-html-');
    const hostile = '</script><script>window.broken = 1</script><!-- </SCRIPT > & \u2028';
    const run = writeRun(join(dir, 'run'), ['benchmark.numTasks=2', `benchmark.dataDir=${hostile}`], [[0.9], [0.7, 0.95]]);
    const data = collectReport([run], { base: dir, inputs: [run], title: '<b>title</b>' });
    const html = reportHtml(data);
    assert.equal(html.match(/<script/gi)?.length, 2, 'the data block and the script');
    assert.equal(html.match(/<\/script/gi)?.length, 2, 'each closed once: the hostile string did not close either');
    assert.equal(html.match(/<!--/g), null, 'no comment opened');
    assert.deepEqual(reportDataOf(html), JSON.parse(JSON.stringify(data)), 'the data block reads back as the data');
    assert.match(html, /<title>&lt;b&gt;title&lt;\/b&gt;<\/title>/);
    assert.doesNotMatch(html, /\b(src|href)=|@import|url\(/i, 'no file, style or script loaded from elsewhere');
    assert.deepEqual([...new Set(html.match(/\w+:\/\/[^\s'"`)]*/g))], ['http://www.w3.org/2000/svg'], 'the only URL is the SVG namespace, a name');
    assert.equal(scriptSafeJson({ s: '</script>&<!--\u2029' }), '{"s":"\\u003c/script\\u003e\\u0026\\u003c!--\\u2029"}');
  });

  it("the algorithms' reports and the unlearning metrics are summary.json's", () => {
    const dir = tempDir('report-extras-');
    const run = writeRun(join(dir, 'run'), ['benchmark.numTasks=2'], [[0.9], [0.7, 0.95]]);
    const path = join(run, 'summary.json');
    const algorithms = { wsn: { capacityUsed: 0.42, capacityUsedAfterTask: [0.3, 0.42], tasks: [{ task: 1, kept: 10 }, { task: 2, kept: 12 }] } };
    const unlearning = { requests: [{ afterTask: 2, tasks: [1] }], accuracyGain: 0.05, distance: { unlearned: { euclidean: 1.5, linearCka: null }, remaining: null } };
    writeFileSync(path, JSON.stringify({ ...readJson<RunSummary>(path), algorithms, unlearning }));
    const [shown] = collectReport([run], { base: dir, inputs: [] }).runs;
    assert.deepEqual([shown!.algorithms, shown!.unlearning], [algorithms, unlearning]);
  });

  it('a configuration and seed run twice are shown without groups, with the reason', () => {
    const dir = tempDir('report-twins-');
    const a = writeRun(join(dir, 'a'), ['benchmark.numTasks=2'], [[0.9], [0.7, 0.95]]);
    const b = writeRun(join(dir, 'b'), ['benchmark.numTasks=2'], [[0.8], [0.6, 0.9]]);
    const data = collectReport([dir], { base: dir, inputs: [dir] });
    assert.deepEqual(data.runs.map((r) => [r.dir, r.group]), [['a', null], ['b', null]]);
    assert.deepEqual(data.groups, []);
    assert.match(data.groupingNote!, /same configuration with the same seed \(1\)/);
    assert.ok([a, b].every((d) => existsSync(join(d, 'summary.json'))));
  });

  it('the command: --out, the main usage, and a clear error, exit status 2 and no stack trace for bad input', () => {
    const dir = tempDir('report-cli-');
    const run = writeRun(join(dir, 'run'), ['benchmark.numTasks=2'], [[0.9], [0.7, 0.95]]);
    mkdirSync(join(dir, 'out'));
    const written = perennial(['report', 'run', '--out', 'out'], dir);
    assert.equal(written.status, 0, written.stderr);
    assert.equal(written.stdout, `${pathToFileURL(join(dir, 'out', 'report.html')).href}\n`, 'a directory given as --out gets report.html inside');
    assert.match(written.stderr, /^report of 1 run \(\d+ KB\)\n$/);
    assert.equal(reportDataOf(readFileSync(join(dir, 'out', 'report.html'), 'utf8')).runs[0]!.dir, run, 'a run outside the report directory is shown by its full path');

    // (`perennial report --help` is tested with every command's, in test/cli/errors.test.ts.)
    assert.match(perennial(['--help'], dir).stdout, /\n {2}perennial report <run, sweep or directory>\.\.\. \[--out <file>\]\n/, 'the main usage lists the command');

    mkdirSync(join(dir, 'empty'));
    const corrupt = writeRun(join(dir, 'corrupt'), ['benchmark.numTasks=2'], [[0.9], [0.7, 0.95]]);
    writeFileSync(join(corrupt, 'summary.json'), '{"numTasks": 2, "accuracy": [[0.9], [0.7');
    const misshapen = writeRun(join(dir, 'misshapen'), ['benchmark.numTasks=2'], [[0.9], [0.7, 0.95]]);
    writeFileSync(join(misshapen, 'summary.json'), JSON.stringify({ numTasks: 2, accuracy: [[0.9], [0.7]] }));
    const badConfig = writeRun(join(dir, 'bad-config'), ['benchmark.numTasks=2'], [[0.9], [0.7, 0.95]]);
    writeFileSync(join(badConfig, 'config.json'), '{"benchmark": {"numTasks": "two"}}');
    writeRun(join(dir, 'unstarted'), []);
    // Through the command: the exit status, and no stack trace.
    const commandErrors: [string[], RegExp][] = [
      [['report'], /^perennial: report needs at least one run directory, sweep directory or directory holding runs\nusage: perennial report/],
      [['report', 'run', '--bogus'], /^perennial: unknown option '--bogus'/],
      [['report', 'corrupt'], new RegExp(`^perennial: ${join(corrupt, 'summary.json')} cannot be read: .*JSON.*; restore the file, run that experiment again, or leave ${corrupt} out of the report\\n$`)],
    ];
    for (const [args, message] of commandErrors) {
      const r = perennial(args, dir);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${args.join(' ')}: no stack trace`);
      assert.equal(r.stdout, '');
    }
    // The other errors, in process (each command start loads the native addon).
    const errors: [string, RegExp][] = [
      ['missing', /missing does not exist: give a run directory \(with config\.json\), a sweep directory \(with sweep\.json\) or a directory holding them/],
      ['empty', /empty holds no run: it is neither a sweep directory \(no sweep\.json\) nor a run directory \(no config\.json\), and none is in the 4 levels of directories below it/],
      ['misshapen', new RegExp(`^${join(misshapen, 'summary.json')} is not a run summary: accuracy row 2 is not a list of 2 numbers; restore the file`)],
      ['bad-config', new RegExp(`^${join(badConfig, 'config.json')} is not a valid configuration: [\\s\\S]*benchmark\\.numTasks: expected an integer`)],
      ['unstarted', /^no run with results to report:\n {2}.*unstarted: no task finished \(no summary\.json\)\na run writes its results after its first task/],
    ];
    for (const [path, message] of errors) {
      assert.throws(() => collectReport([join(dir, path)], { base: dir, inputs: [path] }), (error: unknown) => error instanceof ReportError && message.test(error.message), path);
    }
  });
});
