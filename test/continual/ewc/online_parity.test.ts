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
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/index.js';
import { OnlineEWC } from '../../../src/continual/algorithms/online_ewc.js';
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
}
interface Run {
  tasks: TaskRecord[];
  final: Record<string, FixtureTensor>;
}
interface OnlineEWCFixture {
  config: { inputs: number; hidden: number[]; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; lambda: number; gamma: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  run: Run;
  defect: Run;
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

function comparePenalties(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: number of steps`);
  got.forEach((g, i) => assertClose(g, want[i]!, `${what} step ${i}`, PENALTY_RTOL, PENALTY_ATOL));
}

/** The anchor θ*, read back through state() (the algorithm exposes only the running Fisher directly). */
function anchorOf(ewc: OnlineEWC): Map<string, Tensor> {
  const prefix = 'anchor.';
  return new Map(Object.entries(ewc.state().tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

/** Reproduces the fixture's run with our hooks; `check` sees each task's state and step penalties. */
function replay(fx: OnlineEWCFixture, check: (task: number, ewc: OnlineEWC, stepPenalties: number[]) => void): { model: ContinualModel; ewc: OnlineEWC } {
  const c = fx.config;
  const model = new ContinualModel(new MLP(c.inputs, { hiddenSizes: c.hidden }), createHeads('til', c.hidden[c.hidden.length - 1]!));
  const ewc = new OnlineEWC({ lambda: c.lambda, gamma: c.gamma, fisherTiming: 'train_end', estimator: 'minibatch' });
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
      ewc.onTaskEnd(ctx);
      assert.ok(model.training, 'the model is back in training mode after the Fisher pass');
      optimizer.dispose();
      x.dispose();
      y.dispose();
      check(task, ewc, stepPenalties);
    }
  } catch (e) {
    ewc.dispose();
    model.dispose();
    throw e;
  }
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
