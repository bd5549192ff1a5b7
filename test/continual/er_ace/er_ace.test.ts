// ER-ACE's behaviour beyond the parity fixture: options and the refusal of
// DIL, a test per defect of the anchors (Mammoth, Avalanche) that ours must
// not have, TIL and CIL runs with the numbers that must hold, checkpointed
// `seen` read back through a schema, a resumed run, and no leaked tensors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { BatchContext, StepContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type ERACE, erAceDefinition } from '../../../src/continual/algorithms/er_ace.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { grad } from '../../../src/tensor/autograd.js';
import { tensor } from '../../../src/tensor/creation.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { loadFixture, settledTensorCount, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';
import { recordDraws } from '../memory/record_draws.js';
import { type TinyFixture, disposeRun, tinyRun } from '../er/tiny_run.js';

const tmp = (): string => join(tempDir('er-ace-'), 'run');
const quick = ['benchmark.trainLimit=120', 'backbone.hiddenSizes=[32]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false', 'training.optimizer.lr=0.05'];
const split = (paradigm: Paradigm) => [`paradigm=${paradigm}`, 'benchmark.name=split', 'benchmark.numTasks=3', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]', ...quick];
const fx = loadFixture<TinyFixture>('er_ace');

/** The masked term for given logits (a leaf with a gradient) and targets, and d(term)/d(logits). */
function maskedTerm(ace: ERACE, paradigm: Paradigm, task: number, logits: Tensor, targets: number[]): { value: number; gradient: number[][] } {
  return tidy(() => {
    const y = tensor(targets, { dtype: 'int64' });
    const ctx = { task, paradigm, model: {} as ContinualModel, x: logits, targets: y, logits, output: { feature: logits, activations: new Map() } } as unknown as BatchContext;
    const loss = ace.classificationLoss(ctx);
    const [g] = grad(loss, [logits]);
    const width = logits.shape[1]!;
    const flat = Array.from(g!.toTypedArray(), Number);
    return { value: loss.item(), gradient: targets.map((_, r) => flat.slice(r * width, (r + 1) * width)) };
  });
}

/** Marks `classes` as seen in `task`'s scope, as a batch of them would. */
function see(ace: ERACE, paradigm: Paradigm, task: number, classes: number[]): void {
  tidy(() => {
    const x = tensor(classes.map(() => [0]).flat(), { dtype: 'float32', shape: [classes.length, 1] });
    ace.onBatchEnd({ task, paradigm, x, targets: tensor(classes, { dtype: 'int64' }) } as unknown as StepContext);
  });
}

describe('ER-ACE options', () => {
  it('defaults, errors that name the key, and DIL refused with the reason', () => {
    assert.deepEqual(loadExperiment(undefined, ['paradigm=cil', 'algorithms=[{name: erAce}]']).algorithms, [{ name: 'erAce', capacity: 200, batchSize: 32, seed: 0 }]);
    assert.equal(loadExperiment(undefined, ['paradigm=til', 'algorithms=[{name: erAce}]']).paradigm, 'til');
    assert.throws(() => instantiate(erAceDefinition, { batchSize: 0 }), /batchSize: expected an integer >= 1, got 0/);
    assert.throws(() => instantiate(erAceDefinition, { policy: 'classBalanced' }), /unknown key 'policy'/);
    assert.throws(
      () => loadExperiment(undefined, ['paradigm=dil', 'algorithms=[{name: erAce}]']),
      /algorithms\[0\]\.name: 'erAce' supports paradigm cil or til only, but paradigm is 'dil' \(in DIL every task has every class, so after the first task no class is masked and ER-ACE is plain ER: use er\); set paradigm: cil/,
    );
  });
});

