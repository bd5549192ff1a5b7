// ER's behaviour beyond the parity fixture: its options and their errors, the
// defects of the anchors it must not have (a test each), runs in TIL, CIL and
// DIL with the numbers that must hold, a resumed run that ends bit-identical,
// and no leaked tensors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm, BatchContext, StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type ER, erDefinition } from '../../../src/continual/algorithms/er.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import type { MemoryBatch } from '../../../src/continual/memory/buffer.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel, forwardWith } from '../../../src/continual/model/model.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { randint, randn } from '../../../src/tensor/creation.js';
import { manualSeed } from '../../../src/tensor/index.js';
import { Rng } from '../../../src/continual/benchmarks/rng.js';
import { cat } from '../../../src/tensor/functions.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { loadFixture, settledTensorCount, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';
import { recordDraws } from '../memory/record_draws.js';
import { type TinyFixture, disposeRun, tinyRun } from './tiny_run.js';

const tmp = (): string => join(tempDir('er-'), 'run');
const quick = ['benchmark.trainLimit=120', 'backbone.hiddenSizes=[32]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false', 'training.optimizer.lr=0.05'];
const split = (paradigm: Paradigm) => [`paradigm=${paradigm}`, 'benchmark.name=split', 'benchmark.numTasks=3', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]', ...quick];

/** A model on 6 inputs with 2-class heads for tasks 1..tasks, in float64. */
function tinyModel(paradigm: Paradigm, tasks: number, batchNorm = false): ContinualModel {
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5], batchNorm }), createHeads(paradigm, 5, { dtype: 'float64' }));
  model.to('float64');
  for (let t = 1; t <= tasks; t++) model.heads.setupTask(t, 2);
  model.train();
  return model;
}

function taskContext(model: ContinualModel, paradigm: Paradigm, task: number): TaskContext {
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  return { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x: randn([1, 6]), y: randint(0, 2, [1]), size: 1 }, batchSize: 4, epochs: 1 };
}

/** One step's loss by the hooks in the trainer's order (no optimizer step), inside the caller's scope; gradients are left in the model. */
function stepLoss(algorithms: Algorithm[], ctx: TaskContext, x: Tensor, y: Tensor, insert = false): { total: Tensor; classification: Tensor; logits: Tensor } {
  const { output, logits } = forwardWith(ctx.model, algorithms, x, ctx.task, { index: 0, count: 1 });
  const targets = ctx.model.heads.targets(y, ctx.task);
  const batch: BatchContext = { ...ctx, epoch: 1, step: 0, batchCount: 1, globalStep: 0, x, targets, output, logits };
  let classification: Tensor | null = null;
  for (const a of algorithms) classification ??= a.classificationLoss?.(batch) ?? null;
  classification ??= crossEntropy(logits, targets);
  const step: StepContext = { ...batch, classificationLoss: classification };
  let total = classification;
  for (const a of algorithms) {
    const extra = a.trainingLoss?.(step);
    if (extra != null) total = total.add(extra);
  }
  ctx.model.zeroGrad();
  total.backward();
  if (insert) for (const a of algorithms) a.onBatchEnd?.(step);
  return { total, classification, logits };
}

/** An ER whose memory holds the given examples of tasks 1 and 2 (global targets in CIL), and that records its draws. */
function filledER(options: Record<string, unknown>, paradigm: Paradigm, model: ContinualModel, draws: MemoryBatch[] = []): ER {
  const er = instantiate(erDefinition, { capacity: 50, batchSize: 4, seed: 3, ...options });
  for (const task of [1, 2]) {
    tidy(() => {
      const ctx = taskContext(model, paradigm, task);
      er.onTaskStart(ctx);
      const x = randn([6, 6], { dtype: 'float64' });
      const y = model.heads.targets(randint(0, 2, [6]), task);
      er.memory.insert({ x, targets: y, task }, new Rng(0));
      ctx.optimizer.dispose();
    });
  }
  recordDraws(er.memory, draws);
  return er;
}

