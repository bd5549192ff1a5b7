// The tiny run both EWC parity fixtures record (tools/fixtures/ewc.py and
// online_ewc.py): an MLP backbone with one head per task, trained with plain
// SGD on fixed data in a fixed order. replayTinyRun drives an algorithm's
// hooks in the trainer's order on the same run so that its state, penalties
// and parameters can be compared with the fixture's.
import assert from 'node:assert/strict';
import type { Algorithm, StepContext, TaskContext } from '../../../src/continual/algorithms/index.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { tidy } from '../../../src/tensor/scope.js';
import { type FixtureTensor, assertClose, assertMapsMatch, fromFixture, setParametersFromFixture } from '../../helpers.js';

export { assertMapsMatch as compareMaps };

export interface TinyRunFixture {
  config: { inputs: number; hidden: number[]; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; lambda: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
}

export const FISHER_TOL = { rtol: 1e-4, atol: 1e-9 };
export const PARAM_TOL = { rtol: 1e-4, atol: 1e-6 };
export const PENALTY_RTOL = 1e-4;
export const PENALTY_ATOL = 1e-8;
const BACKBONE = ['backbone.fc1.weight', 'backbone.fc1.bias', 'backbone.fc2.weight', 'backbone.fc2.bias'];

export function comparePenalties(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: number of steps`);
  got.forEach((g, i) => assertClose(g, want[i]!, `${what} step ${i}`, PENALTY_RTOL, PENALTY_ATOL));
}

export interface ReplayHooks {
  /** After a task's last step, before the algorithm's onTaskEnd. */
  beforeTaskEnd?(task: number, model: ContinualModel): void;
  /** After onTaskEnd, with the penalties of the task's steps (none on task 1). */
  afterTask(task: number, stepPenalties: number[]): void;
}

/**
 * Reproduces the fixture's run with `algorithm`'s hooks and returns the
 * trained model (the caller disposes it and the algorithm; on failure both
 * are disposed here).
 */
export function replayTinyRun(fx: TinyRunFixture, algorithm: Required<Pick<Algorithm, 'onTaskStart' | 'trainingLoss' | 'onTaskEnd'>> & Algorithm, hooks: ReplayHooks): ContinualModel {
  const c = fx.config;
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: c.hidden }), createHeads('til', c.hidden[c.hidden.length - 1]!));
  try {
    setParametersFromFixture(model, fx.initial, BACKBONE);
    model.train();
    let globalStep = 0;
    for (let task = 1; task <= c.tasks; task++) {
      // The trainer's order: head set up, fresh optimizer, onTaskStart, per batch
      // forward → trainingLoss → backward → step, then onTaskEnd.
      model.heads.setupTask(task, c.classes);
      setParametersFromFixture(model, fx.initial, [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = fromFixture(fx.data[task - 1]!.x);
      const y = fromFixture(fx.data[task - 1]!.y);
      const n = x.shape[0]!;
      const ctx: TaskContext = { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: n }, batchSize: c.batch };
      algorithm.onTaskStart(ctx);
      const stepPenalties: number[] = [];
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < n; b += c.batch, step++) {
          tidy(() => {
            const size = Math.min(c.batch, n - b);
            const xb = x.narrow(0, b, size);
            const targets = y.narrow(0, b, size);
            const { output, logits } = model.forward(xb, task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch, step, batchCount: 1, globalStep, x: xb, targets, output, logits, classificationLoss };
            const extra = algorithm.trainingLoss(stepCtx);
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
      hooks.beforeTaskEnd?.(task, model);
      algorithm.onTaskEnd(ctx);
      assert.ok(model.training, 'the model is back in training mode after the Fisher pass');
      optimizer.dispose();
      x.dispose();
      y.dispose();
      hooks.afterTask(task, stepPenalties);
    }
  } catch (e) {
    algorithm.dispose?.();
    model.dispose();
    throw e;
  }
  return model;
}
