// WSN in real runs on the bundled MNIST digits: accuracy on earlier tasks is
// exactly unchanged after later tasks (BWT exactly 0) and the weights under
// M_{t−1} are bit-identical, with SGD + momentum, with Adam, with a CNN and
// with scores redrawn per task; checkpoints keep the masks (packed or
// Huffman-coded) and a resumed run equals an uninterrupted one; the report;
// score initialisation; and the errors for options and setups WSN cannot
// serve.
import { instantiate, wsnDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { type Algorithm, type WSNOptions } from '../../../src/continual/algorithms/index.js';
import { WSN, readWSNReport } from '../../../src/continual/algorithms/wsn.js';
import { keptCount } from '../../../src/continual/algorithms/wsn_masks.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { checkpointPath } from '../../../src/continual/experiment/checkpoint.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { randn } from '../../../src/tensor/creation.js';
import { manualSeed } from '../../../src/tensor/random.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('wsn-'), 'run');
const small = [
  'paradigm=til', 'benchmark.numTasks=3', 'benchmark.trainLimit=256', 'backbone.hiddenSizes=[32, 32]',
  'training.epochs=2', 'training.batchSize=32', 'training.validateEveryEpoch=false',
];
/** The config's own algorithm does nothing; WSN comes as a plugin, so that the test can look inside it. */
const withPlugin = (extra: string[] = []) => loadExperiment(undefined, [...small, 'algorithms=[{name: finetuning}]', ...extra]);

/**
 * Checks, at the end of each task t, that every backbone weight under
 * M_{t−1} (snapshotted when the task started) kept its exact value, and
 * counts the weights outside it that changed (training did happen).
 */
function frozenWeightsProbe(wsn: WSN): Algorithm & { changedOutside: number[]; dispose(): void } {
  const before = new Map<string, { value: Tensor; frozen: Tensor | undefined }>();
  const release = () => {
    for (const { value, frozen } of before.values()) {
      value.dispose();
      frozen?.dispose();
    }
    before.clear();
  };
  const probe = {
    name: 'frozen-weights-probe',
    changedOutside: [] as number[],
    onTaskStart(ctx: Parameters<NonNullable<Algorithm['onTaskStart']>>[0]) {
      release();
      const cumulative = wsn.cumulativeMask();
      noGrad(() => {
        for (const [name, p] of ctx.model.backbone.namedParameters()) {
          const m = cumulative.get(name);
          before.set(name, { value: keep(p.clone()), frozen: m === undefined ? undefined : keep(m.clone()) });
        }
      });
    },
    onTaskEnd(ctx: Parameters<NonNullable<Algorithm['onTaskEnd']>>[0]) {
      let changed = 0;
      tidy(() => {
        for (const [name, p] of ctx.model.backbone.namedParameters()) {
          const { value, frozen } = before.get(name)!;
          if (frozen !== undefined) {
            assert.ok(p.maskedSelect(frozen).equal(value.maskedSelect(frozen)), `task ${ctx.task}: ${name} changed under M_${ctx.task - 1}`);
            changed += p.ne(value).logicalAnd(frozen.logicalNot()).sum().item();
          } else {
            changed += p.ne(value).sum().item();
          }
        }
      });
      probe.changedOutside.push(changed);
    },
    dispose: release,
  };
  return probe;
}

/** a_{t,j} = a_{j,j} exactly for every t ≥ j, and BWT exactly 0. */
function assertNoForgetting(accuracy: number[][], bwt: number | null, what: string): void {
  for (let t = 0; t < accuracy.length; t++) {
    for (let j = 0; j < t; j++) assert.equal(accuracy[t]![j], accuracy[j]![j], `${what}: accuracy on task ${j + 1} after task ${t + 1}`);
  }
  assert.equal(bwt, 0, `${what}: BWT`);
}

/** |m_1 ∨ … ∨ m_t| over all masked tensors for t = 1..tasks, counted from the stored masks. */
function unionCounts(wsn: WSN, tasks: number): number[] {
  return tidy(() => {
    const counts: number[] = [];
    let union = new Map<string, Tensor>();
    for (let t = 1; t <= tasks; t++) {
      union = new Map([...wsn.taskMask(t)!].map(([key, m]) => [key, union.has(key) ? union.get(key)!.logicalOr(m) : m]));
      counts.push([...union.values()].reduce((n, m) => n + m.sum().item(), 0));
    }
    return counts;
  });
}

function runWithProbe(options: Partial<WSNOptions>, extra: string[] = []) {
  const wsn = instantiate(wsnDefinition, options);
  const probe = frozenWeightsProbe(wsn);
  try {
    const run = runExperiment({ config: withPlugin(extra), runDir: tmp(), plugins: [wsn, probe] });
    return { run, report: wsn.report()!, changedOutside: probe.changedOutside, usedAfterTask: unionCounts(wsn, run.accuracy.length) };
  } finally {
    probe.dispose();
    wsn.dispose();
  }
}

describe('WSN in a real run', () => {
  it('never changes accuracy on an earlier task nor a weight under M_{t−1} (SGD with momentum)', () => {
    const { run, report, changedOutside, usedAfterTask } = runWithProbe({ maskPercentage: 0.3 }, ['training.optimizer={name: sgd, lr: 0.05, momentum: 0.9}', 'backbone.hiddenSizes=[64]', 'training.epochs=4']);
    assertNoForgetting(run.accuracy, run.summary.bwt, 'sgd');
    assert.ok(run.accuracy.every((row, t) => row[t]! > 0.4), `every task is learned (chance is 0.1): ${JSON.stringify(run.accuracy)}`);
    assert.ok(changedOutside.every((n) => n > 0), `weights outside M_{t−1} trained in every task: ${changedOutside}`);
    // The report: per task k = Σ keptCount per tensor; the capacity used is the union of the masks.
    const sizes = [784 * 64, 64];
    const k = sizes.reduce((n, size) => n + keptCount(size, 0.3), 0);
    assert.equal(report.totalWeights, sizes.reduce((a, b) => a + b, 0));
    assert.deepEqual(report.tasks.map((t) => t.kept), [k, k, k]);
    assert.equal(report.tasks[0]!.newlyUsed, k);
    assert.equal(Math.round(report.capacityUsed * report.totalWeights), report.tasks.reduce((n, t) => n + t.newlyUsed, 0));
    assert.ok(report.capacityUsed >= 0.3 && report.capacityUsed <= 0.9);
    assert.ok(report.tasks.every((t) => t.packedBits === report.totalWeights && t.huffmanBits > 0));
    assert.deepEqual(readWSNReport(checkpointPath(run.runDir, 3)), report, 'the checkpoint carries the report');
    assert.deepEqual(readWSNReport(checkpointPath(run.runDir, 2))!.tasks, report.tasks.slice(0, 2));
    // The run reports it too: summary.json (with the capacity after each task, counted here from the stored masks) and one log line per task.
    const reported = JSON.parse(readFileSync(join(run.runDir, 'summary.json'), 'utf8')).algorithms.wsn;
    const { capacityUsedAfterTask, capacityUnit, ...rest } = reported;
    assert.deepEqual(rest, report);
    assert.equal(capacityUnit, 'weights');
    assert.deepEqual(capacityUsedAfterTask, usedAfterTask.map((n) => n / report.totalWeights));
    assert.equal(usedAfterTask[0], k);
    assert.ok(usedAfterTask[1]! > k && usedAfterTask[2]! > usedAfterTask[1]!, `later tasks use new weights: ${usedAfterTask}`);
    assert.equal(capacityUsedAfterTask[2], report.capacityUsed);
    const lines = readFileSync(join(run.runDir, 'run.log'), 'utf8').split('\n').filter((l) => l.includes('wsn: capacity used'));
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, new RegExp(`capacity used ${(100 * report.capacityUsed).toFixed(2)}% of ${report.totalWeights} weights; task 3's mask keeps ${k} \\(${report.tasks[2]!.newlyUsed} not used before\\), stored in ${report.totalWeights} bits`));
  });

  it('never changes them with Adam either, nor with a CNN and scores redrawn at every task', () => {
    const adam = runWithProbe({ maskPercentage: 0.5 }, ['training.optimizer={name: adam, lr: 0.01}']);
    assertNoForgetting(adam.run.accuracy, adam.run.summary.bwt, 'adam');
    assert.ok(adam.changedOutside.every((n) => n > 0), `adam: ${adam.changedOutside}`);
    // Fresh scores make the masks of the three tasks largely different: more capacity used.
    const cnn = runWithProbe({ maskPercentage: 0.2, reinitializeScores: true, scoreInit: 'N01' }, [
      'backbone={name: cnn, channels: [4], featureDim: 16}', 'benchmark.trainLimit=128', 'training.epochs=1',
    ]);
    assertNoForgetting(cnn.run.accuracy, cnn.run.summary.bwt, 'cnn');
    assert.ok(cnn.changedOutside.every((n) => n > 0), `cnn: ${cnn.changedOutside}`);
    assert.deepEqual(Object.keys(cnn.report.capacityByTensor), ['conv1.weight', 'conv1.bias', 'fc1.weight', 'fc1.bias']);
    assert.ok(cnn.report.tasks[1]!.newlyUsed > 0.5 * cnn.report.tasks[1]!.kept, 'redrawn scores choose mostly new weights');
  });

  it('checkpoints its masks Huffman-coded and resumes exactly where it stopped', () => {
    const { full, resumed } = assertResumesBitIdentical([...small, 'algorithms=[{name: wsn, maskPercentage: 0.1, maskCompression: huffman}]'], tmp);
    assertNoForgetting(full.accuracy, full.summary.bwt, 'from the config');
    // The capacity after each task, tasks 1-2 included, comes back from the checkpoint's report.
    const reported = (run: typeof full) => JSON.parse(readFileSync(join(run.runDir, 'summary.json'), 'utf8')).algorithms.wsn;
    assert.equal(reported(full).capacityUsedAfterTask.length, 3);
    assert.deepEqual(reported(resumed), reported(full));
    const report = readWSNReport(checkpointPath(full.runDir, 3))!;
    // Byte-wise Huffman over a 10% mask: about 8·H(0.1) = 3.75 bits per byte, plus the 2,080-bit header.
    assert.ok(report.tasks.every((t) => t.huffmanBits - 2080 < 0.5 * t.packedBits), `a 10% mask codes to less than half a bit per weight: ${JSON.stringify(report.tasks)}`);
  });

  it('restores masks, union and scores from its state, packed or Huffman-coded', () => {
    for (const maskCompression of ['none', 'huffman'] as const) {
      const wsn = instantiate(wsnDefinition, { maskPercentage: 0.25, maskCompression });
      const copy = instantiate(wsnDefinition, { maskPercentage: 0.25, maskCompression });
      try {
        runExperiment({ config: withPlugin(['benchmark.numTasks=2', 'benchmark.trainLimit=64', 'training.epochs=1']), runDir: tmp(), plugins: [wsn] });
        tidy(() => copy.loadState(wsn.state()));
        for (const task of [1, 2]) {
          for (const [key, m] of wsn.taskMask(task)!) assert.ok(copy.taskMask(task)!.get(key)!.equal(m), `${maskCompression}: m_${task} ${key}`);
        }
        for (const [key, m] of wsn.cumulativeMask()) assert.ok(copy.cumulativeMask().get(key)!.equal(m), `${maskCompression}: M ${key}`);
        for (const [key, s] of wsn.scoreTensors()) assert.ok(copy.scoreTensors().get(key)!.equal(s), `${maskCompression}: scores ${key}`);
        assert.deepEqual(copy.report(), wsn.report());
        assert.throws(() => tidy(() => instantiate(wsnDefinition, { maskPercentage: 0.5 }).loadState(wsn.state())), /masks keep a fraction 0.25 of the weights, but maskPercentage is 0.5/);
      } finally {
        wsn.dispose();
        copy.dispose();
      }
    }
  });
});