describe('ER-ACE against the anchors (algorithms-next.md section 18)', () => {
  const logits = () => tensor([2, -1, 0.5, 1, 0.3, 0.2, -0.4, 1.5], { dtype: 'float64', shape: [2, 4], requiresGrad: true });

  it('masks from the first batch of task 1 (Mammoth masks only from task 2 unless task_free)', () => {
    const ace = instantiate(erAceDefinition);
    // Task 1 of CIL, first batch: only class 1. Class 0 lies below max(seen) = 1: masked, no gradient.
    const z = tensor([0.3, 1.2, -0.7, 0.4], { dtype: 'float64', shape: [2, 2], requiresGrad: true });
    const { value, gradient } = maskedTerm(ace, 'cil', 1, z, [1, 1]);
    assert.deepEqual(gradient.map((row) => row[0]), [0, 0], 'no gradient reaches the masked class');
    assert.equal(value, 0, 'one class left in the softmax: its cross-entropy is 0');
    const plain = tidy(() => crossEntropy(z, tensor([1, 1], { dtype: 'int64' })).item());
    assert.ok(plain > 0.1, `unmasked (Mammoth on task 1): ${plain}`);
    z.dispose();
    ace.dispose();
  });

  it('keeps classes not seen yet in the softmax (Avalanche restricts it to the present classes)', () => {
    const ace = instantiate(erAceDefinition);
    see(ace, 'cil', 1, [0, 1]);
    const z = logits();
    // Task 2 of CIL (classes 2 and 3), a batch of class 2 only: seen {0, 1, 2}, mask [0, 0, 1, 1].
    const { value, gradient } = maskedTerm(ace, 'cil', 2, z, [2, 2]);
    const want = tidy(() => crossEntropy(z.detach().narrow(1, 2, 2), tensor([0, 0], { dtype: 'int64' })).item());
    assert.ok(Math.abs(value - want) < 1e-12, `CE over classes 2 and 3: ${value} vs ${want}`);
    assert.ok(value > 0.1, 'present-only (one class) would give 0');
    for (const row of gradient) {
      assert.deepEqual(row.slice(0, 2), [0, 0], 'old classes masked');
      assert.ok(row[3]! > 0, 'the unseen class 3 is pushed down: it is in the softmax');
    }
    z.dispose();
    ace.dispose();
  });

  it('in TIL, masks within the task head with seen kept per task', () => {
    const ace = instantiate(erAceDefinition);
    see(ace, 'til', 1, [0, 1]);
    see(ace, 'til', 2, [1]);
    assert.deepEqual(ace.seen('til', 1), [0, 1]);
    assert.deepEqual(ace.seen('til', 2), [1]);
    const z = tensor([0.3, 1.2, -0.7, 0.4], { dtype: 'float64', shape: [2, 2], requiresGrad: true });
    // Task 3's head: nothing seen there yet, a batch of class 0: class 1 (unseen, above) stays.
    const fresh = maskedTerm(ace, 'til', 3, z, [0, 0]);
    assert.ok(fresh.gradient.every((row) => row[1]! > 0));
    // Task 2's head: class 1 seen, a batch of class 0 only: class 1 is max(seen) and stays unmasked.
    const two = maskedTerm(ace, 'til', 2, z, [0, 0]);
    assert.ok(Math.abs(two.value - fresh.value) < 1e-15);
    // A batch of class 1 in task 1's head, where 0 and 1 were seen: class 0 is masked.
    const one = maskedTerm(ace, 'til', 1, z, [1, 1]);
    assert.equal(one.value, 0);
    z.dispose();
    ace.dispose();
  });

  it('replays from the second step of task 1 (Avalanche from experience 2, Mammoth from task 2 unless task_free)', () => {
    const ace = instantiate(erAceDefinition, { capacity: 100, batchSize: 3, seed: 2 });
    const draws = recordDraws(ace.memory);
    const byStep: number[] = [];
    const run = tinyRun(fx, 'cil', ace, ace.memory, 'float64', (ctx) => {
      if (ctx.task === 1) byStep.push(draws.length);
    });
    disposeRun(run);
    ace.dispose();
    assert.deepEqual(byStep, [0, 1, 2, 3, 4, 5], 'a draw at every step of task 1 but the first (the memory is empty until a step ends)');
  });

  it('the total is masked + replayed, unhalved: one step recomputed by hand', () => {
    const ace = instantiate(erAceDefinition, { capacity: 100, batchSize: 3, seed: 2 });
    const totals: number[] = [];
    const parts: number[] = [];
    let step = 0;
    const original = ace.trainingLoss.bind(ace);
    ace.trainingLoss = (ctx) => {
      const extra = original(ctx);
      if (step === 4) parts.push(ctx.classificationLoss.item(), extra!.item());
      step++;
      return extra;
    };
    const run = tinyRun(fx, 'til', ace, ace.memory);
    totals.push(...run.loss.flat());
    disposeRun(run);
    ace.dispose();
    assert.ok(parts[1]! > 0);
    assert.ok(Math.abs(totals[4]! - (parts[0]! + parts[1]!)) < 1e-12, `${totals[4]} = ${parts[0]} + ${parts[1]}, not their mean ${(parts[0]! + parts[1]!) / 2}`);
  });

  it("fills the memory after each step with past batches only: task 2's first replay holds task 1 alone (Avalanche adds the experience's data first)", () => {
    const ace = instantiate(erAceDefinition, { capacity: 100, batchSize: 8, seed: 2 });
    const draws = recordDraws(ace.memory);
    let checked = false;
    const run = tinyRun(fx, 'cil', ace, ace.memory, 'float64', (ctx) => {
      if (ctx.task === 2 && ctx.epoch === 1 && ctx.step === 0) {
        assert.deepEqual([...new Set(draws.at(-1)!.tasks)], [1]);
        assert.deepEqual([...new Set(ace.memory.storedTasks)], [1, 2], 'the batch itself joined after the step');
        assert.equal(ace.memory.storedTasks.filter((t) => t === 2).length, 4);
        checked = true;
      }
    });
    disposeRun(run);
    ace.dispose();
    assert.ok(checked);
  });
});

