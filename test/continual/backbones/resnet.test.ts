// ResNet-18 with the CIFAR stem: size and names as torchvision's (checked
// against the PyTorch model of tools/fixtures/backbones.py), seeded
// initialisation and a forward pass of a seeded batch, the layer list and
// chain (main path, downsample side branches) and the activations. One
// seeded model serves every test, built once, to keep the suite fast.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { manualSeed, nn, noGrad, randn, tidy } from '../../../src/index.js';
import { BasicBlock, ResNet18 } from '../../../src/continual/backbones/resnet.js';
import { assertMatches } from '../../helpers.js';
import { assertSummary, camel, fixture, maxAbsDiff, values } from './support.js';

const F = nn.functional;
const fx = fixture.resnet18;

// As the fixture: seed, build, then draw the input (before any other draw).
// A batch of 8 at 32x32 leaves layer 4's batch norms 128 values per channel.
manualSeed(4);
const model = new ResNet18([3, 32, 32]);
const batch = randn([8, 3, 32, 32]);
// The model as built, before any forward pass updates its running statistics.
const pristine = model.clone();
after(() => {
  model.dispose();
  batch.dispose();
  pristine.dispose();
});

/**
 * Relative to the tensor's RMS. oneDNN's SSE4.1, AVX2 and AVX-512 kernels
 * put the features up to 5e-6 apart; an eps of 1e-3 instead of 1e-5 moves
 * them by 1e-2, a momentum of 0.11 instead of 0.1 the running mean by 10%.
 */
const RTOL = 5e-5;

/**
 * Runs the fixture's batch through `m` in training mode, then in eval mode,
 * and compares the features and layer4.1.bn2's running mean with PyTorch's.
 */
function compareForward(m: ResNet18): void {
  tidy(() => {
    m.train();
    const trained = m.forward(batch).feature;
    assertSummary(trained, fx.train, 'training feature', RTOL);
    assertMatches(trained.slice(1, 0, 16), fx.trainHead, 'training feature, first 16 per sample', { rtol: RTOL, atol: 0 });
    assertSummary(m.layer4.at(1).stateDict()['bn2.runningMean']!, fx.runningMean, 'layer4.1.bn2 running mean', RTOL);
    m.eval();
    const evaluated = m.forward(batch).feature;
    assertSummary(evaluated, fx.eval, 'eval feature', RTOL);
    assertMatches(evaluated.slice(1, 0, 16), fx.evalHead, 'eval feature, first 16 per sample', { rtol: RTOL, atol: 0 });
    m.train();
  });
}

/** A copy of the model as built, every batch norm changed by `change`. */
function pristineWith(change: (bn: nn.BatchNorm2d) => void): ResNet18 {
  const copy = pristine.clone();
  for (const m of copy.modules()) if (m instanceof nn.BatchNorm2d) change(m);
  return copy;
}

/** The convolution called `name`. */
function conv(name: string): nn.Conv2d {
  const layer = model.layer(name);
  assert.ok(layer instanceof nn.Conv2d, `${name} is a Conv2d`);
  return layer;
}

const EXPECTED_LAYERS = [
  'conv1',
  'layer1.0.conv1', 'layer1.0.conv2', 'layer1.1.conv1', 'layer1.1.conv2',
  'layer2.0.conv1', 'layer2.0.conv2', 'layer2.0.downsample.0', 'layer2.1.conv1', 'layer2.1.conv2',
  'layer3.0.conv1', 'layer3.0.conv2', 'layer3.0.downsample.0', 'layer3.1.conv1', 'layer3.1.conv2',
  'layer4.0.conv1', 'layer4.0.conv2', 'layer4.0.downsample.0', 'layer4.1.conv1', 'layer4.1.conv2',
];

