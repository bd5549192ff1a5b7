// SI: parity with the PyTorch transcription tools/fixtures/si.py in float64
// (ω after every step of task 1, Ω and θ* after every task, the penalty and
// its gradient at a fixed point, the final parameters) in TIL, CIL and DIL
// and with Adam; then the defects of the reference implementations that SI
// must not have (algorithms-next.md section 13), and option validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SI, type SIOptions, siDefinition } from '../../../src/continual/algorithms/si.js';
import type { ContinualModel } from '../../../src/continual/model.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertClose, fromFixture, loadFixture } from '../../helpers.js';
import { type ReplayOptions, type SIFixture, type SIRun, compareMaps, replaySIRun } from './replay.js';

const fx = loadFixture<SIFixture>('si');
const options = (more: Partial<SIOptions> = {}): SIOptions => siDefinition.options.parse({ c: fx.config.c, xi: fx.config.xi, ...more });

/** Replays the fixture's run with `si` and compares everything the fixture recorded of `run`. */
function checkRun(run: SIRun, si: SI, replay: Omit<ReplayOptions, 'afterStep' | 'afterTask'>): void {
  const omegas: Map<string, Tensor>[] = [];
  const model = replaySIRun(fx, si, {
    ...replay,
    afterStep: () => omegas.push(tidy(() => new Map([...si.pathIntegral].map(([n, t]) => [n, keep(t.clone())])))),
    afterTask: (task) => {
      compareMaps(si.importances, run.tasks[task - 1]!.importance, `task ${task} Ω`);
      compareMaps(si.anchors, run.tasks[task - 1]!.anchor, `task ${task} θ*`);
    },
  });
  try {
    assert.equal(omegas.length, run.task1Omegas.length, 'steps of task 1');
    omegas.forEach((omega, k) => compareMaps(omega, run.task1Omegas[k]!, `ω after step ${k + 1}`));
    checkFixedPenalty(run, si, model);
    compareMaps(new Map(model.namedParameters()), run.final, 'final parameters');
  } finally {
    for (const omega of omegas) for (const t of omega.values()) t.dispose();
    si.dispose();
    model.dispose();
  }
}

/** The penalty and its gradient at the fixture's fixed point (the initial parameters). */
function checkFixedPenalty(run: SIRun, si: SI, model: ContinualModel): void {
  tidy(() => {
    const names = Object.keys(run.fixedGradient);
    const theta = names.map((name) => [name, fromFixture(fx.initial[name]!, { requiresGrad: true })] as [string, Tensor]);
    const penalty = si.penaltyAt(theta)!;
    assertClose(penalty.item(), run.fixedPenalty, 'penalty at the fixed point', 1e-10, 1e-14);
    penalty.backward();
    compareMaps(new Map(theta.map(([name, t]) => [name, t.grad!])), run.fixedGradient, 'penalty gradient at the fixed point');
    assert.ok(model.training);
  });
}

describe('SI parity with the PyTorch transcription (tools/fixtures/si.py, float64)', () => {
  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm.toUpperCase()}: ω per step of task 1, Ω and θ* per task, penalty and gradient at a fixed point, final parameters`, () => {
      checkRun(fx.runs[paradigm], new SI(options()), { paradigm });
    });
  }

  it("Adam: Δθ is the optimizer's actual update, not −lr·g", () => {
    checkRun(fx.runs.tilAdam, new SI(options()), { paradigm: 'til', optimizer: 'adam' });
  });
});
