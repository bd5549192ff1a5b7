// Autograd: composite functions against PyTorch, backward and grad() options,
// grad modes, and finite-difference checks in float64.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Tensor,
  arange,
  enableGrad,
  grad,
  isGradEnabled,
  noGrad,
  randn,
  manualSeed,
  tensor,
  tidy,
} from '../../src/index.js';
import { native } from '../../src/tensor/native.js';
import { assertMatches, assertTensorsMatch, fromFixture } from '../helpers.js';
import { familyCases, rounded, runFamily } from './cases.js';

const linear = (x: Tensor, w: Tensor, b?: Tensor) => Tensor.wrap(native.linear(x.handle, w.handle, b?.handle));
const crossEntropy = (z: Tensor, target: Tensor) => Tensor.wrap(native.crossEntropy(z.handle, target.handle, null, 'mean', -100, 0));

function mlp(t: Record<string, Tensor>): { loss: Tensor; hidden: Tensor; logits: Tensor } {
  const hidden = linear(t.x!, t.w1!, t.b1!).tanh();
  const logits = linear(hidden, t.w2!, t.b2!);
  return { loss: crossEntropy(logits, t.target!), hidden, logits };
}

runFamily('autograd', {
  mlp: (t) => mlp(t).loss,
  attention: (t) => t.q!.matmul(t.k!.transpose(0, 1)).div(Math.sqrt(t.q!.shape[1]!)).softmax(-1).matmul(t.v!),
  layer_norm_chain: (t) => {
    const centred = t.x!.sub(t.x!.mean(1, true));
    return centred.div(centred.pow(2).mean(1, true).add(1e-5).sqrt()).exp().sum(0);
  },
  reused_input: (t) => t.x!.mul(t.x!.sigmoid()).add(t.x!.sum().mul(t.x!.abs().max())),
});

describe('autograd: backward', () => {
  it('takes an explicit gradient for a non-scalar output', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
      x.mul(x).backward(tensor([1, 0.5, 2], { dtype: 'float32' }));
      // d(x^2)/dx = 2x, weighted by the gradient.
      assert.deepEqual(x.grad!.toArray(), [2, 2, 12]);
    });
  });

  it('refuses an implicit gradient for a non-scalar output', () => {
    tidy(() => {
      const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      assert.throws(() => x.mul(2).backward(), /backward: grad can be implicitly created only for scalar outputs/);
    });
  });

  it('accumulates into .grad; retainGraph allows a second backward, which otherwise fails', () => {
    tidy(() => {
      const x = tensor([1, -2], { dtype: 'float64', requiresGrad: true });
      const y = x.pow(3).sum();
      y.backward(null, { retainGraph: true });
      y.backward();
      // Twice 3x^2.
      assert.deepEqual(x.grad!.toArray(), [6, 24]);
      assert.throws(() => y.backward(), /backward: .*backward through the graph a second time/);
      x.grad = null;
      assert.equal(x.grad, null);
    });
  });

  it('marks leaves and non-leaves; retainGrad keeps an intermediate gradient; detach cuts the graph', () => {
    tidy(() => {
      const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      const h = x.mul(3).retainGrad();
      const cut = h.detach();
      assert.equal(x.isLeaf, true);
      assert.equal(h.isLeaf, false);
      assert.equal(cut.requiresGrad, false);
      h.mul(h).sum().add(cut.sum()).backward();
      assert.deepEqual(h.grad!.toArray(), [6, 12]);
      assert.deepEqual(x.grad!.toArray(), [18, 36]);
    });
  });

  it('an assigned .grad is accumulated into; one of another size or dtype is refused', () => {
    tidy(() => {
      const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      x.grad = tensor([10, 20], { dtype: 'float32' });
      x.mul(x).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [12, 24]);
      assert.throws(() => (x.grad = tensor([1, 2, 3], { dtype: 'float32' })), /^Error: setGrad: assigned grad has data of a different size/);
      assert.throws(() => (x.grad = tensor([1, 2], { dtype: 'float64' })), /^Error: setGrad: assigned grad has data of a different type/);
      assert.deepEqual(x.grad!.toArray(), [12, 24], 'a refused assignment changes nothing');
    });
  });

  it('createGraph gives a gradient that can itself be differentiated', () => {
    tidy(() => {
      const x = tensor([0.5, -1, 2], { dtype: 'float64', requiresGrad: true });
      x.pow(3).sum().backward(null, { createGraph: true });
      const g = x.grad!;
      assert.equal(g.requiresGrad, true);
      const [second] = grad(g.sum(), x);
      // d/dx sum(3x^2) = 6x.
      assert.deepEqual(second!.toArray(), [3, -6, 12]);
    });
  });
});

