// PackNet against the PyTorch transcription of tools/fixtures/packnet.py: the
// tiny task-incremental MLP run of three tasks (one epoch of training, the
// prune, one epoch of retraining at a tenth of the learning rate with a fresh
// SGD with momentum), in float64, driven through PackNet's hooks by the shared
// tiny loop in the trainer's order. After each task: the owners, the weights
// its prune freed, every parameter, and the test logits of every finished task
// (the masked forward), which stay bit-identical after later tasks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instantiate, packnetDefinition } from '../../../src/continual/algorithms/index.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { liveTensorCount } from '../../../src/tensor/runtime.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertMatches, fromFixture, loadFixture } from '../../helpers.js';
import { type TinyFixture, tinyLoop, tinyModel } from '../tiny_loop.js';

interface PackNetFixture extends TinyFixture {
  config: TinyFixture['config'] & { momentum: number; pruneFraction: number; retrainEpochs: number; retrainLrScale: number };
  testX: FixtureTensor;
  tasks: { owners: Record<string, FixtureTensor>; pruned: Record<string, FixtureTensor>; freed: number; params: Record<string, FixtureTensor>; testLogits: FixtureTensor[] }[];
}

const TOL = { rtol: 1e-10, atol: 1e-12 };

describe('PackNet parity with PyTorch', () => {
  it('matches owners, pruned sets, parameters and masked test logits over three tasks (float64)', () => {
    const fx = loadFixture<PackNetFixture>('packnet');
    const c = fx.config;
    const model = tinyModel(fx, 'til', { dtype: 'float64' });
    const packnet = instantiate(packnetDefinition, { pruneFraction: c.pruneFraction, retrainEpochs: c.retrainEpochs, retrainLrScale: c.retrainLrScale });
    const testX = tidy(() => fromFixture(fx.testX).to('float64'));
    const firstLogits: Tensor[] = [];
    const liveAfterStep: number[] = [];
    try {
      tinyLoop(fx, model, 'til', packnet, {
        optimizer: (params) => new SGD(params, { lr: c.lr, momentum: c.momentum }),
        afterStep: () => liveAfterStep.push(liveTensorCount()),
        afterTask: ({ task }) => {
          const want = fx.tasks[task - 1]!;
          const owners = packnet.ownerTensors();
          assert.deepEqual([...owners.keys()], Object.keys(want.owners));
          for (const [layer, owner] of owners) {
            assertMatches(owner, want.owners[layer]!, `task ${task}: owners of ${layer}`);
            tidy(() => assertMatches(owner.eq(0), want.pruned[layer]!, `task ${task}: free after the prune, ${layer}`));
          }
          const entry = packnet.report()!.tasks[task - 1]!;
          assert.equal(entry.pruned, want.freed, `task ${task}: weights its prune freed`);
          for (const [name, p] of model.namedParameters()) assertMatches(p, want.params[name]!, `task ${task}: ${name}`, TOL);
          const training = model.training;
          model.eval();
          noGrad(() =>
            tidy(() => {
              for (let j = 1; j <= task; j++) {
                const logits = packnet.forward(model, testX, j)!.logits;
                assertMatches(logits, want.testLogits[j - 1]!, `after task ${task}: logits of task ${j}`, TOL);
                if (j === task) firstLogits.push(keep(logits));
                else assert.ok(logits.equal(firstLogits[j - 1]!), `after task ${task}: task ${j}'s logits are bit-identical to those right after it was learned`);
              }
            }),
          );
          model.train(training);
          // The steps of the task leave nothing behind once the optimizer's state exists.
          const steps = liveAfterStep.splice(0);
          assert.equal(steps[steps.length - 1], steps[1], `task ${task}: no tensor outlives its step`);
        },
      });
      // The prune of the second task freed more than round(p·n) in fc2: weights that stayed exactly 0 tie at the cutoff and go too.
      assert.ok(fx.tasks[1]!.freed > 8 + 5, 'the fixture exercises ties at the cutoff');
    } finally {
      for (const t of firstLogits) t.dispose();
      testX.dispose();
      packnet.dispose();
      model.dispose();
    }
  });
});
