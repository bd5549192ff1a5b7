// EWC: parity with the PyTorch transcription of CLArena's EWC in
// tools/fixtures/ewc.py, for both Fisher timings. A tiny TIL model (MLP
// 6 → 5 → 4, one 2-class head per task) trains with plain SGD over three tasks
// of fixed data (10 samples in batches of 4, 4, 2, two epochs), driven through
// our EWC hooks in the trainer's order; after every task the Fisher and anchor
// θ* of every backbone parameter, the penalty at each step and at the end of
// the task must match, and after the last task the penalty with all three
// terms and every final parameter.
import { instantiate, ewcDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EWC } from '../../../src/continual/algorithms/ewc.js';
import { type FisherTiming, regularizedParameters } from '../../../src/continual/algorithms/fisher_tracker.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { tidy } from '../../../src/tensor/scope.js';
import { type FixtureTensor, assertClose, loadFixture } from '../../helpers.js';
import { FISHER_TOL, PARAM_TOL, PENALTY_ATOL, PENALTY_RTOL, type TinyRunFixture, compareMaps, comparePenalties, replayTinyRun } from './tiny_run.js';

interface TaskRecord {
  fisher: Record<string, FixtureTensor>;
  anchor: Record<string, FixtureTensor>;
  stepPenalties: number[];
  endPenalty: number | null;
}
interface Run {
  tasks: TaskRecord[];
  finalPenalty: number;
  final: Record<string, FixtureTensor>;
}
interface EWCFixture extends TinyRunFixture {
  runs: Record<FisherTiming, Run>;
}

/** ½ λ Σ_t Σ_i F_t (θ − θ*_t)² over the stored tasks at the model's current parameters. */
function penaltyNow(ewc: EWC, model: ContinualModel): number | null {
  return tidy(() => {
    const p = ewc.anchors.penalty(regularizedParameters(model, 'til'));
    return p === null ? null : p.item() * 0.5 * ewc.lambda;
  });
}

/** Replays the fixture's run with EWC; `check` sees each task's state, step penalties and end-of-task penalty. */
function replay(fx: EWCFixture, timing: FisherTiming, check: (task: number, ewc: EWC, stepPenalties: number[], endPenalty: number | null) => void): { model: ContinualModel; ewc: EWC } {
  const ewc = instantiate(ewcDefinition, { lambda: fx.config.lambda, fisherTiming: timing });
  let endPenalty: number | null = null;
  const model = replayTinyRun(fx, ewc, {
    beforeTaskEnd: (_task, m) => (endPenalty = penaltyNow(ewc, m)),
    afterTask: (task, stepPenalties) => check(task, ewc, stepPenalties, endPenalty),
  });
  return { model, ewc };
}

describe('EWC parity with the CLArena transcription (tools/fixtures/ewc.py)', () => {
  const fx = loadFixture<EWCFixture>('ewc');

  for (const timing of ['train_end', 'train'] as const) {
    it(`fisherTiming '${timing}': per-task Fisher and θ*, step and end-of-task penalties, final penalty and parameters`, () => {
      const run = fx.runs[timing];
      const { model, ewc } = replay(fx, timing, (task, ewc, stepPenalties, endPenalty) => {
        const want = run.tasks[task - 1]!;
        assert.deepEqual(ewc.anchors.tasks, Array.from({ length: task }, (_, i) => i + 1), 'one term per task so far');
        const term = ewc.anchors.term(task)!;
        compareMaps(term.fisher, want.fisher, `${timing} task ${task} Fisher`, FISHER_TOL);
        compareMaps(term.anchor, want.anchor, `${timing} task ${task} θ*`, PARAM_TOL);
        comparePenalties(stepPenalties, want.stepPenalties, `${timing} task ${task} penalty`);
        if (want.endPenalty === null) assert.equal(endPenalty, null, 'no penalty during the first task');
        else assertClose(endPenalty!, want.endPenalty, `${timing} task ${task} end-of-task penalty`, PENALTY_RTOL, PENALTY_ATOL);
      });
      try {
        assertClose(penaltyNow(ewc, model)!, run.finalPenalty, `${timing} final penalty (three terms)`, PENALTY_RTOL, PENALTY_ATOL);
        compareMaps(new Map(model.namedParameters()), run.final, `${timing} final parameters`, PARAM_TOL);
      } finally {
        ewc.dispose();
        model.dispose();
      }
    });
  }

  it('is sensitive: the two timings give different Fishers and trajectories, so swapping them fails the comparison', () => {
    const { model, ewc } = replay(fx, 'train_end', (task, ewc) => {
      if (task === 1) assert.throws(() => compareMaps(ewc.anchors.term(1)!.fisher, fx.runs.train.tasks[0]!.fisher, 'Fisher', FISHER_TOL), /Fisher/);
    });
    try {
      assert.throws(() => compareMaps(new Map(model.namedParameters()), fx.runs.train.final, 'final', PARAM_TOL), /final/);
      // The penalty shapes the trajectory: final parameters differ from plain SGD.
      assert.ok(Math.abs(fx.runs.train_end.finalPenalty - fx.runs.train.finalPenalty) > 1e-5, 'the fixture runs differ');
    } finally {
      ewc.dispose();
      model.dispose();
    }
  });
});
