// Learning-rate schedules against PyTorch 1.13's sequences.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/index.js';
import { Parameter } from '../../src/nn/index.js';
import { CosineAnnealingLR, type LRScheduler, ReduceLROnPlateau, type ReduceLROnPlateauOptions, SGD, StepLR } from '../../src/optim/index.js';
import { assertClose } from '../helpers.js';
import { fixture } from './problem.js';

/** An SGD with one single-element parameter per group, at the given lrs. */
function optimizerWith(lrs: readonly number[]): { optimizer: SGD; dispose: () => void } {
  const params = lrs.map(() => {
    const data = tensor([0], { dtype: 'float32' });
    const p = new Parameter(data);
    data.dispose();
    return p;
  });
  const optimizer = new SGD(params.map((p, i) => ({ params: [p], lr: lrs[i]! })), { lr: lrs[0]! });
  return { optimizer, dispose: () => params.forEach((p) => p.dispose()) };
}

function assertLrs(actual: number[], expected: number[], message: string): void {
  assert.equal(actual.length, expected.length, `${message}: groups`);
  // The recursive formulas are replayed operation by operation; only cos may differ in the last bit.
  actual.forEach((lr, i) => assertClose(lr, expected[i]!, `${message}: group ${i}`, 1e-12, 0));
}

function checkSchedule(name: string, make: (o: SGD) => LRScheduler): void {
  const f = fixture.schedules[name]!;
  const { optimizer, dispose } = optimizerWith(f.lrs);
  const scheduler = make(optimizer);
  f.lr.forEach((expected, epoch) => {
    if (epoch > 0) {
      optimizer.step();
      scheduler.step();
    }
    assertLrs(scheduler.getLastLr(), expected, `${name} epoch ${epoch}`);
    assertLrs(optimizer.paramGroups.map((g) => g.lr), expected, `${name} epoch ${epoch} (groups)`);
  });
  dispose();
}

test('StepLR matches PyTorch', () => {
  const f = fixture.schedules['step_lr']!;
  checkSchedule('step_lr', (o) => new StepLR(o, f.stepSize!, f.gamma));
  checkSchedule('step_lr_default_gamma', (o) => new StepLR(o, fixture.schedules['step_lr_default_gamma']!.stepSize!));
});

test('CosineAnnealingLR matches PyTorch, past tMax and back up', () => {
  const f = fixture.schedules['cosine']!;
  assert.ok(f.lr.length > 2 * f.tMax!);
  checkSchedule('cosine', (o) => new CosineAnnealingLR(o, f.tMax!, f.etaMin));
  checkSchedule('cosine_default_eta', (o) => new CosineAnnealingLR(o, fixture.schedules['cosine_default_eta']!.tMax!));
});

for (const [name, f] of Object.entries(fixture.plateaus)) {
  test(`ReduceLROnPlateau (${name}) matches PyTorch`, () => {
    const { optimizer, dispose } = optimizerWith(f.lrs);
    const scheduler = new ReduceLROnPlateau(optimizer, f.options as ReduceLROnPlateauOptions);
    f.metrics.forEach((metric, i) => {
      scheduler.step(metric);
      assertLrs(scheduler.getLastLr(), f.lr[i]!, `${name} epoch ${i + 1}`);
    });
    dispose();
  });
}

test('ReduceLROnPlateau takes a one-element tensor and validates its options', () => {
  const { optimizer, dispose } = optimizerWith([0.1]);
  const scheduler = new ReduceLROnPlateau(optimizer, { patience: 0 });
  const metric = tensor(1.5);
  scheduler.step(metric);
  scheduler.step(metric);
  assertLrs(scheduler.getLastLr(), [0.01], 'after a plateau');
  metric.dispose();
  assert.throws(() => new ReduceLROnPlateau(optimizer, { factor: 1 }), /invalid factor: 1 \(must be < 1\)/);
  assert.throws(() => new ReduceLROnPlateau(optimizer, { mode: 'up' as 'min' }), /invalid mode: up/);
  assert.throws(() => new ReduceLROnPlateau(optimizer, { thresholdMode: 'x' as 'rel' }), /invalid thresholdMode: x/);
  assert.throws(() => new ReduceLROnPlateau(optimizer, { minLr: [0, 0] }), /expected 1 minLr values, got 2/);
  dispose();
});

test('scheduler stateDict / loadStateDict resume the schedule where it was', () => {
  const f = fixture.schedules['cosine']!;
  const a = optimizerWith(f.lrs);
  const first = new CosineAnnealingLR(a.optimizer, f.tMax!, f.etaMin);
  for (let e = 1; e <= 7; e++) first.step();
  const saved = JSON.parse(JSON.stringify(first.stateDict())) as ReturnType<LRScheduler['stateDict']>;
  const groups = JSON.parse(JSON.stringify(a.optimizer.paramGroups.map(({ params: _p, ...h }) => h))) as { lr: number; initialLr: number }[];

  // As in PyTorch: build optimizer and scheduler, then load the optimizer's state (its lrs), then the scheduler's.
  const b = optimizerWith(f.lrs);
  const second = new CosineAnnealingLR(b.optimizer, 99, 0.5);
  b.optimizer.paramGroups.forEach((g, i) => Object.assign(g, groups[i]));
  second.loadStateDict(saved);
  for (let e = 8; e < f.lr.length; e++) {
    second.step();
    assertLrs(second.getLastLr(), f.lr[e]!, `resumed cosine epoch ${e}`);
  }

  const p = fixture.plateaus['min_rel']!;
  const c = optimizerWith(p.lrs);
  const plateau = new ReduceLROnPlateau(c.optimizer, p.options as ReduceLROnPlateauOptions);
  assert.equal(JSON.parse(JSON.stringify(plateau.stateDict())).best, null);
  for (let i = 0; i < 10; i++) plateau.step(p.metrics[i]!);
  const plateauState = JSON.parse(JSON.stringify(plateau.stateDict())) as ReturnType<ReduceLROnPlateau['stateDict']>;
  const d = optimizerWith(c.optimizer.paramGroups.map((g) => g.lr));
  const resumed = new ReduceLROnPlateau(d.optimizer);
  resumed.loadStateDict(plateauState);
  for (let i = 10; i < p.metrics.length; i++) {
    resumed.step(p.metrics[i]!);
    assertLrs(resumed.getLastLr(), p.lr[i]!, `resumed plateau epoch ${i + 1}`);
  }
  for (const o of [a, b, c, d]) o.dispose();
});

test('schedulers validate their arguments and record initialLr', () => {
  const { optimizer, dispose } = optimizerWith([0.1]);
  assert.throws(() => new StepLR(optimizer, 0), /StepLR: invalid stepSize: 0/);
  assert.throws(() => new CosineAnnealingLR(optimizer, 0), /CosineAnnealingLR: invalid tMax: 0/);
  assert.equal(optimizer.paramGroups[0]!.initialLr, undefined);
  const scheduler = new StepLR(optimizer, 2, 0.5);
  assert.equal(optimizer.paramGroups[0]!.initialLr, 0.1);
  assert.deepEqual(scheduler.baseLrs, [0.1]);
  const { optimizer: fresh, dispose: disposeFresh } = optimizerWith([0.1]);
  assert.throws(() => new StepLR(fresh, 2, 0.5, 3), /needs initialLr in paramGroups\[0\]/);
  disposeFresh();
  dispose();
});
