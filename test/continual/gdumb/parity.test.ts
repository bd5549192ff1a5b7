// GDumb against the PyTorch transcription of tools/fixtures/gdumb.py
// (float64): the memory after each task of a fixed stream, the re-initialised
// weights (equal to a model freshly built after torch.manual_seed with the
// derived seed), and the parameters after each retraining (4 passes: warm-up,
// maxLr, two SGDR steps; gradient clipping; momentum and weight decay), in
// TIL, CIL and DIL. Also SGDR's learning rates and clip_grad_norm_ against
// PyTorch's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type GDumb, gdumbDefinition, reinitialize } from '../../../src/continual/algorithms/gdumb.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { clipGradNorm_ } from '../../../src/optim/clip_grad.js';
import { CosineAnnealingWarmRestarts } from '../../../src/optim/lr_scheduler.js';
import { SGD } from '../../../src/optim/sgd.js';
import { zerosLike } from '../../../src/tensor/creation.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertClose, assertMatches, fromFixture, loadFixture } from '../../helpers.js';

interface RunRecord {
  memory: { targets: number[]; tasks: number[] }[];
  initial: Record<string, FixtureTensor>[];
  params: Record<string, FixtureTensor>[];
  schedule: number[][];
  clipped: number[];
}
interface ClipCase {
  grads: FixtureTensor[];
  clipped: FixtureTensor[];
  norm: number;
}
interface GDumbFixture {
  config: { inputs: number; hidden: number; classes: number; tasks: number; samples: number; capacity: number; passes: number; batch: number; maxLr: number; minLr: number; momentum: number; weightDecay: number; clip: number; seed: number };
  data: { x: FixtureTensor; y: FixtureTensor }[];
  sgdr: number[];
  clip: { above: ClipCase; below: ClipCase };
  runs: Record<Paradigm, RunRecord>;
}

const fx = loadFixture<GDumbFixture>('gdumb');
const F64 = { rtol: 1e-10, atol: 1e-12 };
const EXACT = { rtol: 0, atol: 0 };

function assertParameters(model: ContinualModel, want: Record<string, FixtureTensor>, what: string, tol: { rtol: number; atol: number }): void {
  const params = model.namedParameters();
  assert.deepEqual(params.map(([n]) => n).sort(), Object.keys(want).sort(), `${what}: parameter names`);
  for (const [name, p] of params) assertMatches(p.detach(), want[name]!, `${what} ${name}`, tol);
}

describe('GDumb parity with the PyTorch transcription (tools/fixtures/gdumb.py)', () => {
  it("SGDR (T_0 1, T_mult 2): 12 steps of CosineAnnealingWarmRestarts give PyTorch's learning rates", () => {
    const optimizer = { paramGroups: [{ lr: fx.config.maxLr }] as { lr: number; initialLr?: number }[] };
    const scheduler = new CosineAnnealingWarmRestarts(optimizer, 1, 2, fx.config.minLr);
    const lrs = [optimizer.paramGroups[0]!.lr];
    for (let i = 0; i < 12; i++) {
      scheduler.step();
      lrs.push(optimizer.paramGroups[0]!.lr);
    }
    lrs.forEach((lr, i) => assertClose(lr, fx.sgdr[i]!, `step ${i}`, 1e-15, 0));
  });

  for (const which of ['above', 'below'] as const) {
    it(`clipGradNorm_ on gradients ${which} the limit: the norm and the clipped gradients of torch.nn.utils.clip_grad_norm_`, () => {
      const c = fx.clip[which];
      tidy(() => {
        const params: Tensor[] = c.grads.map((g) => {
          const p = zerosLike(fromFixture(g)).requiresGrad_(true);
          p.grad = fromFixture(g);
          return p;
        });
        assertClose(clipGradNorm_(params, 1), c.norm, 'norm', 1e-14, 0);
        params.forEach((p, i) => assertMatches(p.grad!, c.clipped[i]!, `gradient ${i}`, F64));
        if (which === 'below') params.forEach((p, i) => assertMatches(p.grad!, c.grads[i]!, `gradient ${i} unchanged`, EXACT));
      });
    });
  }

  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm}: the memory, the re-initialised weights (a fresh seeded init) and the parameters after each retraining (float64, 1e-10)`, () => {
      const c = fx.config;
      const want = fx.runs[paradigm];
      const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: [c.hidden] }), createHeads(paradigm, c.hidden, { dtype: 'float64' }));
      model.to('float64');
      const gdumb: GDumb = instantiate(gdumbDefinition, {
        capacity: c.capacity, policy: paradigm === 'dil' ? 'classBalanced' : 'greedy', epochs: c.passes, batchSize: c.batch,
        maxLr: c.maxLr, minLr: c.minLr, momentum: c.momentum, weightDecay: c.weightDecay, clip: c.clip, seed: c.seed,
      });
      try {
        for (let task = 1; task <= c.tasks; task++) {
          model.heads.setupTask(task, c.classes);
          const optimizer = new SGD(model.parameters(), { lr: 0.1 });
          const x = fromFixture(fx.data[task - 1]!.x);
          const y = fromFixture(fx.data[task - 1]!.y);
          const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: 4, epochs: 1 };
          gdumb.onTaskStart(ctx);
          assert.equal(gdumb.skipsTraining(), true, 'no step on the stream');
          assert.deepEqual([...gdumb.memory.storedTargets], want.memory[task - 1]!.targets, `task ${task}: memory targets`);
          assert.deepEqual([...gdumb.memory.storedTasks], want.memory[task - 1]!.tasks, `task ${task}: memory tasks`);
          reinitialize(model, gdumb.initSeed(task));
          assertParameters(model, want.initial[task - 1]!, `task ${task} re-initialised`, EXACT);
          gdumb.onTaskEnd(ctx);
          assert.deepEqual(gdumb.lastSchedule.map((lr) => Number(lr.toPrecision(15))), want.schedule[task - 1]!.map((lr) => Number(lr.toPrecision(15))), `task ${task}: learning rate per pass`);
          assert.equal(gdumb.clippedSteps, want.clipped[task - 1], `task ${task}: clipped steps`);
          assertParameters(model, want.params[task - 1]!, `task ${task} retrained`, F64);
          assert.equal(model.training, false, 'the model is left in eval mode');
          optimizer.dispose();
          x.dispose();
          y.dispose();
        }
        assert.ok(want.clipped.every((n) => n > 0 && n < c.passes * Math.ceil(c.capacity / c.batch)), 'clipping both acts and not');
      } finally {
        gdumb.dispose();
        model.dispose();
      }
    });
  }
});
