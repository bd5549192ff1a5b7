// FrozenValues: the frozen elements of a parameter come back bit-identical
// after optimizer steps that move them (weight decay, momentum, Adam), and
// the others keep moving.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrozenValues } from '../../src/continual/algorithms/frozen_values.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { parameterFrom } from '../../src/nn/parameter.js';
import { liveTensorCount, manualSeed, randn, tidy } from '../../src/index.js';

describe('FrozenValues', () => {
  for (const [name, make] of [
    ['SGD with momentum and weight decay', (p: ReturnType<typeof parameterFrom>) => new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 })],
    ['Adam with weight decay', (p: ReturnType<typeof parameterFrom>) => new Adam([p], { lr: 0.1, weightDecay: 0.01 })],
  ] as const) {
    it(`keeps the frozen elements bit-identical under ${name}, and only those`, () => {
      manualSeed(4);
      const before = liveTensorCount();
      tidy(() => {
        const p = parameterFrom(randn([6, 5]));
        const mask = randn([6, 5]).gt(0);
        const initial = p.detach().clone();
        const optimizer = make(p);
        const frozen = new FrozenValues();
        frozen.freeze(p, mask);
        assert.equal(frozen.count(), mask.sum().item());
        for (let step = 0; step < 5; step++) {
          tidy(() => {
            optimizer.zeroGrad();
            p.mul(p).sum().backward();
            optimizer.step();
          });
          frozen.restore();
        }
        tidy(() => {
          const same = p.detach().eq(initial);
          assert.ok(same.logicalOr(mask.logicalNot()).all().item(), 'every frozen element kept its value');
          assert.ok(!same.logicalAnd(mask.logicalNot()).any().item(), 'every other element moved');
        });
        frozen.clear();
        optimizer.dispose();
        p.grad = null;
        p.dispose();
      });
      assert.equal(liveTensorCount(), before);
    });
  }

  it('refuses a mask that is not bool', () => {
    const frozen = new FrozenValues();
    const p = parameterFrom(randn([3]));
    assert.throws(() => frozen.freeze(p, randn([3])), /the mask must be bool, got float32/);
    p.dispose();
  });
});
