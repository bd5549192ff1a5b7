// PackNet in real runs on the bundled MNIST digits: an earlier task's outputs
// on a fixed batch are bit-identical after later tasks (BWT exactly 0) and
// the weights it owns, the biases and batch norm are unchanged, under SGD
// with momentum, Adam, SGD with weight decay and AdamW, with MLP and CNN
// backbones, with and without batch norm; the capacity report against the
// owner tensors; checkpoints and resuming; the configuration errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { type Algorithm, type TaskContext, instantiate, packnetDefinition } from '../../../src/continual/algorithms/index.js';
import { PackNet, readPackNetReport } from '../../../src/continual/algorithms/packnet.js';
import { checkpointPath } from '../../../src/continual/experiment/checkpoint.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { liveTensorCount } from '../../../src/tensor/runtime.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('packnet-'), 'run');
const small = [
  'paradigm=til', 'benchmark.numTasks=3', 'benchmark.trainLimit=192', 'backbone.hiddenSizes=[32, 32]',
  'training.epochs=2', 'training.batchSize=32', 'training.validateEveryEpoch=false',
];
/** The config's own algorithm does nothing; PackNet comes as a plugin, so that the test can look inside it. */
const withPlugin = (extra: string[]) => loadExperiment(undefined, [...small, 'algorithms=[{name: finetuning}]', ...extra]);

interface Snapshot {
  params: Map<string, Tensor>;
  buffers: Map<string, Tensor>;
  owners: Map<string, Tensor>;
}

/**
 * Watches a run. Before PackNet's onTaskStart: the weights no task owns are
 * exactly 0 (pruned weights do not keep their old values). At each task's
 * end: the weights of earlier tasks, and from task 2 on every bias,
 * batch-norm parameter and statistic, kept their exact values; the pruned
 * weights are 0; the outputs of every earlier task on its fixed test batch
 * are bit-identical to those right after it was learned.
 */
function probe(packnet: PackNet): { before: Algorithm; after: Algorithm; freeAtStart: number[]; changedOwned: number[]; dispose(): void } {
  let snapshot: Snapshot | null = null;
  const logits: Tensor[] = [];
  const release = () => {
    for (const map of [snapshot?.params, snapshot?.buffers, snapshot?.owners]) for (const t of map?.values() ?? []) t.dispose();
    snapshot = null;
  };
  const result = {
    freeAtStart: [] as number[],
    changedOwned: [] as number[],
    before: {
      name: 'packnet-probe-before',
      onTaskStart(ctx: TaskContext) {
        release();
        const backbone = ctx.model.backbone;
        noGrad(() => {
          snapshot = {
            params: new Map(backbone.namedParameters().map(([n, p]) => [n, keep(p.clone())])),
            buffers: new Map(backbone.namedBuffers().map(([n, b]) => [n, keep(b.clone())])),
            owners: new Map([...packnet.ownerTensors()].map(([l, o]) => [l, keep(o.clone())])),
          };
        });
        if (ctx.task === 1) return;
        let free = 0;
        tidy(() => {
          for (const [layer, owner] of packnet.ownerTensors()) {
            const w = snapshot!.params.get(`${layer}.weight`)!;
            assert.ok(w.maskedSelect(owner.eq(0)).eq(0).all().item(), `task ${ctx.task} starts with pruned weights of ${layer} at exactly 0`);
            free += owner.eq(0).sum().item();
          }
        });
        result.freeAtStart.push(free);
      },
    },
    after: {
      name: 'packnet-probe-after',
      onTaskEnd(ctx: TaskContext) {
        const s = snapshot!;
        const backbone = ctx.model.backbone;
        let changed = 0;
        tidy(() => {
          for (const [name, p] of backbone.namedParameters()) {
            const dot = name.lastIndexOf('.');
            const owner = name.endsWith('.weight') ? packnet.ownerTensors().get(name.slice(0, dot)) : undefined;
            const was = s.params.get(name)!;
            if (owner === undefined) {
              if (ctx.task > 1) assert.ok(p.equal(was), `task ${ctx.task}: ${name} (trained on task 1 only) changed`);
              continue;
            }
            const earlier = s.owners.get(name.slice(0, dot));
            if (earlier !== undefined) {
              const frozen = earlier.ne(0);
              assert.ok(p.maskedSelect(frozen).equal(was.maskedSelect(frozen)), `task ${ctx.task}: weights of ${name} owned by earlier tasks changed`);
            }
            assert.ok(p.maskedSelect(owner.eq(0)).eq(0).all().item(), `task ${ctx.task}: pruned weights of ${name} are exactly 0`);
            changed += p.ne(was).logicalAnd(owner.eq(ctx.task)).sum().item();
          }
          if (ctx.task > 1) for (const [name, b] of backbone.namedBuffers()) assert.ok(b.equal(s.buffers.get(name)!), `task ${ctx.task}: batch-norm buffer ${name} changed`);
        });
        result.changedOwned.push(changed);
        const model = ctx.model;
        const training = model.training;
        model.eval();
        noGrad(() =>
          tidy(() => {
            for (let j = 1; j <= ctx.task; j++) {
              const x = ctx.benchmark.task(j).test.x.narrow(0, 0, 16);
              const out = packnet.forward(model, x, j)!.logits;
              if (j === ctx.task) logits.push(keep(out));
              else assert.ok(out.equal(logits[j - 1]!), `after task ${ctx.task}: task ${j}'s logits on its fixed batch are bit-identical`);
            }
          }),
        );
        model.train(training);
      },
    },
    dispose() {
      release();
      for (const t of logits) t.dispose();
    },
  };
  return result;
}

