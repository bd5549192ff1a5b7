// MAS's checkpointed state: Ω and θ* per parameter name round-trip exactly,
// and a state that was edited or truncated is refused naming the key at fault
// (a resumed run's bit-identity is tested in run.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAS, masDefinition } from '../../../src/continual/algorithms/mas.js';
import type { StepContext } from '../../../src/continual/algorithms/algorithm.js';
import { Parameter } from '../../../src/nn/parameter.js';
import { Adam } from '../../../src/optim/adam.js';
import { SGD } from '../../../src/optim/sgd.js';
import { tensor } from '../../../src/tensor/creation.js';
import { assertTensorsMatch, settledTensorCount } from '../../helpers.js';
import { masOptions, replay } from './tiny_run.js';

const mas = (): MAS => new MAS(masDefinition.options.parse({}));

describe('MAS state', () => {
  it('round-trips Ω and θ*, and refuses a missing, misshapen or stray tensor and a malformed name list', () => {
    const omega = tensor([0.5, 2], { dtype: 'float32' });
    const anchor = tensor([1, -1], { dtype: 'float32' });
    const saved = { tensors: { 'importance.w': omega, 'anchor.w': anchor }, values: { parameters: ['w'] } };
    const first = mas();
    first.loadState(saved);
    const again = mas();
    again.loadState(first.state());
    assertTensorsMatch(again.importance.get('w')!, omega, 'Ω', { rtol: 0, atol: 0 });
    assertTensorsMatch(again.anchor.get('w')!, anchor, 'θ*', { rtol: 0, atol: 0 });
    const other = tensor([1, 2, 3], { dtype: 'float32' });
    const broken = mas();
    assert.throws(() => broken.loadState({ tensors: { 'importance.w': omega }, values: { parameters: ['w'] } }), /its saved tensor 'anchor.w' is missing/);
    assert.throws(() => broken.loadState({ tensors: { 'importance.w': omega, 'anchor.w': other }, values: { parameters: ['w'] } }), /'anchor.w' has shape \[3\], expected \[2\]/);
    assert.throws(() => broken.loadState({ ...saved, tensors: { ...saved.tensors, 'importance.v': other } }), /'importance.v' belongs to no saved parameter/);
    assert.throws(() => broken.loadState({ ...saved, values: { parameters: 'w' } }), /saved values do not fit: parameters/);
    assert.equal(broken.importance.size, 0, 'a refused state leaves nothing half-loaded');
    for (const t of [omega, anchor, other]) t.dispose();
    for (const m of [first, again, broken]) m.dispose();
  });

  it('holds one Ω and one θ* whatever the number of tasks: the live tensor count does not grow from task to task', () => {
    const counts: number[] = [];
    const algorithm = new MAS(masOptions());
    // DIL: the same parameters on every task, so any growth would be a leak.
    const model = replay('dil', algorithm, () => counts.push(settledTensorCount()));
    algorithm.dispose();
    model.dispose();
    assert.equal(counts.length, 3);
    assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
  });

  it('names λ × Ω as the cause of a non-finite loss under SGD when the penalty takes more than a quarter of the stability limit', () => {
    const omega = tensor([10, 100], { dtype: 'float32' });
    const anchor = tensor([0, 0], { dtype: 'float32' });
    const param = new Parameter(tensor([0, 0], { dtype: 'float32' }));
    const hint = (lambda: number, optimizer: SGD | Adam): string | null => {
      const m = new MAS(masDefinition.options.parse({ lambda }));
      m.loadState({ tensors: { 'importance.w': omega, 'anchor.w': anchor }, values: { parameters: ['w'] } });
      // The hint reads only the optimizer of the step.
      const text = m.nonFiniteLossHint({ optimizer } as unknown as StepContext);
      m.dispose();
      return text;
    };
    const sgd = new SGD([param], { lr: 0.05, momentum: 0.9 });
    // lr · 2λ · max Ω against 2 (1 + 0.9) = 3.8: 0.5 → 13%, 2 → 53%, 10 → 263%.
    assert.equal(hint(0.05, sgd), null);
    assert.match(hint(0.2, sgd)!, /^mas: λ × Ω is too large for the learning rate \(λ = 0.2, max Ω = 100, lr 0.05, momentum 0.9: lr · 2λΩ = 2.00 against SGD's stability limit 2 \(1 \+ momentum\) = 3.80\); the penalty alone takes 53% of that limit, and the loss's own curvature adds to it. Use a mas lambda below 0.095 /);
    assert.match(hint(1, sgd)!, /lr · 2λΩ = 10.0 against .*; SGD diverges on the penalty λ Σ Ω \(θ − θ\*\)² alone. Use a mas lambda below 0.095 /);
    // Adam's steps are bounded by its learning rate: the bound does not apply.
    const adam = new Adam([param], { lr: 0.05 });
    assert.equal(hint(1, adam), null);
    sgd.dispose();
    adam.dispose();
    for (const t of [omega, anchor, param]) t.dispose();
  });
});