describe('ResNet18: size and names', () => {
  test('parameter count equals PyTorch: 11,168,832 without a classifier, 11,173,962 with a 10-class fc', () => {
    const count = model.parameters().reduce((n, p) => n + p.numel(), 0);
    assert.equal(count, fx.parameterCount);
    assert.equal(count, 11_168_832);
    const fc = new nn.Linear(model.outputDim, 10);
    assert.equal(count + fc.parameters().reduce((n, p) => n + p.numel(), 0), fx.parameterCountWithFc10);
    assert.equal(fx.parameterCountWithFc10, 11_173_962);
    fc.dispose();
  });

  test('parameter names, shapes and state-dict keys are torchvision\'s, camelCased', () => {
    assert.deepEqual(model.namedParameters().map(([n]) => n), fx.parameterNames);
    assert.deepEqual(model.parameters().map((p) => [...p.shape]), fx.parameterShapes);
    assert.deepEqual(Object.keys(model.stateDict()), fx.stateDictKeys.map(camel));
    assert.equal(model.outputDim, 512);
  });

  test('weighted layers in forward order; convolutions without bias', () => {
    assert.deepEqual(model.weightedLayerNames, EXPECTED_LAYERS);
    for (const name of model.weightedLayerNames) {
      const layer = model.layer(name);
      assert.ok(layer instanceof nn.Conv2d, name);
      assert.equal(layer.bias, null, name);
    }
    assert.deepEqual([...conv('conv1').weight.shape], [64, 3, 3, 3]);
    assert.deepEqual(conv('conv1').stride, [1, 1]);
    assert.deepEqual([...conv('layer3.0.downsample.0').weight.shape], [256, 128, 1, 1]);
    assert.deepEqual(conv('layer3.0.downsample.0').stride, [2, 2]);
    assert.deepEqual(conv('layer3.0.conv1').stride, [2, 2]);
    assert.deepEqual(conv('layer3.0.conv2').stride, [1, 1]);
    assert.ok(model.layer1.at(0) instanceof BasicBlock);
    assert.throws(() => model.layer('fc'), /no weighted layer 'fc'/);
  });

  test('the chain runs along the main path; downsample convolutions are side branches', () => {
    assert.equal(model.precedingLayer('conv1'), null);
    assert.equal(model.followingLayer('conv1'), 'layer1.0.conv1');
    assert.equal(model.followingLayer('layer1.1.conv2'), 'layer2.0.conv1');
    assert.equal(model.precedingLayer('layer2.0.conv1'), 'layer1.1.conv2');
    assert.equal(model.followingLayer('layer2.0.conv2'), 'layer2.1.conv1');
    assert.equal(model.precedingLayer('layer2.1.conv1'), 'layer2.0.conv2');
    assert.equal(model.precedingLayer('layer2.0.downsample.0'), 'layer1.1.conv2');
    assert.equal(model.followingLayer('layer2.0.downsample.0'), 'layer2.1.conv1');
    assert.equal(model.precedingLayer('layer4.0.downsample.0'), 'layer3.1.conv2');
    assert.equal(model.followingLayer('layer4.1.conv2'), null);
    // Walking the chain from the stem visits the main path and no downsample.
    const walked: string[] = [];
    for (let n: string | null = 'conv1'; n !== null; n = model.followingLayer(n)) walked.push(n);
    assert.deepEqual(walked, EXPECTED_LAYERS.filter((n) => !n.includes('downsample')));
    assert.deepEqual(model.mainPath, walked);
  });
});

describe('ResNet18: seeded equality with PyTorch', () => {
  test('initial parameters (torchvision\'s kaiming-normal fan-out convolutions, unit batch norms)', () => {
    for (const [name, summary] of fx.params) assertSummary(model.namedParameters().find(([n]) => n === name)![1], summary, name);
  });

  test('forward of a seeded batch in training and eval mode', () => compareForward(model));

  test('the comparison fails for a batch-norm momentum of 0.11 or an eps of 1e-3 (the tolerances catch real bugs)', () => {
    // Momentum enters only the running statistics; eps every normalised output.
    const wrongMomentum = pristineWith((bn) => (bn.momentum = 0.11));
    assert.throws(() => compareForward(wrongMomentum), { name: 'AssertionError', message: /^layer4\.1\.bn2 running mean: / });
    wrongMomentum.dispose();
    const wrongEps = pristineWith((bn) => (bn.eps = 1e-3));
    assert.throws(() => compareForward(wrongEps), { name: 'AssertionError', message: /^training feature: / });
    wrongEps.dispose();
  });
});

