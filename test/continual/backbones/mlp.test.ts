// The MLP backbone: names and order of its layers and parameters, seeded
// equality with the PyTorch model of tools/fixtures/backbones.py, the
// activations map (post-activation values that feed the next layer), the
// layer chain, dropout and batch norm in train and eval mode, forward with
// replacement weights (WSN), errors and memory.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Tensor, liveTensorCount, manualSeed, nn, noGrad, ones, randn, tensor, tidy } from '../../../src/index.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { assertMatches } from '../../helpers.js';
import { assertSummary, camel, fixture, maxAbsDiff, values } from './support.js';

const F = nn.functional;

describe('MLP: structure', () => {
  test('layers fc1, fc2, ... in order; parameter and state-dict names as PyTorch', () => {
    const model = instantiateBackbone(mlpDefinition, [1, 28, 28], { hiddenSizes: [64, 32] });
    assert.deepEqual(model.weightedLayerNames, ['fc1', 'fc2']);
    assert.equal(model.inputDim, 784);
    assert.equal(model.outputDim, 32);
    assert.deepEqual(model.namedParameters().map(([n]) => n), fixture.mlp.parameterNames);
    assert.deepEqual(Object.keys(model.stateDict()), fixture.mlp.stateDictKeys.map(camel));
    const withBn = instantiateBackbone(mlpDefinition, [20], { hiddenSizes: [16, 8], batchNorm: true, activation: 'tanh' });
    assert.deepEqual(withBn.namedParameters().map(([n]) => n), fixture.mlpBatchNorm.parameterNames);
    assert.deepEqual(Object.keys(withBn.stateDict()), fixture.mlpBatchNorm.stateDictKeys.map(camel));
    model.dispose();
    withBn.dispose();
  });

  test('defaults: two hidden layers of 256, ReLU, no batch norm or dropout', () => {
    const model = instantiateBackbone(mlpDefinition, [10]);
    assert.deepEqual(model.hiddenSizes, [256, 256]);
    assert.equal(model.outputDim, 256);
    assert.equal(model.activation, 'relu');
    assert.equal(model.batchNorm, false);
    assert.equal(model.dropout, 0);
    assert.deepEqual(model.namedParameters().map(([n, p]) => [n, [...p.shape]]), [
      ['fc1.weight', [256, 10]],
      ['fc1.bias', [256]],
      ['fc2.weight', [256, 256]],
      ['fc2.bias', [256]],
    ]);
    model.dispose();
  });

  test('layer(name) is the Linear module; preceding and following go along the list', () => {
    const model = instantiateBackbone(mlpDefinition, [12], { hiddenSizes: [8, 6, 4] });
    const fc2 = model.layer('fc2');
    assert.ok(fc2 instanceof nn.Linear);
    assert.deepEqual([...fc2.weight.shape], [6, 8]);
    assert.equal(fc2.weight, model.namedParameters().find(([n]) => n === 'fc2.weight')![1]);
    assert.equal(model.precedingLayer('fc1'), null);
    assert.equal(model.precedingLayer('fc3'), 'fc2');
    assert.equal(model.followingLayer('fc1'), 'fc2');
    assert.equal(model.followingLayer('fc3'), null);
    assert.throws(() => model.layer('fc4'), /no weighted layer 'fc4' \(the layers are fc1, fc2, fc3\)/);
    assert.throws(() => model.followingLayer('bn1'), /no weighted layer 'bn1'/);
    model.dispose();
  });

  test('a clone has its own layers with the same values', () => {
    const model = instantiateBackbone(mlpDefinition, [5], { hiddenSizes: [3] });
    const copy = model.clone();
    assert.notEqual(copy.layer('fc1').weight, model.layer('fc1').weight);
    assert.ok(copy.layer('fc1').weight.equal(model.layer('fc1').weight));
    noGrad(() => copy.layer('fc1').weight.fill_(0));
    assert.ok(values(model.layer('fc1').weight).some((v) => v !== 0));
    model.dispose();
    copy.dispose();
  });

  test('bad options and inputs are clear errors', () => {
    assert.throws(() => instantiateBackbone(mlpDefinition, [10], { hiddenSizes: [] }), /hiddenSizes: expected a list of integers >= 1 \(at least one\), got 0 items/);
    assert.throws(() => instantiateBackbone(mlpDefinition, [10], { hiddenSizes: [4, 0] }), /hiddenSizes\[1\]: expected an integer >= 1, got 0/);
    assert.throws(() => instantiateBackbone(mlpDefinition, [10], { dropout: 1 }), /dropout: expected a number in \[0, 1\), got 1/);
    assert.throws(() => instantiateBackbone(mlpDefinition, [0, 3]), /input shape must be positive integers/);
    const model = instantiateBackbone(mlpDefinition, [2, 3], { hiddenSizes: [4] });
    tidy(() => {
      assert.throws(() => model.forward(ones([5, 7])), /expected a batch \[N, \.\.\.\] of 6 elements per sample, got shape \[5, 7\]/);
      assert.throws(() => model.forward(ones([6])), /got shape \[6\]/);
      assert.equal(model.forward(ones([5, 2, 3])).feature.shape[0], 5);
    });
    model.dispose();
  });
});

