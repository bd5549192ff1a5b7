// Layers against PyTorch 1.13: seeded initialisation (exact), forward and
// gradients, batch-norm statistics and dropout masks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DType, manualSeed, noGrad, ones, randn, tensor, tidy } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { type FixtureTensor, assertClose, assertMatches, fromFixture, loadFixture } from '../helpers.js';

type Named = [string, FixtureTensor][];

interface ModuleCase {
  params: Named;
  x: FixtureTensor;
  out: FixtureTensor;
  w: FixtureTensor;
  gradX: FixtureTensor;
  grads: Named;
}

interface BatchNormCase {
  inputs: FixtureTensor[];
  outputs: FixtureTensor[];
  runningMean: FixtureTensor;
  runningVar: FixtureTensor;
  numBatchesTracked: FixtureTensor;
  evalInput: FixtureTensor;
  evalOutput: FixtureTensor;
}

interface Fixture {
  layers: Record<string, ModuleCase>;
  batchnorm: {
    bn2d: BatchNormCase & { weight: FixtureTensor; bias: FixtureTensor; w: FixtureTensor; gradX: FixtureTensor; gradWeight: FixtureTensor; gradBias: FixtureTensor };
    bn1dCumulative: BatchNormCase;
    bn1dStateless: { input: FixtureTensor; trainOutput: FixtureTensor; evalOutput: FixtureTensor; stateKeys: string[] };
  };
  dropout: { x: FixtureTensor; functional: FixtureTensor; layer: FixtureTensor };
}

const fixture = loadFixture<Fixture>('nn');
const EXACT = { rtol: 0, atol: 0 };

/**
 * Seeds, builds the layer, draws the input and the output weights as the
 * generator did, and compares everything with PyTorch's run.
 */
function checkModuleCase(name: string, seed: number, make: () => nn.UnaryModule, inputDtype: DType = 'float32'): void {
  const c = fixture.layers[name]!;
  tidy(() => {
    manualSeed(seed);
    const module = make();
    const params = module.namedParameters();
    assert.deepEqual(params.map(([n]) => n), c.params.map(([n]) => n), `${name}: parameter names`);
    // Same generator, same draws, same double-precision bounds: bit-identical.
    params.forEach(([n, p], i) => assertMatches(p, c.params[i]![1], `${name}: initial ${n}`, EXACT));

    const x = randn(c.x.shape, { dtype: inputDtype }).requiresGrad_(true);
    assertMatches(x, c.x, `${name}: input drawn after construction`, EXACT);
    const out = module.forward(x);
    assertMatches(out, c.out, `${name}: output`);
    const w = randn(out.shape, { dtype: out.dtype });
    assertMatches(w, c.w, `${name}: output weights`, EXACT);
    out.mul(w).sum().backward();
    assertMatches(x.grad!, c.gradX, `${name}: input gradient`);
    module.namedParameters().forEach(([n, p], i) => assertMatches(p.grad!, c.grads[i]![1], `${name}: gradient of ${n}`));
    module.dispose();
  });
}

describe('seeded layers match PyTorch (initial parameters, output, gradients)', () => {
  test('Linear(5, 4)', () => checkModuleCase('linear', 0, () => new nn.Linear(5, 4)));
  test('Linear(4, 3) without bias', () => checkModuleCase('linearNoBias', 1, () => new nn.Linear(4, 3, { bias: false })));
  test('Linear(3, 2) in float64', () => checkModuleCase('linearFloat64', 2, () => new nn.Linear(3, 2, { dtype: 'float64' }), 'float64'));
  test('Conv2d(3, 4, 3, stride 2, padding 1)', () => checkModuleCase('conv', 3, () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 })));
  test('Conv2d with rectangular kernel, per-dim stride/padding/dilation and groups', () =>
    checkModuleCase('convGrouped', 4, () => new nn.Conv2d(4, 6, [3, 2], { stride: [1, 2], padding: [2, 1], dilation: [2, 1], groups: 2 })));
  test("Conv2d padding 'same' with an even kernel (asymmetric padding)", () =>
    checkModuleCase('convSame', 5, () => new nn.Conv2d(2, 3, [4, 3], { padding: 'same', bias: false })));
  test("Conv2d padding 'same' with dilation", () => checkModuleCase('convSameDilated', 6, () => new nn.Conv2d(2, 2, 3, { padding: 'same', dilation: 2 })));
  test('MLP Sequential(Linear 20-16, ReLU, Linear 16-16, ReLU, Linear 16-10)', () =>
    checkModuleCase(
      'mlp',
      7,
      () => new nn.Sequential(new nn.Linear(20, 16), new nn.ReLU(), new nn.Linear(16, 16), new nn.ReLU(), new nn.Linear(16, 10)),
    ));
});

