// Random draws: after manualSeed, our draws are PyTorch's, bit for bit (the
// same libtorch generator), and the generator state can be saved and restored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DType,
  Tensor,
  bernoulli,
  empty,
  getRngState,
  manualSeed,
  multinomial,
  ones,
  rand,
  randint,
  randn,
  randperm,
  setRngState,
  tensor,
  tidy,
} from '../../src/index.js';
import { native } from '../../src/tensor/native.js';
import { runFamily } from './cases.js';

const opts = (a: { dtype?: DType | null }) => (a.dtype == null ? {} : { dtype: a.dtype });
const seeded = <T>(seed: number, draw: () => T): T => {
  manualSeed(seed);
  return draw();
};

runFamily(
  'random',
  {
    rand: (_, a) => seeded(a.seed, () => rand(a.shape, opts(a))),
    randn: (_, a) => seeded(a.seed, () => randn(a.shape, opts(a))),
    randint: (_, a) => seeded(a.seed, () => randint(a.low, a.high, a.shape, opts(a))),
    randperm: (_, a) => seeded(a.seed, () => randperm(a.n)),
    uniform_: (_, a) => seeded(a.seed, () => empty(a.shape).uniform_(a.low, a.high)),
    normal_: (_, a) => seeded(a.seed, () => empty(a.shape).normal_(a.mean, a.std)),
    bernoulli: (_, a) => seeded(a.seed, () => bernoulli(tensor(a.p, { dtype: 'float32' }))),
    multinomial: (_, a) => seeded(a.seed, () => multinomial(tensor(a.probs, { dtype: 'float32' }), a.n, a.replacement)),
    dropout: (_, a) => seeded(a.seed, () => Tensor.wrap(native.dropout(ones(a.shape).handle, a.p, true))),
    sequence: (_, a) => seeded(a.seed, () => [rand([3]), randn([2, 2]), randint(0, 100, [4]), randperm(5)]),
  },
  // Same generator, same arithmetic: exact equality.
  { '*': { rtol: 0, atol: 0 } },
);

describe('random: generator state', () => {
  it('the same seed gives the same draws, another seed different ones', () => {
    tidy(() => {
      const a = seeded(42, () => randn([8]));
      const b = seeded(42, () => randn([8]));
      const c = seeded(43, () => randn([8]));
      assert.ok(a.equal(b));
      assert.ok(!a.equal(c));
    });
  });

  it('getRngState / setRngState replay the draws that followed the snapshot', () => {
    tidy(() => {
      manualSeed(7);
      rand([5]);
      const state = getRngState();
      assert.equal(state.dtype, 'uint8');
      const first = [rand([4]), randn([20]), randint(0, 1000, [6])];
      rand([3]);
      setRngState(state);
      const again = [rand([4]), randn([20]), randint(0, 1000, [6])];
      first.forEach((t, i) => assert.ok(t.equal(again[i]!), `draw ${i} replays`));
    });
  });

  it('rand stays in [0, 1), randint in [low, high), randperm is a permutation', () => {
    tidy(() => {
      manualSeed(1);
      const u = rand([5000]).toTypedArray() as Float32Array;
      assert.ok(u.every((v) => v >= 0 && v < 1));
      const mean = u.reduce((s, v) => s + v, 0) / u.length;
      // The mean of n uniforms has standard deviation sqrt(1/12/n) ~ 0.004.
      assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
      const ints = randint(-3, 4, [2000]).toArray() as number[];
      assert.ok(ints.every((v) => Number.isInteger(v) && v >= -3 && v < 4));
      assert.equal(new Set(ints).size, 7);
      const perm = randperm(100).toArray() as number[];
      assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    });
  });

  it('randn has mean 0 and variance 1', () => {
    tidy(() => {
      manualSeed(2);
      const x = randn([20000], { dtype: 'float64' });
      assert.ok(Math.abs(x.mean().item()) < 0.04);
      assert.ok(Math.abs(x.var().item() - 1) < 0.05);
    });
  });

  it('manualSeed rejects negative and fractional seeds', () => {
    assert.throws(() => manualSeed(-1), RangeError);
    assert.throws(() => manualSeed(1.5), RangeError);
  });
});
