// WSN against the PyTorch transcription of tools/fixtures/wsn.py: a tiny
// task-incremental MLP run of two tasks, driven through WSN's hooks in the
// trainer's order; stored masks, parameters, scores, the gradients of the
// last step (frozen weights zeroed) and the test logits of every finished
// task, after each task.
import { instantiate, wsnDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/index.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { liveTensorCount } from '../../../src/tensor/runtime.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertMatches, fromFixture, loadFixture } from '../../helpers.js';

type TensorRecord = Record<string, FixtureTensor>;
interface RunFixture {
  config: { inputs: number; hidden: number[]; classes: number; tasks: number; samples: number; batch: number; fraction: number; lr: number; momentum: number };
  initial: TensorRecord;
  initialScores: TensorRecord;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  testX: FixtureTensor;
  tasks: { masks: TensorRecord; params: TensorRecord; scores: TensorRecord; lastStepGrads: { weights: TensorRecord; scores: TensorRecord }; testLogits: FixtureTensor[] }[];
}

const TOL = { rtol: 1e-5, atol: 1e-6 };

function copyInto(targets: ReadonlyMap<string, Tensor>, values: TensorRecord, names: readonly string[]): void {
  tidy(() => noGrad(() => names.forEach((n) => targets.get(n)!.copy_(fromFixture(values[n]!)))));
}

describe('WSN parity with PyTorch', () => {
  it('matches masks, parameters, scores, masked gradients and test logits over two tasks', () => {
    const fx = loadFixture<{ run: RunFixture }>('wsn').run;
    const c = fx.config;
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: c.hidden }), createHeads('til', c.hidden[c.hidden.length - 1]!));
    const wsn = instantiate(wsnDefinition, { maskPercentage: c.fraction });
    const params = new Map(model.namedParameters());
    const backboneNames = [...params.keys()].filter((n) => n.startsWith('backbone.'));
    const testX = fromFixture(fx.testX);
    const firstLogits: Tensor[] = [];
    try {
      copyInto(params, fx.initial, backboneNames);
      for (let task = 1; task <= c.tasks; task++) {
        model.heads.setupTask(task, c.classes);
        const head = [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`];
        copyInto(new Map(model.namedParameters()), fx.initial, head);
        const scores = wsn.trainableParameters(model, task);
        if (task === 1) copyInto(wsn.scoreTensors(), fx.initialScores, Object.keys(fx.initialScores));
        const optimizer = new SGD([...model.parameters(), ...scores], { lr: c.lr, momentum: c.momentum });
        const x = fromFixture(fx.data[task - 1]!.x);
        const y = fromFixture(fx.data[task - 1]!.y);
        const ctx: TaskContext = { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: c.batch, epochs: 1 };
        model.train();
        wsn.onTaskStart(ctx);
        const want = fx.tasks[task - 1]!;
        const liveAfterStep: number[] = [];
        for (let b = 0, step = 0; b < c.samples; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const targets = y.narrow(0, b, c.batch);
            const { output, logits } = wsn.forward(model, xb, task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch: 1, step, batchCount: 1, globalStep: step, x: xb, targets, output, logits, classificationLoss };
            optimizer.zeroGrad();
            classificationLoss.backward();
            wsn.afterBackward(stepCtx);
            if (b + c.batch >= c.samples) {
              for (const [key, expected] of Object.entries(want.lastStepGrads.weights)) assertMatches(params.get(`backbone.${key}`)!.grad!, expected, `task ${task} last-step ∇θ ${key}`, TOL);
              for (const [key, expected] of Object.entries(want.lastStepGrads.scores)) assertMatches(wsn.scoreTensors().get(key)!.grad!, expected, `task ${task} last-step ∇s ${key}`, TOL);
            }
            optimizer.step();
          });
          liveAfterStep.push(liveTensorCount());
        }
        assert.equal(liveAfterStep[liveAfterStep.length - 1], liveAfterStep[1], `task ${task}: no tensor outlives its step (after the optimizer's state exists)`);
        wsn.onTaskEnd(ctx);
        optimizer.dispose();
        x.dispose();
        y.dispose();

        const masks = wsn.taskMask(task)!;
        assert.deepEqual([...masks.keys()].sort(), Object.keys(want.masks).sort());
        for (const [key, expected] of Object.entries(want.masks)) assertMatches(masks.get(key)!, expected, `task ${task} m_${task} ${key}`);
        for (const name of backboneNames) assertMatches(params.get(name)!, want.params[name]!, `task ${task} ${name}`, TOL);
        for (const [key, expected] of Object.entries(want.scores)) assertMatches(wsn.scoreTensors().get(key)!, expected, `task ${task} scores ${key}`, TOL);
        model.eval();
        noGrad(() =>
          tidy(() => {
            for (let j = 1; j <= task; j++) {
              const logits = wsn.forward(model, testX, j).logits;
              assertMatches(logits, want.testLogits[j - 1]!, `after task ${task}: logits of task ${j}`, TOL);
              if (j === task) firstLogits.push(keep(logits));
              else assert.ok(logits.equal(firstLogits[j - 1]!), `after task ${task}: task ${j}'s logits are bit-identical to those right after it was learned`);
            }
          }),
        );
      }
      // The union of the two masks is what the report counts as used.
      const union = tidy(() => [...wsn.cumulativeMask().values()].reduce((n, m) => n + m.sum().item(), 0));
      assert.equal(Math.round(wsn.report()!.capacityUsed * wsn.report()!.totalWeights), union);
    } finally {
      for (const t of firstLogits) t.dispose();
      testX.dispose();
      wsn.dispose();
      model.dispose();
    }
  });
});
