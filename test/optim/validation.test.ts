// Invalid hyperparameters and parameters are rejected with errors naming the
// option and its value, as torch.optim rejects them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/index.js';
import { Parameter } from '../../src/nn/index.js';
import { Adam, AdamW, type AdamOptions, SGD, type SGDOptions } from '../../src/optim/index.js';

function withParam(fn: (p: Parameter) => void): void {
  const data = tensor([1, 2, 3], { dtype: 'float32' });
  const p = new Parameter(data);
  data.dispose();
  try {
    fn(p);
  } finally {
    p.dispose();
  }
}

test('SGD rejects invalid hyperparameters', () => {
  withParam((p) => {
    const cases: [SGDOptions, RegExp][] = [
      [{ lr: -0.1 }, /^RangeError: SGD: invalid lr: -0\.1 /],
      [{ lr: NaN }, /SGD: invalid lr: NaN/],
      [{ lr: 0.1, momentum: -0.5 }, /SGD: invalid momentum: -0\.5/],
      [{ lr: 0.1, weightDecay: -1 }, /SGD: invalid weightDecay: -1/],
      [{ lr: 0.1, nesterov: true }, /SGD: nesterov requires momentum > 0 and dampening = 0 \(got momentum: 0, dampening: 0\)/],
      [{ lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }, /SGD: nesterov requires momentum > 0 and dampening = 0 \(got momentum: 0\.9, dampening: 0\.1\)/],
    ];
    for (const [options, message] of cases) assert.throws(() => new SGD([p], options), (e: Error) => message.test(`${e.name}: ${e.message}`), JSON.stringify(options));
    // Per-group overrides are checked too.
    assert.throws(() => new SGD([{ params: [p], lr: -1 }], { lr: 0.1 }), /SGD: invalid lr: -1/);
    assert.doesNotThrow(() => new SGD([p], { lr: 0, momentum: 0.9, nesterov: true }));
  });
});

test('Adam and AdamW reject invalid hyperparameters', () => {
  withParam((p) => {
    const cases: [AdamOptions, RegExp][] = [
      [{ lr: -1e-3 }, /invalid lr: -0\.001/],
      [{ eps: -1e-8 }, /invalid eps: -1e-8/],
      [{ betas: [1, 0.999] }, /invalid betas\[0\]: 1 \(must be in \[0, 1\)\)/],
      [{ betas: [0.9, -0.1] }, /invalid betas\[1\]: -0\.1/],
      [{ weightDecay: -0.01 }, /invalid weightDecay: -0\.01/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new Adam([p], options), (e: Error) => e instanceof RangeError && e.message.startsWith('Adam: ') && message.test(e.message));
      assert.throws(() => new AdamW([p], options), (e: Error) => e instanceof RangeError && e.message.startsWith('AdamW: ') && message.test(e.message));
    }
  });
});

test('defaults match PyTorch: Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, no decay; AdamW decay 0.01', () => {
  withParam((p) => {
    const { params: _a, ...adam } = new Adam([p]).paramGroups[0]!;
    assert.deepEqual(adam, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false });
    const { params: _b, ...adamw } = new AdamW([p]).paramGroups[0]!;
    assert.deepEqual(adamw, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false });
    const { params: _c, ...sgd } = new SGD([p], { lr: 0.1 }).paramGroups[0]!;
    assert.deepEqual(sgd, { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
  });
});

test('parameter lists: empty, duplicated, shared between groups, not a Parameter, not a leaf', () => {
  withParam((p) => {
    assert.throws(() => new SGD([], { lr: 0.1 }), /SGD: got an empty parameter list/);
    assert.throws(() => new SGD([p, p], { lr: 0.1 }), /contains the same parameter twice/);
    assert.throws(() => new Adam([{ params: [p] }, { params: [p] }]), /some parameters appear in more than one parameter group/);
    const plain = tensor([1, 2], { dtype: 'float32' });
    assert.throws(() => new Adam([plain as Parameter]), /can only optimize Parameters, got a plain Tensor/);
    plain.dispose();
    const optimizer = new SGD([p], { lr: 0.1 });
    const q = new Parameter(tensor([0], { dtype: 'float32' }));
    optimizer.addParamGroup({ params: [q], lr: 0.5, momentum: 0.9 });
    assert.deepEqual(optimizer.paramGroups.map((g) => [g.lr, g.momentum]), [[0.1, 0], [0.5, 0.9]]);
    assert.throws(() => optimizer.addParamGroup({ params: [q] }), /more than one parameter group/);
    q.dispose();
  });
});
