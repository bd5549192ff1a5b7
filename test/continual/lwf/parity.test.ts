// LwF against the PyTorch transcription of tools/fixtures/lwf.py (float64):
// the distillation value and its gradient for fixed logits in TIL, CIL and
// DIL, CLArena's formula on the same logits, and the parameters after each of
// three tasks and the distillation of every step for each configuration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distillationLoss } from '../../../src/continual/algorithms/lwf.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import { grad } from '../../../src/tensor/autograd.js';
import { tidy } from '../../../src/tensor/scope.js';
import { assertClose, assertMatches, fromFixture } from '../../helpers.js';
import { type RunRecord, type TinyRun, disposeRun, fx, replayRun } from './tiny_run.js';

const F64 = { rtol: 1e-10, atol: 1e-12 };
const F32 = { rtol: 1e-5, atol: 1e-6 };

/** Every task's parameters and every step's distillation against the fixture's record, within `tol` of the scale. */
function compareRun(run: TinyRun, want: RunRecord, what: string, tol: { rtol: number; atol: number }): void {
  assert.equal(run.params.length, want.params.length, `${what}: tasks`);
  run.params.forEach((params, t) => {
    assert.deepEqual([...params.keys()].sort(), Object.keys(want.params[t]!).sort(), `${what} task ${t + 1}: parameter names`);
    for (const [name, p] of params) assertMatches(p, want.params[t]![name]!, `${what} task ${t + 1} ${name}`, tol);
    assert.equal(run.distillation[t]!.length, want.distillation[t]!.length, `${what} task ${t + 1}: steps`);
    run.distillation[t]!.forEach((v, i) => assertClose(v, want.distillation[t]![i]!, `${what} task ${t + 1} step ${i}: distillation`, tol.rtol, tol.atol));
  });
}

const RUNS: { key: string; paradigm: Paradigm; options: Record<string, unknown> }[] = [
  { key: 'til', paradigm: 'til', options: {} },
  { key: 'tilFrozenOldHeads', paradigm: 'til', options: { trainOldHeads: false } },
  { key: 'tilPerTask', paradigm: 'til', options: { teacher: 'perTask' } },
  { key: 'tilPerTaskFrozenOldHeads', paradigm: 'til', options: { teacher: 'perTask', trainOldHeads: false } },
  { key: 'cil', paradigm: 'cil', options: {} },
  { key: 'cilFrozenOldHeads', paradigm: 'cil', options: { trainOldHeads: false } },
  { key: 'dil', paradigm: 'dil', options: {} },
];

describe('LwF parity with the PyTorch transcription (tools/fixtures/lwf.py)', () => {
  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm}: the distillation value and its gradient for fixed logits (float64), and CLArena's formula within 1e-4`, () => {
      const f = fx.fixedLogits[paradigm];
      tidy(() => {
        const students = f.student.map((s) => fromFixture(s, { requiresGrad: true }));
        const teachers = f.teacher.map((t) => fromFixture(t));
        // TIL: one distribution per old head, summed; CIL: the old heads concatenated (one tensor here); DIL: the shared head.
        const value = students.map((s, i) => distillationLoss(s, teachers[i]!, fx.config.temperature)).reduce((a, b) => a.add(b));
        assertClose(value.item(), f.value, 'value', F64.rtol, F64.atol);
        grad(value, students).forEach((g, i) => assertMatches(g!, f.gradient[i]!, `gradient of distribution ${i}`, F64));
        const gap = Math.abs(value.item() - f.clarena);
        assert.ok(gap <= 1e-4, `CLArena's softmax^(1/T) with +1e-5: ${f.clarena}, ours ${value.item()}`);
        assert.ok(gap > 1e-10, 'the two formulas differ by the +1e-5 only');
      });
    });
  }

  for (const { key, paradigm, options } of RUNS) {
    it(`${key}: the parameters after each of 3 tasks and the distillation of every step (float64, 1e-10)`, () => {
      const run = replayRun(paradigm, options, 'float64');
      try {
        compareRun(run, fx.runs[key]!, key, F64);
      } finally {
        disposeRun(run);
      }
    });
  }

  it('til in float32: within 1e-5 of the float64 transcription', () => {
    const run = replayRun('til', {}, 'float32');
    try {
      compareRun(run, fx.runs['til']!, 'til float32', F32);
    } finally {
      disposeRun(run);
    }
  });
});
