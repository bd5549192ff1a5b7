// nn.init against PyTorch 1.13: gains, fans, and seeded draws that must be
// bit-identical to torch.nn.init's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DType, type Tensor, empty, manualSeed, ones, tidy, zeros } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { type FixtureTensor, assertMatches, loadFixture } from '../helpers.js';

const { init } = nn;

interface Fixture {
  init: {
    gains: [string, number | null, number][];
    fans: [number[], [number, number]][];
    draws: Record<string, FixtureTensor>;
    sequence: { a: FixtureTensor; b: FixtureTensor; c: FixtureTensor };
  };
}

const fixture = loadFixture<Fixture>('nn').init;
const EXACT = { rtol: 0, atol: 0 };

/** PyTorch's snake_case nonlinearity names in our camelCase. */
function camel(name: string): nn.init.Nonlinearity {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) as nn.init.Nonlinearity;
}

describe('calculateGain and fans', () => {
  test('every nonlinearity gives PyTorch\'s gain exactly', () => {
    assert.equal(fixture.gains.length, 15);
    for (const [name, param, expected] of fixture.gains) {
      assert.equal(init.calculateGain(camel(name), param), expected, `${name}(${param})`);
    }
  });

  test('calculateFanInAndFanOut matches PyTorch for 2- to 5-d shapes', () => {
    for (const [shape, expected] of fixture.fans) {
      tidy(() => assert.deepEqual(init.calculateFanInAndFanOut(empty(shape)), expected, `shape [${shape.join(', ')}]`));
    }
  });

  test('bad arguments are rejected', () => {
    tidy(() => {
      assert.throws(() => init.calculateFanInAndFanOut(empty([5])), /fewer than 2 dims/);
      assert.throws(() => init.kaimingUniform_(empty([5])), /fewer than 2 dims/);
      assert.throws(() => init.calculateGain('softplus' as nn.init.Nonlinearity), /unsupported nonlinearity 'softplus'/);
      assert.throws(() => init.calculateGain('leakyRelu', Number.NaN), /not a valid number/);
      assert.throws(() => init.kaimingNormal_(empty([3, 3]), { mode: 'fan_in' as nn.init.FanMode }), /mode 'fan_in' is not supported/);
    });
  });
});

describe('seeded draws equal torch.nn.init exactly', () => {
  const cases: [string, number, (t: Tensor) => Tensor, DType?][] = [
    ['uniform', 40, (t) => init.uniform_(t, -0.5, 2.0)],
    ['uniformDefault', 41, (t) => init.uniform_(t)],
    ['normal', 42, (t) => init.normal_(t, 1.0, 0.5)],
    ['normalFloat64', 43, (t) => init.normal_(t), 'float64'],
    ['constant', 44, (t) => init.constant_(t, 0.25)],
    ['kaimingUniform', 45, (t) => init.kaimingUniform_(t)],
    ['kaimingUniformSqrt5', 46, (t) => init.kaimingUniform_(t, { a: Math.sqrt(5) })],
    ['kaimingUniformFanOutRelu', 47, (t) => init.kaimingUniform_(t, { mode: 'fanOut', nonlinearity: 'relu' })],
    ['kaimingNormal', 48, (t) => init.kaimingNormal_(t)],
    ['kaimingNormalFanOut', 49, (t) => init.kaimingNormal_(t, { a: 0.1, mode: 'fanOut' })],
    ['xavierUniform', 50, (t) => init.xavierUniform_(t)],
    ['xavierUniformTanh', 51, (t) => init.xavierUniform_(t, init.calculateGain('tanh'))],
    ['xavierNormal', 52, (t) => init.xavierNormal_(t)],
    ['xavierNormalGain', 53, (t) => init.xavierNormal_(t, 2.5)],
  ];
  for (const [name, seed, fill, dtype] of cases) {
    test(name, () => {
      const expected = fixture.draws[name]!;
      tidy(() => {
        manualSeed(seed);
        const t = empty(expected.shape, { dtype: dtype ?? 'float32' });
        assert.equal(fill(t), t, 'returns the tensor it filled');
        assertMatches(t, expected, name, EXACT);
      });
    });
  }

  test('several initialisers after one seed continue the same stream', () => {
    const { a, b, c } = fixture.sequence;
    tidy(() => {
      manualSeed(54);
      const ta = empty([3, 4]);
      const tb = empty([6]);
      const tc = empty([2, 3], { dtype: 'float64' });
      init.kaimingUniform_(ta);
      init.normal_(tb, 0, 2);
      init.xavierUniform_(tc);
      assertMatches(ta, a, 'kaimingUniform_', EXACT);
      assertMatches(tb, b, 'normal_', EXACT);
      assertMatches(tc, c, 'xavierUniform_', EXACT);
    });
  });
});

describe('in-place initialisation of parameters', () => {
  test('works on a Parameter that requires grad, leaves it a leaf and records no graph', () => {
    tidy(() => {
      const p = new nn.Parameter(empty([4, 3]));
      init.kaimingUniform_(p);
      init.zeros_(p);
      assert.equal(p.isLeaf, true);
      assert.equal(p.requiresGrad, true);
      assert.ok(p.equal(zeros([4, 3])));
      init.ones_(p);
      assert.ok(p.equal(ones([4, 3])));
      init.constant_(p, -2);
      assert.equal(p.sum().item(), -24);
      p.dispose();
    });
  });

  test('zero-element tensors are left alone by the kaiming initialisers', () => {
    tidy(() => {
      const t = empty([0, 3]);
      assert.equal(init.kaimingUniform_(t), t);
      assert.equal(init.kaimingNormal_(t), t);
    });
  });
});
