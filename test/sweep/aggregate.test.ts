// perennial aggregate: grouping by configuration minus seed, labels, mean ±
// sample std against numbers worked out by hand, skipped runs, the
// mixed-benchmark error, the CSV/JSON/Markdown files and the SVG's structure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../../src/config/index.js';
import '../../src/continual/index.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import type { RunSummary } from '../../src/continual/results/index.js';
import { AggregateError, type Stat, aggregate } from '../../src/sweep/aggregate.js';
import { aggregateAccuracySvg, aggregateCsv, aggregateMarkdown } from '../../src/sweep/aggregate_tables.js';
import { assertClose, tempDir } from '../helpers.js';
import { count, xmlProblems } from '../continual/metrics/xml.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'cli', 'main.js');

function perennial(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** A 2-task run's summary from its accuracy matrix [[a11], [a21, a22]], as buildSummary computes it. */
function summaryOf(a11: number, a21: number, a22: number, extra: Partial<RunSummary> = {}): Partial<RunSummary> {
  const aa2 = (a21 + a22) / 2;
  return {
    numTasks: 2,
    finalAverageAccuracy: aa2,
    bwt: a21 - a11,
    finalForgetting: a11 - a21,
    averageAccuracy: [a11, aa2],
    bwtPerStep: [null, a21 - a11],
    forgetting: [null, a11 - a21],
    accuracy: [[a11], [a21, a22]],
    metadata: {},
    ...extra,
  };
}

/** A run directory as `perennial run` leaves it: the resolved config.json and (when given) summary.json. */
function writeRun(dir: string, overrides: string[], summary?: Partial<RunSummary>): string {
  const config = loadExperiment(undefined, ['benchmark.numTasks=2', ...overrides]);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (summary !== undefined) writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
  return dir;
}

function assertStat(actual: Stat, mean: number | null, std: number | null, n: number, what: string): void {
  assert.equal(actual.n, n, `${what}: n`);
  if (mean === null) assert.equal(actual.mean, null, `${what}: mean`);
  else assertClose(actual.mean!, mean, `${what}: mean`, 1e-12, 1e-12);
  if (std === null) assert.equal(actual.std, null, `${what}: std`);
  else assertClose(actual.std!, std, `${what}: std`, 1e-9, 1e-12);
}

const EWC = 'algorithms=[{name: ewc, lambda: 1000}]';
const FT = 'algorithms=[{name: finetuning}]';
const SI = 'algorithms=[{name: si}]';

/** Three configurations by hand: ewc over seeds 1-3, finetuning over 1-2, si with seed 5 alone. */
function handWrittenRuns(root: string): string[] {
  return [
    writeRun(join(root, 'ewc-1'), [EWC, 'seed=1'], summaryOf(0.9, 0.7, 0.9)),
    writeRun(join(root, 'ewc-2'), [EWC, 'seed=2'], summaryOf(0.92, 0.76, 0.92)),
    writeRun(join(root, 'ewc-3'), [EWC, 'seed=3'], summaryOf(0.94, 0.78, 0.94)),
    writeRun(join(root, 'ft-1'), [FT, 'seed=1'], summaryOf(0.95, 0.55, 0.95)),
    writeRun(join(root, 'ft-2'), [FT, 'seed=2'], summaryOf(0.97, 0.61, 0.97)),
    writeRun(join(root, 'si-5'), [SI, 'seed=5'], summaryOf(0.8, 0.6, 0.8)),
  ];
}

describe('aggregate', () => {
  it('hand-written runs: groups, labels and every mean ± sample std against the arithmetic', () => {
    const root = tempDir('aggregate-hand-');
    const { groups, skipped } = aggregate(handWrittenRuns(root));
    assert.deepEqual(skipped, []);
    assert.deepEqual(
      groups.map((g) => [g.label, g.seeds]),
      [
        // lambda 1000 is not ewc's default (1), so it is shown; finetuning and si at their defaults show the name only.
        ['algorithms=ewc(lambda=1000)', [1, 2, 3]],
        ['algorithms=finetuning', [1, 2]],
        ['algorithms=si', [5]],
      ],
    );
    const [ewc, ft, si] = groups;
    // ewc. AA = (a21 + a22)/2: 0.80, 0.84, 0.86; mean 2.5/3 = 0.8333…; deviations −5/150, 1/150, 4/150;
    // std = √((25 + 1 + 16)/150² / 2) = √21/150 = 0.0305505.
    assertStat(ewc!.metrics.averageAccuracy, 2.5 / 3, Math.sqrt(21) / 150, 3, 'ewc AA');
    assertClose(ewc!.metrics.averageAccuracy.std!, 0.0305505, 'ewc AA std, decimal', 1e-5);
    // BWT = a21 − a11: −0.20, −0.16, −0.16; mean −0.52/3 = −0.17333; deviations −4/150, 2/150, 2/150; std = √(24/150²/2) = √12/150 = 0.0230940.
    assertStat(ewc!.metrics.bwt, -0.52 / 3, Math.sqrt(12) / 150, 3, 'ewc BWT');
    assertStat(ewc!.metrics.forgetting, 0.52 / 3, Math.sqrt(12) / 150, 3, 'ewc forgetting');
    // Final accuracy on task 1: 0.70, 0.76, 0.78; mean 2.24/3 = 0.74667; deviations −7/150, 2/150, 5/150; std = √(78/150²/2) = √39/150 = 0.0416333.
    assertStat(ewc!.finalAccuracy[0]!, 2.24 / 3, Math.sqrt(39) / 150, 3, 'ewc task 1');
    // Task 2: 0.90, 0.92, 0.94; mean 0.92, std √((0.02² + 0 + 0.02²)/2) = 0.02.
    assertStat(ewc!.finalAccuracy[1]!, 0.92, 0.02, 3, 'ewc task 2');
    // AA after task 1 is a11: 0.90, 0.92, 0.94 → 0.92 ± 0.02; after task 2 it is the final AA.
    assertStat(ewc!.averageAccuracyCurve[0]!, 0.92, 0.02, 3, 'ewc AA_1');
    assertStat(ewc!.averageAccuracyCurve[1]!, 2.5 / 3, Math.sqrt(21) / 150, 3, 'ewc AA_2');
    // No reference runs: FWT and the forgetting ratio are undefined.
    assertStat(ewc!.metrics.fwtIndependent, null, null, 0, 'ewc FWT');
    assertStat(ewc!.metrics.forgettingRatio, null, null, 0, 'ewc forgetting ratio');
    // finetuning. AA 0.75, 0.79: mean 0.77, std √((0.02² + 0.02²)/1) = 0.0282843.
    assertStat(ft!.metrics.averageAccuracy, 0.77, Math.sqrt(0.0008), 2, 'finetuning AA');
    // BWT −0.40, −0.36 → −0.38 ± 0.0282843; task 1: 0.55, 0.61 → 0.58 ± √(0.03²·2) = 0.0424264; task 2: 0.95, 0.97 → 0.96 ± 0.0141421.
    assertStat(ft!.metrics.bwt, -0.38, Math.sqrt(0.0008), 2, 'finetuning BWT');
    assertStat(ft!.finalAccuracy[0]!, 0.58, Math.sqrt(0.0018), 2, 'finetuning task 1');
    assertStat(ft!.finalAccuracy[1]!, 0.96, Math.sqrt(0.0002), 2, 'finetuning task 2');
    // si: one seed has a mean but no standard deviation.
    assertStat(si!.metrics.averageAccuracy, 0.7, null, 1, 'si AA');

    const markdown = aggregateMarkdown({ groups, skipped }, root);
    assert.equal(
      markdown.split('\n').slice(0, 5).join('\n'),
      [
        '| group | seeds | AA | BWT | forgetting | task 1 | task 2 |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
        '| algorithms=ewc(lambda=1000) | 3 (1, 2, 3) | 0.8333 ± 0.0306 | -0.1733 ± 0.0231 | 0.1733 ± 0.0231 | 0.7467 ± 0.0416 | 0.9200 ± 0.0200 |',
        '| algorithms=finetuning | 2 (1, 2) | 0.7700 ± 0.0283 | -0.3800 ± 0.0283 | 0.3800 ± 0.0283 | 0.5800 ± 0.0424 | 0.9600 ± 0.0141 |',
        '| algorithms=si | 1 (5) | 0.7000 ± — | -0.2000 ± — | 0.2000 ± — | 0.6000 ± — | 0.8000 ± — |',
      ].join('\n'),
    );

    const csv = aggregateCsv({ groups, skipped }).trimEnd().split('\n');
    const header = csv[0]!.split(',');
    assert.deepEqual(header.slice(0, 5), ['group', 'n', 'seeds', 'aa_mean', 'aa_std']);
    assert.equal(header.length, 3 + 2 * 6 + 2 * 2, 'label, n, seeds, 6 metrics and 2 tasks, each mean and std');
    const row = (i: number): Record<string, string> => Object.fromEntries(csv[i]!.split(',').map((cell, c) => [header[c]!, cell]));
    assert.equal(csv.length, 4);
    assert.deepEqual([row(1)['group'], row(1)['n'], row(1)['seeds']], ['algorithms=ewc(lambda=1000)', '3', '1 2 3']);
    assertClose(Number(row(1)['aa_mean']), 2.5 / 3, 'CSV ewc aa_mean', 1e-15);
    assertClose(Number(row(1)['task_1_std']), Math.sqrt(39) / 150, 'CSV ewc task_1_std', 1e-12);
    assert.equal(row(1)['fwt_random_mean'], '', 'no reference runs: blank');
    assert.equal(row(3)['aa_std'], '', 'one seed: the std is blank');
  });

  it('labels show only what varies (algorithms first) and an option that varies even at its default', () => {
    const root = tempDir('aggregate-labels-');
    const runs = [
      writeRun(join(root, 'a'), ['algorithms=[{name: ewc, lambda: 1}]'], summaryOf(0.9, 0.8, 0.9)),
      writeRun(join(root, 'b'), ['algorithms=[{name: ewc, lambda: 100}]'], summaryOf(0.9, 0.8, 0.9)),
      writeRun(join(root, 'c'), ['algorithms=[{name: ewc, lambda: 100}]', 'training.optimizer.lr=0.01'], summaryOf(0.9, 0.8, 0.9)),
    ];
    assert.deepEqual(
      aggregate(runs).groups.map((g) => g.label),
      ['algorithms=ewc(lambda=1) training.optimizer.lr=0.05', 'algorithms=ewc(lambda=100) training.optimizer.lr=0.05', 'algorithms=ewc(lambda=100) training.optimizer.lr=0.01'],
    );
    // Runs differing only in seed: one group, labelled by its algorithms.
    const seeds = [writeRun(join(root, 's1'), ['seed=1'], summaryOf(0.9, 0.8, 0.9)), writeRun(join(root, 's2'), ['seed=2'], summaryOf(0.9, 0.8, 0.9))];
    assert.deepEqual(
      aggregate(seeds).groups.map((g) => [g.label, g.seeds]),
      [['algorithms=finetuning', [1, 2]]],
    );
  });

  it('FWT and the forgetting ratio when the runs made reference runs; unfinished runs are skipped with the reason', () => {
    const root = tempDir('aggregate-references-');
    const references = ['reference.joint=true', 'reference.independent=true', 'reference.random=true'];
    const refs = { joint: [0.9, 0.9], independent: [0.9, 0.9], random: [0.1, 0.1] };
    const runs = [
      writeRun(join(root, 'r1'), [...references, 'seed=1'], summaryOf(0.9, 0.7, 0.9, { fwt: { independent: 0.01, random: 0.5 }, forgettingRatio: 0.2, references: refs })),
      writeRun(join(root, 'r2'), [...references, 'seed=2'], summaryOf(0.9, 0.7, 0.9, { fwt: { independent: 0.03, random: 0.6 }, forgettingRatio: 0.3, references: refs })),
      writeRun(join(root, 'no-references-yet'), [...references, 'seed=3'], summaryOf(0.9, 0.7, 0.9)),
      writeRun(join(root, 'one-task'), [...references, 'seed=4'], { numTasks: 1, finalAverageAccuracy: 0.9, bwt: null, finalForgetting: null, averageAccuracy: [0.9], bwtPerStep: [null], forgetting: [null], accuracy: [[0.9]], metadata: {} }),
      writeRun(join(root, 'not-started'), [...references, 'seed=5']),
    ];
    const { groups, skipped } = aggregate(runs);
    assert.equal(groups.length, 1);
    // 0.01, 0.03 → 0.02 ± √(2·0.01²) = 0.0141421; 0.5, 0.6 → 0.55 ± √(2·0.05²) = 0.0707107; 0.2, 0.3 → 0.25 ± 0.0707107.
    assertStat(groups[0]!.metrics.fwtIndependent, 0.02, Math.sqrt(0.0002), 2, 'FWT independent');
    assertStat(groups[0]!.metrics.fwtRandom, 0.55, Math.sqrt(0.005), 2, 'FWT random');
    assertStat(groups[0]!.metrics.forgettingRatio, 0.25, Math.sqrt(0.005), 2, 'forgetting ratio');
    assert.deepEqual(
      skipped.map((s) => [s.dir, s.reason]),
      [
        [runs[2], 'every task finished, but not the joint, independent, random reference runs'],
        [runs[3], '1 of 2 tasks finished'],
        [runs[4], 'no task finished (no summary.json)'],
      ],
    );
    const markdown = aggregateMarkdown({ groups, skipped }, root);
    assert.match(markdown, /\| FWT \(independent\) \| FWT \(random\) \| forgetting ratio \|/);
    assert.match(markdown, /\| 0\.0200 ± 0\.0141 \| 0\.5500 ± 0\.0707 \| 0\.2500 ± 0\.0707 \|/);
    assert.match(markdown, /Skipped \(not finished\): 3\n\n- no-references-yet: every task finished/);
  });

  it('refuses groups on different benchmarks or task counts (naming the runs) unless allowed, and a seed given twice', () => {
    const root = tempDir('aggregate-mixed-');
    const two = writeRun(join(root, 'two-tasks'), [], summaryOf(0.9, 0.7, 0.9));
    const three = writeRun(join(root, 'three-tasks'), ['benchmark.numTasks=3'], { ...summaryOf(0.9, 0.7, 0.9), numTasks: 3, accuracy: [[0.9], [0.7, 0.9], [0.6, 0.8, 0.9]], averageAccuracy: [0.9, 0.8, 0.7667] });
    assert.throws(
      () => aggregate([two, three]),
      (error: unknown) =>
        error instanceof AggregateError &&
        error.message.includes('permuted mnist-embedded with 2 tasks: ') &&
        error.message.includes('permuted mnist-embedded with 3 tasks: ') &&
        error.message.includes('two-tasks') &&
        error.message.includes('three-tasks') &&
        error.message.includes('--allow-mixed'),
    );
    const mixed = aggregate([two, three], { allowMixed: true });
    assert.deepEqual(
      mixed.groups.map((g) => [g.label, g.finalAccuracy.length]),
      [
        ['benchmark.numTasks=2', 2],
        ['benchmark.numTasks=3', 3],
      ],
    );
    const twin = writeRun(join(root, 'copy'), [], summaryOf(0.9, 0.7, 0.9));
    assert.throws(() => aggregate([two, twin]), /same configuration with the same seed \(1\).*give only one of them/);
    // The same directory twice counts once.
    assert.equal(aggregate([two, two]).groups[0]!.seeds.length, 1);
  });

  it('tiny real runs: the group statistics are those of their summary.json files, and the SVG has a line and a band per group', () => {
    const root = tempDir('aggregate-real-');
    const quick = ['benchmark.numTasks=2', 'benchmark.trainLimit=200', 'backbone.hiddenSizes=[16]', 'training.epochs=1'];
    const dirs: string[] = [];
    for (const algorithm of [FT, 'algorithms=[{name: ewc, lambda: 100}]']) {
      for (const seed of [1, 2, 3]) {
        const config = loadExperiment(undefined, [...quick, algorithm, `seed=${seed}`, `output.dir=${root}`]);
        const dir = join(root, `${config.algorithms[0]!.name}-${seed}`);
        runExperiment({ config, runDir: dir });
        dirs.push(dir);
      }
    }
    const { groups } = aggregate(dirs);
    assert.deepEqual(
      groups.map((g) => g.label),
      ['algorithms=finetuning', 'algorithms=ewc(lambda=100)'],
    );
    groups.forEach((group, i) => {
      const summaries = dirs.slice(3 * i, 3 * i + 3).map((d) => JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')) as RunSummary);
      const [x1, x2, x3] = summaries.map((s) => s.finalAverageAccuracy) as [number, number, number];
      const mean = (x1 + x2 + x3) / 3;
      const std = Math.sqrt(((x1 - mean) ** 2 + (x2 - mean) ** 2 + (x3 - mean) ** 2) / 2);
      assertStat(group.metrics.averageAccuracy, mean, std, 3, `${group.label} AA`);
      assert.ok(std > 0, 'different seeds give different accuracies');
      const [b1, b2, b3] = summaries.map((s) => s.bwt!) as [number, number, number];
      const bMean = (b1 + b2 + b3) / 3;
      assertStat(group.metrics.bwt, bMean, Math.sqrt(((b1 - bMean) ** 2 + (b2 - bMean) ** 2 + (b3 - bMean) ** 2) / 2), 3, `${group.label} BWT`);
      const [t1, t2, t3] = summaries.map((s) => s.accuracy[1]![0]!) as [number, number, number];
      const tMean = (t1 + t2 + t3) / 3;
      assertStat(group.finalAccuracy[0]!, tMean, Math.sqrt(((t1 - tMean) ** 2 + (t2 - tMean) ** 2 + (t3 - tMean) ** 2) / 2), 3, `${group.label} task 1`);
    });
    const svg = aggregateAccuracySvg({ groups, skipped: [] });
    assert.deepEqual(xmlProblems(svg), []);
    assert.equal(count(svg, 'class="line"'), 2);
    assert.equal(count(svg, 'class="band"'), 2);
    assert.equal(count(svg, '<path '), 5, 'two lines, two bands and the axes');
    // With one seed per group there is no spread to draw.
    const single = aggregate([dirs[0]!, dirs[3]!]);
    assert.equal(count(aggregateAccuracySvg(single), 'class="band"'), 0);
  });

  it('the command: a sweep directory (default --out), formats, skipped runs from the manifest, and clear errors for bad input', () => {
    const root = tempDir('aggregate-cli-');
    const sweep = join(root, 'sweep');
    const ids = ['0123456789ab', 'abcdef012345', 'ffffffffffff'];
    writeRun(join(sweep, 'runs', ids[0]!), [EWC, 'seed=1'], summaryOf(0.9, 0.7, 0.9));
    writeRun(join(sweep, 'runs', ids[1]!), [EWC, 'seed=2'], summaryOf(0.92, 0.76, 0.92));
    const manifest = {
      version: 1,
      base: { config: null, overrides: [EWC] },
      grid: { seed: ['1', '2', '3'] },
      runs: ids.map((id, i) => ({ id, label: `seed=${i + 1}`, overrides: [EWC, `seed=${i + 1}`], status: i < 2 ? 'done' : 'failed', attempts: 1, exitStatus: i < 2 ? 0 : 1, log: `logs/${id}.log`, error: i < 2 ? null : 'exited with status 1' })),
    };
    writeFileSync(join(sweep, 'sweep.json'), JSON.stringify(manifest));

    const result = perennial(['aggregate', sweep], root);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /\| algorithms=ewc\(lambda=1000\) \| 2 \(1, 2\) \| 0\.8200 ± 0\.0283 \|/);
    assert.match(result.stdout, /- runs\/ffffffffffff: not started \(no config\.json\) \(sweep: failed, exit status 1, exited with status 1, log logs\/ffffffffffff\.log\)/);
    for (const file of ['aggregate.md', 'aggregate.csv', 'aggregate.json', 'aggregate_accuracy.svg']) assert.ok(existsSync(join(sweep, file)), `${file} in the sweep directory`);
    const json = JSON.parse(readFileSync(join(sweep, 'aggregate.json'), 'utf8')) as { version: number; groups: { label: string; seeds: number[]; metrics: { averageAccuracy: Stat } }[]; skipped: { dir: string }[] };
    assert.equal(json.version, 1);
    assert.deepEqual(json.groups.map((g) => [g.label, g.seeds]), [['algorithms=ewc(lambda=1000)', [1, 2]]]);
    // AA 0.80 and 0.84 → 0.82 ± √(2·0.02²) = 0.0282843.
    assertStat(json.groups[0]!.metrics.averageAccuracy, 0.82, Math.sqrt(0.0008), 2, 'JSON AA');
    assert.deepEqual(json.skipped.map((s) => s.dir), [join(sweep, 'runs', ids[2]!)]);

    const out = join(root, 'csv-only');
    assert.equal(perennial(['aggregate', join(sweep, 'runs', ids[0]!), '--out', out, '--format', 'csv'], root).status, 0);
    assert.deepEqual(['aggregate.md', 'aggregate.csv', 'aggregate.json', 'aggregate_accuracy.svg'].map((f) => existsSync(join(out, f))), [false, true, false, true]);

    const errors: [string[], RegExp][] = [
      [[], /aggregate needs at least one sweep directory or run directory/],
      [['aggregate', join(root, 'missing')], /missing does not exist/],
      [['aggregate', join(root, 'csv-only')], /csv-only holds no run: it is neither a sweep directory \(no sweep\.json\) nor a run directory \(no config\.json\), and none is in the 4 levels of directories below it/],
      [['aggregate', sweep, '--format', 'tex'], /--format takes one of md, csv, json, all, got 'tex'/],
      [['aggregate', sweep, '--out'], /--out needs a value/],
      [['aggregate', sweep, '--bogus'], /unknown option '--bogus'/],
      [['aggregate', writeRun(join(root, 'unstarted'), [])], /no finished run to aggregate:\n.*unstarted: no task finished/],
    ];
    for (const [args, message] of errors) {
      const r = perennial(args.length === 0 ? ['aggregate'] : args, root);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    // A directory holding the sweep: the sweep is found inside it.
    const searched = perennial(['aggregate', root, '--out', join(root, 'searched'), '--format', 'md'], root);
    assert.equal(searched.status, 0, searched.stderr);
    assert.match(searched.stdout, /\| algorithms=ewc\(lambda=1000\) \| 2 \(1, 2\) \| 0\.8200 ± 0\.0283 \|/);
    const badManifest = join(root, 'bad-sweep');
    mkdirSync(badManifest);
    writeFileSync(join(badManifest, 'sweep.json'), '{"runs": [{"id": 3}]}');
    const bad = perennial(['aggregate', badManifest], root);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /is not a sweep manifest: it needs a "runs" list whose entries have a hexadecimal "id"/);
  });
});
