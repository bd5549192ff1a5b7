// Optimizer steps must leave nothing behind but their state: every temporary
// is freed when its step ends, and state survives any scope the user has open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor, liveTensorCount, randn, tensor, tidy } from '../../src/index.js';
import { Parameter } from '../../src/nn/index.js';
import { Adam, AdamW, type Optimizer, SGD } from '../../src/optim/index.js';
import { Problem, trainStep } from './problem.js';

/** Counts tensor wrappers created through Tensor.wrap and not yet disposed while `fn` runs. */
function withLiveCount<T>(fn: (live: () => number) => T): T {
  const live = new Set<Tensor>();
  const wrap = Tensor.wrap;
  const dispose = Object.getOwnPropertyDescriptor(Tensor.prototype, 'dispose')!;
  Tensor.wrap = (handle) => {
    const t = wrap.call(Tensor, handle);
    live.add(t);
    return t;
  };
  Tensor.prototype.dispose = function (this: Tensor): void {
    live.delete(this);
    (dispose.value as (this: Tensor) => void).call(this);
  };
  try {
    return fn(() => live.size);
  } finally {
    Tensor.wrap = wrap;
    Object.defineProperty(Tensor.prototype, 'dispose', dispose);
  }
}

const configurations: [string, (params: Parameter[]) => Optimizer<{ lr: number }>, boolean][] = [
  ['SGD with momentum, nesterov and weight decay', (p) => new SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }), false],
  ['SGD with dampening, masked resets', (p) => new SGD(p, { lr: 0.01, momentum: 0.9, dampening: 0.1, maximize: true }), true],
  ['Adam with amsgrad and weight decay', (p) => new Adam(p, { lr: 1e-3, amsgrad: true, weightDecay: 1e-3 }), false],
  ['Adam, masked resets (per-element steps)', (p) => new Adam(p, { lr: 1e-3 }), true],
  ['AdamW', (p) => new AdamW(p, { lr: 1e-3, maximize: true }), false],
];

for (const [name, make, resets] of configurations) {
  test(`${name}: 1,000 steps leave the number of live tensors unchanged`, () => {
    withLiveCount((live) => {
      const problem = new Problem();
      const optimizer = make(problem.params);
      const mask = tensor([true, false, true]);
      const rowMask = tensor([[false], [true], [false]]);
      let afterWarmUp = -1;
      for (let i = 0; i < 1000; i++) {
        if (resets && i % 10 === 0) {
          optimizer.resetState(problem.w, rowMask);
          optimizer.resetState(problem.b, mask);
        }
        trainStep(problem, optimizer);
        // By step 20 every state tensor exists (the first reset, before any state, does nothing).
        if (i === 19) afterWarmUp = live();
      }
      assert.ok(afterWarmUp > 0);
      assert.equal(live(), afterWarmUp);
      optimizer.dispose();
      mask.dispose();
      rowMask.dispose();
      problem.dispose();
    });
  });
}

test('resident memory and native tensor count stay flat over 2,000 Adam steps', () => {
  // 128 x 128 float32 is 64 KiB, below glibc's mmap threshold, so the allocator's
  // own caching stays small; one leaked temporary per step would add 125 MiB.
  const data = randn([128, 128]);
  const p = new Parameter(data);
  data.dispose();
  const optimizer = new Adam([p], { lr: 1e-3, amsgrad: true });
  const step = (): void => {
    optimizer.zeroGrad();
    tidy(() => p.square().sum().backward());
    optimizer.step();
  };
  for (let i = 0; i < 200; i++) step();
  const before = process.memoryUsage().rss;
  const handles = liveTensorCount();
  for (let i = 0; i < 2000; i++) step();
  const grown = process.memoryUsage().rss - before;
  assert.equal(liveTensorCount(), handles);
  assert.ok(grown < 24 * 1024 * 1024, `resident memory grew by ${(grown / 1048576).toFixed(1)} MiB`);
  optimizer.dispose();
  p.dispose();
});

test('state created inside a user scope outlives it; the step frees the gradient wrappers it reads', () => {
  withLiveCount((live) => {
    const problem = new Problem();
    const optimizer = new Adam(problem.params, { lr: 0.01 });
    tidy(() => {
      problem.backward();
      optimizer.step();
    });
    const state = optimizer.getState(problem.w)!;
    assert.equal(state.tensors['expAvg']!.isDisposed, false);
    assert.equal(state.tensors['expAvgSq']!.isDisposed, false);
    const count = live();
    optimizer.step();
    assert.equal(live(), count);
    optimizer.dispose();
    assert.equal(state.tensors['expAvg']!.isDisposed, true);
    problem.dispose();
  });
});