describe('ER options', () => {
  it('defaults and errors that name the key', () => {
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: er}]']).algorithms, [{ name: 'er', capacity: 200, batchSize: 32, policy: 'reservoir', combine: 'concat', seed: 0 }]);
    assert.throws(() => instantiate(erDefinition, { combine: 'mean' }), /combine: expected one of 'concat', 'sum', 'weighted', got 'mean'/);
    assert.throws(() => instantiate(erDefinition, { policy: 'greedy' }), /policy: expected one of 'reservoir', 'classBalanced', got 'greedy'/);
    assert.throws(() => instantiate(erDefinition, { capacity: 0 }), /capacity: expected an integer >= 1, got 0/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: er, capacty: 5}]']), /did you mean 'capacity'/);
    for (const paradigm of ['til', 'cil', 'dil']) assert.equal(loadExperiment(undefined, [`paradigm=${paradigm}`, 'algorithms=[{name: er}]']).paradigm, paradigm);
  });
});

describe('ER against the anchors (algorithms-next.md section 15)', () => {
  it('stores the inputs exactly as the trainer gave them, after the step: a batch is never replayed alongside itself', () => {
    const fx = loadFixture<TinyFixture>('er');
    const er = instantiate(erDefinition, { capacity: 100, batchSize: 3 });
    const draws = recordDraws(er.memory);
    let steps = 0;
    const run = tinyRun(fx, 'cil', er, er.memory, 'float64', (ctx) => {
      // The draw of this step was made before the insertion: only slots filled by earlier steps (slot = order of arrival here).
      const rows = Array.from(ctx.x.toTypedArray(), Number);
      const d = draws.pop()?.slots;
      assert.equal(d === undefined, steps === 0, 'no draw at the first step only: the memory is empty until the first step ends');
      if (d !== undefined) for (const slot of d) assert.ok(slot < 4 * steps, `step ${steps}: slot ${slot} was filled by this batch`);
      steps++;
      // Everything offered so far is stored (capacity 100), the batch's rows last, bit for bit.
      tidy(() => {
        const all = er.memory.gather();
        assert.equal(er.memory.size, 4 * steps);
        assert.deepEqual(Array.from(all.x.narrow(0, 4 * (steps - 1), 4).toTypedArray(), Number), rows);
        assert.deepEqual(Array.from(all.targets.narrow(0, 4 * (steps - 1), 4).toTypedArray(), Number), Array.from(ctx.targets.toTypedArray(), Number));
      });
    });
    disposeRun(run);
    er.dispose();
    assert.equal(steps, 18);
  });

  it('replays from the second step of task 1 on (van de Ven fills the memory at the end of a task, Avalanche from experience 2)', () => {
    const fx = loadFixture<TinyFixture>('er');
    for (const combine of ['concat', 'sum']) {
      const er = instantiate(erDefinition, { capacity: 6, batchSize: 3, combine });
      const draws = recordDraws(er.memory);
      const byStep: number[] = [];
      const run = tinyRun(fx, 'til', er, er.memory, 'float64', (ctx) => {
        if (ctx.task === 1) byStep.push(draws.length);
      });
      disposeRun(run);
      er.dispose();
      assert.deepEqual(byStep, [0, 1, 2, 3, 4, 5], `${combine}: a draw at every step of task 1 but the first`);
    }
  });

  it('concat is one forward pass over B ∪ B_M: batch-norm statistics are those of the mix (Mammoth), not of B then B_M', () => {
    manualSeed(5);
    const model = tinyModel('cil', 3, true);
    const reference = tinyModel('cil', 3, true);
    tidy(() => reference.loadStateDict(model.stateDict()));
    const draws: MemoryBatch[] = [];
    const er = filledER({}, 'cil', model, draws);
    let passes = 0;
    const forward = model.backbone.forward.bind(model.backbone);
    model.backbone.forward = (x) => (passes++, forward(x));
    try {
      tidy(() => {
        const ctx = taskContext(model, 'cil', 3);
        er.onTaskStart(ctx);
        const x = randn([4, 6], { dtype: 'float64' });
        stepLoss([er], ctx, x, randint(0, 2, [4]));
        assert.equal(passes, 1, 'the backbone runs once per step');
        assert.equal(draws.length, 1);
        reference.backbone.forward(cat([x, draws[0]!.x]));
        const running = (m: ContinualModel) => m.namedBuffers().filter(([n]) => n.includes('running')).map(([n, b]) => [n, Array.from(b.toTypedArray(), Number)]);
        assert.ok(running(model).length >= 2);
        assert.deepEqual(running(model), running(reference), 'running statistics after one step: one update with the mixed batch');
        ctx.optimizer.dispose();
      });
    } finally {
      er.dispose();
      model.dispose();
      reference.dispose();
    }
  });

  it('sum (the replay plugin) is twice concat when |B| = |B_M|, loss and gradient: the same as doubling the SGD learning rate', () => {
    manualSeed(6);
    const results: { loss: number; grad: number[] }[] = [];
    const state = tidy(() => {
      const m = tinyModel('cil', 3);
      const s: Record<string, Tensor> = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, keep(v.clone())]));
      m.dispose();
      return s;
    });
    const x = keep(randn([4, 6], { dtype: 'float64' }));
    const y = keep(randint(0, 2, [4]));
    for (const combine of ['concat', 'sum']) {
      const model = tinyModel('cil', 3);
      tidy(() => model.loadStateDict(state));
      manualSeed(7); // the same memory contents for both
      const er = filledER({ combine }, 'cil', model);
      tidy(() => {
        const ctx = taskContext(model, 'cil', 3);
        er.onTaskStart(ctx);
        const { total } = stepLoss([er], ctx, x, y);
        results.push({ loss: total.item(), grad: model.parameters().flatMap((p) => Array.from(p.grad!.toTypedArray(), Number)) });
        ctx.optimizer.dispose();
      });
      er.dispose();
      model.dispose();
    }
    const [concat, sum] = results as [{ loss: number; grad: number[] }, { loss: number; grad: number[] }];
    assert.ok(Math.abs(sum.loss - 2 * concat.loss) < 1e-12, `sum ${sum.loss} vs 2 × concat ${2 * concat.loss}`);
    sum.grad.forEach((g, i) => assert.ok(Math.abs(g - 2 * concat.grad[i]!) < 1e-12, `gradient ${i}`));
    for (const t of [...Object.values(state), x, y]) t.dispose();
  });

  it("weighted is van de Ven's (1/t)·L_cur + (1 − 1/t)·L_replay, with nothing replayed on task 1", () => {
    manualSeed(8);
    const model = tinyModel('til', 3);
    const draws: MemoryBatch[] = [];
    const er = filledER({ combine: 'weighted' }, 'til', model, draws);
    try {
      tidy(() => {
        const x = randn([4, 6], { dtype: 'float64' });
        const y = randint(0, 2, [4]);
        const first = taskContext(model, 'til', 1);
        er.onTaskStart(first);
        const one = stepLoss([er], first, x, y);
        assert.equal(draws.length, 0, 'no draw on task 1');
        assert.equal(one.total.item(), crossEntropy(one.logits, y).item());
        const third = taskContext(model, 'til', 3);
        er.onTaskStart(third);
        const three = stepLoss([er], third, x, y);
        const d = draws[0]!;
        // Each replayed row through its own task's head.
        const feature = model.backbone.forward(d.x).feature;
        const rows = [...d.tasks];
        let replay = 0;
        rows.forEach((t, i) => (replay += crossEntropy(model.heads.forward(feature.narrow(0, i, 1), t), d.targets.narrow(0, i, 1)).item()));
        replay /= rows.length;
        assert.ok(new Set(rows).size > 1, 'rows of both stored tasks');
        const want = crossEntropy(three.logits, y).item() / 3 + (2 / 3) * replay;
        assert.ok(Math.abs(three.total.item() - want) < 1e-12, `${three.total.item()} vs ${want}`);
        first.optimizer.dispose();
        third.optimizer.dispose();
      });
    } finally {
      er.dispose();
      model.dispose();
    }
  });

  it("concat keeps its loss when another algorithm's forward pass wins: B from the trainer's logits, B_M from a separate pass", () => {
    manualSeed(9);
    const model = tinyModel('til', 3);
    const losses: number[] = [];
    for (const first of [[], [{ name: 'other', forward: (m: ContinualModel, x: Tensor, task: number) => m.forward(x, task) } as Algorithm]]) {
      manualSeed(10);
      const er = filledER({}, 'til', model);
      tidy(() => {
        const ctx = taskContext(model, 'til', 3);
        er.onTaskStart(ctx);
        manualSeed(11);
        losses.push(stepLoss([...first, er], ctx, randn([4, 6], { dtype: 'float64' }), randint(0, 2, [4])).total.item());
        ctx.optimizer.dispose();
      });
      er.dispose();
    }
    model.dispose();
    assert.ok(Math.abs(losses[0]! - losses[1]!) < 1e-12, `${losses[0]} vs ${losses[1]}`);
  });

  it('frees every tensor it holds: a run of three tasks ends where it began', () => {
    const fx = loadFixture<TinyFixture>('er');
    const baseline = settledTensorCount();
    const er = instantiate(erDefinition, { capacity: 6, batchSize: 3 });
    const run = tinyRun(fx, 'cil', er, er.memory);
    disposeRun(run);
    assert.equal(settledTensorCount() - baseline, 3, 'the memory: x, targets, tasks');
    er.dispose();
    assert.equal(settledTensorCount(), baseline);
  });
});