describe('layer construction', () => {
  test('shapes and the parameters a layer registers', () => {
    const conv = new nn.Conv2d(4, 6, [3, 2], { groups: 2 });
    assert.deepEqual([...conv.weight.shape], [6, 2, 3, 2]);
    assert.deepEqual([...conv.bias!.shape], [6]);
    const linear = new nn.Linear(3, 7, { bias: false });
    assert.deepEqual(linear.namedParameters().map(([n, p]) => [n, [...p.shape]]), [['weight', [7, 3]]]);
    assert.equal(linear.weight.requiresGrad, true);
    assert.equal(linear.weight.isLeaf, true);
    conv.dispose();
    linear.dispose();
  });

  test('Linear bias bound is 1/sqrt(inFeatures) and the weight bound the same (kaiming a=sqrt(5))', () => {
    // gain = sqrt(2 / 6), bound = sqrt(3) * gain / sqrt(fanIn) = 1 / sqrt(fanIn).
    const linear = new nn.Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    const w = linear.weight.abs().max().item();
    const b = linear.bias!.abs().max().item();
    assert.ok(w <= bound && w > 0.99 * bound, `weight max |w| ${w} vs bound ${bound}`);
    assert.ok(b <= bound && b > 0.9 * bound, `bias max |b| ${b} vs bound ${bound}`);
    linear.dispose();
  });

  test('invalid configurations are rejected with clear messages', () => {
    assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
    assert.throws(() => new nn.Conv2d(4, 3, 3, { groups: 2 }), /outChannels \(3\) must be divisible by groups \(2\)/);
    assert.throws(() => new nn.Conv2d(2, 2, 3, { padding: 'same', stride: 2 }), /'same' is not supported for strided/);
    assert.throws(() => new nn.Conv2d(2, 2, 0), /kernelSize must be integers >= 1/);
    assert.throws(() => new nn.Linear(2.5, 3), /inFeatures must be a non-negative integer/);
    assert.throws(() => new nn.Dropout(1.5), /between 0 and 1, but got 1.5/);
    assert.throws(() => new nn.BatchNorm1d(0), /numFeatures must be a positive integer/);
  });
});

/**
 * Replays the generator's BatchNorm2d case (PyTorch's defaults: momentum
 * 0.1, eps 1e-5) on a layer built with `options` and compares every step.
 */
function replayBatchNorm2d(options: nn.BatchNormOptions): void {
  const c = fixture.batchnorm.bn2d;
  manualSeed(10);
  const bn = new nn.BatchNorm2d(3, options);
  try {
    tidy(() => {
      nn.init.uniform_(bn.weight!, 0.5, 1.5);
      nn.init.uniform_(bn.bias!, -0.5, 0.5);
      assertMatches(bn.weight!, c.weight, 'weight', EXACT);
      assertMatches(bn.bias!, c.bias, 'bias', EXACT);
      for (let i = 0; i < 3; i++) {
        const x = randn(c.inputs[i]!.shape).mul(2).add(1).requiresGrad_(i === 0);
        assertMatches(x, c.inputs[i]!, `input ${i}`, EXACT);
        const y = bn.forward(x);
        assertMatches(y, c.outputs[i]!, `training output ${i}`, { atol: 1e-5 });
        if (i === 0) {
          const w = randn(y.shape);
          assertMatches(w, c.w, 'output weights', EXACT);
          y.mul(w).sum().backward();
          assertMatches(x.grad!, c.gradX, 'input gradient', { atol: 1e-5 });
          assertMatches(bn.weight!.grad!, c.gradWeight, 'weight gradient', { atol: 1e-5 });
          assertMatches(bn.bias!.grad!, c.gradBias, 'bias gradient', { atol: 1e-5 });
        }
      }
      assertMatches(bn.runningMean!, c.runningMean, 'running mean');
      assertMatches(bn.runningVar!, c.runningVar, 'running var');
      assertMatches(bn.numBatchesTracked!, c.numBatchesTracked, 'batches tracked');
      bn.eval();
      const x = randn(c.evalInput.shape);
      assertMatches(x, c.evalInput, 'eval input', EXACT);
      assertMatches(bn.forward(x), c.evalOutput, 'eval output', { atol: 1e-5 });
      assertMatches(bn.numBatchesTracked!, c.numBatchesTracked, 'eval does not count batches');
    });
  } finally {
    bn.dispose();
  }
}

