// Scopes: tidy() frees what it created except its result, keep() opts out,
// `using` disposes at block end. Checked through isDisposed and through the
// addon's count of live tensor handles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Tensor, keep, liveTensorCount, ones, scopeDepth, tensor, tidy, zeros } from '../../src/index.js';
import { settledTensorCount } from '../helpers.js';

/** Runs fn and returns how many tensor handles it left alive. */
function leftAlive(fn: () => void): number {
  const before = liveTensorCount();
  fn();
  return liveTensorCount() - before;
}

describe('scope: tidy', () => {
  it('frees everything created inside except the returned tensor', () => {
    let inner: Tensor[] = [];
    let result: Tensor | undefined;
    const alive = leftAlive(() => {
      result = tidy(() => {
        const a = ones([3]);
        const b = a.add(1);
        const c = b.mul(b).sum();
        inner = [a, b];
        return c;
      });
    });
    assert.deepEqual(inner.map((t) => t.isDisposed), [true, true]);
    assert.equal(result!.isDisposed, false);
    assert.equal(result!.item(), 12);
    assert.equal(alive, 1);
    result!.dispose();
  });

  it('hands a nested scope result to the parent, which frees it unless it returns it too', () => {
    let fromInner: Tensor | undefined;
    let innerTemp: Tensor | undefined;
    const alive = leftAlive(() => {
      const outer = tidy(() => {
        fromInner = tidy(() => {
          innerTemp = zeros([2]);
          return innerTemp.add(5);
        });
        assert.equal(innerTemp!.isDisposed, true);
        assert.equal(fromInner.isDisposed, false);
        return fromInner.sum();
      });
      assert.equal(fromInner!.isDisposed, true, 'the parent scope freed the inner result it did not return');
      assert.equal(outer.item(), 10);
      outer.dispose();
    });
    assert.equal(alive, 0);
  });

  it('keeps tensors returned inside arrays and plain objects', () => {
    let temp: Tensor | undefined;
    const out = tidy(() => {
      temp = ones([1]);
      return { first: temp.add(1), rest: [temp.add(2), { deep: temp.add(3) }], label: 'not a tensor' };
    });
    assert.equal(temp!.isDisposed, true);
    const kept = [out.first, out.rest[0] as Tensor, (out.rest[1] as { deep: Tensor }).deep];
    assert.deepEqual(kept.map((t) => t.item()), [2, 3, 4]);
    for (const t of kept) t.dispose();
  });

  it('keep() protects a tensor from every enclosing scope', () => {
    let kept: Tensor | undefined;
    tidy(() => {
      tidy(() => {
        kept = keep(tensor([7]));
      });
    });
    assert.equal(kept!.isDisposed, false);
    assert.equal(kept!.item(), 7);
    kept!.dispose();
  });

  it('frees the scope and rethrows when the function throws', () => {
    let temp: Tensor | undefined;
    const alive = leftAlive(() => {
      assert.throws(
        () =>
          tidy(() => {
            temp = ones([4]);
            temp.matmul(ones([5]));
          }),
        /^Error: matmul: inconsistent tensor size/,
      );
    });
    assert.equal(temp!.isDisposed, true);
    assert.equal(alive, 0);
    assert.equal(scopeDepth(), 0);
  });

  it('rejects an async function with a clear error, frees its tensors, and leaves no unhandled rejection', async () => {
    let unhandled: unknown;
    const onUnhandled = (reason: unknown) => (unhandled = reason);
    process.on('unhandledRejection', onUnhandled);
    let temp: Tensor | undefined;
    try {
      assert.throws(
        () =>
          tidy(async () => {
            temp = ones([2]);
            throw new Error('late failure');
          }),
        { name: 'TypeError', message: /tidy\(\) got an async function/ },
      );
      assert.equal(temp!.isDisposed, true);
      assert.equal(scopeDepth(), 0);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(unhandled, undefined);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('leaves tensors created outside alone, even when returned', () => {
    const outside = ones([2]);
    const same = tidy(() => {
      outside.add(1);
      return outside;
    });
    assert.equal(same, outside);
    assert.equal(outside.isDisposed, false);
    tidy(() => tidy(() => outside));
    assert.equal(outside.isDisposed, false);
    outside.dispose();
  });

  it('dispose() is idempotent and releases the native tensor at once', () => {
    const alive = leftAlive(() => {
      const t = zeros([1000]);
      assert.equal(liveTensorCount() > 0, true);
      t.dispose();
      t.dispose();
    });
    assert.equal(alive, 0);
  });
});

describe('scope: using', () => {
  it('disposes at the end of the block, also when the block throws', () => {
    let t: Tensor | undefined;
    {
      using x = ones([2, 2]);
      t = x;
      assert.equal(x.sum().item(), 4);
    }
    assert.equal(t.isDisposed, true);
    let u: Tensor | undefined;
    assert.throws(() => {
      using y = ones([1]);
      u = y;
      throw new Error('inside');
    }, /inside/);
    assert.equal(u!.isDisposed, true);
  });
});

describe('scope: the garbage-collection guard', () => {
  it('frees an unreachable guarded tensor, and never a tensor that reused the slot of a disposed one', () => {
    const before = settledTensorCount();
    // Guarded (no scope), disposed, then dropped: its slot is reused at once.
    let first: Tensor | undefined = ones([2]);
    first.dispose();
    first = undefined;
    const reused = zeros([3]);
    // Guarded and dropped without dispose(): only the collector frees it.
    for (let i = 0; i < 100; i++) ones([4]).mul(2);
    assert.equal(settledTensorCount(), before + 1, 'the dropped tensors are freed; the one reusing the disposed slot is not');
    assert.deepEqual(reused.toArray(), [0, 0, 0]);
    reused.dispose();
    assert.equal(settledTensorCount(), before);
  });

  it('tensors held by a scope out of creation order are all freed, and kept ones survive', () => {
    const before = liveTensorCount();
    const kept: Tensor[] = [];
    tidy(() => {
      const made = Array.from({ length: 300 }, (_, i) => tensor([i]));
      // Freed oldest first, which leaves holes for the scope to compact.
      for (let i = 0; i < 250; i++) made[i]!.dispose();
      kept.push(keep(made[260]!), keep(made[299]!));
    });
    assert.equal(liveTensorCount(), before + 2);
    assert.deepEqual(kept.map((t) => t.item()), [260, 299]);
    for (const t of kept) t.dispose();
    assert.equal(liveTensorCount(), before);
  });
});
