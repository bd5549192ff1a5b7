// MAS's checkpointed state: Ω and θ* per parameter name round-trip exactly,
// and a state that was edited or truncated is refused naming the key at fault
// (a resumed run's bit-identity is tested in run.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAS, masDefinition } from '../../../src/continual/algorithms/mas.js';
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
});