describe('BatchNorm', () => {
  test('BatchNorm2d: training batches update running stats as PyTorch, eval uses them', () => replayBatchNorm2d({}));

  test('the BatchNorm2d comparison fails for a momentum of 0.11 or an eps of 1e-3 (the tolerances catch real bugs)', () => {
    // Momentum enters only the running statistics; eps every normalised output.
    assert.throws(() => replayBatchNorm2d({ momentum: 0.11 }), { name: 'AssertionError', message: /^running mean: element/ });
    assert.throws(() => replayBatchNorm2d({ eps: 1e-3 }), { name: 'AssertionError', message: /^training output 0: element/ });
  });

  test('BatchNorm1d with momentum null keeps a cumulative average (2-d and 3-d batches)', () => {
    const c = fixture.batchnorm.bn1dCumulative;
    tidy(() => {
      manualSeed(11);
      const bn = new nn.BatchNorm1d(4, { momentum: null, eps: 1e-3 });
      c.inputs.forEach((expected, i) => {
        const x = randn(expected.shape).mul(3).sub(2);
        assertMatches(x, expected, `input ${i}`, EXACT);
        assertMatches(bn.forward(x), c.outputs[i]!, `training output ${i}`, { atol: 1e-5 });
      });
      assertMatches(bn.runningMean!, c.runningMean, 'running mean');
      assertMatches(bn.runningVar!, c.runningVar, 'running var');
      assertMatches(bn.numBatchesTracked!, c.numBatchesTracked, 'batches tracked');
      bn.eval();
      const x = randn(c.evalInput.shape);
      assertMatches(x, c.evalInput, 'eval input', EXACT);
      assertMatches(bn.forward(x), c.evalOutput, 'eval output', { atol: 1e-5 });
      bn.dispose();
    });
  });

  test('cumulative average by hand: after two batches the running mean is the mean of the batch means', () => {
    tidy(() => {
      const bn = new nn.BatchNorm1d(1, { momentum: null });
      bn.forward(tensor([[1], [3]], { dtype: 'float32' }));
      bn.forward(tensor([[10], [20], [30]], { dtype: 'float32' }));
      // Batch means 2 and 20; unbiased variances 2 and 100.
      assertClose(bn.runningMean!.item(), 11, 'running mean');
      assertClose(bn.runningVar!.item(), 51, 'running var');
      assert.equal(bn.numBatchesTracked!.item(), 2);
      bn.dispose();
    });
  });

  test('momentum 0.1 by hand: running = 0.9 * running + 0.1 * batch', () => {
    tidy(() => {
      const bn = new nn.BatchNorm1d(1);
      bn.forward(tensor([[1], [3]], { dtype: 'float32' }));
      assertClose(bn.runningMean!.item(), 0.2, 'running mean');
      assertClose(bn.runningVar!.item(), 0.9 + 0.1 * 2, 'running var');
      bn.dispose();
    });
  });

  test('without running stats: no buffers, batch statistics in eval mode too', () => {
    const c = fixture.batchnorm.bn1dStateless;
    tidy(() => {
      const bn = new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false });
      assert.deepEqual(Object.keys(bn.stateDict()), c.stateKeys);
      assert.equal(bn.parameters().length, 0);
      const x = fromFixture(c.input);
      assertMatches(bn.forward(x), c.trainOutput, 'training output', { atol: 1e-5 });
      bn.eval();
      assertMatches(bn.forward(x), c.evalOutput, 'eval output', { atol: 1e-5 });
    });
  });

  test('buffers: names, dtypes, initial values; resetRunningStats', () => {
    tidy(() => {
      const bn = new nn.BatchNorm2d(2);
      assert.deepEqual(bn.namedBuffers().map(([n, b]) => [n, b.dtype, [...b.shape]]), [
        ['runningMean', 'float32', [2]],
        ['runningVar', 'float32', [2]],
        ['numBatchesTracked', 'int64', []],
      ]);
      assert.deepEqual(bn.runningVar!.toArray(), [1, 1]);
      bn.forward(randn([3, 2, 2, 2]).add(5));
      assert.equal(bn.numBatchesTracked!.item(), 1);
      assert.ok(bn.runningMean!.abs().min().item() > 0.1);
      bn.resetRunningStats();
      assert.deepEqual(bn.runningMean!.toArray(), [0, 0]);
      assert.deepEqual(bn.runningVar!.toArray(), [1, 1]);
      assert.equal(bn.numBatchesTracked!.item(), 0);
      bn.dispose();
    });
  });

  test('wrong input rank and single-value channels are rejected', () => {
    tidy(() => {
      const bn2 = new nn.BatchNorm2d(3);
      assert.throws(() => bn2.forward(randn([2, 3, 4])), /BatchNorm2d: expected a 4-d input, got shape \[2, 3, 4\]/);
      const bn1 = new nn.BatchNorm1d(3);
      assert.throws(() => bn1.forward(randn([2, 3, 4, 4])), /BatchNorm1d: expected a 2-d or 3-d input/);
      assert.throws(() => bn1.forward(randn([1, 3])), /more than 1 value per channel when training/);
      bn1.eval();
      assert.deepEqual([...bn1.forward(randn([1, 3])).shape], [1, 3]);
    });
  });
});