/** a_{t,j} = a_{j,j} exactly for every t ≥ j, and BWT exactly 0. */
function assertNoForgetting(accuracy: number[][], bwt: number | null, what: string): void {
  for (let t = 0; t < accuracy.length; t++) {
    for (let j = 0; j < t; j++) assert.equal(accuracy[t]![j], accuracy[j]![j], `${what}: accuracy on task ${j + 1} after task ${t + 1}`);
  }
  assert.equal(bwt, 0, `${what}: BWT`);
}

function runWithProbe(options: Record<string, unknown>, extra: string[]) {
  const packnet = instantiate(packnetDefinition, options);
  const watch = probe(packnet);
  try {
    const run = runExperiment({ config: withPlugin(extra), runDir: tmp(), plugins: [watch.before, packnet, watch.after] });
    assertNoForgetting(run.accuracy, run.summary.bwt, extra.join(' '));
    assert.ok(watch.changedOwned.every((n) => n > 0), `every task trained its own weights: ${watch.changedOwned}`);
    const owners = new Map(tidy(() => [...packnet.ownerTensors()].map(([l, o]) => [l, o.toTypedArray() as Uint8Array] as const)));
    return { run, report: packnet.report()!, owners, freeAtStart: watch.freeAtStart };
  } finally {
    watch.dispose();
    packnet.dispose();
  }
}

const count = (owners: ReadonlyMap<string, Uint8Array>, keepIf: (owner: number) => boolean): number =>
  [...owners.values()].reduce((n, o) => n + o.filter(keepIf).length, 0);

