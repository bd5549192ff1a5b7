// The small CNN backbone: names, shapes, seeded equality with the PyTorch
// model of tools/fixtures/backbones.py, activations (post-ReLU, post-pool:
// exactly what the next layer reads), the layer chain, batch norm modes and
// errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualSeed, nn, randn, tidy } from '../../../src/index.js';
import { cnnDefinition, instantiateBackbone } from '../../../src/continual/backbones/index.js';
import { assertMatches } from '../../helpers.js';
import { assertSummary, camel, fixture, maxAbsDiff, values } from './support.js';

const F = nn.functional;

describe('CNN: structure', () => {
  test('defaults on 28x28: conv1, conv2, fc1 with 32, 64 channels and 128 features', () => {
    const model = instantiateBackbone(cnnDefinition, [1, 28, 28]);
    assert.deepEqual(model.weightedLayerNames, ['conv1', 'conv2', 'fc1']);
    assert.deepEqual(model.channels, [32, 64]);
    assert.equal(model.kernelSize, 3);
    assert.equal(model.outputDim, 128);
    assert.deepEqual(model.featureMapShape, [64, 7, 7]);
    assert.deepEqual(model.namedParameters().map(([n, p]) => [n, [...p.shape]]), [
      ['conv1.weight', [32, 1, 3, 3]],
      ['conv1.bias', [32]],
      ['conv2.weight', [64, 32, 3, 3]],
      ['conv2.bias', [64]],
      ['fc1.weight', [128, 64 * 7 * 7]],
      ['fc1.bias', [128]],
    ]);
    const conv2 = model.layer('conv2');
    assert.ok(conv2 instanceof nn.Conv2d);
    assert.deepEqual(conv2.padding, [1, 1]);
    assert.ok(model.layer('fc1') instanceof nn.Linear);
    assert.equal(model.precedingLayer('conv1'), null);
    assert.equal(model.precedingLayer('fc1'), 'conv2');
    assert.equal(model.followingLayer('conv1'), 'conv2');
    assert.equal(model.followingLayer('conv2'), 'fc1');
    assert.equal(model.followingLayer('fc1'), null);
    model.dispose();
  });

  test('parameter and state-dict names equal PyTorch', () => {
    const small = instantiateBackbone(cnnDefinition, [1, 28, 28], { channels: [4, 8], featureDim: 16, batchNorm: true });
    assert.deepEqual(small.namedParameters().map(([n]) => n), fixture.cnnSmall.parameterNames);
    assert.deepEqual(Object.keys(small.stateDict()), fixture.cnnSmall.stateDictKeys.map(camel));
    const large = instantiateBackbone(cnnDefinition, [3, 32, 32]);
    assert.deepEqual(large.namedParameters().map(([n]) => n), fixture.cnnDefault.parameterNames);
    const count = large.parameters().reduce((n, p) => n + p.numel(), 0);
    assert.equal(count, fixture.cnnDefault.parameterCount);
    small.dispose();
    large.dispose();
  });

  test('three convolutions with a 5x5 kernel on 32x32', () => {
    const model = instantiateBackbone(cnnDefinition, [3, 32, 32], { channels: [8, 8, 16], kernelSize: 5, featureDim: 10 });
    assert.deepEqual(model.weightedLayerNames, ['conv1', 'conv2', 'conv3', 'fc1']);
    assert.deepEqual(model.featureMapShape, [16, 4, 4]);
    tidy(() => {
      const { feature, activations } = model.forward(randn([2, 3, 32, 32]));
      assert.deepEqual([...feature.shape], [2, 10]);
      assert.deepEqual(
        [...activations.values()].map((a) => [...a.shape]),
        [[2, 8, 16, 16], [2, 8, 8, 8], [2, 16, 4, 4], [2, 10]],
      );
    });
    model.dispose();
  });

  test('bad options and inputs are clear errors', () => {
    assert.throws(() => instantiateBackbone(cnnDefinition, [28, 28]), /input shape must be \[C, H, W\]/);
    assert.throws(() => instantiateBackbone(cnnDefinition, [1, 28, 28], { channels: [] }), /channels: expected a list of integers >= 1 \(at least one\), got 0 items/);
    assert.throws(() => instantiateBackbone(cnnDefinition, [1, 28, 28], { kernelSize: 4 }), /kernelSize: expected an odd integer >= 1 \(padding keeps the spatial size only for odd kernels\), got 4/);
    assert.throws(() => instantiateBackbone(cnnDefinition, [1, 28, 28], { featureDim: 0 }), /featureDim: expected an integer >= 1, got 0/);
    assert.throws(() => instantiateBackbone(cnnDefinition, [1, 4, 4], { channels: [2, 2, 2] }), /4x4 input is too small for 3 2x2 max-pools/);
    const model = instantiateBackbone(cnnDefinition, [1, 28, 28], { channels: [2], featureDim: 3 });
    tidy(() => {
      assert.throws(() => model.forward(randn([2, 3, 28, 28])), /expected a batch \[N, 1, 28, 28\], got shape \[2, 3, 28, 28\]/);
      assert.throws(() => model.forward(randn([2, 784])), /got shape \[2, 784\]/);
    });
    model.dispose();
  });
});

