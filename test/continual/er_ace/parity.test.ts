// ER-ACE against the PyTorch transcription of tools/fixtures/er_ace.py
// (float64): the mask row for crafted batches (present vs seen, the boundary
// at max(seen)), and for TIL and CIL the loss of every step, `seen` after
// every batch, the memory and the parameters after each of three tasks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { aceMask, erAceDefinition } from '../../../src/continual/algorithms/er_ace.js';
import { type FixtureTensor, assertClose, assertMapsMatch, assertMatches, loadFixture } from '../../helpers.js';
import { type MemoryRecord, type TinyFixture, disposeRun, tinyRun } from '../er/tiny_run.js';

interface ERACEFixture extends TinyFixture {
  config: TinyFixture['config'] & { capacity: number; replay: number; seed: number };
  masks: { width: number; present: number[]; seen: number[]; mask: boolean[] }[];
  runs: Record<'til' | 'cil', { params: Record<string, FixtureTensor>[]; memory: MemoryRecord[]; loss: number[][]; seen: number[][][] }>;
}
const fx = loadFixture<ERACEFixture>('er_ace');
const F64 = { rtol: 1e-10, atol: 1e-12 };

describe('ER-ACE parity with the PyTorch transcription (tools/fixtures/er_ace.py)', () => {
  it("the mask row of crafted batches is the authors' (mask[:, present] = 1; mask[:, max(seen):] = 1)", () => {
    assert.ok(fx.masks.some((m) => m.mask.some((v) => !v)) && fx.masks.some((m) => m.mask.every((v) => v)));
    for (const { width, present, seen, mask } of fx.masks) assert.deepEqual(aceMask(width, present, seen), mask, `width ${width}, present ${present}, seen ${seen}`);
  });

  for (const paradigm of ['til', 'cil'] as const) {
    it(`${paradigm}: loss of every step, seen after every batch, memory and parameters after each task (float64, 1e-10)`, () => {
      const want = fx.runs[paradigm];
      const ace = instantiate(erAceDefinition, { capacity: fx.config.capacity, batchSize: fx.config.replay, seed: fx.config.seed });
      const seen: number[][] = [];
      const run = tinyRun(fx, paradigm, ace, ace.memory, 'float64', (ctx) => seen.push(ace.seen(ctx.paradigm, ctx.task)));
      try {
        assert.deepEqual(seen, want.seen.flat(), 'seen after every batch');
        for (let t = 0; t < want.params.length; t++) {
          run.loss[t]!.forEach((v, i) => assertClose(v, want.loss[t]![i]!, `task ${t + 1} step ${i}: loss`, F64.rtol, F64.atol));
          assert.deepEqual(run.memory[t]!.targets, want.memory[t]!.targets, `task ${t + 1}: memory targets`);
          assert.deepEqual(run.memory[t]!.tasks, want.memory[t]!.tasks, `task ${t + 1}: memory tasks`);
          assertMatches(run.memory[t]!.x, want.memory[t]!.x, `task ${t + 1}: memory inputs`, { rtol: 0, atol: 0 });
          assertMapsMatch(run.params[t]!, want.params[t]!, `task ${t + 1}`, F64);
        }
      } finally {
        disposeRun(run);
        ace.dispose();
      }
    });
  }
});
