// resetState: whole-parameter and masked resets of optimizer state, against
// PyTorch runs in which the reset elements continue under a fresh optimizer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor, tidy } from '../../src/index.js';
import { Parameter } from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { fromFixture } from '../helpers.js';
import { Problem, assertParams, assertState, fixture, makeOptimizer, optimizerFor, trainStep, values } from './problem.js';

const { masks, runs: maskedRuns } = fixture.maskedReset;

for (const [name, run] of Object.entries(maskedRuns)) {
  test(`masked resetState (${name}): reset elements restart as if new, the rest continue`, () => {
    const problem = new Problem();
    const optimizer = optimizerFor(run, problem);
    const maskW = fromFixture(masks.W);
    const maskB = fromFixture(masks.b);
    run.trajectory.forEach((expected, step) => {
      if (step === fixture.resetAt) {
        optimizer.resetState(problem.w, maskW);
        optimizer.resetState(problem.b, maskB);
      }
      trainStep(problem, optimizer);
      assertParams(problem, expected, `${name} step ${step + 1}`);
    });
    assertState(optimizer, problem, run.state, name, ['elementStep']);
    if (run.kind !== 'sgd') {
      // Reset elements count their steps from the reset, the others from the start.
      for (const [p, mask] of [[problem.w, masks.W], [problem.b, masks.b]] as const) {
        const steps = values(optimizer.getState(p)!.tensors['elementStep']!);
        assert.deepEqual(steps, mask.data.map((m) => (m === true ? fixture.steps - fixture.resetAt : fixture.steps)));
      }
    }
    maskW.dispose();
    maskB.dispose();
    optimizer.dispose();
    problem.dispose();
  });
}

for (const [name, run] of Object.entries(fixture.fullReset)) {
  test(`full resetState (${name}) matches PyTorch forgetting the parameter's state`, () => {
    const problem = new Problem();
    const optimizer = optimizerFor(run, problem);
    run.trajectory.forEach((expected, step) => {
      if (step === fixture.resetAt) {
        optimizer.resetState(problem.w);
        assert.equal(optimizer.getState(problem.w), undefined);
        assert.ok(optimizer.getState(problem.b) !== undefined);
      }
      trainStep(problem, optimizer);
      assertParams(problem, expected, `${name} step ${step + 1}`);
    });
    assertState(optimizer, problem, run.state, name);
    optimizer.dispose();
    problem.dispose();
  });
}

test('a masked reset zeroes the masked state at once and keeps the step count', () => {
  const problem = new Problem();
  const optimizer = makeOptimizer('adam', problem.params, { lr: 0.01, amsgrad: true });
  for (let i = 0; i < 3; i++) trainStep(problem, optimizer);
  const mask = tensor([false, true, false]);
  tidy(() => optimizer.resetState(problem.b, mask));
  const state = optimizer.getState(problem.b)!;
  assert.equal(state.step, 3);
  for (const name of ['expAvg', 'expAvgSq', 'maxExpAvgSq']) {
    const v = values(state.tensors[name]!);
    assert.equal(v[1], 0, name);
    assert.notEqual(v[0], 0, name);
    assert.notEqual(v[2], 0, name);
  }
  assert.deepEqual(values(state.tensors['elementStep']!), [3, 0, 3]);
  assert.equal(state.tensors['elementStep']!.dtype, 'float64');

  const sgd = makeOptimizer('sgd', problem.params, { lr: 0.01, momentum: 0.9, dampening: 0.5 });
  trainStep(problem, sgd);
  sgd.resetState(problem.b, mask);
  const sgdState = sgd.getState(problem.b)!;
  const buffer = values(sgdState.tensors['momentumBuffer']!);
  assert.equal(buffer[1], 0);
  assert.notEqual(buffer[0], 0);
  assert.deepEqual(values(sgdState.tensors['momentumFresh']!), [0, 1, 0]);
  trainStep(problem, sgd);
  assert.equal(sgd.getState(problem.b)!.tensors['momentumFresh'], undefined);
  sgd.dispose();
  mask.dispose();
  optimizer.dispose();
  problem.dispose();
});

test('a broadcastable mask resets whole units like the full-shaped mask', () => {
  const rowMask = tensor([[false], [true], [false]]);
  const fullMask = tensor([[false, false, false, false], [true, true, true, true], [false, false, false, false]]);
  const finals: number[][] = [];
  for (const mask of [rowMask, fullMask]) {
    for (const kind of ['adam', 'sgd'] as const) {
      const problem = new Problem();
      const optimizer = makeOptimizer(kind, problem.params, kind === 'sgd' ? { lr: 0.05, momentum: 0.9, dampening: 0.3 } : { lr: 0.01 });
      for (let i = 0; i < 4; i++) trainStep(problem, optimizer);
      optimizer.resetState(problem.w, mask);
      for (let i = 0; i < 4; i++) trainStep(problem, optimizer);
      finals.push(values(problem.w));
      optimizer.dispose();
      problem.dispose();
    }
  }
  assert.deepEqual(finals[0], finals[2]);
  assert.deepEqual(finals[1], finals[3]);
  rowMask.dispose();
  fullMask.dispose();
});

test('resetState before any step is a no-op; misuse is reported', () => {
  const problem = new Problem();
  const optimizer = new SGD(problem.params, { lr: 0.1, momentum: 0.9 });
  const mask = tensor([true, false, true]);
  optimizer.resetState(problem.b, mask);
  assert.equal(optimizer.getState(problem.b), undefined);
  trainStep(problem, optimizer);
  const stranger = new Parameter(tensor([1, 2, 3], { dtype: 'float32' }));
  assert.throws(() => optimizer.resetState(stranger), /not optimized by this optimizer/);
  const intMask = tensor([1, 0, 1]);
  assert.throws(() => optimizer.resetState(problem.b, intMask), /mask must be a bool tensor, got int64/);
  const adam = new Adam([stranger]);
  assert.throws(() => adam.resetState(problem.w), /Adam.resetState: the parameter is not optimized/);
  for (const t of [mask, intMask, stranger]) t.dispose();
  optimizer.dispose();
  problem.dispose();
});
