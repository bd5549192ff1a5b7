// A-GEM against the PyTorch transcription of tools/fixtures/agem.py (float64):
// g̃ for a fixed violating and a fixed non-violating pair (bit-exact), and over
// three tasks of the tiny MLP the parameters, the memory and the number of
// projected steps after each task, in TIL, CIL, DIL and with a class-balanced
// memory. The run drives A-GEM's hooks in the trainer's order (../tiny_loop.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AGEM, agemDefinition, projectGradient } from '../../../src/continual/algorithms/agem.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertMapsMatch, assertMatches, fromFixture, loadFixture } from '../../helpers.js';
import { disposeSnapshots, snapshotParameters, tinyLoop, tinyModel } from '../tiny_loop.js';

interface Pair {
  g: FixtureTensor;
  gRef: FixtureTensor;
  projected: FixtureTensor;
  dot: number;
}
interface RunRecord {
  params: Record<string, FixtureTensor>[];
  memory: { targets: number[]; tasks: number[]; x: FixtureTensor }[];
  projected: number[];
}
interface AGEMFixture {
  config: { inputs: number; hidden: number; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; capacity: number; referenceBatch: number; seed: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  fixed: { violating: Pair; nonViolating: Pair };
  runs: Record<string, RunRecord>;
}

const fx = loadFixture<AGEMFixture>('agem');
const F64 = { rtol: 1e-10, atol: 1e-12 };
const EXACT = { rtol: 0, atol: 0 };

interface TaskRecord {
  params: Map<string, Tensor>;
  targets: number[];
  tasks: number[];
  x: Tensor;
  projected: number;
}

/** The fixture's run with A-GEM's hooks in the trainer's order (../tiny_loop.ts); the parameters, the memory and the projected steps after each task. */
function replayRun(paradigm: Paradigm, options: Record<string, unknown>): TaskRecord[] {
  const c = fx.config;
  const model = tinyModel(fx, paradigm, { dtype: 'float64' });
  const agem: AGEM = instantiate(agemDefinition, { capacity: c.capacity, batchSize: c.referenceBatch, seed: c.seed, ...options });
  const records: TaskRecord[] = [];
  try {
    tinyLoop(fx, model, paradigm, agem, {
      afterTask: () => {
        const stored = agem.memory.gather();
        stored.targets.dispose();
        records.push({ params: snapshotParameters(model), targets: [...agem.memory.storedTargets], tasks: [...agem.memory.storedTasks], x: stored.x, projected: agem.projected });
      },
    });
  } catch (error) {
    disposeRecords(records);
    throw error;
  } finally {
    agem.dispose();
    model.dispose();
  }
  return records;
}

function disposeRecords(records: readonly TaskRecord[]): void {
  disposeSnapshots(records.map((r) => r.params));
  for (const r of records) r.x.dispose();
}

describe('A-GEM parity with the PyTorch transcription (tools/fixtures/agem.py)', () => {
  it('g̃ = g − (gᵀg_ref / g_refᵀg_ref)·g_ref for a violating pair, bit-exact in float64, and orthogonal to g_ref', () => {
    const f = fx.fixed.violating;
    assert.ok(f.dot < 0, 'the pair conflicts');
    tidy(() => {
      const projected = projectGradient(fromFixture(f.g), fromFixture(f.gRef));
      assertMatches(projected, f.projected, 'g̃', EXACT);
      assert.ok(Math.abs(projected.dot(fromFixture(f.gRef)).item()) < 1e-12, 'g̃ᵀg_ref = 0');
    });
  });

  it('projection only when the dot product is negative: a non-violating pair leaves g exactly as it is', () => {
    const f = fx.fixed.nonViolating;
    assert.ok(f.dot > 0, 'the pair agrees');
    tidy(() => {
      const projected = projectGradient(fromFixture(f.g), fromFixture(f.gRef));
      assertMatches(projected, f.projected, 'g̃', EXACT);
      assertMatches(projected, f.g, 'g̃ = g', EXACT);
    });
  });

  const RUNS: { key: string; paradigm: Paradigm; options: Record<string, unknown> }[] = [
    { key: 'til', paradigm: 'til', options: {} },
    { key: 'cil', paradigm: 'cil', options: {} },
    { key: 'dil', paradigm: 'dil', options: {} },
    { key: 'cilClassBalanced', paradigm: 'cil', options: { policy: 'classBalanced' } },
  ];
  for (const { key, paradigm, options } of RUNS) {
    it(`${key}: the memory, the projected steps and the parameters after each of 3 tasks (float64, 1e-10)`, () => {
      const want = fx.runs[key]!;
      const records = replayRun(paradigm, options);
      try {
        records.forEach((r, t) => {
          assert.deepEqual(r.targets, want.memory[t]!.targets, `task ${t + 1}: memory targets`);
          assert.deepEqual(r.tasks, want.memory[t]!.tasks, `task ${t + 1}: memory tasks`);
          assertMatches(r.x, want.memory[t]!.x, `task ${t + 1}: memory inputs`, EXACT);
          assert.equal(r.projected, want.projected[t], `task ${t + 1}: projected steps`);
          assertMapsMatch(r.params, want.params[t]!, `task ${t + 1}`, F64);
        });
        const steps = fx.config.epochs * (fx.config.samples / fx.config.batch);
        assert.equal(want.projected[0], 0, 'no reference batch on task 1 (the memory is empty)');
        assert.ok(want.projected.slice(1).every((n) => n > 0), 'projections happen');
        // CIL conflicts at every step here (the new classes' logits push the old ones down); TIL and DIL take both branches.
        if (paradigm !== 'cil') assert.ok(want.projected.slice(1).every((n) => n < steps), 'steps without projection happen too');
      } finally {
        disposeRecords(records);
      }
    });
  }
});