describe('CNN: seeded equality with PyTorch', () => {
  test('small CNN with batch norm: parameters, every activation and the feature', () => {
    const fx = fixture.cnnSmall;
    manualSeed(2);
    const model = instantiateBackbone(cnnDefinition, [1, 28, 28], { channels: [4, 8], featureDim: 16, batchNorm: true });
    for (const [name, summary] of fx.params) assertSummary(model.namedParameters().find(([n]) => n === name)![1], summary, name);
    tidy(() => {
      const { feature, activations } = model.forward(randn([2, 1, 28, 28]));
      assert.deepEqual([...activations.keys()], fx.activations.map(([n]) => n));
      for (const [name, expected] of fx.activations) assertMatches(activations.get(name)!, expected, name, { rtol: 1e-5, atol: 1e-5 });
      assertMatches(feature, fx.feature, 'feature', { rtol: 1e-5, atol: 1e-5 });
    });
    model.dispose();
  });

  test('default CNN on 32x32 RGB: parameters, feature and activations', () => {
    const fx = fixture.cnnDefault;
    manualSeed(3);
    const model = instantiateBackbone(cnnDefinition, [3, 32, 32]);
    for (const [name, summary] of fx.params) assertSummary(model.namedParameters().find(([n]) => n === name)![1], summary, name);
    tidy(() => {
      const { feature, activations } = model.forward(randn([2, 3, 32, 32]));
      assertMatches(feature, fx.feature, 'feature', { rtol: 1e-4, atol: 1e-5 });
      for (const [name, summary] of fx.activations) assertSummary(activations.get(name)!, summary, name, 1e-5);
    });
    model.dispose();
  });
});

