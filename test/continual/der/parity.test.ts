// DER and DER++ against the PyTorch transcription of tools/fixtures/der.py
// (float64, 1e-10): the α and β terms of every step, the memory (inputs,
// targets, tasks, logits and their widths) and the parameters after each of
// three tasks, in TIL (a head per task) and CIL (one full-width head).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, assertMapsMatch, assertMatches } from '../../helpers.js';
import { type Variant, disposeRun, fx, replayRun } from './tiny_run.js';

const F64 = { rtol: 1e-10, atol: 1e-12 };

describe('DER parity with the PyTorch transcription (tools/fixtures/der.py)', () => {
  for (const variant of ['der', 'derpp'] as Variant[]) {
    for (const paradigm of ['til', 'cil'] as const) {
      const key = `${variant}_${paradigm}`;
      it(`${key}: every step's α${variant === 'derpp' ? ' and β terms' : ' term'}, the memory and the parameters after each of 3 tasks (float64, 1e-10)`, () => {
        const want = fx.runs[key]!;
        const run = replayRun(variant, paradigm);
        try {
          assert.equal(run.params.length, fx.config.tasks);
          for (let t = 0; t < fx.config.tasks; t++) {
            const what = `${key} task ${t + 1}`;
            assert.equal(run.terms[t]!.length, want.terms[t]!.length, `${what}: steps with replay`);
            run.terms[t]!.forEach((step, i) => {
              assert.equal(step.length, want.terms[t]![i]!.length, `${what} step ${i}: terms`);
              step.forEach((v, k) => assertClose(v, want.terms[t]![i]![k]!, `${what} step ${i} term ${k}`, F64.rtol, F64.atol));
            });
            const m = run.memory[t]!;
            const w = want.memory[t]!;
            assert.deepEqual(m.targets, w.targets.data, `${what}: memory targets`);
            assert.deepEqual(m.tasks, w.tasks.data, `${what}: memory tasks`);
            assert.deepEqual(m.widths, w.widths, `${what}: memory logit widths`);
            assert.equal(m.seen, w.seen, `${what}: examples offered`);
            assertMatches(m.x, w.x, `${what}: memory x`, { rtol: 0, atol: 0 });
            assertMatches(m.logits, w.logits, `${what}: memory logits`, F64);
            assertMapsMatch(run.params[t]!, want.params[t]!, what, F64);
          }
          // Task 1's first step has an empty memory; every later step replays.
          assert.equal(run.terms[0]!.length, (fx.config.samples / fx.config.batch) * fx.config.epochs - 1);
        } finally {
          disposeRun(run);
        }
      });
    }
  }
});
