// computeFisher against the one-sample-at-a-time oracle, the minibatch
// formula, PyTorch (hypnettorch's semantics), and its option checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Tensor, grad, manualSeed, nn, noGrad, randint, randn, tidy } from '../../../src/index.js';
import { cnnDefinition, instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { computeFisher } from '../../../src/continual/fisher/index.js';
import { HeadsCIL, HeadsTIL } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { type FixtureTensor, fromFixture, loadFixture, settledTensorCount } from '../../helpers.js';
import { assertFisherClose, oracleFisher } from './oracle.js';

function mlpModel(batchNorm = false): ContinualModel {
  manualSeed(1);
  const heads = new HeadsTIL(8);
  heads.setupTask(1, 3);
  heads.setupTask(2, 4);
  return new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [10, 8], batchNorm }), heads);
}

function cnnModel(): ContinualModel {
  manualSeed(2);
  const heads = new HeadsCIL(6);
  heads.setupTask(1, 2);
  heads.setupTask(2, 3);
  return new ContinualModel(instantiateBackbone(cnnDefinition, [2, 8, 8], { channels: [3, 4], featureDim: 6 }), heads);
}

const withTask = (m: ContinualModel, task: number) => (x: Tensor): Tensor => m.forward(x, task).logits;

function disposeAll(map: Map<string, Tensor>): void {
  for (const t of map.values()) t.dispose();
}

test('empirical Fisher of an MLP with TIL heads matches the per-sample oracle, with and without allowedOutputs', () => {
  const model = mlpModel();
  manualSeed(3);
  const x = randn([13, 6]);
  const y = randint(0, 4, [13]);
  const fast = computeFisher({ model, data: { x, y }, taskId: 2, batchSize: 5 });
  assertFisherClose(fast, oracleFisher({ forward: withTask(model, 2), params: model.namedParameters(), x, y, estimator: 'empirical' }), 'mlp');
  // The first task's head does not take part: zero Fisher.
  assert.equal(fast.get('heads.heads.0.weight')!.abs().sum().item(), 0);
  disposeAll(fast);
  const y3 = randint(0, 3, [13]);
  const restricted = computeFisher({ model, data: { x, y: y3 }, taskId: 2, allowedOutputs: [3, 0, 2] });
  assertFisherClose(restricted, oracleFisher({ forward: withTask(model, 2), params: model.namedParameters(), x, y: y3, estimator: 'empirical', allowedOutputs: [3, 0, 2] }), 'mlp allowed');
  disposeAll(restricted);
});

test('empirical and expected Fisher of a CNN with CIL heads match the oracle (conv closed form through unfold)', () => {
  const model = cnnModel();
  manualSeed(4);
  const x = randn([7, 2, 8, 8]);
  const y = randint(0, 5, [7]);
  for (const estimator of ['empirical', 'expected'] as const) {
    const fast = computeFisher({ model, data: { x, y }, taskId: 2, estimator, batchSize: 4 });
    assertFisherClose(fast, oracleFisher({ forward: withTask(model, 2), params: model.namedParameters(), x, y, estimator }), `cnn ${estimator}`);
    disposeAll(fast);
  }
  const fast = computeFisher({ model, data: { x, y: randint(0, 2, [7]) }, taskId: 2, estimator: 'expected', allowedOutputs: [1, 4] });
  assertFisherClose(fast, oracleFisher({ forward: withTask(model, 2), params: model.namedParameters(), x, y, estimator: 'expected', allowedOutputs: [1, 4] }), 'cnn expected allowed');
  disposeAll(fast);
});

test('parameters outside the closed forms (batch norm) take the exact fallback path', () => {
  const model = mlpModel(true);
  manualSeed(5);
  const x = randn([9, 6]);
  const y = randint(0, 4, [9]);
  model.eval();
  const fast = computeFisher({ model, data: { x, y }, taskId: 2, estimator: 'expected' });
  assertFisherClose(fast, oracleFisher({ forward: withTask(model, 2), params: model.namedParameters(), x, y, estimator: 'expected' }), 'batchnorm');
  assert.ok(fast.get('backbone.bn1.weight')!.sum().item() > 0);
  disposeAll(fast);
});

