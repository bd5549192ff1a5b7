// The Amnesiac algorithms through the real runner: unlearning the only task
// restores the initial state, unlearning the last task equals the retrain
// reference, training continues after unlearning, AmnesiacEWC's Fisher is
// EWC's bit for bit and unlearning drops (and optionally shifts) anchors,
// records expire with the unlearnable age, and a resumed run unlearns from
// the records in its checkpoint.
import { instantiate, amnesiacEwcDefinition, amnesiacFinetuningDefinition, ewcDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ExperimentConfig, loadExperiment } from '../../../src/config/experiment.js';
import {
  type Algorithm,
  TaskDeltas,
} from '../../../src/continual/algorithms/index.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { type Tensor, keep, liveTensorCount, manualSeed, noGrad, randn, tidy } from '../../../src/index.js';
import { tempDir } from '../../helpers.js';
import { freeState, maxDifference, snapshotState, stateProbe } from './state_probe.js';

const tmp = (): string => join(tempDir('unlearning-'), 'run');
const TINY = ['benchmark.trainLimit=256', 'backbone.hiddenSizes=[32]', 'training.optimizer.lr=0.05', 'training.optimizer.momentum=0.9'];

describe('TaskDeltas', () => {
  it('records θ_end − θ_start of every state entry, undoes it in place and names tasks it cannot undo', () => {
    manualSeed(3);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5], batchNorm: true }), createHeads('til', 5));
    const deltas = new TaskDeltas();
    try {
      model.heads.setupTask(1, 3);
      const before = snapshotState(model);
      deltas.begin(model, 1);
      // A change of every kind of entry: parameters, running statistics and the batch counter.
      model.train();
      tidy(() => model.forward(randn([8, 6]), 1));
      tidy(() => noGrad(() => model.parameters().forEach((p) => p.add_(randn(p.shape).mul(0.1)))));
      deltas.end(model, 1);
      assert.deepEqual(deltas.tasks, [1]);
      assert.deepEqual([...deltas.delta(1)!.keys()], [...before.keys()], 'a delta for every entry, the head and BatchNorm buffers included');
      assert.equal(deltas.delta(1)!.get('backbone.bn1.numBatchesTracked')!.item(), 1);
      const changed = snapshotState(model);
      assert.ok(maxDifference(before, changed) > 0.01, 'the task changed the model');
      deltas.undo(model, [1]);
      const after = snapshotState(model);
      assert.ok(maxDifference(before, after) <= 1e-6, 'undoing the task restores the state');
      deltas.forget([1]);
      assert.throws(() => deltas.undo(model, [1]), /cannot unlearn task 1: its training was not recorded or was already unlearned or freed \(none is recorded\)/);
      // A head created after begin() counts from zero: undoing the task zeroes it.
      deltas.begin(model, 2);
      model.heads.setupTask(2, 3);
      deltas.end(model, 2);
      deltas.undo(model, [2]);
      tidy(() => assert.equal(model.stateDict()['heads.heads.1.weight']!.abs().sum().item(), 0));
      [before, changed, after].forEach(freeState);
    } finally {
      deltas.dispose();
      model.dispose();
    }
  });
});