describe('WSN scores', () => {
  it('are initialised as chosen: U(±1/√fan_in) by default, N(0, 1) or U(0, 1)', () => {
    const stats = (init: 'default' | 'N01' | 'U01') => {
      manualSeed(1);
      const model = new ContinualModel(instantiateBackbone(mlpDefinition, [784], { hiddenSizes: [64] }), createHeads('til', 64));
      const wsn = instantiate(wsnDefinition, { maskPercentage: 0.5, scoreInit: init });
      try {
        model.heads.setupTask(1, 10);
        const s = wsn.trainableParameters(model, 1);
        return tidy(() => s.map((t) => ({ min: t.min().item(), max: t.max().item(), mean: t.mean().item(), std: t.std().item(), grad: t.requiresGrad })));
      } finally {
        wsn.dispose();
        model.dispose();
      }
    };
    const bound = 1 / Math.sqrt(784);
    const [w, b] = stats('default');
    assert.ok(w!.min >= -bound && w!.max <= bound && w!.max > 0.95 * bound && w!.grad, JSON.stringify(w));
    assert.ok(Math.abs(w!.std - bound / Math.sqrt(3)) < 0.02 * bound, 'uniform over ±bound');
    assert.ok(b!.min >= -bound && b!.max <= bound, 'bias scores use the layer fan-in too');
    const [n] = stats('N01');
    assert.ok(Math.abs(n!.mean) < 0.03 && Math.abs(n!.std - 1) < 0.03, JSON.stringify(n));
    const [u] = stats('U01');
    assert.ok(u!.min >= 0 && u!.max < 1 && Math.abs(u!.mean - 0.5) < 0.01, JSON.stringify(u));
  });

  it('are shared across tasks by default and redrawn per task with reinitializeScores', () => {
    for (const reinitializeScores of [false, true]) {
      manualSeed(2);
      const model = new ContinualModel(instantiateBackbone(mlpDefinition, [20], { hiddenSizes: [8] }), createHeads('til', 8));
      const wsn = instantiate(wsnDefinition, { maskPercentage: 0.5, reinitializeScores });
      try {
        model.heads.setupTask(1, 2);
        const first = wsn.trainableParameters(model, 1);
        const saved = first.map((s) => keep(s.clone()));
        model.heads.setupTask(2, 2);
        const second = wsn.trainableParameters(model, 2);
        assert.deepEqual(second, first, 'the same Parameter objects');
        assert.equal(tidy(() => second.every((s, i) => s.equal(saved[i]!))), !reinitializeScores);
        for (const s of saved) s.dispose();
      } finally {
        wsn.dispose();
        model.dispose();
      }
    }
  });
});

