// Shape, joining, splitting and indexing operations against PyTorch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type IndexSpec, arange, cat, stack, tensor, tidy } from '../../src/index.js';
import { runFamily } from './cases.js';

type FixtureSpec = number | null | string | { start?: number; end?: number; step?: number };

runFamily('shape', {
  reshape: (t, a) => t.x!.reshape(a.shape),
  reshape_transposed: (t, a) => t.x!.t().reshape(a.shape),
  view: (t, a) => t.x!.view(...(a.shape as number[])),
  flatten: (t, a) => t.x!.flatten(a.start, a.end),
  permute: (t, a) => t.x!.permute(a.dims),
  transpose: (t, a) => t.x!.transpose(a.a, a.b),
  t: (t) => t.x!.t(),
  squeeze: (t, a) => t.x!.squeeze(a.dim ?? undefined),
  unsqueeze: (t, a) => t.x!.unsqueeze(a.dim),
  expand: (t, a) => t.x!.expand(a.shape),
  repeat: (t, a) => t.x!.repeat(...(a.repeats as number[])),
  flip: (t, a) => t.x!.flip(a.dims),
  contiguous_of_transpose: (t) => t.x!.t().contiguous(),
  cat: (t, a) => cat([t.a!, t.b!, t.c!], a.dim),
  stack: (t, a) => stack([t.a!, t.b!, t.c!], a.dim),
  split: (t, a) => t.x!.split(a.size, a.dim),
  chunk: (t, a) => t.x!.chunk(a.chunks, a.dim),
  unbind: (t, a) => t.x!.unbind(a.dim),
  narrow: (t, a) => t.x!.narrow(a.dim, a.start, a.length),
  slice: (t, a) => t.x!.slice(a.dim, a.start, a.end, a.step),
  select: (t, a) => t.x!.select(a.dim, a.index),
  indexSelect: (t, a) => t.x!.indexSelect(a.dim, t.index!),
  index: (t, a) => t.x!.index(...(a.specs as FixtureSpec[]).map((s): IndexSpec => (typeof s === 'string' ? t[s]! : s))),
  gather: (t, a) => t.x!.gather(a.dim, t.index!),
  scatter: (t, a) => t.x!.scatter(a.dim, t.index!, t.src!),
  scatter_value: (t, a) => t.x!.scatter(a.dim, t.index!, a.value),
  scatterAdd: (t, a) => t.x!.scatterAdd(a.dim, t.index!, t.src!),
  maskedFill: (t, a) => t.x!.maskedFill(t.mask!, a.value),
  maskedSelect: (t) => t.x!.maskedSelect(t.mask!),
  nonzero: (t) => t.x!.nonzero(),
});

describe('shape: views and copies', () => {
  it('view, reshape of a contiguous tensor, slices and t() share storage; contiguous() of a transpose does not', () => {
    tidy(() => {
      const x = arange(12, { dtype: 'float32' }).reshape(3, 4);
      const view = x.view(4, 3);
      const row = x.index(1);
      const column = x.index(null, 2);
      const tr = x.t();
      view.index(0).fill_(-1);
      // x[0, 0:3] are the first three elements of the view's first row.
      assert.deepEqual(x.index(0).toArray(), [-1, -1, -1, 3]);
      row.mul_(10);
      assert.deepEqual(x.index(1).toArray(), [40, 50, 60, 70]);
      assert.deepEqual(column.toArray(), [-1, 60, 10]);
      assert.deepEqual(tr.index(2).toArray(), [-1, 60, 10]);
      assert.equal(tr.isContiguous(), false);
      const copy = tr.contiguous();
      assert.equal(copy.isContiguous(), true);
      x.zero_();
      assert.deepEqual(copy.index(2).toArray(), [-1, 60, 10], 'contiguous() of a non-contiguous tensor is a copy');
    });
  });

  it('index() with nothing to index gives a view that keeps the graph', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
      const all = x.index();
      const half = x.index({ start: 1 });
      all.mul(half.sum()).sum().backward();
      // d/dx_i of (x1 + x2 + x3)(x2 + x3) = [x2 + x3, x1 + 2(x2 + x3), same].
      assert.deepEqual(x.grad!.toArray(), [5, 11, 11]);
    });
  });

  it('t() of a vector is a view that keeps the graph, and t() refuses more than 2 dims', () => {
    tidy(() => {
      const v = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      const vt = v.t();
      assert.equal(vt.requiresGrad, true);
      vt.mul(3).sum().backward();
      assert.deepEqual(v.grad!.toArray(), [3, 3]);
      assert.throws(() => arange(8).reshape(2, 2, 2).t(), /t: .*2/);
    });
  });

  it('split and chunk pieces are views of the input', () => {
    tidy(() => {
      const x = arange(6);
      const [a, b] = x.split([2, 4]);
      b!.fill_(0);
      a!.add_(100);
      assert.deepEqual(x.toArray(), [100, 101, 0, 0, 0, 0]);
    });
  });
});
