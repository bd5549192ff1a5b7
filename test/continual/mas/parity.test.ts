// MAS: parity with the PyTorch transcription in tools/fixtures/mas.py, in
// float64. A tiny MLP (6 → 5, 2-class heads) trains with plain SGD over three
// tasks of fixed data (12 samples in batches of 4, two epochs), driven through
// the MAS hooks in the trainer's order, once per paradigm with the per-sample
// estimator (the fixture's oracle is the naive one-sample-at-a-time loop) and
// once in TIL with the minibatch estimator. After every task Ω^t, Ω, θ* and the
// step penalties must match; after the last, the final parameters and the
// penalty and its gradient at a fixed point. A model with one convolution
// checks both estimators where the abs does not factor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAS } from '../../../src/continual/algorithms/mas.js';
import { meanAbsoluteGradients } from '../../../src/continual/fisher/absolute_gradients.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { Conv2d, Flatten, Linear, ReLU, Sequential } from '../../../src/nn/index.js';
import { grad, noGrad } from '../../../src/tensor/autograd.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertClose, fromFixture } from '../../helpers.js';
import { compare, fx, masOptions, replay } from './tiny_run.js';

/** θ ← θ* + 0.05 sin(k) (k the flat index), the fixture's probe point. */
function moveToProbe(model: ContinualModel, mas: MAS): void {
  tidy(() =>
    noGrad(() => {
      for (const [name, p] of model.namedParameters()) {
        const anchor = mas.anchor.get(name)!;
        const offsets = Array.from({ length: anchor.numel() }, (_, k) => 0.05 * Math.sin(k));
        p.copy_(anchor.add(fromFixture({ shape: [...anchor.shape], dtype: 'float64', data: offsets })));
      }
    }),
  );
}

describe('MAS parity with the PyTorch transcription (tools/fixtures/mas.py, float64)', () => {
  const runs = [
    ['til', 'til', 'perSample'],
    ['cil', 'cil', 'perSample'],
    ['dil', 'dil', 'perSample'],
    ['tilMinibatch', 'til', 'minibatch'],
  ] as const;
  for (const [key, paradigm, estimator] of runs) {
    it(`${paradigm.toUpperCase()}, estimator ${estimator}: Ω^t, Ω, θ* and step penalties per task, final parameters, penalty and gradient`, () => {
      const want = fx.runs[key];
      const mas = new MAS(masOptions({ estimator }));
      const model = replay(paradigm, mas, ({ task, mas, taskImportance, stepPenalties }) => {
        const record = want.tasks[task - 1]!;
        compare(taskImportance, record.taskImportance, `task ${task} Ω^t`);
        compare(mas.importance, record.importance, `task ${task} Ω`);
        compare(mas.anchor, record.anchor, `task ${task} θ*`);
        assert.equal(stepPenalties.length, record.stepPenalties.length);
        stepPenalties.forEach((p, i) => assertClose(p, record.stepPenalties[i]!, `task ${task} step ${i} penalty`, 1e-10, 1e-14));
      });
      try {
        compare(new Map(model.namedParameters()), want.final, 'final parameters');
        moveToProbe(model, mas);
        tidy(() => {
          const penalty = mas.penalty(model)!;
          assertClose(penalty.item(), want.probe.penalty, 'penalty at the probe point', 1e-10, 1e-14);
          const named = model.namedParameters();
          const grads = grad(penalty, named.map(([, p]) => p), { allowUnused: true });
          compare(new Map(named.map(([name], i) => [name, grads[i]!])), want.probe.gradient, 'penalty gradient');
        });
      } finally {
        mas.dispose();
        model.dispose();
      }
    });
  }

  it('norm plain: Ω^1 of the TIL run is the mean |∇‖F‖| (FACIL), and differs from the squared norm', () => {
    const plain = new MAS(masOptions({ norm: 'plain' }));
    let checked = false;
    const model = replay('til', plain, ({ task, taskImportance }) => {
      if (task !== 1) return;
      compare(taskImportance, fx.runs.til.firstTaskPlain!, 'Ω^1 with norm plain');
      assert.throws(() => compare(taskImportance, fx.runs.til.tasks[0]!.taskImportance, 'squared'), /squared/);
      checked = true;
    });
    plain.dispose();
    model.dispose();
    assert.ok(checked);
  });

  it('a model with one convolution: both estimators against the fixture (the per-sample one through per-sample bmm, not |G|ᵀ|A|)', () => {
    const net = new Sequential(new Conv2d(2, 3, 3, { padding: 1 }), new ReLU(), new Flatten(), new Linear(48, 3));
    net.to('float64');
    const named = net.namedParameters();
    assert.deepEqual(named.map(([n]) => n).sort(), Object.keys(fx.conv.params).sort());
    tidy(() => noGrad(() => named.forEach(([n, p]) => p.copy_(fromFixture(fx.conv.params[n]!)))));
    const inputs = fromFixture(fx.conv.x);
    try {
      for (const estimator of ['perSample', 'minibatch'] as const) {
        const omega = meanAbsoluteGradients({
          model: net,
          parameters: named,
          inputs,
          batchSize: fx.conv.batch,
          estimator,
          perSampleLoss: (x) => net.forward(x).square().sum(1),
        });
        try {
          compare(omega, fx.conv[estimator], `conv ${estimator}`);
        } finally {
          for (const t of omega.values()) t.dispose();
        }
        // The same samples as batches built on the fly, as MAS passes a task's rows: the same
        // importance, and each batch freed by the pass once used.
        const drawn: Tensor[] = [];
        const n = inputs.shape[0]!;
        const fromBatches = meanAbsoluteGradients({
          model: net,
          parameters: named,
          inputs: (function* () {
            for (let start = 0; start < n; start += fx.conv.batch) {
              const batch = inputs.narrow(0, start, Math.min(fx.conv.batch, n - start)).clone();
              drawn.push(batch);
              yield batch;
            }
          })(),
          batchSize: fx.conv.batch,
          estimator,
          perSampleLoss: (x) => net.forward(x).square().sum(1),
        });
        try {
          compare(fromBatches, fx.conv[estimator], `conv ${estimator}, batches drawn one at a time`);
          assert.ok(drawn.length > 1, 'the fixture must span more than one batch');
          assert.ok(drawn.every((t) => t.isDisposed), 'every drawn batch is freed by the pass');
        } finally {
          for (const t of fromBatches.values()) t.dispose();
        }
      }
    } finally {
      inputs.dispose();
      net.dispose();
    }
  });
});