describe('PackNet in a real run', () => {
  it("never changes an earlier task's outputs nor the weights it owns (SGD with momentum); the capacity report matches the owners", () => {
    const before = liveTensorCount();
    const { run, report, owners, freeAtStart } = runWithProbe({ pruneFraction: 0.5 }, ['training.optimizer={name: sgd, lr: 0.05, momentum: 0.9}', 'training.epochs=4', 'benchmark.trainLimit=256']);
    assert.ok(run.accuracy.every((row, t) => row[t]! > 0.3), `every task is learned (chance is 0.1): ${JSON.stringify(run.accuracy)}`);
    // The report against the owner tensors.
    const total = 784 * 32 + 32 * 32;
    assert.equal(report.capacityUnit, 'weights');
    assert.equal(report.totalWeights, total);
    assert.equal(report.tasks.length, 3);
    report.tasks.forEach((entry, k) => {
      const task = k + 1;
      assert.equal(entry.owned, count(owners, (o) => o === task), `task ${task}: owned`);
      assert.equal(entry.ownedFraction, entry.owned / total);
      for (const [layer, o] of owners) assert.equal(entry.ownedByLayer[layer], o.filter((v) => v === task).length, `task ${task}: owned in ${layer}`);
    });
    const used = count(owners, (o) => o > 0);
    assert.equal(report.capacityUsedAfterTask.length, 3);
    assert.equal(report.capacityUsedAfterTask[2], used / total);
    assert.equal(report.freeFraction, (total - used) / total);
    for (const [layer, o] of owners) assert.equal(report.capacityByLayer[layer], o.filter((v) => v > 0).length / o.length, `capacity of ${layer}`);
    // Cumulative: after task t, tasks 1..t own what they own at the end (later tasks never take an earlier task's weight).
    report.capacityUsedAfterTask.forEach((u, k) => assert.equal(u, count(owners, (o) => o > 0 && o <= k + 1) / total, `capacity after task ${k + 1}`));
    // Task 1 keeps about half; each later task takes at most about half of what is free ([0.5, 1] of it freed: ties at 0 go too).
    assert.ok(Math.abs(report.capacityUsedAfterTask[0]! - 0.5) < 0.01);
    assert.deepEqual(freeAtStart, [total - report.tasks[0]!.owned, total - report.tasks[0]!.owned - report.tasks[1]!.owned]);
    report.tasks.forEach((entry, k) => {
      const available = k === 0 ? total : freeAtStart[k - 1]!;
      assert.equal(entry.owned + entry.pruned, available, `task ${k + 1}: owned + pruned = what it was given`);
      assert.ok(entry.pruned >= Math.round(0.5 * available) - 1, `task ${k + 1} pruned at least p·n`);
    });
    // The run reports it: summary.json, one log line per task, and each checkpoint up to its task.
    assert.deepEqual(JSON.parse(readFileSync(join(run.runDir, 'summary.json'), 'utf8')).algorithms.packnet, report);
    const lines = readFileSync(join(run.runDir, 'run.log'), 'utf8').split('\n').filter((l) => l.includes('packnet: capacity used'));
    assert.equal(lines.length, 3);
    const last = report.tasks[2]!;
    assert.ok(
      lines[2]!.includes(
        `capacity used ${(100 * report.capacityUsedAfterTask[2]!).toFixed(2)}% of ${total} weights, ${(100 * report.freeFraction).toFixed(2)}% free; task 3 owns ${last.owned} (${(100 * last.ownedFraction).toFixed(2)}%) after pruning ${last.pruned}`,
      ),
      lines[2],
    );
    assert.deepEqual(readPackNetReport(checkpointPath(run.runDir, 3)), report);
    assert.deepEqual(readPackNetReport(checkpointPath(run.runDir, 2))!.capacityUsedAfterTask, report.capacityUsedAfterTask.slice(0, 2));
    assert.equal(liveTensorCount(), before, 'no tensor outlives the run');
  });

  it('never changes them under Adam, SGD with weight decay, or a CNN with AdamW', () => {
    runWithProbe({}, ['training.optimizer={name: adam, lr: 0.005}']);
    runWithProbe({ pruneFraction: 0.75 }, ['training.optimizer={name: sgd, lr: 0.05, momentum: 0.9, weightDecay: 0.01}']);
    const cnn = runWithProbe({}, ['backbone={name: cnn, channels: [4], featureDim: 16}', 'training.optimizer={name: adamw, lr: 0.005}', 'benchmark.trainLimit=96']);
    assert.deepEqual(Object.keys(cnn.report.capacityByLayer), ['conv1', 'fc1']);
  });

  it('anchor: batch norm is trained on task 1 and then frozen, statistics included, not refused (MLP and CNN)', () => {
    runWithProbe({}, ['backbone={name: mlp, hiddenSizes: [32], batchNorm: true}', 'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9, weightDecay: 0.001}']);
    runWithProbe({}, ['backbone={name: cnn, channels: [4], featureDim: 16, batchNorm: true}', 'training.optimizer={name: adam, lr: 0.005}', 'benchmark.trainLimit=96']);
  });

  it('anchor: pruned weights are exactly 0 when the next task starts (Avalanche keeps their old values behind a mask)', () => {
    const { freeAtStart, report } = runWithProbe({ retrainEpochs: 2 }, ['training.epochs=3', 'benchmark.numTasks=2']);
    // The probe found every free weight at exactly 0 before task 2 started training them.
    assert.deepEqual(freeAtStart, [report.totalWeights - report.tasks[0]!.owned]);
    assert.ok(freeAtStart[0]! > 0.45 * report.totalWeights);
  });

  it('checkpoints its owners and report and resumes exactly where it stopped', () => {
    const { full, resumed } = assertResumesBitIdentical([...small, 'algorithms=[{name: packnet, pruneFraction: 0.6}]'], tmp);
    assertNoForgetting(full.accuracy, full.summary.bwt, 'from the config');
    const summary = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).algorithms.packnet;
    assert.deepEqual(summary(resumed.runDir), summary(full.runDir), 'a resumed run reports the same capacity after every task');
    assert.equal(summary(full.runDir).capacityUsedAfterTask.length, 3);
  });
});

