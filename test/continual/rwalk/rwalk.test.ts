// RWalk: parity with the PyTorch transcription of tools/fixtures/rwalk.py
// (importance, scores, penalties after each task and the penalty at a fixed
// point), the model's training mode and dropout kept during its gradient,
// the no-checkpoint case, and option validation.
import { instantiate, rwalkDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm, StepContext } from '../../../src/continual/algorithms/index.js';
import { RWalk } from '../../../src/continual/algorithms/rwalk.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { grad, noGrad } from '../../../src/tensor/autograd.js';
import { tidy } from '../../../src/tensor/scope.js';
import { assertClose, assertMapsMatch, type FixtureTensor, loadFixture, tempDir } from '../../helpers.js';
import { tinyLoop, tinyModel } from '../tiny_loop.js';

interface TaskRecord {
  checkpoints: number;
  importance: Record<string, FixtureTensor>;
  scores: Record<string, FixtureTensor>;
  penalties: Record<string, FixtureTensor>;
  params: Record<string, FixtureTensor>;
}
interface RWalkFixture {
  config: { inputs: number; hidden: number; classes: number; tasks: number; batch: number; epochs: number; lr: number; lambda: number; alpha: number; deltaT: number; offset: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  tasks: TaskRecord[];
  fixedPenalty: number;
}

const tmp = (): string => join(tempDir('rwalk-'), 'run');
const small = ['benchmark.numTasks=2', 'benchmark.trainLimit=128', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=32', 'training.validateEveryEpoch=false'];

describe('RWalk', () => {
  it('matches the PyTorch transcription: F^task, S, p, θ^prev after each of 3 tasks and the penalty at a fixed point', () => {
    const fx = loadFixture<RWalkFixture>('rwalk');
    const c = fx.config;
    const model = tinyModel(fx, 'til');
    const warnings: string[] = [];
    const rwalk = new RWalk(rwalkDefinition.options.parse({ lambda: c.lambda, alpha: c.alpha, deltaT: c.deltaT }), (m) => warnings.push(m));
    try {
      // The trainer's order (../tiny_loop.ts); RWalk's state after each task against the fixture's.
      tinyLoop(fx, model, 'til', rwalk, {
        onLoss: (ctx, terms) => assert.equal(terms.length === 0, ctx.task === 1, 'a penalty from the second task on only'),
        afterTask: ({ task }) => {
          const want = fx.tasks[task - 1]!;
          const got = rwalk.taskState();
          assertMapsMatch(got.params, want.params, `task ${task} θ^prev`, { rtol: 1e-5, atol: 1e-6 });
          assertMapsMatch(got.importance, want.importance, `task ${task} F^task`, { rtol: 1e-4, atol: 1e-9 });
          assertMapsMatch(got.scores, want.scores, `task ${task} S`, { rtol: 1e-4, atol: 1e-3 });
          assertMapsMatch(got.penalties, want.penalties, `task ${task} p`, { rtol: 1e-4, atol: 1e-6 });
        },
      });
      assert.deepEqual(warnings, [], 'every task had a checkpoint');
      // θ = θ^prev + offset everywhere: λ Σ p · offset².
      tidy(() => noGrad(() => model.namedParameters().forEach(([n, p]) => p.copy_(rwalk.taskState().params.get(n)!.add(c.offset)))));
      const penalty = tidy(() => rwalk.penaltyAt(model)!.item());
      assertClose(penalty, fx.fixedPenalty, 'penalty at θ^prev + offset', 1e-5);
    } finally {
      rwalk.dispose();
      model.dispose();
    }
  });

  it('takes g from the step itself: the model stays in training mode and dropout is active', () => {
    const rwalk = instantiate(rwalkDefinition, { deltaT: 2 });
    let checkedSteps = 0;
    let differsFromEval = false;
    const probe: Algorithm = {
      name: 'probe',
      trainingLoss: (ctx: StepContext) => {
        assert.ok(ctx.model.modules().every((m) => m.training), 'every module is in training mode after RWalk computed g');
        return null;
      },
      afterBackward: (ctx: StepContext) => {
        assert.ok(ctx.model.training, 'still training after backward');
        if (ctx.task !== 1) return;
        // On task 1 the loss is the plain loss, so the trainer's gradient equals RWalk's g
        // exactly: both come from the same forward, with the same dropout mask.
        const g = rwalk.lastGradient();
        for (const [name, p] of ctx.model.namedParameters()) {
          const pg = p.grad;
          assert.ok(pg !== null && g.get(name) !== undefined, `${name} has gradients`);
          assert.ok(tidy(() => pg.equal(g.get(name)!)), `${name}: g equals the step's gradient`);
          pg.dispose();
        }
        // Dropout was on: the eval-mode gradient at the same θ differs.
        const fc1 = ctx.model.backbone.layer('fc1').weight;
        tidy(() => {
          ctx.model.eval();
          const evalGrad = grad(crossEntropy(ctx.model.forward(ctx.x, ctx.task).logits, ctx.targets), fc1)[0]!;
          ctx.model.train();
          if (!evalGrad.allclose(g.get('backbone.fc1.weight')!, { rtol: 1e-4, atol: 1e-6 })) differsFromEval = true;
        });
        checkedSteps++;
      },
      onBatchEnd: (ctx: StepContext) => assert.ok(ctx.model.modules().every((m) => m.training), 'training mode after RWalk onBatchEnd'),
    };
    const config = loadExperiment(undefined, [...small, 'backbone.dropout=0.5']);
    try {
      runExperiment({ config, runDir: tmp(), plugins: [rwalk, probe] });
      assert.equal(checkedSteps, 4, 'four steps of task 1 checked');
      assert.ok(differsFromEval, 'with dropout active, g differs from the eval-mode gradient');
    } finally {
      rwalk.dispose();
    }
  });

  it('warns and keeps penalties finite when no score checkpoint fires in a task (fewer than Δt iterations)', () => {
    const warnings: string[] = [];
    const rwalk = new RWalk(rwalkDefinition.options.parse({ deltaT: 1000 }), (m) => warnings.push(m));
    const config = loadExperiment(undefined, small);
    try {
      const run = runExperiment({ config, runDir: tmp(), plugins: [rwalk] });
      assert.ok(run.loss.flat().every(Number.isFinite), 'finite losses');
      assert.equal(warnings.length, 2, 'one warning per task');
      assert.match(warnings[0]!, /no score checkpoint fired during task 1 \(fewer than deltaT = 1000/);
      const { penalties, importance } = rwalk.taskState();
      let maxP = -Infinity;
      for (const [name, p] of penalties) {
        const values = Array.from(p.toTypedArray(), Number);
        assert.ok(values.every(Number.isFinite), `${name}: finite penalties`);
        maxP = Math.max(maxP, ...values);
        // Score term dropped: p = F / max(F) exactly.
        const maxF = Math.max(...[...importance.values()].map((f) => f.max().item()));
        assert.ok(tidy(() => p.allclose(importance.get(name)!.div(maxF), { rtol: 1e-6, atol: 0 })), `${name}: p is the normalised importance`);
      }
      assert.equal(maxP, 1);
    } finally {
      rwalk.dispose();
    }
  });

  it('warns through process.emitWarning when no logger is given', async () => {
    const rwalk = instantiate(rwalkDefinition, { deltaT: 1000 });
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    try {
      runExperiment({ config: loadExperiment(undefined, [...small, 'benchmark.numTasks=1']), runDir: tmp(), plugins: [rwalk] });
      const w = (await warned) as Error & { code?: string };
      assert.equal(w.code, 'PERENNIAL_RWALK');
      assert.match(w.message, /no score checkpoint fired/);
    } finally {
      rwalk.dispose();
    }
  });

  it('validates lambda, alpha and deltaT with clear errors, in code and in the config', () => {
    assert.throws(() => instantiate(rwalkDefinition, { alpha: 1.5 }), /alpha: expected a number in \[0, 1\], got 1.5/);
    assert.throws(() => instantiate(rwalkDefinition, { alpha: -0.1 }), /alpha: expected a number in \[0, 1\], got -0.1/);
    assert.throws(() => instantiate(rwalkDefinition, { deltaT: 0 }), /deltaT: expected an integer >= 1, got 0/);
    assert.throws(() => instantiate(rwalkDefinition, { deltaT: 2.5 }), /deltaT: expected an integer >= 1, got 2.5/);
    assert.throws(() => instantiate(rwalkDefinition, { lambda: 0 }), /lambda: expected a number > 0, got 0/);
    for (const ok of [0, 1]) instantiate(rwalkDefinition, { alpha: ok }).dispose();
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: rwalk, alpha: 2}]']), /alpha/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: rwalk, deltaT: 0}]']), /deltaT/);
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: rwalk}]']).algorithms, [{ name: 'rwalk', lambda: 0.1, alpha: 0.9, deltaT: 10 }]);
  });
});