test('regression: Gaussian NLL with regressionLvar, empirical and expected, with allowedOutputs', () => {
  manualSeed(6);
  const model = new nn.Sequential(new nn.Linear(4, 6), new nn.Tanh(), new nn.Linear(6, 3));
  const x = randn([11, 4]);
  const y = randn([11, 3]);
  const forward = (t: Tensor): Tensor => model.forward(t);
  for (const estimator of ['empirical', 'expected'] as const) {
    const fast = computeFisher({ model, data: { x, y }, task: 'regression', regressionLvar: 0.3, estimator, batchSize: 4 });
    assertFisherClose(fast, oracleFisher({ forward, params: model.namedParameters(), x, y, estimator, regression: true, lvar: 0.3 }), `regression ${estimator}`);
    disposeAll(fast);
  }
  const y2 = randn([11, 2]);
  const fast = computeFisher({ model, data: { x, y: y2 }, task: 'regression', allowedOutputs: [2, 0] });
  assertFisherClose(fast, oracleFisher({ forward, params: model.namedParameters(), x, y: y2, estimator: 'empirical', regression: true, allowedOutputs: [2, 0] }), 'regression allowed');
  disposeAll(fast);
});

test('time series [S, N, F]: NLL summed over time, per sample, for classification and regression', () => {
  manualSeed(7);
  const model = new nn.Sequential(new nn.Linear(3, 5), new nn.Tanh(), new nn.Linear(5, 4));
  const x = randn([4, 6, 3]);
  const labels = randint(0, 4, [4, 6]);
  const forward = (t: Tensor): Tensor => model.forward(t);
  for (const estimator of ['empirical', 'expected'] as const) {
    const fast = computeFisher({ model, data: { x, y: labels }, timeSeries: true, estimator, batchSize: 4 });
    assertFisherClose(fast, oracleFisher({ forward, params: model.namedParameters(), x, y: labels, estimator, timeSeries: true }), `ts ${estimator}`);
    disposeAll(fast);
  }
  const targets = randn([4, 6, 4]);
  const fast = computeFisher({ model, data: { x, y: targets }, timeSeries: true, task: 'regression', regressionLvar: 2 });
  assertFisherClose(fast, oracleFisher({ forward, params: model.namedParameters(), x, y: targets, estimator: 'empirical', timeSeries: true, regression: true, lvar: 2 }), 'ts regression');
  disposeAll(fast);
});

test("'minibatch' is (1/N) Σ_batches B · (∇ batch-mean loss)²", () => {
  const model = mlpModel();
  manualSeed(8);
  const x = randn([10, 6]);
  const y = randint(0, 4, [10]);
  const fast = computeFisher({ model, data: { x, y }, taskId: 2, estimator: 'minibatch', batchSize: 4 });
  const params = model.namedParameters();
  const expected = new Map(params.map(([n, p]) => [n, new Float64Array(p.numel())]));
  model.eval();
  for (const [start, len] of [[0, 4], [4, 4], [8, 2]] as const) {
    tidy(() => {
      const loss = nn.functional.crossEntropy(model.forward(x.narrow(0, start, len), 2).logits, y.narrow(0, start, len));
      const gs = grad(loss, params.map(([, p]) => p), { allowUnused: true });
      params.forEach(([n], i) => {
        const g = gs[i];
        if (!g) return;
        const v = g.toTypedArray();
        const acc = expected.get(n)!;
        for (let k = 0; k < acc.length; k++) acc[k]! += (len * Number(v[k]) ** 2) / 10;
      });
    });
  }
  model.train();
  assertFisherClose(fast, expected, 'minibatch', 1e-5);
  disposeAll(fast);
});

test("'true' is reproducible under a seed and converges to 'expected'", () => {
  const model = mlpModel();
  manualSeed(9);
  const x = randn([6, 6]).repeat(400, 1);
  const y = randint(0, 4, [2400]);
  manualSeed(10);
  const a = computeFisher({ model, data: { x, y }, taskId: 2, estimator: 'true', batchSize: 600 });
  manualSeed(10);
  const b = computeFisher({ model, data: { x, y }, taskId: 2, estimator: 'true', batchSize: 600 });
  for (const [n, t] of a) assert.ok(t.equal(b.get(n)!), `true Fisher not reproducible for ${n}`);
  const e = computeFisher({ model, data: { x: x.narrow(0, 0, 6), y: y.narrow(0, 0, 6) }, taskId: 2, estimator: 'expected' });
  // 400 draws per input: the relative error of a whole tensor's sum is a few percent.
  for (const name of ['backbone.fc1.weight', 'backbone.fc2.weight', 'heads.heads.1.weight', 'heads.heads.1.bias']) {
    const got = a.get(name)!.sum().item();
    const want = e.get(name)!.sum().item();
    assert.ok(Math.abs(got - want) / want < 0.1, `${name}: true ${got} vs expected ${want}`);
  }
  // The empirical Fisher at fixed random labels is a different quantity: 'true' must not be it.
  const emp = computeFisher({ model, data: { x, y }, taskId: 2, batchSize: 600 });
  assert.ok(Math.abs(emp.get('heads.heads.1.bias')!.sum().item() - e.get('heads.heads.1.bias')!.sum().item()) > 1e-3);
  for (const m of [a, b, e, emp]) disposeAll(m);
});