describe('CNN: activations', () => {
  test('post-ReLU and post-pool: nonnegative, and exactly what the next layer reads', () => {
    manualSeed(11);
    const model = instantiateBackbone(cnnDefinition, [1, 28, 28], { channels: [4, 6], featureDim: 12 });
    tidy(() => {
      const x = randn([3, 1, 28, 28]);
      const { feature, activations } = model.forward(x);
      assert.deepEqual(
        [...activations.entries()].map(([n, a]) => [n, [...a.shape]]),
        [['conv1', [3, 4, 14, 14]], ['conv2', [3, 6, 7, 7]], ['fc1', [3, 12]]],
      );
      for (const [name, a] of activations) assert.ok(values(a).every((v) => v >= 0), `${name} is nonnegative`);
      const conv1 = model.layer('conv1');
      const conv2 = model.layer('conv2');
      const fc1 = model.layer('fc1');
      const a1 = F.maxPool2d(F.relu(conv1.forward(x)), 2);
      assert.equal(maxAbsDiff(activations.get('conv1')!, a1), 0);
      // conv2 reads conv1's activation as it is.
      const a2 = F.maxPool2d(F.relu(conv2.forward(activations.get('conv1')!)), 2);
      assert.equal(maxAbsDiff(activations.get('conv2')!, a2), 0);
      // fc1 reads conv2's activation flattened: channel c is columns c*49 .. c*49+48.
      const a3 = F.relu(F.linear(activations.get('conv2')!.flatten(1), fc1.weight, fc1.bias));
      assert.equal(maxAbsDiff(activations.get('fc1')!, a3), 0);
      assert.equal(activations.get('fc1'), feature);
    });
    model.dispose();
  });

  test('batch norm after each convolution: batch statistics in training, running ones in eval', () => {
    manualSeed(12);
    const model = instantiateBackbone(cnnDefinition, [1, 28, 28], { channels: [3], featureDim: 4, batchNorm: true });
    tidy(() => {
      const x = randn([4, 1, 28, 28]).mul(5).add(3);
      model.train();
      const trained = model.forward(x);
      const stats = model.stateDict();
      assert.equal(stats['bn1.numBatchesTracked']!.item(), 1);
      assert.ok(values(stats['bn1.runningMean']!).some((v) => Math.abs(v) > 0.01), 'running mean updated');
      model.eval();
      const evaluated = model.forward(x);
      assert.ok(maxAbsDiff(trained.feature, evaluated.feature) > 1e-3);
      assert.equal(model.stateDict()['bn1.numBatchesTracked']!.item(), 1, 'eval does not update statistics');
    });
    model.dispose();
  });

  test('forward with a replacement convolution weight uses it with the layer\'s padding', () => {
    manualSeed(13);
    const model = instantiateBackbone(cnnDefinition, [1, 8, 8], { channels: [2], featureDim: 3 });
    tidy(() => {
      const x = randn([2, 1, 8, 8]);
      const conv1 = model.layer('conv1');
      const weight = conv1.weight.mul(0.5);
      const out = model.forward(x, new Map([['conv1', { weight, bias: conv1.bias }]]));
      const expected = F.maxPool2d(F.relu(F.conv2d(x, weight, conv1.bias, { padding: 1 })), 2);
      assert.equal(maxAbsDiff(out.activations.get('conv1')!, expected), 0);
    });
    model.dispose();
  });
});

describe('CNN: per-unit gates (HAT)', () => {
  test('a convolution is gated per channel after the pool, fc1 per unit; fc1 reads H·W inputs per channel', () => {
    manualSeed(11);
    const model = instantiateBackbone(cnnDefinition, [1, 8, 8], { channels: [3, 2], featureDim: 5 });
    tidy(() => {
      const x = randn([2, 1, 8, 8]);
      const gates = new Map([
        ['conv1', randn([3]).sigmoid()],
        ['conv2', randn([2]).sigmoid()],
        ['fc1', randn([5]).sigmoid()],
      ]);
      const out = model.forward(x, undefined, gates);
      let a = F.maxPool2d(F.relu(model.layer('conv1').forward(x)), 2).mul(gates.get('conv1')!.reshape([1, 3, 1, 1]));
      a = F.maxPool2d(F.relu(model.layer('conv2').forward(a)), 2).mul(gates.get('conv2')!.reshape([1, 2, 1, 1]));
      const feature = F.relu(model.layer('fc1').forward(a.flatten(1))).mul(gates.get('fc1')!);
      assert.ok(maxAbsDiff(out.activations.get('conv2')!, a) <= 1e-6);
      assert.ok(maxAbsDiff(out.feature, feature) <= 1e-6);
    });
    assert.deepEqual(['conv1', 'conv2', 'fc1'].map((n) => model.inputsPerPrecedingUnit(n)), [1, 1, 4]);
    model.dispose();
  });
});
