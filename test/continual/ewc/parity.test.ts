// EWC: parity with the PyTorch transcription of CLArena's EWC in
// tools/fixtures/ewc.py, for both Fisher timings. A tiny TIL model (MLP
// 6 → 5 → 4, one 2-class head per task) trains with plain SGD over three tasks
// of fixed data (10 samples in batches of 4, 4, 2, two epochs), driven through
// our EWC hooks in the trainer's order; after every task the Fisher and anchor
// θ* of every backbone parameter, the penalty at each step and at the end of
// the task must match, and after the last task the penalty with all three
// terms and every final parameter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EWC } from '../../../src/continual/algorithms/ewc.js';
import { type FisherTiming, regularizedParameters } from '../../../src/continual/algorithms/fisher_tracker.js';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/index.js';
import { MLP } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/heads.js';
import { ContinualModel } from '../../../src/continual/model.js';
import type { ContinualBenchmark } from '../../../src/continual/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertClose, assertMatches, fromFixture, loadFixture } from '../../helpers.js';

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
interface EWCFixture {
  config: { inputs: number; hidden: number[]; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; lambda: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  runs: Record<FisherTiming, Run>;
}

const FISHER_TOL = { rtol: 1e-4, atol: 1e-9 };
const PARAM_TOL = { rtol: 1e-4, atol: 1e-6 };
const PENALTY_RTOL = 1e-4;
const PENALTY_ATOL = 1e-8;
const BACKBONE = ['backbone.fc1.weight', 'backbone.fc1.bias', 'backbone.fc2.weight', 'backbone.fc2.bias'];

function setParams(model: ContinualModel, values: Record<string, FixtureTensor>, names: readonly string[]): void {
  const params = new Map(model.namedParameters());
  tidy(() => noGrad(() => names.forEach((n) => params.get(n)!.copy_(fromFixture(values[n]!)))));
}

function compareMaps(actual: ReadonlyMap<string, Tensor>, expected: Record<string, FixtureTensor>, what: string, tol: { rtol: number; atol: number }): void {
  assert.deepEqual([...actual.keys()].sort(), Object.keys(expected).sort(), `${what}: parameter names`);
  for (const [name, t] of actual) assertMatches(t, expected[name]!, `${what} ${name}`, tol);
}

/** ½ λ Σ_t Σ_i F_t (θ − θ*_t)² over the stored tasks at the model's current parameters. */
function penaltyNow(ewc: EWC, model: ContinualModel): number | null {
  return tidy(() => {
    const p = ewc.anchors.penalty(regularizedParameters(model, 'til'));
    return p === null ? null : p.item() * 0.5 * ewc.lambda;
  });
}

/** Reproduces the fixture's run with our hooks; `check` sees each task's Fisher and anchor. */
function replay(fx: EWCFixture, timing: FisherTiming, check: (task: number, ewc: EWC, stepPenalties: number[], endPenalty: number | null) => void): { model: ContinualModel; ewc: EWC } {
  const c = fx.config;
  const model = new ContinualModel(new MLP(c.inputs, { hiddenSizes: c.hidden }), createHeads('til', c.hidden[c.hidden.length - 1]!));
  const ewc = new EWC({ lambda: c.lambda, fisherTiming: timing });
  try {
    setParams(model, fx.initial, BACKBONE);
    model.train();
    let globalStep = 0;
    for (let task = 1; task <= c.tasks; task++) {
      // The trainer's order: head set up, fresh optimizer, onTaskStart, per batch
      // forward → trainingLoss → backward → step, then onTaskEnd.
      model.heads.setupTask(task, c.classes);
      setParams(model, fx.initial, [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = fromFixture(fx.data[task - 1]!.x);
      const y = fromFixture(fx.data[task - 1]!.y);
      const n = x.shape[0]!;
      const ctx: TaskContext = { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: n }, batchSize: c.batch };
      ewc.onTaskStart(ctx);
      const stepPenalties: number[] = [];
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < n; b += c.batch, step++) {
          tidy(() => {
            const size = Math.min(c.batch, n - b);
            const xb = x.narrow(0, b, size);
            const targets = y.narrow(0, b, size);
            const { output, logits } = model.forward(xb, task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch, step, globalStep, x: xb, targets, output, logits, classificationLoss };
            const extra = ewc.trainingLoss(stepCtx);
            assert.equal(extra === null, task === 1, 'a penalty from the second task on only');
            if (extra !== null) stepPenalties.push(extra.item());
            const total = extra === null ? classificationLoss : classificationLoss.add(extra);
            optimizer.zeroGrad();
            total.backward();
            optimizer.step();
          });
          globalStep++;
        }
      }
      const endPenalty = penaltyNow(ewc, model);
      ewc.onTaskEnd(ctx);
      assert.ok(model.training, 'the model is back in training mode after the Fisher pass');
      optimizer.dispose();
      x.dispose();
      y.dispose();
      check(task, ewc, stepPenalties, endPenalty);
    }
  } catch (e) {
    ewc.dispose();
    model.dispose();
    throw e;
  }
  return { model, ewc };
}

function comparePenalties(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: number of steps`);
  got.forEach((g, i) => assertClose(g, want[i]!, `${what} step ${i}`, PENALTY_RTOL, PENALTY_ATOL));
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
