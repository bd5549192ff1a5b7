// ER against the PyTorch transcription of tools/fixtures/er.py (float64): for
// TIL and CIL, each combination (concat, sum, weighted) and each memory
// policy (reservoir, classBalanced), the memory's contents and the
// parameters after each of three tasks and the loss of every step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { erDefinition } from '../../../src/continual/algorithms/er.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import { type FixtureTensor, assertClose, assertMapsMatch, assertMatches, loadFixture } from '../../helpers.js';
import { type MemoryRecord, type TinyFixture, type TinyRun, disposeRun, tinyRun } from './tiny_run.js';

interface ERFixture extends TinyFixture {
  config: TinyFixture['config'] & { capacity: number; replay: number; seed: number };
  runs: Record<string, { params: Record<string, FixtureTensor>[]; memory: MemoryRecord[]; loss: number[][] }>;
}
const fx = loadFixture<ERFixture>('er');
const F64 = { rtol: 1e-10, atol: 1e-12 };
const F32 = { rtol: 1e-5, atol: 1e-6 };

function compare(run: TinyRun, key: string, tol: { rtol: number; atol: number }): void {
  const want = fx.runs[key]!;
  assert.equal(run.params.length, want.params.length);
  for (let t = 0; t < want.params.length; t++) {
    const m = want.memory[t]!;
    assert.deepEqual(run.memory[t]!.targets, m.targets, `${key} task ${t + 1}: memory targets by slot`);
    assert.deepEqual(run.memory[t]!.tasks, m.tasks, `${key} task ${t + 1}: memory tasks by slot`);
    assertMatches(run.memory[t]!.x, m.x, `${key} task ${t + 1}: memory inputs by slot`, { rtol: 0, atol: tol === F64 ? 0 : 1e-6 });
    assert.equal(run.loss[t]!.length, want.loss[t]!.length, `${key} task ${t + 1}: steps`);
    run.loss[t]!.forEach((v, i) => assertClose(v, want.loss[t]![i]!, `${key} task ${t + 1} step ${i}: loss`, tol.rtol, tol.atol));
    assertMapsMatch(run.params[t]!, want.params[t]!, `${key} task ${t + 1}`, tol);
  }
}

function erRun(paradigm: Paradigm, combine: string, policy: string, dtype: 'float32' | 'float64' = 'float64'): TinyRun {
  const er = instantiate(erDefinition, { capacity: fx.config.capacity, batchSize: fx.config.replay, seed: fx.config.seed, combine, policy });
  try {
    return tinyRun(fx, paradigm, er, er.memory, dtype);
  } finally {
    er.dispose();
  }
}

describe('ER parity with the PyTorch transcription (tools/fixtures/er.py)', () => {
  for (const paradigm of ['til', 'cil'] as const) {
    for (const combine of ['concat', 'sum', 'weighted']) {
      for (const policy of ['reservoir', 'classBalanced']) {
        const key = `${paradigm}-${combine}-${policy}`;
        it(`${key}: memory by slot and parameters after each task, loss of every step (float64, 1e-10)`, () => {
          const run = erRun(paradigm, combine, policy);
          try {
            compare(run, key, F64);
          } finally {
            disposeRun(run);
          }
        });
      }
    }
  }

  it('cil-concat-reservoir in float32: within 1e-5 of the float64 transcription, the same memory', () => {
    const run = erRun('cil', 'concat', 'reservoir', 'float32');
    try {
      compare(run, 'cil-concat-reservoir', F32);
    } finally {
      disposeRun(run);
    }
  });

  it('the fixture exercises the memory: it overflows, and the policies keep different examples', () => {
    const r = fx.runs['cil-concat-reservoir']!.memory.at(-1)!;
    const b = fx.runs['cil-concat-classBalanced']!.memory.at(-1)!;
    assert.equal(r.targets.length, fx.config.capacity);
    assert.ok(new Set(r.tasks).size > 1, `the reservoir keeps several tasks: ${r.tasks}`);
    assert.notDeepEqual(r.targets, b.targets);
    // class-balanced: 6 slots over the 6 classes seen, one each.
    assert.deepEqual([...b.targets].sort(), [0, 1, 2, 3, 4, 5]);
  });
});
