// Heads per paradigm: TIL picks the task's head, CIL concatenates all heads
// and offsets the targets, DIL shares one head; heads are registered as
// parameters (also inside a parent model, and in state dicts), set up in
// order, seeded like a Linear, and misuse is a clear error.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Tensor, manualSeed, nn, randn, tensor, tidy } from '../../../src/index.js';
import { HeadDIL, HeadsCIL, HeadsTIL, createHeads } from '../../../src/continual/model/heads.js';
import type { Heads } from '../../../src/continual/contracts/types.js';
import { maxAbsDiff, values } from './support.js';

const F = nn.functional;

/** A parent model holding heads, as the continual model does. */
class Holder extends nn.Module {
  constructor(readonly heads: Heads) {
    super();
  }
}

describe('HeadsTIL', () => {
  test('one head per task; forward uses the task\'s head; targets are the local labels', () => {
    const heads = new HeadsTIL(6);
    assert.equal(heads.paradigm, 'til');
    heads.setupTask(1, 3);
    heads.setupTask(2, 4);
    assert.equal(heads.numTasks, 2);
    assert.deepEqual(heads.namedParameters().map(([n, p]) => [n, [...p.shape]]), [
      ['heads.0.weight', [3, 6]],
      ['heads.0.bias', [3]],
      ['heads.1.weight', [4, 6]],
      ['heads.1.bias', [4]],
    ]);
    tidy(() => {
      const feature = randn([5, 6]);
      const l1 = heads.forward(feature, 1);
      const l2 = heads.forward(feature, 2);
      assert.deepEqual([...l1.shape], [5, 3]);
      assert.deepEqual([...l2.shape], [5, 4]);
      assert.equal(maxAbsDiff(l1, F.linear(feature, heads.head(1).weight, heads.head(1).bias)), 0);
      assert.equal(maxAbsDiff(l2, F.linear(feature, heads.head(2).weight, heads.head(2).bias)), 0);
      const y = tensor([0, 3, 1]);
      const t = heads.targets(y, 2);
      assert.deepEqual(values(t), [0, 3, 1]);
      t.dispose();
      assert.ok(!y.isDisposed, 'the targets are a separate handle');
    });
    assert.equal(heads.numClasses(2), 4);
    heads.dispose();
  });

  test('setting up a task again is a no-op; a different class count or a skipped task is an error', () => {
    const heads = new HeadsTIL(4);
    heads.setupTask(1, 2);
    const weight = heads.head(1).weight;
    heads.setupTask(1, 2);
    assert.equal(heads.numTasks, 1);
    assert.equal(heads.parameters().length, 2);
    assert.equal(heads.head(1).weight, weight);
    assert.throws(() => heads.setupTask(1, 5), /HeadsTIL.setupTask: task 1 is already set up with 2 classes, not 5/);
    assert.throws(() => heads.setupTask(3, 2), /tasks are set up in order; task 3 comes after task 2, which is not set up/);
    assert.throws(() => heads.setupTask(0, 2), /the task id must be a positive integer, got 0/);
    assert.throws(() => heads.setupTask(2, 0), /numClasses must be a positive integer, got 0/);
    heads.dispose();
  });

  test('forward or targets for a task never set up, or features of the wrong size, are errors', () => {
    const heads = new HeadsTIL(4);
    tidy(() => {
      const feature = randn([2, 4]);
      assert.throws(() => heads.forward(feature, 1), /HeadsTIL.forward: task 1 was never set up \(no task is set up yet; call setupTask first\)/);
      heads.setupTask(1, 2);
      assert.throws(() => heads.forward(feature, 2), /task 2 was never set up \(tasks 1..1 are set up/);
      assert.throws(() => heads.targets(tensor([0]), 2), /HeadsTIL.targets: task 2 was never set up/);
      assert.throws(() => heads.forward(randn([2, 5]), 1), /expected features \[N, 4\], got shape \[2, 5\]/);
    });
    heads.dispose();
  });
});

describe('HeadsCIL', () => {
  test('logits of all heads so far, concatenated; targets offset by the earlier tasks\' classes', () => {
    const heads = new HeadsCIL(5);
    heads.setupTask(1, 2);
    tidy(() => {
      const feature = randn([3, 5]);
      assert.deepEqual([...heads.forward(feature, 1).shape], [3, 2]);
      heads.setupTask(2, 3);
      heads.setupTask(3, 4);
      assert.equal(heads.totalClasses, 9);
      assert.deepEqual([1, 2, 3].map((t) => heads.classOffset(t)), [0, 2, 5]);
      const expected = [1, 2, 3].map((t) => F.linear(feature, heads.head(t).weight, heads.head(t).bias));
      // Whichever task the samples come from, the logits cover every class seen.
      for (const task of [1, 2, 3]) {
        const logits = heads.forward(feature, task);
        assert.deepEqual([...logits.shape], [3, 9]);
        assert.equal(maxAbsDiff(logits.slice(1, 0, 2), expected[0]!), 0);
        assert.equal(maxAbsDiff(logits.slice(1, 2, 5), expected[1]!), 0);
        assert.equal(maxAbsDiff(logits.slice(1, 5, 9), expected[2]!), 0);
      }
      const y = tensor([0, 1, 2]);
      assert.deepEqual(values(heads.targets(y, 1)), [0, 1, 2]);
      assert.deepEqual(values(heads.targets(y, 2)), [2, 3, 4]);
      const t3 = heads.targets(tensor([3, 0]), 3);
      assert.deepEqual(values(t3), [8, 5]);
      assert.equal(t3.dtype, 'int64');
      // The offset targets are the right columns for the loss.
      const loss = F.crossEntropy(heads.forward(feature, 2), heads.targets(y, 2));
      assert.ok(Number.isFinite(loss.item()));
      assert.throws(() => heads.targets(y, 4), /HeadsCIL.classOffset: task 4 was never set up/);
      assert.throws(() => heads.forward(feature, 4), /HeadsCIL.forward: task 4 was never set up/);
    });
    assert.deepEqual(heads.namedParameters().map(([n]) => n), ['heads.0.weight', 'heads.0.bias', 'heads.1.weight', 'heads.1.bias', 'heads.2.weight', 'heads.2.bias']);
    heads.dispose();
  });

  test('gradients of a CIL loss reach every head', () => {
    const heads = new HeadsCIL(3);
    heads.setupTask(1, 2);
    heads.setupTask(2, 2);
    tidy(() => {
      const loss = F.crossEntropy(heads.forward(randn([4, 3]), 2), heads.targets(tensor([0, 1, 0, 1]), 2));
      loss.backward();
      for (const [name, p] of heads.namedParameters()) assert.ok(p.grad !== null && values(p.grad).some((g) => g !== 0), name);
    });
    heads.zeroGrad();
    heads.dispose();
  });
});

describe('HeadDIL', () => {
  test('one shared head created on the first task; targets are the local labels', () => {
    const heads = new HeadDIL(4);
    assert.equal(heads.parameters().length, 0);
    heads.setupTask(1, 10);
    heads.setupTask(2, 10);
    heads.setupTask(3, 10);
    heads.setupTask(2, 10);
    assert.equal(heads.numTasks, 3);
    assert.deepEqual(heads.namedParameters().map(([n, p]) => [n, [...p.shape]]), [
      ['heads.0.weight', [10, 4]],
      ['heads.0.bias', [10]],
    ]);
    tidy(() => {
      const feature = randn([2, 4]);
      const l1 = heads.forward(feature, 1);
      assert.deepEqual([...l1.shape], [2, 10]);
      assert.equal(maxAbsDiff(heads.forward(feature, 3), l1), 0);
      assert.equal(heads.head(3), heads.head(1));
      assert.deepEqual(values(heads.targets(tensor([7, 2]), 3)), [7, 2]);
      assert.throws(() => heads.forward(feature, 4), /HeadDIL.forward: task 4 was never set up \(tasks 1..3 are set up/);
    });
    assert.throws(() => heads.setupTask(4, 5), /HeadDIL.setupTask: task 4 has 5 classes, but the shared head has 10/);
    assert.equal(heads.numTasks, 3);
    heads.dispose();
  });
});

describe('heads: registration, seeding, createHeads', () => {
  test('heads created later appear in the parent\'s parameters and state dict, and load back', () => {
    const parent = new Holder(new HeadsCIL(3));
    assert.deepEqual(parent.namedParameters(), []);
    parent.heads.setupTask(1, 2);
    parent.heads.setupTask(2, 2);
    assert.deepEqual(Object.keys(parent.stateDict()), ['heads.heads.0.weight', 'heads.heads.0.bias', 'heads.heads.1.weight', 'heads.heads.1.bias']);
    const other = new Holder(new HeadsCIL(3));
    other.heads.setupTask(1, 2);
    assert.throws(() => other.loadStateDict(parent.stateDict()), /unexpected keys: heads.heads.1.weight, heads.heads.1.bias/);
    other.heads.setupTask(2, 2);
    other.loadStateDict(parent.stateDict());
    for (const [name, p] of other.namedParameters()) assert.ok(p.equal(parent.stateDict()[name]!), name);
    // A clone has heads of its own.
    const copy = parent.clone();
    assert.notEqual(copy.parameters()[0], parent.parameters()[0]);
    assert.ok(copy.parameters()[0]!.equal(parent.parameters()[0]!));
    for (const m of [parent, other, copy]) m.dispose();
  });

  test('a head is initialised as nn.Linear(featureDim, numClasses) after the same seed', () => {
    for (const make of [(d: number) => new HeadsTIL(d), (d: number) => new HeadsCIL(d), (d: number) => new HeadDIL(d)]) {
      const heads = make(7);
      manualSeed(31);
      heads.setupTask(1, 5);
      manualSeed(31);
      const linear = new nn.Linear(7, 5);
      assert.ok(heads.head(1).weight.equal(linear.weight));
      assert.ok(heads.head(1).bias!.equal(linear.bias!));
      heads.dispose();
      linear.dispose();
    }
  });

  test('new heads follow the dtype of the existing ones, or the configured one', () => {
    const heads = new HeadsTIL(3, { dtype: 'float64' });
    heads.setupTask(1, 2);
    assert.equal(heads.head(1).weight.dtype, 'float64');
    const moved = new HeadsCIL(3);
    moved.to('float64');
    moved.setupTask(1, 2);
    moved.setupTask(2, 2);
    assert.equal(moved.head(2).weight.dtype, 'float64');
    tidy(() => {
      const logits: Tensor = moved.forward(randn([2, 3]).double(), 1);
      assert.equal(logits.dtype, 'float64');
    });
    heads.dispose();
    moved.dispose();
  });

  test('createHeads makes the paradigm\'s heads; bad arguments are errors', () => {
    assert.ok(createHeads('til', 8) instanceof HeadsTIL);
    assert.ok(createHeads('cil', 8) instanceof HeadsCIL);
    assert.ok(createHeads('dil', 8) instanceof HeadDIL);
    assert.equal(createHeads('cil', 8).featureDim, 8);
    assert.throws(() => createHeads('xil' as 'til', 8), /unknown paradigm 'xil' \(available: til, cil, dil\)/);
    assert.throws(() => createHeads('til', 0), /HeadsTIL: featureDim must be a positive integer, got 0/);
  });
});
