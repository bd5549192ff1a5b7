// The online plasticity run: the CSV holds each task's online accuracy (the
// accuracy on every training batch before its step, over the task), checked
// against the trainer's observer and against a count taken by a probe from
// the step's own logits; one task's data at a time; the comparison of runs
// and its command line; configuration mistakes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm, StepContext } from '../../../src/continual/algorithms/index.js';
import { PLASTICITY_FILES, runPlasticity, runPlasticityComparison } from '../../../src/continual/experiment/plasticity.js';
import { settledTensorCount, tempDir } from '../../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'src', 'cli', 'main.js');
const tmp = (): string => tempDir('plasticity-');
const small = [
  'paradigm=dil', 'benchmark.numTasks=4', 'benchmark.trainLimit=200', 'benchmark.validationFraction=0', 'backbone.hiddenSizes=[16, 16]',
  'training.epochs=1', 'training.batchSize=16', 'training.optimizer={name: sgd, lr: 0.1}', 'training.validateEveryEpoch=false',
];

/** Rows of a CSV as arrays of cells, header first. */
function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => line.split(','));
}

describe('online plasticity run', () => {
  it("writes each task's online accuracy: the observer's training accuracy, and the hits of each step's own logits before the step", () => {
    const config = loadExperiment(undefined, [...small, 'algorithms=[{name: cbp, replacementRate: 0.05, maturityThreshold: 3}]']);
    // The probe counts correct predictions from the logits the step was taken with.
    const hits = new Map<number, { correct: number; seen: number }>();
    const probe: Algorithm = {
      name: 'probe',
      trainingLoss: (ctx: StepContext) => {
        const h = hits.get(ctx.task) ?? { correct: 0, seen: 0 };
        h.correct += ctx.logits.argmax(1).eq(ctx.targets).sum().item();
        h.seen += ctx.targets.shape[0]!;
        hits.set(ctx.task, h);
        return null;
      },
    };
    const observed: { accuracy: number; loss: number }[] = [];
    const tensorsAtTaskStart: number[] = [];
    const dir = join(tmp(), 'run');
    const result = runPlasticity({
      config,
      runDir: dir,
      plugins: [probe],
      observer: {
        epochStart: () => tensorsAtTaskStart.push(settledTensorCount()),
        epochEnd: (task, _epoch, s) => (observed[task - 1] = { accuracy: s.trainAccuracy, loss: s.trainLoss }),
      },
    });
    const rows = readCsv(join(dir, PLASTICITY_FILES.csv));
    assert.deepEqual(rows[0], ['task', 'online_accuracy', 'online_loss']);
    assert.equal(rows.length, 1 + 4);
    rows.slice(1).forEach(([task, accuracy, loss], i) => {
      assert.equal(Number(task), i + 1);
      assert.equal(Number(accuracy), observed[i]!.accuracy, `task ${i + 1}: CSV accuracy vs observer`);
      assert.equal(Number(loss), observed[i]!.loss, `task ${i + 1}: CSV loss vs observer`);
      const h = hits.get(i + 1)!;
      assert.equal(h.seen, 200, 'every example of the task seen once');
      assert.equal(Number(accuracy), h.correct / h.seen, `task ${i + 1}: CSV accuracy vs the probe's count`);
    });
    assert.deepEqual(result.onlineAccuracy, observed.map((o) => o.accuracy));
    // Each task's data is freed after it: every task starts with as many tensors as the first
    // (keeping them would add six per task).
    assert.ok(tensorsAtTaskStart.every((n) => n === tensorsAtTaskStart[0]!), `tensors at task starts: ${tensorsAtTaskStart.join(', ')}`);
    assert.equal(JSON.parse(readFileSync(join(dir, PLASTICITY_FILES.config), 'utf8')).algorithms[0].name, 'cbp');
    assert.match(readFileSync(join(dir, PLASTICITY_FILES.plot), 'utf8'), /<svg[^]*data-name="cbp"/);
  });

  it('compares runs: one directory each, a table with one column per run and a plot with one line per run; the command line does the same', () => {
    const out = tmp();
    const runs = [
      { config: loadExperiment(undefined, [...small, 'output.name=backprop']) },
      { config: loadExperiment(undefined, [...small, 'algorithms=[{name: cbp, replacementRate: 0.05, maturityThreshold: 3}]', 'output.name=cbp']) },
    ];
    const results = runPlasticityComparison({ runs, outDir: out });
    const table = readCsv(join(out, PLASTICITY_FILES.csv));
    assert.deepEqual(table[0], ['task', 'backprop', 'cbp']);
    results.forEach((r, k) => {
      const own = readCsv(join(out, r.label, PLASTICITY_FILES.csv)).slice(1).map((row) => row[1]);
      assert.deepEqual(table.slice(1).map((row) => row[k + 1]), own, `${r.label}: the comparison's column is the run's own CSV`);
    });
    assert.notDeepEqual(results[0]!.onlineAccuracy, results[1]!.onlineAccuracy, 'CBP changed training');
    const svg = readFileSync(join(out, PLASTICITY_FILES.plot), 'utf8');
    assert.match(svg, /data-name="backprop"[^]*data-name="cbp"/);

    // The command line, with the same two configurations as files.
    const dir = tmp();
    const yaml = (name: string, algorithm: string): string => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, `paradigm: dil\nbenchmark: { numTasks: 4, trainLimit: 200, validationFraction: 0 }\nbackbone: { name: mlp, hiddenSizes: [16, 16] }\ntraining: { epochs: 1, batchSize: 16, optimizer: { name: sgd, lr: 0.1 }, validateEveryEpoch: false }\nalgorithms: [${algorithm}]\noutput: { name: ${name} }\n`);
      return path;
    };
    const cliOut = join(dir, 'out');
    const run = spawnSync(process.execPath, [cli, 'plasticity', yaml('backprop', '{ name: finetuning }'), yaml('cbp', '{ name: cbp, replacementRate: 0.05, maturityThreshold: 3 }'), '--out', cliOut], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /backprop: online accuracy, first 1 tasks [0-9.]+, last 1 tasks [0-9.]+\ncbp: online accuracy/);
    assert.equal(readFileSync(join(cliOut, PLASTICITY_FILES.csv), 'utf8'), readFileSync(join(out, PLASTICITY_FILES.csv), 'utf8'), 'the command line gives the same numbers');
  });

  it('rejects configurations that are not online runs, and runs that cannot be told apart', () => {
    assert.throws(
      () => runPlasticity({ config: loadExperiment(undefined, [...small, 'training.epochs=2', 'reference.joint=true']), runDir: join(tmp(), 'x') }),
      /training\.epochs is 2; online accuracy needs each example seen once: set training\.epochs: 1\n.*reference\.joint is set, but the plasticity run makes no reference runs/,
    );
    const same = { config: loadExperiment(undefined, small) };
    assert.throws(() => runPlasticityComparison({ runs: [same, same], outDir: tmp() }), /runs 1 and 2 are both called 'finetuning'; give them different output\.name values/);
    const cliRun = spawnSync(process.execPath, [cli, 'plasticity', '--out'], { encoding: 'utf8' });
    assert.equal(cliRun.status, 2);
    assert.match(cliRun.stderr, /--out needs a directory/);
  });
});
