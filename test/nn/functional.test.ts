// nn.functional (and the matching layers) against torch.nn.functional 1.13,
// on float64 inputs so that agreement can be checked tightly.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Tensor, ones, randn, tensor, tidy, zeros } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { type FixtureTensor, assertMatches, fromFixture, loadFixture } from '../helpers.js';

const F = nn.functional;

type Cases = Record<string, FixtureTensor>;
interface Fixture {
  functional: {
    act: Cases;
    crossEntropy: Cases;
    mse: Cases;
    oneHot: Cases;
    pool: Cases;
    conv2d: Cases;
    batchNorm: Cases & { runningMeanAfter: FixtureTensor; runningVarAfter: FixtureTensor };
  };
}

const fx = loadFixture<Fixture>('nn').functional;
const get = (cases: Cases, key: string): FixtureTensor => {
  const c = cases[key];
  if (c === undefined) throw new Error(`fixture has no case '${key}'`);
  return c;
};

describe('activations', () => {
  const expect = (key: string, fn: (x: Tensor) => Tensor): void => {
    test(key, () => tidy(() => assertMatches(fn(fromFixture(get(fx.act, 'x'))), get(fx.act, key), key)));
  };
  expect('relu', (x) => F.relu(x));
  expect('leakyRelu', (x) => F.leakyRelu(x, { negativeSlope: 0.2 }));
  expect('leakyReluDefault', (x) => F.leakyRelu(x));
  expect('sigmoid', (x) => F.sigmoid(x));
  expect('tanh', (x) => F.tanh(x));
  expect('gelu', (x) => F.gelu(x));
  expect('geluTanh', (x) => F.gelu(x, { approximate: 'tanh' }));
  expect('softmax1', (x) => F.softmax(x, 1));
  expect('softmax0', (x) => F.softmax(x, 0));
  expect('logSoftmax1', (x) => F.logSoftmax(x, 1));
  expect('logSoftmaxNeg2', (x) => F.logSoftmax(x, -2));

  test('layers agree with the functions', () => {
    tidy(() => {
      const x = fromFixture(get(fx.act, 'x'));
      const layers: [string, nn.UnaryModule][] = [
        ['relu', new nn.ReLU()],
        ['leakyRelu', new nn.LeakyReLU(0.2)],
        ['leakyReluDefault', new nn.LeakyReLU()],
        ['sigmoid', new nn.Sigmoid()],
        ['tanh', new nn.Tanh()],
        ['gelu', new nn.GELU()],
        ['geluTanh', new nn.GELU({ approximate: 'tanh' })],
        ['softmax0', new nn.Softmax(0)],
        ['logSoftmax1', new nn.LogSoftmax(1)],
      ];
      for (const [key, layer] of layers) {
        assert.equal(layer.parameters().length, 0, `${key} has no parameters`);
        assertMatches(layer.forward(x), get(fx.act, key), `${key} layer`);
      }
    });
  });

  test('softmax with a dtype casts first; rows sum to 1', () => {
    tidy(() => {
      const x = randn([3, 4]);
      const y = F.softmax(x, -1, { dtype: 'float64' });
      assert.equal(y.dtype, 'float64');
      assertMatches(y.sum(1), { shape: [3], dtype: 'float64', data: [1, 1, 1] }, 'row sums', { atol: 1e-12 });
    });
  });

  test("gelu rejects an unknown approximation", () => {
    tidy(() => assert.throws(() => F.gelu(zeros([2]), { approximate: 'erf' as nn.functional.GeluApproximate }), /approximate must be 'none' or 'tanh'/));
  });
});

