// SI against the defects of its reference implementations (algorithms-next.md
// section 13): Avalanche caps Ω at 0.001 and damps with ξ = 1e-7, Avalanche and
// van de Ven take g from the total loss, Mammoth clips gradients, Avalanche
// would raise on a parameter without a gradient. Each is checked against the
// PyTorch transcription (tools/fixtures/si.py) or by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { SI, siDefinition } from '../../../src/continual/algorithms/si.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { grad } from '../../../src/tensor/autograd.js';
import { tidy } from '../../../src/tensor/scope.js';
import { assertTensorsMatch, fromFixture } from '../../helpers.js';
import { TOL, checkRun, compareMaps, fx, options, replaySIRun } from './replay.js';

/** The largest value of a fixture run's Ω after `task`. */
function maxImportance(run: keyof typeof fx.runs, task: number): number {
  return Math.max(...Object.values(fx.runs[run].tasks[task - 1]!.importance).flatMap((t) => t.data.map(Number)));
}

describe('SI against the defects of the reference implementations', () => {
  it('Ω is not capped at 0.001 (Avalanche): no cap by default; upperClamp caps only the penalty weights', () => {
    assert.equal(siDefinition.options.parse({}).upperClamp, undefined);
    assert.ok(maxImportance('til', 3) > 1, 'the uncapped importances reach far above 0.001');
    // With a cap of 0.5 Ω still accumulates uncapped (values above the cap), while the penalty uses min(Ω, 0.5).
    assert.ok(maxImportance('tilUpperClamp', 2) > 0.5);
    checkRun(fx.runs.tilUpperClamp, new SI(options({ clampNegative: false, upperClamp: 0.5 })), { paradigm: 'til' });
  });

  it('relu acts on the accumulated Ω (authors\' code), and clampNegative false keeps negative importances', () => {
    // Task 2 climbs its loss, so its ω is negative: Ω = relu(Ω₁ + negative) zeroes some entries.
    const zeros = Object.values(fx.runs.tilAscend.tasks[1]!.importance).flatMap((t) => t.data).filter((v) => v === 0).length;
    const negatives = Object.values(fx.runs.tilAscendUnclamped.tasks[1]!.importance).flatMap((t) => t.data).filter((v) => Number(v) < 0).length;
    assert.ok(zeros > 0 && negatives > 0, `the fixture exercises the clamp (${zeros} zeros, ${negatives} negatives)`);
    checkRun(fx.runs.tilAscend, new SI(options()), { paradigm: 'til', ascendTask: 2 });
    checkRun(fx.runs.tilAscendUnclamped, new SI(options({ clampNegative: false })), { paradigm: 'til', ascendTask: 2 });
  });

  it('the damping is the configured ξ, not 1e-7 (Avalanche)', () => {
    assert.equal(siDefinition.options.parse({}).xi, 0.1);
    const si = new SI(options({ xi: 1e-7 }));
    const model = replaySIRun(fx, si, {
      paradigm: 'til',
      afterTask: (task) => {
        if (task === 1) assert.throws(() => compareMaps(si.importances, fx.runs.til.tasks[0]!.importance, 'Ω'), /Ω/, 'ξ = 1e-7 gives another Ω');
      },
    });
    si.dispose();
    model.dispose();
  });

  it("g excludes the penalty's gradient by default; gradient 'total' reads p.grad of the whole loss (Avalanche, van de Ven)", () => {
    checkRun(fx.runs.tilTotal, new SI(options({ gradient: 'total' })), { paradigm: 'til' });
    // The two modes agree on task 1 (no penalty yet) and differ from task 2 on.
    compareMaps(
      new Map(Object.entries(fx.runs.til.tasks[0]!.importance).map(([n, t]) => [n, fromFixture(t)])),
      fx.runs.tilTotal.tasks[0]!.importance,
      'task 1 Ω of both modes',
    );
    const si = new SI(options());
    const model = replaySIRun(fx, si, {
      paradigm: 'til',
      afterTask: (task) => {
        if (task === 2) assert.throws(() => compareMaps(si.importances, fx.runs.tilTotal.tasks[1]!.importance, 'Ω'), /Ω/, 'the default is not the total gradient');
      },
    });
    si.dispose();
    model.dispose();
  });

  it('no gradient clipping (Mammoth): a step with gradients far above 1 gives ω = lr·g² under SGD', () => {
    const lr = 0.01;
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5] }), createHeads('til', 5, { dtype: 'float64' }));
    model.to('float64');
    model.heads.setupTask(1, 2);
    const optimizer = new SGD(model.parameters(), { lr });
    const si = instantiate(siDefinition, {});
    const x = fromFixture(fx.data[0]!.x).mul(1000);
    const y = fromFixture(fx.data[0]!.y);
    const ctx: TaskContext = { task: 1, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: 12 }, batchSize: 12, epochs: 1 };
    try {
      si.onTaskStart(ctx);
      tidy(() => {
        const { output, logits } = model.forward(x, 1);
        const classificationLoss = crossEntropy(logits, y);
        const stepCtx: StepContext = { ...ctx, epoch: 1, step: 0, batchCount: 1, globalStep: 0, x, targets: y, output, logits, classificationLoss };
        const [g] = grad(classificationLoss, [model.namedParameters().find(([n]) => n === 'backbone.fc1.weight')![1]], { retainGraph: true });
        assert.ok(g!.abs().max().item() > 10, 'the gradient is far above the clipping bound 1');
        assert.equal(si.trainingLoss(stepCtx), null);
        optimizer.zeroGrad();
        classificationLoss.backward();
        optimizer.step();
        si.onBatchEnd(stepCtx);
        assertTensorsMatch(si.pathIntegral.get('backbone.fc1.weight')!, g!.square().mul(lr), 'ω = −g·(−lr·g)', TOL);
      });
    } finally {
      si.dispose();
      optimizer.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    }
  });

  for (const gradient of ['unregularized', 'total'] as const) {
    it(`gradient '${gradient}': parameters without a gradient (other tasks' heads, a frozen bias) do not raise and gain no importance`, () => {
      const si = new SI(options({ gradient }));
      const model = replaySIRun(fx, si, {
        paradigm: 'til',
        prepare: (m) => m.namedParameters().find(([n]) => n === 'backbone.fc1.bias')![1].requiresGrad_(false),
        afterTask: (task) => {
          assert.equal(si.importances.get('backbone.fc1.bias')!.abs().max().item(), 0, `task ${task}: the frozen bias has Ω = 0`);
          assert.ok(si.importances.get('backbone.fc1.weight')!.max().item() > 0, `task ${task}: the trained weight has importance`);
        },
      });
      try {
        // The penalty still covers the frozen bias (with weight 0) and every head keeps its task's training.
        assertTensorsMatch(model.namedParameters().find(([n]) => n === 'backbone.fc1.bias')![1], fromFixture(fx.initial['backbone.fc1.bias']!), 'the frozen bias', TOL);
      } finally {
        si.dispose();
        model.dispose();
      }
    });
  }
});

describe('SI options', () => {
  it('are validated by the schema: c > 0, ξ > 0, a known gradient mode, upperClamp > 0', () => {
    assert.deepEqual(siDefinition.options.parse({}), { c: 1, xi: 0.1, gradient: 'unregularized', clampNegative: true });
    for (const bad of [{ c: 0 }, { c: -1 }, { xi: 0 }, { gradient: 'grad' }, { upperClamp: 0 }, { clampNegative: 1 }]) {
      assert.throws(() => instantiate(siDefinition, bad), /expected/, JSON.stringify(bad));
    }
  });
});