describe('ER runs', () => {
  it('CIL: keeps global targets of every task and beats finetuning on the old tasks; TIL: each task with local targets', () => {
    const finetuning = runExperiment({ config: loadExperiment(undefined, [...split('cil'), 'algorithms=[{name: finetuning}]']), runDir: tmp() });
    const er = instantiate(erDefinition, { capacity: 60, batchSize: 16, seed: 1 });
    try {
      const run = runExperiment({ config: loadExperiment(undefined, [...split('cil'), 'algorithms=[{name: finetuning}]']), runDir: tmp(), plugins: [er] });
      const tasks = er.memory.storedTasks;
      assert.equal(tasks.length, 60);
      assert.deepEqual([...new Set(tasks)].sort(), [1, 2, 3]);
      er.memory.storedTargets.forEach((c, i) => assert.ok(c >= 2 * (tasks[i]! - 1) && c < 2 * tasks[i]!, `slot ${i}: class ${c} of task ${tasks[i]}`));
      const old = (acc: number[][]) => (acc.at(-1)![0]! + acc.at(-1)![1]!) / 2;
      assert.ok(old(finetuning.accuracy) < 0.05, `finetuning forgets the old classes in CIL: ${old(finetuning.accuracy)}`);
      assert.ok(old(run.accuracy) > old(finetuning.accuracy) + 0.2, `ER keeps old classes: ${old(run.accuracy)} vs finetuning ${old(finetuning.accuracy)}`);
    } finally {
      er.dispose();
    }
    const til = instantiate(erDefinition, { capacity: 30, batchSize: 8, combine: 'sum' });
    try {
      const run = runExperiment({ config: loadExperiment(undefined, [...split('til'), 'algorithms=[{name: finetuning}]']), runDir: tmp(), plugins: [til] });
      assert.ok(run.accuracy.at(-1)!.every((a) => a > 0.8), `TIL accuracy ${run.accuracy.at(-1)}`);
      assert.deepEqual([...new Set(til.memory.storedTargets)].sort(), [0, 1], 'local targets');
      assert.deepEqual([...new Set(til.memory.storedTasks)].sort(), [1, 2, 3]);
    } finally {
      til.dispose();
    }
  });

  it('DIL on permuted digits, class-balanced: every recurring class holds its quota (Avalanche issue #765 was this case)', () => {
    const er = instantiate(erDefinition, { capacity: 43, batchSize: 16, policy: 'classBalanced', combine: 'weighted' });
    try {
      const run = runExperiment({ config: loadExperiment(undefined, ['paradigm=dil', 'benchmark.name=permuted', 'benchmark.numTasks=3', ...quick, 'algorithms=[{name: finetuning}]']), runDir: tmp(), plugins: [er] });
      assert.ok(run.accuracy.flat().every(Number.isFinite));
      const counts = er.memory.classCounts();
      assert.equal(counts.size, 10);
      const order = [...(er.memory.state().values['memory'] as { seenPerClass: [number, number][] }).seenPerClass].map(([c]) => c);
      order.forEach((c, rank) => assert.equal(counts.get(c), 4 + (rank < 3 ? 1 : 0), `class ${c} (seen ${rank + 1}th): floor(43/10) = 4, one more for the first 3`));
      assert.deepEqual([...new Set(er.memory.storedTasks)].sort(), [1, 2, 3], 'each class keeps a sample over all tasks');
    } finally {
      er.dispose();
    }
  });

  it('a run stopped after task 2 and resumed ends bit-identical to an uninterrupted one (memory in the checkpoint)', () => {
    assertResumesBitIdentical([...split('cil'), 'algorithms=[{name: er, capacity: 40, batchSize: 8, policy: classBalanced}]'], tmp);
  });
});