describe('ER-ACE runs and state', () => {
  it('CIL keeps old classes better than finetuning; TIL learns every task', () => {
    const finetuning = runExperiment({ config: loadExperiment(undefined, [...split('cil'), 'algorithms=[{name: finetuning}]']), runDir: tmp() });
    const cil = runExperiment({ config: loadExperiment(undefined, [...split('cil'), 'algorithms=[{name: erAce, capacity: 60, batchSize: 16}]']), runDir: tmp() });
    const old = (acc: number[][]) => (acc.at(-1)![0]! + acc.at(-1)![1]!) / 2;
    assert.ok(old(cil.accuracy) > old(finetuning.accuracy) + 0.2, `ER-ACE ${old(cil.accuracy)} vs finetuning ${old(finetuning.accuracy)} on tasks 1-2`);
    const til = runExperiment({ config: loadExperiment(undefined, [...split('til'), 'algorithms=[{name: erAce, capacity: 60, batchSize: 16}]']), runDir: tmp() });
    assert.ok(til.accuracy.at(-1)!.every((a) => a > 0.8), `TIL ${til.accuracy.at(-1)}`);
  });

  it('a run stopped after task 2 and resumed ends bit-identical (memory and seen in the checkpoint)', () => {
    assertResumesBitIdentical([...split('cil'), 'algorithms=[{name: erAce, capacity: 40, batchSize: 8}]'], tmp);
  });

  it('state round trip restores seen; a hostile seen is refused naming it', () => {
    const a = instantiate(erAceDefinition, { capacity: 5 });
    const b = instantiate(erAceDefinition, { capacity: 5 });
    try {
      see(a, 'til', 1, [0, 1]);
      see(a, 'til', 2, [1]);
      const saved = a.state();
      b.loadState(saved);
      assert.deepEqual([b.seen('til', 1), b.seen('til', 2), b.memory.size, b.memory.seen], [[0, 1], [1], 3, 3]);
      assert.throws(() => b.loadState({ tensors: saved.tensors, values: { ...saved.values, seen: { 1: [-1] } } }), /saved values do not fit: seen\.1\[0\]/);
      assert.throws(() => b.loadState({ tensors: saved.tensors, values: { memory: saved.values['memory'] } }), /saved values do not fit: seen/);
      assert.deepEqual(b.seen('til', 2), [1], 'unchanged after a refused state');
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('frees every tensor it holds', () => {
    const baseline = settledTensorCount();
    const ace = instantiate(erAceDefinition, { capacity: 6, batchSize: 3 });
    const run = tinyRun(fx, 'cil', ace, ace.memory);
    disposeRun(run);
    assert.equal(settledTensorCount() - baseline, 3, 'the memory: x, targets, tasks');
    ace.dispose();
    assert.equal(settledTensorCount(), baseline);
  });
});
