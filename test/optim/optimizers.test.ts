// SGD, Adam and AdamW against PyTorch 1.13 trajectories and final state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Problem, assertParams, assertState, fixture, optimizerFor, values } from './problem.js';

for (const [name, run] of Object.entries(fixture.runs)) {
  test(`${name} follows PyTorch's trajectory and ends in its state`, () => {
    const problem = new Problem();
    const optimizer = optimizerFor(run, problem);
    assert.equal(run.trajectory.length, fixture.steps);
    run.trajectory.forEach((expected, step) => {
      optimizer.zeroGrad();
      problem.backward();
      if (run.skipBiasOnOdd === true && step % 2 === 1) problem.b.grad = null;
      optimizer.step();
      assertParams(problem, expected, `${name} step ${step + 1}`);
    });
    assertState(optimizer, problem, run.state, name);
    optimizer.dispose();
    problem.dispose();
  });
}

test('hyperparameters: defaults, per-group overrides', () => {
  const problem = new Problem();
  const run = fixture.runs['adam_groups']!;
  const optimizer = optimizerFor(run, problem);
  assert.deepEqual(
    optimizer.paramGroups.map(({ params, ...h }) => ({ ...h, params: params.length })),
    [
      { lr: 0.02, betas: [0.5, 0.9], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: 1 },
      { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.5, amsgrad: true, maximize: false, params: 1 },
    ],
  );
  problem.dispose();
});

test('a parameter without a gradient is skipped and keeps no state', () => {
  const problem = new Problem();
  const optimizer = optimizerFor(fixture.runs['adam']!, problem);
  optimizer.zeroGrad();
  problem.backward();
  problem.b.grad = null;
  const before = values(problem.b);
  optimizer.step();
  assert.deepEqual(values(problem.b), before);
  assert.equal(optimizer.getState(problem.b), undefined);
  assert.equal(optimizer.getState(problem.w)?.step, 1);
  optimizer.dispose();
  problem.dispose();
});

test('zeroGrad clears gradients to null, or to zeros with setToNone = false', () => {
  const problem = new Problem();
  const optimizer = optimizerFor(fixture.runs['sgd_plain']!, problem);
  problem.backward();
  optimizer.zeroGrad(false);
  const g = problem.w.grad;
  assert.ok(g !== null);
  assert.ok(values(g).every((v) => v === 0));
  g.dispose();
  optimizer.zeroGrad();
  assert.equal(problem.w.grad, null);
  assert.equal(problem.b.grad, null);
  problem.dispose();
});

test('step(closure) evaluates the closure with grad enabled and returns its value', () => {
  const problem = new Problem();
  const run = fixture.runs['sgd_momentum']!;
  const optimizer = optimizerFor(run, problem);
  const result = optimizer.step(() => {
    optimizer.zeroGrad();
    problem.backward();
    return 42;
  });
  assert.equal(result, 42);
  assertParams(problem, run.trajectory[0]!, 'after a closure step');
  problem.dispose();
});