describe('PackNet errors', () => {
  const run = (extra: string[]) =>
    runExperiment({ config: loadExperiment(undefined, [...small, 'benchmark.numTasks=1', 'benchmark.trainLimit=32', ...extra]), runDir: tmp() });

  it('refuses training.epochs ≤ retrainEpochs before training, naming both and the fix', () => {
    assert.throws(() => run(['training.epochs=1', 'algorithms=[{name: packnet}]']), /training.epochs is 1 but retrainEpochs is 1, which leaves no epoch to train before the prune; set training.epochs above retrainEpochs \(e.g. training.epochs: 2\) or lower retrainEpochs/);
    assert.throws(() => run(['training.epochs=3', 'algorithms=[{name: packnet, retrainEpochs: 3}]']), /training.epochs is 3 but retrainEpochs is 3/);
  });

  it('supports TIL only: a config error for CIL and DIL, and an error at task start for a plugin', () => {
    for (const paradigm of ['cil', 'dil']) {
      assert.throws(() => loadExperiment(undefined, [`paradigm=${paradigm}`, 'algorithms=[{name: packnet}]']), /'packnet' supports paradigm til only.*task's weights are chosen by its task id/);
    }
    const packnet = instantiate(packnetDefinition, {});
    try {
      assert.throws(
        () => runExperiment({ config: loadExperiment(undefined, [...small, 'paradigm=dil', 'benchmark.numTasks=1', 'benchmark.trainLimit=32']), runDir: tmp(), plugins: [packnet] }),
        /PackNet supports task-incremental learning only .* the paradigm is 'dil'; set paradigm: til/,
      );
    } finally {
      packnet.dispose();
    }
  });

  it('rejects options outside their ranges', () => {
    for (const bad of [0, 1, -0.1, 1.5]) assert.throws(() => instantiate(packnetDefinition, { pruneFraction: bad }), /pruneFraction: expected a number in \(0, 1\)/);
    assert.throws(() => instantiate(packnetDefinition, { retrainEpochs: 0 }), /retrainEpochs/);
    assert.throws(() => instantiate(packnetDefinition, { retrainLrScale: 0 }), /retrainLrScale/);
    assert.throws(() => instantiate(packnetDefinition, { biases: 'everyTask' }), /biases: expected one of 'firstTask'/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: packnet, pruneFraction: 1}]']), /pruneFraction/);
  });
});