describe('MLP: seeded equality with PyTorch', () => {
  test('784-64-32 ReLU: initial parameters, feature and activations', () => {
    manualSeed(0);
    const model = instantiateBackbone(mlpDefinition, [1, 28, 28], { hiddenSizes: [64, 32] });
    for (const [name, summary] of fixture.mlp.params) {
      assertSummary(model.namedParameters().find(([n]) => n === name)![1], summary, name);
    }
    tidy(() => {
      const x = randn([4, 1, 28, 28]);
      const { feature, activations } = model.forward(x);
      assertMatches(feature, fixture.mlp.feature, 'feature', { rtol: 1e-5, atol: 1e-6 });
      assert.deepEqual([...activations.keys()], ['fc1', 'fc2']);
      assertMatches(activations.get('fc1')!, fixture.mlp.fc1, 'fc1 activation', { rtol: 1e-5, atol: 1e-6 });
      // Without dropout the last activation is the feature itself.
      assert.equal(activations.get('fc2'), feature);
    });
    model.dispose();
  });

  test('batch norm and tanh: training passes, running statistics, eval pass', () => {
    const fx = fixture.mlpBatchNorm;
    manualSeed(1);
    const model = instantiateBackbone(mlpDefinition, [20], { hiddenSizes: [16, 8], batchNorm: true, activation: 'tanh' });
    for (const [name, expected] of fx.params) {
      assertMatches(model.namedParameters().find(([n]) => n === name)![1], expected, name, { rtol: 0, atol: 0 });
    }
    tidy(() => {
      const x1 = randn([16, 20]);
      const x2 = randn([16, 20]);
      model.train();
      assertMatches(model.forward(x1).feature, fx.train1, 'training pass 1', { rtol: 1e-5, atol: 1e-6 });
      model.forward(x2);
      model.eval();
      const { feature, activations } = model.forward(x1);
      assertMatches(feature, fx.eval, 'eval pass', { rtol: 1e-5, atol: 1e-6 });
      assertMatches(activations.get('fc1')!, fx.evalFc1, 'eval fc1 activation', { rtol: 1e-5, atol: 1e-6 });
      const state = model.stateDict();
      assertMatches(state['bn1.runningMean']!, fx.runningMean1, 'bn1 running mean', { rtol: 1e-5, atol: 1e-7 });
      assertMatches(state['bn2.runningVar']!, fx.runningVar2, 'bn2 running variance', { rtol: 1e-5, atol: 1e-7 });
      assert.equal(state['bn1.numBatchesTracked']!.item(), 2);
      // tanh activations lie in (-1, 1) and take both signs.
      const a = values(activations.get('fc1')!);
      assert.ok(a.every((v) => v > -1 && v < 1));
      assert.ok(a.some((v) => v < 0) && a.some((v) => v > 0));
      // Eval mode uses the running statistics: a second eval pass is identical.
      assert.ok(model.forward(x1).feature.equal(feature));
    });
    model.dispose();
  });
});

