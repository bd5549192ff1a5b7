// stateDict / loadStateDict: the format, and a save-and-resume through
// safetensors + JSON continuing exactly as PyTorch's uninterrupted run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor, deserializeSafetensors, noGrad, serializeSafetensors, tensor, tidy } from '../../src/index.js';
import { type Optimizer, type OptimizerStateDict, packStateDict, unpackStateDict } from '../../src/optim/index.js';
import { fromFixture } from '../helpers.js';
import { Problem, type RunFixture, assertParams, assertState, fixture, makeOptimizer, optimizerFor, trainStep, values } from './problem.js';

/** Writes the state dict to safetensors bytes and JSON text and reads it back. */
function roundTrip(stateDict: OptimizerStateDict): { stateDict: OptimizerStateDict; loaded: Tensor[] } {
  const packed = packStateDict(stateDict);
  const bytes = new Uint8Array(Buffer.concat(serializeSafetensors(packed.tensors)));
  const text = JSON.stringify(packed.json);
  const { tensors } = deserializeSafetensors(bytes);
  return { stateDict: unpackStateDict(tensors, JSON.parse(text) as typeof packed.json), loaded: Object.values(tensors) };
}

/** Runs `run` for resetAt steps, saves, resumes in a new problem and optimizer, and checks the rest against PyTorch. */
function checkResume(name: string, run: RunFixture, reset?: { w: Tensor; b: Tensor }): void {
  const first = new Problem();
  const original = optimizerFor(run, first);
  for (let step = 0; step < fixture.resetAt; step++) trainStep(first, original);
  if (reset !== undefined) {
    original.resetState(first.w, reset.w);
    original.resetState(first.b, reset.b);
  }
  const saved = tidy(() => roundTrip(original.stateDict()));

  const second = new Problem();
  noGrad(() => {
    second.w.copy_(first.w);
    second.b.copy_(first.b);
  });
  // Different hyperparameters, which the state dict must replace.
  const wrongLr = (options: RunFixture['options']): RunFixture['options'] => ({ ...options, lr: 123 });
  const resumed = optimizerFor({ ...run, options: wrongLr(run.options), groups: run.groups?.map((g) => ({ ...g, options: wrongLr(g.options) })) }, second);
  resumed.loadStateDict(saved.stateDict);
  for (const t of saved.loaded) t.dispose();
  original.dispose();
  first.dispose();

  for (let step = fixture.resetAt; step < fixture.steps; step++) {
    trainStep(second, resumed);
    assertParams(second, run.trajectory[step]!, `${name} resumed, step ${step + 1}`);
  }
  assertState(resumed, second, run.state, `${name} resumed`, ['elementStep']);
  resumed.dispose();
  second.dispose();
}

for (const name of ['sgd_nesterov', 'sgd_groups', 'adam_amsgrad', 'adam_groups', 'adamw_amsgrad']) {
  test(`${name}: save at step ${fixture.resetAt}, resume, and finish as PyTorch's uninterrupted run`, () => {
    checkResume(name, fixture.runs[name]!);
  });
}

for (const name of ['adam', 'sgd_dampening']) {
  test(`${name}: a masked reset's per-element state survives save and resume`, () => {
    const w = fromFixture(fixture.maskedReset.masks.W);
    const b = fromFixture(fixture.maskedReset.masks.b);
    checkResume(`masked ${name}`, fixture.maskedReset.runs[name]!, { w, b });
    w.dispose();
    b.dispose();
  });
}

test('stateDict: parameter indices through the groups, hyperparameters, aliases of the state', () => {
  const problem = new Problem();
  const optimizer = optimizerFor(fixture.runs['sgd_groups']!, problem);
  trainStep(problem, optimizer);
  tidy(() => {
    const sd = optimizer.stateDict();
    assert.deepEqual(sd.paramGroups, [
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [0] },
      { lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, params: [1] },
    ]);
    assert.deepEqual(Object.keys(sd.state).sort(), ['0', '1']);
    assert.deepEqual(Object.keys(sd.state[0]!).sort(), ['momentumBuffer', 'step']);
    assert.deepEqual(sd.state[1], { step: 1 });
    const buffer = sd.state[0]!['momentumBuffer'];
    assert.ok(buffer instanceof Tensor);
    assert.deepEqual(values(buffer), values(optimizer.getState(problem.w)!.tensors['momentumBuffer']!));
  });
  // The scope freed the aliases, not the state.
  assert.equal(optimizer.getState(problem.w)!.tensors['momentumBuffer']!.isDisposed, false);
  optimizer.dispose();
  problem.dispose();
});

test('loadStateDict copies the tensors and rejects a state dict of another shape', () => {
  const problem = new Problem();
  const optimizer: Optimizer<{ lr: number }> = makeOptimizer('adam', problem.params, { lr: 0.01 });
  trainStep(problem, optimizer);
  const sd = optimizer.stateDict();
  const other = new Problem();
  const target = makeOptimizer('adam', other.params, { lr: 0.5 });
  target.loadStateDict(sd);
  assert.equal(target.paramGroups[0]!.lr, 0.01);
  const before = values(target.getState(other.w)!.tensors['expAvg']!);
  (sd.state[0]!['expAvg'] as Tensor).fill_(7);
  assert.deepEqual(values(target.getState(other.w)!.tensors['expAvg']!), before);

  const single = makeOptimizer('adam', [other.w], { lr: 0.5 });
  assert.throws(() => single.loadStateDict(sd), /parameter group 0 has 2 parameters in the state dict, 1 in the optimizer/);
  const split = makeOptimizer('adam', [{ params: [other.w] }, { params: [other.b] }] as never, { lr: 0.5 });
  assert.throws(() => split.loadStateDict(sd), /the state dict has 1 parameter groups, the optimizer 2/);
  const wrongShape = tensor([1, 2], { dtype: 'float32' });
  const bad: OptimizerStateDict = { ...sd, state: { ...sd.state, 1: { ...sd.state[1]!, expAvg: wrongShape } } };
  assert.throws(() => target.loadStateDict(bad), /state 'expAvg' of parameter 1 has shape \[2\], the parameter \[3\]/);
  // A rejected load leaves the previous state in place.
  assert.deepEqual(values(target.getState(other.w)!.tensors['expAvg']!), before);
  wrongShape.dispose();
  for (const t of Object.values(sd.state).flatMap((s) => Object.values(s))) if (t instanceof Tensor) t.dispose();
  for (const o of [optimizer, target, single, split]) o.dispose();
  problem.dispose();
  other.dispose();
});