describe('losses', () => {
  const ce = fx.crossEntropy;
  const logits = (): Tensor => fromFixture(get(ce, 'logits'));
  const target = (): Tensor => fromFixture(get(ce, 'target'));

  test('crossEntropy mean and its gradient', () => {
    tidy(() => {
      const x = fromFixture(get(ce, 'logits'), { requiresGrad: true });
      const loss = F.crossEntropy(x, target());
      assertMatches(loss, get(ce, 'mean'), 'loss');
      loss.backward();
      assertMatches(x.grad!, get(ce, 'gradMean'), 'gradient');
    });
  });

  test('crossEntropy options: reductions, class weights, ignoreIndex, label smoothing, probability targets', () => {
    tidy(() => {
      const weight = fromFixture(get(ce, 'weight'));
      const ignored = fromFixture(get(ce, 'ignored'));
      assertMatches(F.crossEntropy(logits(), target(), { reduction: 'sum' }), get(ce, 'sum'), 'sum');
      assertMatches(F.crossEntropy(logits(), target(), { reduction: 'none' }), get(ce, 'none'), 'none');
      assertMatches(F.crossEntropy(logits(), target(), { weight }), get(ce, 'weighted'), 'weighted');
      assertMatches(F.crossEntropy(logits(), ignored), get(ce, 'ignoreDefault'), 'default ignoreIndex -100');
      assertMatches(F.crossEntropy(logits(), target(), { ignoreIndex: 4 }), get(ce, 'ignore4'), 'ignoreIndex 4');
      assertMatches(F.crossEntropy(logits(), target(), { labelSmoothing: 0.1 }), get(ce, 'smoothing'), 'labelSmoothing');
      assertMatches(F.crossEntropy(logits(), target(), { weight, labelSmoothing: 0.2 }), get(ce, 'weightedSmoothing'), 'weighted smoothing');
      assertMatches(F.crossEntropy(logits(), fromFixture(get(ce, 'probs'))), get(ce, 'probTargets'), 'probability targets');
      assertMatches(F.crossEntropy(fromFixture(get(ce, 'spatial')), fromFixture(get(ce, 'spatialTarget'))), get(ce, 'spatialLoss'), 'spatial');
    });
  });

  test('crossEntropy by hand: uniform logits give log(C)', () => {
    tidy(() => {
      const loss = F.crossEntropy(zeros([2, 5], { dtype: 'float64' }), tensor([0, 3]));
      assertMatches(loss, { shape: [], dtype: 'float64', data: [Math.log(5)] }, 'loss');
    });
  });

  test('nllLoss on log-probabilities', () => {
    tidy(() => {
      const logp = F.logSoftmax(logits(), 1);
      assertMatches(F.nllLoss(logp, target()), get(ce, 'nll'), 'mean');
      assertMatches(F.nllLoss(logp, fromFixture(get(ce, 'ignored')), { weight: fromFixture(get(ce, 'weight')), reduction: 'sum' }), get(ce, 'nllWeightedSum'), 'weighted sum');
      assertMatches(F.nllLoss(logp, target(), { reduction: 'none' }), get(ce, 'nllNone'), 'none');
    });
  });

  test('mseLoss', () => {
    const m = fx.mse;
    tidy(() => {
      const a = fromFixture(get(m, 'a'));
      const b = fromFixture(get(m, 'b'));
      assertMatches(F.mseLoss(a, b), get(m, 'mean'), 'mean');
      assertMatches(F.mseLoss(a, b, { reduction: 'sum' }), get(m, 'sum'), 'sum');
      assertMatches(F.mseLoss(a, b, { reduction: 'none' }), get(m, 'none'), 'none');
    });
  });

  test('loss layers agree with the functions', () => {
    tidy(() => {
      const weight = fromFixture(get(ce, 'weight'));
      assertMatches(new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.2 }).forward(logits(), target()), get(ce, 'weightedSmoothing'), 'CrossEntropyLoss');
      assertMatches(new nn.NLLLoss({ reduction: 'none' }).forward(F.logSoftmax(logits(), 1), target()), get(ce, 'nllNone'), 'NLLLoss');
      const loss = new nn.MSELoss({ reduction: 'sum' });
      assertMatches(loss.forward(fromFixture(get(fx.mse, 'a')), fromFixture(get(fx.mse, 'b'))), get(fx.mse, 'sum'), 'MSELoss');
      assert.deepEqual(new nn.CrossEntropyLoss({ weight }).namedBuffers().map(([n]) => n), ['weight']);
    });
  });

  test('int32 targets, float targets for nllLoss and bad reductions get clear errors', () => {
    tidy(() => {
      const x = randn([3, 4]);
      assert.throws(() => F.crossEntropy(x, tensor([1, 2, 3], { dtype: 'int32' })), /class-index targets must be int64, got int32 \(convert with target.long\(\)\)/);
      assert.throws(() => F.nllLoss(x, randn([3, 4])), /nllLoss: the target must hold int64 class indices, got float32/);
      assert.throws(() => F.crossEntropy(x, randn([3, 4], { dtype: 'float64' })), /probability targets must have the input's dtype \(float32\), got float64/);
      assert.throws(() => F.mseLoss(x, x, { reduction: 'avg' as nn.functional.Reduction }), /reduction must be 'mean', 'sum' or 'none', got 'avg'/);
      assert.throws(() => F.crossEntropy(x, tensor([1, 2, 3]), { labelSmoothing: 1.5 }), /labelSmoothing must be in \[0, 1\]/);
    });
  });

  test('oneHot', () => {
    const o = fx.oneHot;
    tidy(() => {
      const labels = fromFixture(get(o, 'labels'));
      assertMatches(F.oneHot(labels), get(o, 'auto'), 'inferred class count');
      assertMatches(F.oneHot(labels, 6), get(o, 'six'), 'six classes');
      assert.throws(() => F.oneHot(labels.int()), /oneHot: expected int64 class indices, got int32/);
    });
  });
});