describe('AmnesiacFinetuning', () => {
  it('unlearning the only task trained restores the initial state (BatchNorm buffers and the head included); the model then scores as the untrained one', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=1', 'backbone.batchNorm=true', 'backbone.dropout=0.2', 'training.epochs=2',
      'algorithms=[{name: amnesiacFinetuning}]', 'unlearning.requests=[{afterTask: 1, tasks: [1]}]', 'reference.random=true',
    ]);
    const probe = stateProbe(1);
    try {
      const result = runExperiment({ config, runDir: tmp(), plugins: [probe] });
      assert.ok(maxDifference(probe.start!, probe.end!) > 0.01, 'training changed the model');
      assert.ok(maxDifference(probe.start!, probe.after!) <= 1e-6, 'unlearning restored it');
      // The untrained model of the random reference is the same initial model.
      assert.equal(result.accuracy[0]![0], result.references.random![0]);
      // The retrain reference of an empty task list is that untrained model too.
      const d = result.unlearning!.distance!.unlearned!;
      assert.ok(d.euclidean < 1e-4 && d.manhattan < 1e-3 && d.cosine < 1e-6, JSON.stringify(d));
      assert.ok(Math.abs(d.linearCka! - 1) < 1e-6, `CKA ${d.linearCka}`);
      assert.deepEqual(result.unlearning!.remainingTasks, []);
      assert.equal(result.unlearning!.accuracyGain, null);
    } finally {
      probe.free();
    }
  });

  it('unlearning then continuing training: the unlearned task falls, later tasks learn, the original reference matches the run before the request', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=3', 'algorithms=[{name: amnesiacFinetuning}]', 'unlearning.requests=[{afterTask: 2, tasks: [1]}]',
    ]);
    const dir = tmp();
    const { accuracy, unlearning } = runExperiment({ config, runDir: dir });
    assert.ok(accuracy[0]![0]! > 0.6, `task 1 learnt: ${accuracy[0]![0]}`);
    assert.ok(accuracy[1]![0]! < accuracy[0]![0]! - 0.3, `task 1 unlearnt after task 2: ${accuracy[1]![0]}`);
    assert.ok(accuracy[2]![2]! > 0.6, `task 3 learnt after the unlearning: ${accuracy[2]![2]}`);
    const csv = readFileSync(join(dir, 'unlearning.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 4);
    assert.match(csv[1]!, /^1,2,/);
    assert.match(csv[2]!, /^2,,/);
    // Same seed, same algorithms: the original reference is the run itself until the first request.
    const original = readFileSync(join(dir, 'acc_original.csv'), 'utf8').split('\n');
    assert.equal(original[1], readFileSync(join(dir, 'acc.csv'), 'utf8').split('\n')[1]);
    assert.deepEqual(unlearning!.remainingTasks, [2, 3]);
    assert.ok(unlearning!.tasks[1]!.retrainAccuracy! > 0.6);
    assert.match(readFileSync(join(dir, 'run.log'), 'utf8'), /after task 2: unlearned task 1/);
    // The drop: task 1's accuracy measured just before the request (after task 2 trained) minus a_{2,1} just after.
    const row = unlearning!.tasks[0]!;
    assert.ok(row.accuracyBeforeUnlearning! > 0.5, `task 1 before unlearning: ${row.accuracyBeforeUnlearning}`);
    assert.equal(row.unlearnedDrop, row.accuracyBeforeUnlearning! - accuracy[1]![0]!);
    assert.equal(unlearning!.unlearnedDrop, row.unlearnedDrop);
    assert.ok(csv[1]!.endsWith(`,${row.accuracyBeforeUnlearning},${row.unlearnedDrop}`), csv[1]);
    assert.ok(csv[2]!.endsWith(',,'), 'no drop for a remaining task');
    // BWT over the remaining tasks 2 and 3: task 1's intended fall is not forgetting.
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { bwt: number; unlearning: { unlearnedDrop: number } };
    assert.equal(summary.bwt, accuracy[2]![1]! - accuracy[1]![1]!);
    assert.equal(summary.unlearning.unlearnedDrop, row.unlearnedDrop);
    assert.match(readFileSync(join(dir, 'run.log'), 'utf8'), /unlearning: the unlearned tasks' accuracy fell by \d\.\d{4} on average \(task 1 0\.\d{4} → 0\.\d{4}\)/);
  });

  it('records nothing with disableUnlearning and refuses to unlearn', () => {
    const disabled = instantiate(amnesiacFinetuningDefinition, { disableUnlearning: true });
    assert.equal(disabled.bookkeeping.deltas, null);
    const ctx = { model: {} as ContinualModel, paradigm: 'til', afterTask: 2, tasks: [1], expired: [] } as const;
    assert.throws(() => disabled.unlearn(ctx), /amnesiacFinetuning: asked to unlearn task 1 after task 2, but disableUnlearning is true/);
    assert.throws(() => instantiate(amnesiacEwcDefinition, { lambda: 1, disableUnlearning: true }).unlearn(ctx), /amnesiacEwc: asked to unlearn task 1 after task 2, but disableUnlearning is true/);
  });

  it('frees the records of tasks past the unlearnable age', () => {
    for (const [age, kept] of [[undefined, [1, 2, 3]], [2, [3]], [1, []]] as const) {
      const config: ExperimentConfig = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=3', 'benchmark.trainLimit=64']);
      config.unlearning = { requests: [], ...(age === undefined ? {} : { unlearnableAge: age }) };
      const amnesiac = instantiate(amnesiacFinetuningDefinition);
      const dir = tmp();
      try {
        runExperiment({ config, runDir: dir, plugins: [amnesiac] });
        assert.deepEqual(amnesiac.bookkeeping.deltas!.tasks, kept, `age ${age}`);
        if (age === 2) assert.match(readFileSync(join(dir, 'run.log'), 'utf8'), /after task 3: task 2 can no longer be unlearned \(unlearnableAge 2\)/);
      } finally {
        amnesiac.dispose();
      }
    }
  });
});