test('online: gamma * previous + new; properScaling and priorStrength; errors outside online', () => {
  const model = mlpModel();
  manualSeed(11);
  const x = randn([12, 6]);
  const y = randint(0, 4, [12]);
  const base = computeFisher({ model, data: { x, y }, taskId: 2 });
  const previous = new Map([...base].map(([n, t]) => [n, noGrad(() => t.mul(0).add(2))]));
  const online = computeFisher({ model, data: { x, y }, taskId: 2, online: { previous, gamma: 0.25 } });
  for (const [n, t] of online) assert.ok(t.allclose(base.get(n)!.add(0.5), { rtol: 1e-6, atol: 1e-7 }), `online ${n}`);
  // previous is left untouched (hypnettorch decays its stored Fisher in place).
  assert.equal(previous.get('backbone.fc1.bias')!.max().item(), 2);

  const scaled = computeFisher({ model, data: { x, y }, taskId: 2, online: { previous, gamma: 0 }, properScaling: true, nMax: 8 });
  const sub = computeFisher({ model, data: { x: x.narrow(0, 0, 8), y: y.narrow(0, 0, 8) }, taskId: 2 });
  // N = 12 (the dataset) times the mean over the 8 samples used.
  for (const [n, t] of scaled) assert.ok(t.allclose(sub.get(n)!.mul(12), { rtol: 1e-5, atol: 1e-6 }), `properScaling ${n}`);

  const prior = computeFisher({ model, data: { x, y }, taskId: 2, online: { previous, gamma: 0 }, priorStrength: 0.75 });
  for (const [n, t] of prior) assert.ok(t.allclose(base.get(n)!.add(0.75), { rtol: 1e-6, atol: 1e-7 }), `prior ${n}`);
  const perParam = new Map([...base].map(([n, t]) => [n, noGrad(() => t.mul(0).add(n.length))]));
  const prior2 = computeFisher({ model, data: { x, y }, taskId: 2, online: { previous, gamma: 1 }, priorStrength: perParam });
  for (const [n, t] of prior2) assert.ok(t.allclose(base.get(n)!.add(2 + n.length), { rtol: 1e-6, atol: 1e-6 }), `prior map ${n}`);

  assert.throws(() => computeFisher({ model, data: { x, y }, taskId: 2, properScaling: true }), /properScaling is only defined for online/);
  assert.throws(() => computeFisher({ model, data: { x, y }, taskId: 2, priorStrength: 1 }), /priorStrength is only defined for online/);
  assert.throws(() => computeFisher({ model, data: { x, y }, taskId: 2, online: { previous, gamma: 1.5 } }), /gamma must be in \[0, 1\]/);
  assert.throws(() => computeFisher({ model, data: { x, y }, taskId: 2, online: { previous, gamma: 0.5 }, priorStrength: new Map([['backbone.fc1.bias', randn([3])]]) }), /priorStrength 'backbone.fc1.bias' must be a tensor of the parameter's shape/);
  for (const m of [base, previous, online, scaled, sub, prior, perParam, prior2]) disposeAll(m);
});

test('the model modes are restored; the pass runs in eval mode by default', () => {
  manualSeed(12);
  const model = new nn.Sequential(new nn.Linear(4, 8), new nn.Dropout(0.5), new nn.Linear(8, 3));
  const x = randn([16, 4]);
  const y = randint(0, 3, [16]);
  model.train();
  const seen: boolean[] = [];
  const customForward = (m: nn.Module, t: Tensor): Tensor => {
    seen.push(m.training);
    return model.forward(t);
  };
  const a = computeFisher({ model, data: { x, y }, customForward });
  const b = computeFisher({ model, data: { x, y }, customForward });
  assert.deepEqual(seen, [false, false]);
  assert.ok(model.modules().every((m) => m.training));
  // Eval mode: dropout is off, so two passes agree exactly.
  for (const [n, t] of a) assert.ok(t.equal(b.get(n)!), n);
  model.eval();
  (model[0] as nn.Module).train();
  const c = computeFisher({ model, data: { x, y }, mode: 'train', customForward });
  assert.equal(seen[2], true);
  assert.deepEqual(model.modules().map((m) => m.training), [false, true, false, false]);
  for (const m of [a, b, c]) disposeAll(m);
});

test('customForward, customNll, targetTransform, explicit parameters and iterable data', () => {
  manualSeed(13);
  const model = new nn.Sequential(new nn.Linear(5, 7), new nn.ReLU(), new nn.Linear(7, 3));
  const x = randn([10, 5]);
  const y = randint(0, 3, [10]);
  const reference = computeFisher({ model, data: { x, y }, parameters: ['0.weight', '2.bias'] });
  assert.deepEqual([...reference.keys()], ['0.weight', '2.bias']);
  const shifted = y.add(1);
  const batches = [{ x: x.narrow(0, 0, 3), y: shifted.narrow(0, 0, 3) }, { x: x.narrow(0, 3, 7), y: shifted.narrow(0, 3, 7) }];
  const custom = computeFisher({
    model,
    data: batches,
    parameters: ['0.weight', '2.bias'],
    customForward: (m, t) => (m as nn.Sequential).forward(t).mul(2).div(2),
    customNll: (out, t) => nn.functional.crossEntropy(out, t, { reduction: 'none' }),
    targetTransform: (t) => t.sub(1),
  });
  for (const [n, t] of custom) assert.ok(t.allclose(reference.get(n)!, { rtol: 1e-5, atol: 1e-8 }), n);
  disposeAll(reference);
  disposeAll(custom);
});

test('validation: clear errors', () => {
  manualSeed(14);
  const model = new nn.Sequential(new nn.Linear(2, 3));
  const x = randn([4, 2]);
  const y = randint(0, 3, [4]);
  assert.throws(() => computeFisher({ model, data: { x, y }, estimator: 'fast' as 'true' }), /estimator must be one of/);
  assert.throws(() => computeFisher({ model, data: { x, y }, batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => computeFisher({ model, data: { x, y }, allowedOutputs: [0, 5] }), /allowedOutputs index 5 is out of range/);
  assert.throws(() => computeFisher({ model, data: { x, y }, estimator: 'expected', customNll: (o) => o.sum(1) }), /customNll .* 'expected'/);
  assert.throws(() => computeFisher({ model, data: { x, y: y.add(3) } }), /class targets must lie in \[0, 3\)/);
  assert.throws(() => computeFisher({ model, data: { x, y: y.float() } }), /int64 class indices/);
  assert.throws(() => computeFisher({ model, data: { x, y }, parameters: ['nope'] }), /no parameter 'nope'/);
  assert.throws(() => computeFisher({ model: new ContinualModel(instantiateBackbone(mlpDefinition, [2], { hiddenSizes: [3] }), new HeadsTIL(3)), data: { x, y } }), /needs taskId/);
  assert.throws(() => computeFisher({ model, data: { x, y }, regressionLvar: 2 }), /regressionLvar only applies/);
  assert.throws(() => computeFisher({ model, data: { x, y }, task: 'regression', regressionLvar: 0 }), /regressionLvar must be a positive/);
});

interface FisherFixture {
  state: Record<string, FixtureTensor>;
  x: FixtureTensor;
  labels: FixtureTensor;
  targets: FixtureTensor;
  classification: Record<string, FixtureTensor>;
  regression: Record<string, FixtureTensor>;
}

test("parity with PyTorch: hypnettorch's per-sample empirical Fisher on a tiny seeded MLP", () => {
  const f = loadFixture<FisherFixture>('fisher');
  const model = new nn.Sequential(new nn.Linear(5, 4), new nn.Tanh(), new nn.Linear(4, 3));
  model.loadStateDict(Object.fromEntries(Object.entries(f.state).map(([k, v]) => [k, fromFixture(v)])));
  const x = fromFixture(f.x);
  const cls = computeFisher({ model, data: { x, y: fromFixture(f.labels) }, batchSize: 4 });
  const reg = computeFisher({ model, data: { x, y: fromFixture(f.targets) }, task: 'regression', regressionLvar: 0.5 });
  for (const [got, want] of [[cls, f.classification], [reg, f.regression]] as const) {
    assertFisherClose(got, new Map(Object.entries(want).map(([k, v]) => [k, v.data.map(Number)])), 'pytorch', 1e-4);
    disposeAll(got);
  }

});

test('no tensors leak: only the returned Fisher tensors outlive the call, for every estimator and the fallback path', () => {
  manualSeed(15);
  const model = new nn.Sequential(new nn.Linear(4, 5), new nn.BatchNorm1d(5), new nn.ReLU(), new nn.Linear(5, 3));
  const x = randn([20, 4]);
  const y = randint(0, 3, [20]);
  const before = settledTensorCount();
  for (const estimator of ['empirical', 'expected', 'true', 'minibatch'] as const) disposeAll(computeFisher({ model, data: { x, y }, estimator, batchSize: 7 }));
  assert.equal(settledTensorCount(), before);
});
