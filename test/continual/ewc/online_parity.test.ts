// Online EWC: parity with the PyTorch transcription in
// tools/fixtures/online_ewc.py (Schwarz et al. 2018; algorithms.md section 6).
// The same tiny TIL model as the EWC parity test (MLP 6 → 5 → 4, one 2-class
// head per task) trains with plain SGD over three tasks of fixed data (10
// samples in batches of 4, 4, 2, two epochs), driven through our OnlineEWC
// hooks in the trainer's order, with γ = 0.7 and the Fisher at 'train_end'.
// After every task the running Fisher F* = γ F* + F_t and the anchor θ* of
// every backbone parameter must match, as must the penalty
// ½ λ γ Σ F* (θ − θ*)² at every step, and after the last task every final
// parameter. A sensitivity check compares against the fixture's replay of
// hypnettorch's defect (F* multiplied by γ in place on every penalty call),
// which our run must not match.
import { instantiate, onlineEwcDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OnlineEWC } from '../../../src/continual/algorithms/online_ewc.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { tidy } from '../../../src/tensor/scope.js';
import { type FixtureTensor, fromFixture, loadFixture } from '../../helpers.js';
import { FISHER_TOL, PARAM_TOL, type TinyRunFixture, compareMaps, comparePenalties, replayTinyRun } from './tiny_run.js';

interface TaskRecord {
  fisher: Record<string, FixtureTensor>;
  anchor: Record<string, FixtureTensor>;
  stepPenalties: number[];
}
interface Run {
  tasks: TaskRecord[];
  final: Record<string, FixtureTensor>;
}
interface OnlineEWCFixture extends TinyRunFixture {
  config: TinyRunFixture['config'] & { gamma: number; nMax: number };
  run: Run;
  defect: Run;
  /** The run with each task's Fisher on its first nMax samples. */
  nMax: Run;
}

/** The anchor θ*, read back through state() (the algorithm exposes only the running Fisher directly). */
function anchorOf(ewc: OnlineEWC): Map<string, Tensor> {
  const prefix = 'anchor.';
  return new Map(Object.entries(ewc.state().tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

/** Replays the fixture's run with online EWC; `check` sees each task's state and step penalties. */
function replay(fx: OnlineEWCFixture, check: (task: number, ewc: OnlineEWC, stepPenalties: number[]) => void, nMax?: number): { model: ContinualModel; ewc: OnlineEWC } {
  const c = fx.config;
  const ewc = instantiate(onlineEwcDefinition, { lambda: c.lambda, gamma: c.gamma, fisherTiming: 'train_end', estimator: 'minibatch', ...(nMax === undefined ? {} : { nMax }) });
  const model = replayTinyRun(fx, ewc, { afterTask: (task, stepPenalties) => check(task, ewc, stepPenalties) });
  return { model, ewc };
}

describe('Online EWC parity with the transcription (tools/fixtures/online_ewc.py)', () => {
  const fx = loadFixture<OnlineEWCFixture>('online_ewc');

  it('γ = 0.7, Fisher at train_end: running F* and θ* per task, step penalties, final parameters', () => {
    const { model, ewc } = replay(fx, (task, ewc, stepPenalties) => {
      const want = fx.run.tasks[task - 1]!;
      compareMaps(ewc.runningFisher!, want.fisher, `task ${task} F*`, FISHER_TOL);
      compareMaps(anchorOf(ewc), want.anchor, `task ${task} θ*`, PARAM_TOL);
      comparePenalties(stepPenalties, want.stepPenalties, `task ${task} penalty`);
    });
    try {
      compareMaps(new Map(model.namedParameters()), fx.run.final, 'final parameters', PARAM_TOL);
    } finally {
      ewc.dispose();
      model.dispose();
    }
  });

  it(`nMax: each task's Fisher on its first ${fx.config.nMax} samples (a cut batch), as hypnettorch's n_max: F*, θ*, penalties, final parameters`, () => {
    // The fixture's nMax run must differ from the full one, or this test proves nothing.
    tidy(() => assert.throws(() => compareMaps(new Map(Object.entries(fx.nMax.tasks[0]!.fisher).map(([k, f]) => [k, fromFixture(f)])), fx.run.tasks[0]!.fisher, 'nMax vs all', FISHER_TOL), /nMax vs all/));
    const { model, ewc } = replay(
      fx,
      (task, ewc, stepPenalties) => {
        const want = fx.nMax.tasks[task - 1]!;
        compareMaps(ewc.runningFisher!, want.fisher, `task ${task} F*`, FISHER_TOL);
        compareMaps(anchorOf(ewc), want.anchor, `task ${task} θ*`, PARAM_TOL);
        comparePenalties(stepPenalties, want.stepPenalties, `task ${task} penalty`);
      },
      fx.config.nMax,
    );
    try {
      compareMaps(new Map(model.namedParameters()), fx.nMax.final, 'final parameters', PARAM_TOL);
    } finally {
      ewc.dispose();
      model.dispose();
    }
  });

  it('is sensitive: γ applied in place at every step (hypnettorch) would give different penalties and parameters', () => {
    // The fixture's two runs must differ beyond tolerance, or this check proves nothing.
    assert.throws(() => comparePenalties(fx.run.tasks[1]!.stepPenalties, fx.defect.tasks[1]!.stepPenalties, 'fixture'), /fixture/);
    const { model, ewc } = replay(fx, (task, ewc, stepPenalties) => {
      const defect = fx.defect.tasks[task - 1]!;
      if (task === 1) return;
      // The first step of a task is taken at θ = θ* (zero penalty either way); from then on the penalties part.
      assert.equal(stepPenalties[0], 0, `task ${task} first step at the anchor`);
      assert.throws(() => comparePenalties(stepPenalties, defect.stepPenalties, `task ${task} defect penalty`), /defect penalty/);
      assert.throws(() => compareMaps(ewc.runningFisher!, defect.fisher, `task ${task} defect F*`, FISHER_TOL), /defect F\*/);
    });
    try {
      assert.throws(() => compareMaps(new Map(model.namedParameters()), fx.defect.final, 'defect final', PARAM_TOL), /defect final/);
    } finally {
      ewc.dispose();
      model.dispose();
    }
  });
});