describe('MLP: activations', () => {
  test('each activation is the post-ReLU output that the next layer reads', () => {
    manualSeed(5);
    const model = instantiateBackbone(mlpDefinition, [10], { hiddenSizes: [12, 9, 7] });
    tidy(() => {
      const x = randn([5, 10]);
      const { feature, activations } = model.forward(x);
      assert.deepEqual([...activations.keys()], ['fc1', 'fc2', 'fc3']);
      assert.deepEqual(
        [...activations.values()].map((a) => [...a.shape]),
        [[5, 12], [5, 9], [5, 7]],
      );
      for (const a of activations.values()) {
        const v = values(a);
        assert.ok(v.every((e) => e >= 0), 'nonnegative after ReLU');
        assert.ok(v.some((e) => e > 0), 'not all zero');
      }
      // Recompute each layer from the previous activation.
      let input: Tensor = x;
      for (const name of model.weightedLayerNames) {
        const fc = model.layer(name);
        const expected = F.relu(F.linear(input, fc.weight, fc.bias));
        assert.equal(maxAbsDiff(activations.get(name)!, expected), 0, name);
        input = activations.get(name)!;
      }
      assert.equal(maxAbsDiff(feature, activations.get('fc3')!), 0);
    });
    model.dispose();
  });

  test('sigmoid activations lie in (0, 1)', () => {
    manualSeed(6);
    const model = instantiateBackbone(mlpDefinition, [4], { hiddenSizes: [5], activation: 'sigmoid' });
    tidy(() => {
      const v = values(model.forward(randn([3, 4])).activations.get('fc1')!);
      assert.ok(v.every((e) => e > 0 && e < 1));
    });
    model.dispose();
  });

  test('dropout: active in training (zeroes, others scaled by 1/(1-p)), identity in eval; activations are before dropout', () => {
    manualSeed(7);
    const model = instantiateBackbone(mlpDefinition, [16], { hiddenSizes: [64, 64], dropout: 0.5 });
    tidy(() => {
      const x = randn([8, 16]);
      model.eval();
      const evaluated = model.forward(x);
      assert.equal(maxAbsDiff(evaluated.feature, evaluated.activations.get('fc2')!), 0, 'eval: the feature is the last activation');
      model.train();
      const trained = model.forward(x);
      // fc1's activation sees no dropout (its input is x).
      assert.equal(maxAbsDiff(trained.activations.get('fc1')!, evaluated.activations.get('fc1')!), 0);
      const a = values(trained.activations.get('fc2')!);
      const f = values(trained.feature);
      let positive = 0;
      let zeroed = 0;
      for (let i = 0; i < f.length; i++) {
        if (a[i]! > 0) positive++;
        if (f[i] === 0 && a[i]! > 0) zeroed++;
        else assert.ok(Math.abs(f[i]! - 2 * a[i]!) <= 1e-6 * Math.abs(a[i]!), `element ${i}: ${f[i]} vs 2 x ${a[i]}`);
      }
      assert.ok(zeroed > 0.3 * positive && zeroed < 0.7 * positive, `dropout zeroed ${zeroed} of ${positive} positive elements`);
      // Dropout between the layers changes what fc2 computes.
      assert.ok(maxAbsDiff(trained.activations.get('fc2')!, evaluated.activations.get('fc2')!) > 0);
    });
    model.dispose();
  });

  test('batch norm: training uses batch statistics, eval the running ones', () => {
    manualSeed(8);
    const model = instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5], batchNorm: true });
    tidy(() => {
      const x = randn([10, 6]).mul(3).add(2);
      model.train();
      const trained = model.forward(x);
      // Batch statistics: each unit's pre-activation has zero mean over the batch,
      // so ReLU leaves some zeros in every unit.
      const t = trained.feature.toArray() as number[][];
      for (let j = 0; j < 5; j++) assert.ok(t.some((row) => row[j] === 0) && t.some((row) => row[j]! > 0), `unit ${j}`);
      model.eval();
      const evaluated = model.forward(x);
      assert.ok(maxAbsDiff(trained.feature, evaluated.feature) > 1e-3);
    });
    model.dispose();
  });
});

