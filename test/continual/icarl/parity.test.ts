// iCaRL against the PyTorch transcription of tools/fixtures/icarl.py
// (float64): the herding order of a fixed feature matrix with exact ties, the
// loss and its gradient for fixed logits and a fixed teacher, and a CIL run
// of three tasks through the trainer: the loss of every step, the parameters,
// the exemplars (inputs, classes, order) and the class means after each
// task, and the nearest-mean logits of fixed inputs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { herding, icarlDefinition, icarlLoss, instantiate } from '../../../src/continual/algorithms/index.js';
import { grad } from '../../../src/tensor/autograd.js';
import { tidy } from '../../../src/tensor/scope.js';
import { assertClose, assertMatches, fromFixture } from '../../helpers.js';
import { fixtureBenchmark, fixtureModel, fx, headInitializer, train } from './tiny.js';

const F64 = { rtol: 1e-10, atol: 1e-12 };

describe('iCaRL parity with the PyTorch transcription (tools/fixtures/icarl.py)', () => {
  it('herds in the transcription\'s order, ties to the lowest index, every row once', () => {
    const features = fromFixture(fx.herding.features);
    const symmetric = fromFixture(fx.herding.symmetric.features);
    try {
      for (const [m, order] of Object.entries(fx.herding.orders)) assert.deepEqual(herding(features, Number(m)), order, `m = ${m}`);
      assert.deepEqual(herding(symmetric, 6), fx.herding.symmetric.order);
      // Rows 2, 6 and 8 are equal: 2 is taken first and 6 before 8.
      const full = herding(features, 10);
      assert.ok(full.indexOf(2) < full.indexOf(6) && full.indexOf(6) < full.indexOf(8));
    } finally {
      features.dispose();
      symmetric.dispose();
    }
  });

  it('the loss over the seen classes and its gradient for fixed logits and a fixed teacher', () => {
    const f = fx.fixedLoss;
    tidy(() => {
      const logits = fromFixture(f.logits, { requiresGrad: true });
      const q = fromFixture(f.teacherLogits).sigmoid();
      const value = icarlLoss(logits.narrow(1, 0, f.seen), fromFixture(f.targets), q);
      assertClose(value.item(), f.value, 'loss', 1e-12, 1e-14);
      const [g] = grad([value], [logits]);
      assertMatches(g!, f.gradient, 'gradient (zero on the unseen columns)', F64);
    });
  });

  it('CIL over three tasks: the loss of every step, the parameters, exemplars, class means and nearest-mean logits after each task', () => {
    const benchmark = fixtureBenchmark('float64');
    const model = fixtureModel('cil', 'float64');
    const icarl = instantiate(icarlDefinition, { capacity: fx.config.capacity });
    const testX = fromFixture(fx.testX);
    try {
      for (let task = 1; task <= fx.config.tasks; task++) {
        const losses = train(task, model, benchmark, 'cil', [headInitializer, icarl]);
        const want = fx.run;
        assert.equal(losses.length, want.losses[task - 1]!.length, `task ${task}: steps (the task's data and the exemplars)`);
        losses.forEach((v, i) => assertClose(v, want.losses[task - 1]![i]!, `task ${task} step ${i}: loss`, 1e-10, 1e-12));
        const params = new Map(model.namedParameters());
        for (const [name, value] of Object.entries(want.params[task - 1]!)) assertMatches(params.get(name)!, value, `task ${task} ${name}`, F64);
        assert.deepEqual(icarl.exemplarClasses(), want.memory[task - 1]!.targets, `task ${task}: exemplar classes, grouped by class`);
        tidy(() => {
          const stored = icarl.memory.gather();
          assertMatches(stored.x, want.memory[task - 1]!.x, `task ${task}: exemplars in herding order`, { rtol: 0, atol: 0 });
          assertMatches(icarl.means!, want.nme[task - 1]!.means, `task ${task}: class means`, F64);
          model.eval();
          const { logits } = icarl.forward(model, testX, task)!;
          model.train();
          assertMatches(logits, want.nme[task - 1]!.logits, `task ${task}: nearest-mean logits`, F64);
        });
      }
      assert.deepEqual(icarl.exemplarClasses(), [0, 1, 2, 3, 4, 5], 'K = 8, 6 classes: m = floor(8/6) = 1 each');
    } finally {
      testX.dispose();
      icarl.dispose();
      model.dispose();
      benchmark.dispose();
    }
  });
});