describe('autograd: grad()', () => {
  it('gradient w.r.t. a linear layer output, with the layer input, reproduces the weight gradient (g^T a)', () => {
    tidy(() => {
      const c = familyCases('autograd')['mlp_cross_entropy']!;
      const t: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(c.inputs)) t[k] = fromFixture(v, { requiresGrad: k in (c.grads ?? {}) });
      const { loss: unweighted, hidden, logits } = mlp(t);
      // The fixture's gradients are those of loss * w, w being its output weight.
      const loss = unweighted.mul(fromFixture(c.weights![0]!));
      const [g] = grad(loss, logits, { retainGraph: true });
      assert.equal(t.w2!.grad, null, 'grad() leaves .grad alone');
      const fromGrad = g!.t().matmul(hidden);
      assertMatches(fromGrad, rounded(c.grads!['w2']!), 'g^T a vs PyTorch dL/dW2');
      // The bias gradient is the sum of g over the batch.
      assert.ok(g!.sum(0).allclose(grad(loss, t.b2!, { retainGraph: true })[0]!, { rtol: 1e-6, atol: 1e-7 }));
      loss.backward();
      assert.ok(fromGrad.allclose(t.w2!.grad!, { rtol: 1e-6, atol: 1e-7 }));
    });
  });

  it('allowUnused gives null for an input the outputs do not depend on, and an error without it', () => {
    tidy(() => {
      const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      const unused = tensor([3], { dtype: 'float32', requiresGrad: true });
      const y = x.mul(x).sum();
      const [gx, gu] = grad(y, [x, unused], { allowUnused: true, retainGraph: true });
      assert.deepEqual(gx!.toArray(), [2, 4]);
      assert.equal(gu, null);
      assert.throws(() => grad(y, [x, unused]), /autogradGrad: One of the differentiated Tensors appears to not have been used in the graph/);
    });
  });

  it('takes gradOutputs for non-scalar outputs and several outputs at once', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
      const a = x.mul(2);
      const b = x.pow(2);
      const [g] = grad([a, b], x, { gradOutputs: [tensor([1, 1, 1], { dtype: 'float64' }), tensor([1, 0, -1], { dtype: 'float64' })] });
      // 2 * 1 + 2x * [1, 0, -1]
      assert.deepEqual(g!.toArray(), [4, 2, -4]);
    });
  });
});

describe('autograd: grad mode', () => {
  it('noGrad records no graph and restores the mode', () => {
    tidy(() => {
      const x = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
      const y = noGrad(() => {
        assert.equal(isGradEnabled(), false);
        const inner = enableGrad(() => x.mul(2));
        assert.equal(inner.requiresGrad, true, 'enableGrad turns tracking back on');
        assert.equal(isGradEnabled(), false);
        return x.mul(2);
      });
      assert.equal(isGradEnabled(), true);
      assert.equal(y.requiresGrad, false);
      assert.equal(x.mul(2).requiresGrad, true);
    });
  });

  it('noGrad restores the mode when its function throws', () => {
    assert.throws(
      () =>
        noGrad(() => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(isGradEnabled(), true);
    assert.throws(() => noGrad(() => tensor([1]).matmul(tensor([1, 2]))), /dot|matmul/);
    assert.equal(isGradEnabled(), true);
  });

  it('noGrad refuses an async function with a clear error, without an unhandled rejection', async () => {
    let unhandled: unknown;
    const onUnhandled = (reason: unknown) => (unhandled = reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      assert.throws(
        () =>
          noGrad(async () => {
            throw new Error('late failure');
          }),
        { name: 'TypeError', message: /async function/ },
      );
      assert.equal(isGradEnabled(), true);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(unhandled, undefined);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/** Central differences of a scalar function of one float64 tensor. */
function numericGradient(f: (x: Tensor) => Tensor, x: Tensor, eps = 1e-6): number[] {
  return tidy(() =>
    noGrad(() => {
      const base = Array.from(x.toTypedArray() as Float64Array);
      return base.map((_, i) => {
        const at = (delta: number) => {
          const shifted = base.slice();
          shifted[i]! += delta;
          return f(tensor(new Float64Array(shifted), { shape: x.shape })).item();
        };
        return (at(eps) - at(-eps)) / (2 * eps);
      });
    }),
  );
}

let gradCheckSeed = 100;
function gradCheck(name: string, shape: number[], f: (x: Tensor) => Tensor): void {
  const seed = gradCheckSeed++;
  it(name, () => {
    tidy(() => {
      manualSeed(seed);
      const x = randn(shape, { dtype: 'float64' }).requiresGrad_(true);
      f(x).backward();
      const numeric = tensor(new Float64Array(numericGradient(f, x.detach())), { shape: x.shape });
      // Central differences err in proportion to the function's scale, so
      // the gradient's RMS bounds every element's error.
      assertTensorsMatch(x.grad!, numeric, `${name}: autograd vs finite differences`, { rtol: 1e-5, atol: 1e-6 });
    });
  });
}

describe('autograd: finite differences (float64)', () => {
  manualSeed(31);
  const w = noGrad(() => randn([4, 3], { dtype: 'float64' }));
  gradCheck('logsumexp of a product, plus a cubic', [2, 4], (x) => x.matmul(w).logsumexp(1).mean().add(x.pow(3).sum().mul(0.1)));
  gradCheck('softmax weighted by sin, plus the norm', [3, 4], (x) => x.softmax(-1).mul(x.sin()).sum().add(x.norm()));
  gradCheck('variance, standard deviation and a quantile', [3, 5], (x) => x.var(1).sum().add(x.std()).add(x.quantile(0.3, 1).sum()));
  gradCheck('sorting, indexing and gathering', [4, 3], (x) =>
    x
      .sort(1).values.mul(arange(3, { dtype: 'float64' }))
      .sum()
      .add(x.index(tensor([2, 0, 2]), { start: 1 }).pow(2).sum())
      .add(x.gather(1, tensor([[0], [2], [1], [1]])).exp().sum()),
  );
  gradCheck('cross entropy with label smoothing over log-softmax features', [3, 4], (x) =>
    Tensor.wrap(native.crossEntropy(x.logSoftmax(1).mul(2).handle, tensor([1, 0, 3]).handle, null, 'mean', -100, 0.1)),
  );
  gradCheck('batch norm in training mode', [5, 3], (x) =>
    Tensor.wrap(native.batchNorm(x.handle, null, null, null, null, true, 0.1, 1e-5)).mul(x.cos()).sum(),
  );
});