describe('pooling and unfold', () => {
  const p = fx.pool;
  const img = (): Tensor => fromFixture(get(p, 'x'));
  const expect = (key: string, fn: (x: Tensor) => Tensor): void => {
    test(key, () => tidy(() => assertMatches(fn(img()), get(p, key), key)));
  };
  expect('max2', (x) => F.maxPool2d(x, 2));
  expect('max3s2p1', (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }));
  expect('max2ceil', (x) => F.maxPool2d(x, 2, { ceilMode: true }));
  expect('max2dil2', (x) => F.maxPool2d(x, 2, { stride: 1, dilation: 2 }));
  expect('max23s12', (x) => F.maxPool2d(x, [2, 3], { stride: [1, 2] }));
  expect('avg2', (x) => F.avgPool2d(x, 2));
  expect('avg3s2p1', (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }));
  expect('avg3s2p1NoPad', (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }));
  expect('avg2ceil', (x) => F.avgPool2d(x, 2, { ceilMode: true }));
  expect('adaptive32', (x) => F.adaptiveAvgPool2d(x, [3, 2]));
  expect('adaptive1', (x) => F.adaptiveAvgPool2d(x, 1));
  expect('adaptiveNone4', (x) => F.adaptiveAvgPool2d(x, [null, 4]));
  expect('unfold', (x) => F.unfold(x, 2));
  expect('unfoldFull', (x) => F.unfold(x, [2, 3], { dilation: [2, 1], padding: 1, stride: [2, 3] }));

  test('pooling layers agree with the functions', () => {
    tidy(() => {
      assertMatches(new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(img()), get(p, 'max3s2p1'), 'MaxPool2d');
      assertMatches(new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).forward(img()), get(p, 'avg3s2p1NoPad'), 'AvgPool2d');
      assertMatches(new nn.AdaptiveAvgPool2d([null, 4]).forward(img()), get(p, 'adaptiveNone4'), 'AdaptiveAvgPool2d');
    });
  });

  test('bad sizes are rejected before libtorch', () => {
    tidy(() => {
      assert.throws(() => F.maxPool2d(img(), 0), /maxPool2d: kernelSize must be integers >= 1, got 0/);
      assert.throws(() => F.avgPool2d(img(), 2, { padding: -1 }), /avgPool2d: padding must be integers >= 0/);
      assert.throws(() => F.unfold(img(), [2, 1.5]), /unfold: kernelSize must be integers >= 1/);
      assert.throws(() => F.adaptiveAvgPool2d(zeros([5, 7]), 2), /expected a 3-d or 4-d input/);
    });
  });
});

describe('conv2d and batchNorm', () => {
  const c = fx.conv2d;
  test("conv2d: no bias, bias, stride/padding, 'valid', 'same'", () => {
    tidy(() => {
      const x = fromFixture(get(c, 'x'));
      const w = fromFixture(get(c, 'w'));
      const b = fromFixture(get(c, 'b'));
      assertMatches(F.conv2d(x, w), get(c, 'plain'), 'plain');
      assertMatches(F.conv2d(x, w, b), get(c, 'bias'), 'bias');
      assertMatches(F.conv2d(x, w, b, { stride: 2, padding: 1 }), get(c, 'strided'), 'strided');
      assertMatches(F.conv2d(x, w, b, { padding: 'valid' }), get(c, 'valid'), 'valid');
      assertMatches(F.conv2d(x, w, b, { padding: 'same' }), get(c, 'same'), 'same');
      // Unbatched [C, H, W] input, as PyTorch allows.
      assertMatches(F.conv2d(x.squeeze(0), w, b, { padding: 'same' }).unsqueeze(0), get(c, 'same'), 'same, unbatched');
      assert.throws(() => F.conv2d(x, w, b, { padding: 'same', stride: 2 }), /'same' is not supported for strided convolutions/);
      assert.throws(() => F.conv2d(x, w, b, { groups: 0 }), /groups must be a positive integer/);
    });
  });

  test('linear: x Wᵀ + b by hand', () => {
    tidy(() => {
      const x = tensor([[1, 2]], { dtype: 'float32' });
      const w = tensor([[1, 0], [0, 1], [1, 1]], { dtype: 'float32' });
      assert.deepEqual(F.linear(x, w).toArray(), [[1, 2, 3]]);
      assert.deepEqual(F.linear(x, w, tensor([10, 20, 30], { dtype: 'float32' })).toArray(), [[11, 22, 33]]);
    });
  });

  test('batchNorm: eval with running stats; training updates them in place', () => {
    const bnFx = fx.batchNorm;
    tidy(() => {
      const x = fromFixture(get(bnFx, 'x'));
      const weight = fromFixture(get(bnFx, 'weight'));
      const bias = fromFixture(get(bnFx, 'bias'));
      const rm = tensor([0.5, -1.0, 0.0], { dtype: 'float64' });
      const rv = tensor([1.0, 2.0, 0.5], { dtype: 'float64' });
      assertMatches(F.batchNorm(x, rm, rv, { weight, bias }), get(bnFx, 'eval'), 'eval');
      assertMatches(F.batchNorm(x, rm, rv, { weight, bias, training: true, momentum: 0.25, eps: 1e-3 }), get(bnFx, 'train'), 'train');
      assertMatches(rm, bnFx.runningMeanAfter, 'running mean after');
      assertMatches(rv, bnFx.runningVarAfter, 'running var after');
      assert.throws(() => F.batchNorm(ones([1, 3]), null, null, { training: true }), /more than 1 value per channel/);
    });
  });
});
