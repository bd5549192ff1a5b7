// Mini-batches: coverage, reproducible order, ownership of the tensors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchOrder, batches, subset, tensorDataset } from '../../../src/continual/benchmarks/data.js';
import type { TensorDataset } from '../../../src/continual/contracts/types.js';
import { arange, liveTensorCount, tidy } from '../../../src/index.js';

/** 103 examples: x[i] = [2i, 2i + 1], y[i] = i, so rows can be matched to labels. */
function make(): TensorDataset {
  return tensorDataset(arange(206, { dtype: 'float32' }).reshape([103, 2]), arange(103));
}

function dispose(d: TensorDataset): void {
  d.x.dispose();
  d.y.dispose();
}

/** The labels of every batch, checking each row against its label. */
function collect(d: TensorDataset, size: number, options: Parameters<typeof batches>[2]): number[][] {
  return tidy(() => {
    const out: number[][] = [];
    for (const b of batches(d, size, options)) {
      const ys = Array.from(b.y.toTypedArray(), Number);
      const xs = Array.from(b.x.toTypedArray(), Number);
      ys.forEach((y, i) => assert.deepEqual([xs[2 * i], xs[2 * i + 1]], [2 * y, 2 * y + 1]));
      assert.equal(b.x.shape[0], ys.length);
      out.push(ys);
    }
    return out;
  });
}

describe('batches', () => {
  it('in order without shuffle, the last batch smaller', () => {
    const d = make();
    const got = collect(d, 10, { shuffle: false });
    assert.equal(got.length, 11);
    assert.deepEqual(got.map((b) => b.length), [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    assert.deepEqual(got.flat(), Array.from({ length: 103 }, (_, i) => i));
    dispose(d);
  });

  it('shuffled: every example exactly once per epoch, the order fixed by the seed', () => {
    const d = make();
    const a = collect(d, 16, { shuffle: true, seed: 42 });
    assert.deepEqual([...a.flat()].sort((p, q) => p - q), Array.from({ length: 103 }, (_, i) => i));
    assert.notDeepEqual(a.flat(), Array.from({ length: 103 }, (_, i) => i));
    assert.deepEqual(collect(d, 16, { shuffle: true, seed: 42 }), a);
    assert.notDeepEqual(collect(d, 16, { shuffle: true, seed: 43 }).flat(), a.flat());
    assert.deepEqual(a.flat(), [...batchOrder(103, { shuffle: true, seed: 42 })]);
    dispose(d);
  });

  it('dropLast leaves out the incomplete batch', () => {
    const d = make();
    const got = collect(d, 25, { shuffle: true, seed: 1, dropLast: true });
    assert.deepEqual(got.map((b) => b.length), [25, 25, 25, 25]);
    dispose(d);
  });

  it('rejects shuffling without a seed and bad batch sizes', () => {
    const d = make();
    assert.throws(() => batches(d, 4, { shuffle: true }).next(), /shuffle needs a seed/);
    assert.throws(() => batches(d, 0).next(), /batchSize must be a positive integer/);
    assert.throws(() => tensorDataset(d.x, arange(5)), /disagree/);
    dispose(d);
  });

  it('batches belong to the caller: a tidy around the loop frees them all', () => {
    const d = make();
    const before = liveTensorCount();
    tidy(() => {
      for (const b of batches(d, 7, { shuffle: true, seed: 5 })) b.x.sum();
    });
    assert.equal(liveTensorCount(), before);
    // Disposing each batch as it goes (as the trainer does) leaves nothing either.
    for (const b of batches(d, 50, { shuffle: false })) {
      b.x.dispose();
      b.y.dispose();
    }
    assert.equal(liveTensorCount(), before);
    dispose(d);
  });

  it('subset picks examples in the order given', () => {
    const d = make();
    const s = subset(d, [5, 0, 102]);
    assert.deepEqual(Array.from(s.y.toTypedArray(), Number), [5, 0, 102]);
    assert.deepEqual(Array.from(s.x.toTypedArray(), Number), [10, 11, 0, 1, 204, 205]);
    dispose(s);
    dispose(d);
  });
});