describe('AmnesiacEWC', () => {
  it("stores EWC's Fisher and anchors bit for bit (its end-of-task step runs once), with both timings", () => {
    for (const fisherTiming of ['train_end', 'train'] as const) {
      const config = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=2', 'benchmark.trainLimit=128']);
      const ewc = instantiate(ewcDefinition, { lambda: 10, fisherTiming });
      const amnesiac = instantiate(amnesiacEwcDefinition, { lambda: 10, fisherTiming });
      try {
        const a = runExperiment({ config, runDir: tmp(), plugins: [ewc] });
        const b = runExperiment({ config, runDir: tmp(), plugins: [amnesiac] });
        assert.deepEqual(b.accuracy, a.accuracy);
        assert.deepEqual(amnesiac.anchors.tasks, [1, 2]);
        assert.deepEqual(amnesiac.bookkeeping.deltas!.tasks, [1, 2]);
        for (const task of [1, 2]) {
          for (const kind of ['fisher', 'anchor'] as const) {
            const mine = amnesiac.anchors.term(task)![kind];
            const theirs = ewc.anchors.term(task)![kind];
            assert.deepEqual([...mine.keys()], [...theirs.keys()]);
            for (const [name, t] of mine) assert.ok(t.equal(theirs.get(name)!), `${fisherTiming}: task ${task} ${kind} ${name}`);
          }
        }
      } finally {
        ewc.dispose();
        amnesiac.dispose();
      }
    }
  });

  it('unlearning drops the task\'s Fisher and anchor; subtractDeltaFromLaterAnchors shifts the later anchors by Δθ_u', () => {
    for (const subtract of [false, true]) {
      const config = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=3', 'benchmark.trainLimit=128', 'reference.retrain=false', 'reference.original=false']);
      config.unlearning = { requests: [{ afterTask: 3, tasks: [2] }] };
      const ewc = instantiate(amnesiacEwcDefinition, { lambda: 10, subtractDeltaFromLaterAnchors: subtract });
      let anchors: Map<number, Map<string, Tensor>> = new Map();
      let fisher3: Map<string, Tensor> = new Map();
      let delta2: Map<string, Tensor> = new Map();
      const copy = (m: ReadonlyMap<string, Tensor>): Map<string, Tensor> => new Map([...m].map(([k, t]) => [k, keep(t.clone())] as [string, Tensor]));
      const probe: Algorithm = {
        name: 'probe',
        onTaskEnd: (ctx) => {
          if (ctx.task !== 3) return;
          anchors = new Map([1, 3].map((t) => [t, copy(ewc.anchors.term(t)!.anchor)]));
          fisher3 = copy(ewc.anchors.term(3)!.fisher);
          delta2 = copy(ewc.bookkeeping.deltas!.delta(2)!);
        },
      };
      try {
        runExperiment({ config, runDir: tmp(), plugins: [ewc, probe] });
        assert.deepEqual(ewc.anchors.tasks, [1, 3]);
        assert.deepEqual(ewc.bookkeeping.deltas!.tasks, [1, 3]);
        tidy(() => {
          for (const [name, t] of ewc.anchors.term(1)!.anchor) assert.ok(t.equal(anchors.get(1)!.get(name)!), `anchor 1 ${name} untouched`);
          for (const [name, t] of ewc.anchors.term(3)!.fisher) assert.ok(t.equal(fisher3.get(name)!), `Fisher 3 ${name} kept`);
          for (const [name, t] of ewc.anchors.term(3)!.anchor) {
            const before = anchors.get(3)!.get(name)!;
            const expected = subtract ? before.sub(delta2.get(name)!) : before;
            assert.ok(t.equal(expected), `anchor 3 ${name} ${subtract ? 'shifted by Δθ_2' : 'untouched'}`);
          }
        });
      } finally {
        ewc.dispose();
        for (const m of [...anchors.values(), fisher3, delta2]) freeState(m);
      }
    }
  });

  it('unlearning the last task trained equals the retrain reference: no accuracy gain, no feature distance', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=2', 'algorithms=[{name: amnesiacEwc, lambda: 10}]', 'unlearning.requests=[{afterTask: 2, tasks: [2]}]', 'reference.original=false',
    ]);
    const { accuracy, unlearning } = runExperiment({ config, runDir: tmp() });
    assert.equal(unlearning!.tasks[0]!.retrainAccuracy, accuracy[0]![0], 'the retrain reference is the run after task 1');
    assert.ok(Math.abs(unlearning!.accuracyGain!) <= 1e-3, `AG ${unlearning!.accuracyGain}`);
    for (const d of [unlearning!.distance!.remaining!, unlearning!.distance!.unlearned!]) {
      assert.ok(d.euclidean < 1e-4 && d.cosine < 1e-6, JSON.stringify(d));
      assert.ok(Math.abs(d.linearCka! - 1) < 1e-6, `CKA ${d.linearCka}`);
    }
  });

  it('a resumed run unlearns from the records in its checkpoint and ends with the results of an uninterrupted run', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=4', 'benchmark.trainLimit=128', 'algorithms=[{name: amnesiacEwc, lambda: 10, subtractDeltaFromLaterAnchors: true}]',
      'unlearning.requests=[{afterTask: 2, tasks: [1]}, {afterTask: 4, tasks: [2]}]', 'reference.original=false',
    ]);
    const whole = tmp();
    runExperiment({ config, runDir: whole });
    // As if killed after task 2: the record of task 2 exists only in the checkpoint.
    const resumed = `${whole}-resumed`;
    cpSync(whole, resumed, { recursive: true });
    for (const t of [3, 4]) rmSync(join(resumed, 'checkpoints', `task_${t}.safetensors`));
    runExperiment({ config, runDir: resumed, resume: true });
    for (const file of ['acc.csv', 'loss.csv', 'unlearning.csv', 'summary.json']) {
      assert.equal(readFileSync(join(resumed, file), 'utf8'), readFileSync(join(whole, file), 'utf8'), file);
    }
  });

  it('frees every tensor it held once the run ends (records, anchors, references)', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=3', 'benchmark.trainLimit=64', 'algorithms=[{name: amnesiacEwc, lambda: 10, subtractDeltaFromLaterAnchors: true}]',
      'unlearning.requests=[{afterTask: 3, tasks: [2]}]', 'unlearning.unlearnableAge=2',
    ]);
    const before = liveTensorCount();
    runExperiment({ config, runDir: tmp() });
    assert.equal(liveTensorCount(), before);
  });
});