describe('MLP: forward with replacement parameters (WSN)', () => {
  test('overrides replace the named layers and carry gradients to the replacements', () => {
    manualSeed(9);
    const model = instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5, 4] });
    tidy(() => {
      const x = randn([3, 6]);
      const fc2 = model.layer('fc2');
      const mask = randn([4, 5]).gt(0).float();
      const scores = randn([4, 5]).requiresGrad_(true);
      // A masked weight as WSN makes it: θ ⊙ m with a gradient path to the scores.
      const masked = fc2.weight.mul(mask).add(scores.sub(scores.detach()));
      const out = model.forward(x, new Map([['fc2', { weight: masked, bias: null }]]));
      const expected = F.relu(F.linear(out.activations.get('fc1')!, fc2.weight.mul(mask)));
      assert.ok(maxAbsDiff(out.feature, expected) <= 1e-6);
      // fc1 is unchanged: its activation equals a plain forward's.
      assert.equal(maxAbsDiff(out.activations.get('fc1')!, model.forward(x).activations.get('fc1')!), 0);
      out.feature.sum().backward();
      assert.ok(scores.grad !== null && values(scores.grad).some((g) => g !== 0));
      model.zeroGrad();
      assert.throws(() => model.forward(x, new Map([['fc9', { weight: masked, bias: null }]])), /no weighted layer 'fc9'/);
    });
    model.dispose();
  });
});

describe('MLP: per-unit gates (HAT)', () => {
  test("a layer's gate scales its output after the nonlinearity and dropout, and the next layer reads the gated units", () => {
    manualSeed(10);
    const model = instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5, 4], dropout: 0.5 });
    tidy(() => {
      const x = randn([3, 6]);
      const gate1 = randn([5]).sigmoid();
      const gate2 = randn([4]).sigmoid();
      model.eval();
      const out = model.forward(x, undefined, new Map([['fc1', gate1], ['fc2', gate2]]));
      const h1 = F.relu(model.layer('fc1').forward(x)).mul(gate1);
      const expected = F.relu(model.layer('fc2').forward(h1)).mul(gate2);
      assert.ok(maxAbsDiff(out.activations.get('fc1')!, h1) <= 1e-6);
      assert.ok(maxAbsDiff(out.feature, expected) <= 1e-6);
      // In training, dropout comes first: the gated feature is zero exactly where dropout or a zero gate put it.
      model.train();
      const zeroGate = tensor([1, 1, 0, 1]);
      manualSeed(3);
      const gated = model.forward(x, undefined, new Map([['fc2', zeroGate]]));
      manualSeed(3);
      const plain = model.forward(x);
      assert.equal(maxAbsDiff(gated.feature, plain.feature.mul(zeroGate)), 0);
      assert.ok((values(gated.feature.narrow(1, 2, 1)) as number[]).every((v) => v === 0));
      assert.throws(() => model.forward(x, undefined, new Map([['fc3', gate1]])), /no weighted layer 'fc3'/);
      assert.throws(() => model.forward(x, undefined, new Map([['fc1', gate2]])), /gate of layer 'fc1' must have one value per unit, shape \[5\], got \[4\]/);
    });
    model.dispose();
  });
});

describe('MLP: memory', () => {
  test('a forward pass in tidy leaves no tensors behind', () => {
    const model = instantiateBackbone(mlpDefinition, [8], { hiddenSizes: [6, 4], batchNorm: true, dropout: 0.2 });
    const x = randn([4, 8]);
    const before = liveTensorCount();
    tidy(() => {
      const { feature } = model.forward(x);
      feature.sum().backward();
      model.zeroGrad();
    });
    assert.equal(liveTensorCount(), before);
    const { feature, activations } = model.forward(x);
    // Outside a scope only the results survive: the feature and one tensor per layer (the feature is distinct after dropout).
    assert.equal(liveTensorCount(), before + 3);
    feature.dispose();
    for (const a of activations.values()) a.dispose();
    assert.equal(liveTensorCount(), before);
    x.dispose();
    model.dispose();
  });
});