describe('ResNet18: activations', () => {
  test('shapes, ReLU outputs, residual additions and downsample outputs', () => {
    // Work on a copy so that training-mode statistics of the shared model stay as PyTorch's.
    const copy = model.clone().eval();
    tidy(() => {
      manualSeed(21);
      const x = randn([2, 3, 8, 8]);
      const { feature, activations } = copy.forward(x);
      assert.deepEqual([...activations.keys()], EXPECTED_LAYERS);
      const shape = (n: string): number[] => [...activations.get(n)!.shape];
      assert.deepEqual(shape('conv1'), [2, 64, 8, 8]);
      assert.deepEqual(shape('layer1.1.conv2'), [2, 64, 8, 8]);
      assert.deepEqual(shape('layer2.0.conv1'), [2, 128, 4, 4]);
      assert.deepEqual(shape('layer2.0.downsample.0'), [2, 128, 4, 4]);
      assert.deepEqual(shape('layer4.1.conv2'), [2, 512, 1, 1]);
      assert.deepEqual([...feature.shape], [2, 512]);
      for (const [name, a] of activations) {
        const v = values(a);
        if (name.includes('downsample')) assert.ok(v.some((e) => e < 0), `${name} is a batch-norm output, not rectified`);
        else assert.ok(v.every((e) => e >= 0), `${name} is nonnegative`);
      }
      // The feature is the global average of the last block's output.
      assert.ok(maxAbsDiff(feature, activations.get('layer4.1.conv2')!.mean([2, 3])) <= 1e-6);
      // A block rebuilt from its parts: conv2's activation is relu(bn2(conv2(conv1's activation)) + downsample's).
      const block = copy.layer2.at(0);
      assert.ok(block instanceof BasicBlock);
      const input = activations.get('layer1.1.conv2')!;
      const a1 = F.relu(block.bn1.forward(block.conv1.forward(input)));
      assert.equal(maxAbsDiff(activations.get('layer2.0.conv1')!, a1), 0);
      const projected = block.downsample!.forward(input);
      assert.equal(maxAbsDiff(activations.get('layer2.0.downsample.0')!, projected), 0);
      const out = F.relu(block.bn2.forward(block.conv2.forward(a1)).add(projected));
      assert.equal(maxAbsDiff(activations.get('layer2.0.conv2')!, out), 0);
      // An identity block adds its input.
      const id = copy.layer2.at(1);
      assert.ok(id instanceof BasicBlock && id.downsample === null);
      const b1 = F.relu(id.bn1.forward(id.conv1.forward(out)));
      const expected = F.relu(id.bn2.forward(id.conv2.forward(b1)).add(out));
      assert.equal(maxAbsDiff(activations.get('layer2.1.conv2')!, expected), 0);
      assert.equal(maxAbsDiff(id.forward(out), expected), 0);
    });
    copy.dispose();
  });

  test('inputs of another channel count and size: an MNIST-shaped ResNet', () => {
    const mnist = new ResNet18([1, 28, 28]);
    assert.deepEqual([...mnist.layer('conv1').weight.shape], [64, 1, 3, 3]);
    tidy(() => {
      noGrad(() => {
        const { feature } = mnist.eval().forward(randn([1, 1, 28, 28]));
        assert.deepEqual([...feature.shape], [1, 512]);
      });
      assert.throws(() => mnist.forward(randn([1, 3, 28, 28])), /expected a batch \[N, 1, H, W\], got shape \[1, 3, 28, 28\]/);
    });
    assert.throws(() => new ResNet18([28, 28]), /input shape must be \[C, H, W\]/);
    mnist.dispose();
  });
});