describe('Dropout', () => {
  test('seeded masks match PyTorch (functional p=0.3 and Dropout(0.5))', () => {
    const c = fixture.dropout;
    tidy(() => {
      manualSeed(20);
      const x = randn([4, 50]);
      assertMatches(x, c.x, 'input', EXACT);
      assertMatches(nn.functional.dropout(x, { p: 0.3 }), c.functional, 'functional dropout', EXACT);
      assertMatches(new nn.Dropout(0.5).forward(x), c.layer, 'Dropout layer', EXACT);
    });
  });

  test('training zeroes about p of the elements and scales the rest by 1/(1-p)', () => {
    tidy(() => {
      manualSeed(1);
      const layer = new nn.Dropout(0.3);
      const n = 100_000;
      const y = layer.forward(ones([n]));
      const values = y.toTypedArray() as Float32Array;
      let zeros = 0;
      for (const v of values) {
        if (v === 0) zeros++;
        else assertClose(v, 1 / 0.7, 'kept element', 1e-6, 0);
      }
      // Binomial standard deviation is sqrt(0.21 / n) ≈ 0.0015: 0.01 is ~7 sigma.
      assert.ok(Math.abs(zeros / n - 0.3) < 0.01, `zeroed fraction ${zeros / n}`);
    });
  });

  test('eval mode (and p = 0) is the identity; p = 1 zeroes everything', () => {
    tidy(() => {
      const x = randn([5, 6]);
      const layer = new nn.Dropout(0.5);
      layer.eval();
      assert.ok(layer.forward(x).equal(x));
      assert.ok(nn.functional.dropout(x, { p: 0.9, training: false }).equal(x));
      assert.ok(nn.functional.dropout(x, { p: 0 }).equal(x));
      assert.equal(nn.functional.dropout(x, { p: 1 }).abs().sum().item(), 0);
    });
  });

  test('gradient flows only through kept elements, scaled', () => {
    tidy(() => {
      const x = ones([1000]).requiresGrad_(true);
      const y = nn.functional.dropout(x, { p: 0.25 });
      y.sum().backward();
      // d(sum y)/dx = mask / (1 - p), which equals y itself for an all-ones input.
      assert.ok(noGrad(() => x.grad!.allclose(y.detach())));
    });
  });
});

describe('stateless layers', () => {
  test('Identity returns its input; Flatten flattens startDim..endDim', () => {
    tidy(() => {
      const x = randn([2, 3, 4, 5]);
      assert.equal(new nn.Identity().forward(x), x);
      assert.deepEqual([...new nn.Flatten().forward(x).shape], [2, 60]);
      assert.deepEqual([...new nn.Flatten(0, 1).forward(x).shape], [6, 4, 5]);
      assert.deepEqual([...new nn.Flatten(2).forward(x).shape], [2, 3, 20]);
      assert.deepEqual([...new nn.Flatten(-3, -2).forward(x).shape], [2, 12, 5]);
      assert.ok(new nn.Flatten().forward(x).equal(x.reshape(2, 60)));
    });
  });
});