describe('WSN errors', () => {
  it('rejects a mask fraction outside (0, 1], in the config and in code', () => {
    for (const bad of [0, -0.5, 1.01, Number.NaN]) {
      assert.throws(() => instantiate(wsnDefinition, { maskPercentage: bad }), /maskPercentage: expected a number in \(0, 1\]/);
    }
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: wsn, maskPercentage: 0}]']), /maskPercentage: expected a number in \(0, 1\], got 0/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: wsn}]']), /maskPercentage: missing required key/);
    assert.throws(() => instantiate(wsnDefinition, { maskPercentage: 0.5, scoreInit: 'normal' as 'N01' }), /scoreInit: expected one of 'default', 'N01', 'U01'/);
  });

  it('supports TIL only: a config error for CIL and DIL, and an error at task start in code', () => {
    for (const paradigm of ['cil', 'dil']) {
      assert.throws(() => loadExperiment(undefined, [`paradigm=${paradigm}`, 'algorithms=[{name: wsn, maskPercentage: 0.5}]']), /'wsn' supports paradigm til only/);
    }
    const wsn = instantiate(wsnDefinition, { maskPercentage: 0.5 });
    try {
      const config = loadExperiment(undefined, [...small, 'paradigm=dil', 'benchmark.numTasks=1', 'benchmark.trainLimit=32']);
      assert.throws(() => runExperiment({ config, runDir: tmp(), plugins: [wsn] }), /WSN supports task-incremental learning only .* the paradigm is 'dil'; set paradigm: til/);
    } finally {
      wsn.dispose();
    }
  });

  it('rejects weight decay, batch normalisation and ResNet-18 with the fix named', () => {
    const run = (extra: string[]) => runExperiment({ config: loadExperiment(undefined, [...small, 'benchmark.numTasks=1', 'benchmark.trainLimit=32', 'algorithms=[{name: wsn, maskPercentage: 0.5}]', ...extra]), runDir: tmp() });
    assert.throws(() => run(['training.optimizer={name: adamw, lr: 0.001}']), /weightDecay 0.01, which would move the weights earlier tasks froze .* set training.optimizer.weightDecay: 0/);
    assert.throws(() => run(['training.optimizer={name: sgd, lr: 0.01, weightDecay: 0.001}']), /weightDecay 0.001/);
    assert.throws(() => run(['backbone={name: mlp, hiddenSizes: [8], batchNorm: true}']), /MLP backbone has batch normalisation.*use backbone.batchNorm: false/);
    assert.throws(() => run(['backbone={name: resnet18}']), /ResNet18 backbone has batch normalisation.*resnet18 always normalises and is not supported/);
  });

  it('refuses a forward pass for a task it has no mask for', () => {
    manualSeed(3);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [4], { hiddenSizes: [3] }), createHeads('til', 3));
    const wsn = instantiate(wsnDefinition, { maskPercentage: 0.5 });
    try {
      model.heads.setupTask(1, 2);
      model.heads.setupTask(2, 2);
      wsn.trainableParameters(model, 1);
      model.eval();
      tidy(() => {
        const x = randn([2, 4]);
        assert.equal(wsn.forward(model, x, 1).logits.shape[1], 2, "the current task's validation uses the live gate");
        assert.throws(() => wsn.forward(model, x, 2), /no mask for task 2 \(testing\); masks exist for tasks \[\] and task 1 is being trained/);
      });
    } finally {
      wsn.dispose();
      model.dispose();
    }
  });
});
