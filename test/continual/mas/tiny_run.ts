// The tiny float64 run of tools/fixtures/mas.py, shared by the MAS tests:
// the fixture, and a replay of its run that drives MAS's hooks in the
// trainer's order.
import assert from 'node:assert/strict';
import { MAS, type MASOptions, masDefinition } from '../../../src/continual/algorithms/mas.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertMapsMatch, fromFixture, loadFixture, setParametersFromFixture } from '../../helpers.js';

export type Tensors = Record<string, FixtureTensor>;
interface TaskRecord {
  taskImportance: Tensors;
  importance: Tensors;
  anchor: Tensors;
  stepPenalties: number[];
}
interface Run {
  tasks: TaskRecord[];
  final: Tensors;
  probe: { penalty: number; gradient: Tensors };
  firstTaskPlain?: Tensors;
}
export interface MASFixture {
  config: { inputs: number; hidden: number; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; lambda: number };
  initial: Tensors;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  runs: Record<'til' | 'cil' | 'dil' | 'tilMinibatch', Run>;
  conv: { params: Tensors; x: FixtureTensor; batch: number; perSample: Tensors; minibatch: Tensors };
}

export const TOL = { rtol: 1e-10, atol: 1e-10 };
export const fx = loadFixture<MASFixture>('mas');

export function masOptions(overrides: Partial<MASOptions> = {}): MASOptions {
  return masDefinition.options.parse({ lambda: fx.config.lambda, ...overrides });
}

export function compare(actual: ReadonlyMap<string, Tensor>, expected: Tensors, what: string): void {
  assertMapsMatch(actual, expected, what, TOL);
}

export interface TaskView {
  task: number;
  mas: MAS;
  model: ContinualModel;
  taskImportance: Map<string, Tensor>;
  stepPenalties: number[];
}

/**
 * The fixture's run with `mas` in the trainer's order (head set up, fresh SGD,
 * per batch forward → trainingLoss → backward → step, then onTaskEnd). Ω^t is
 * computed once more before onTaskEnd for `check`. Returns the trained model.
 */
export function replay(paradigm: Paradigm, mas: MAS, check: (view: TaskView) => void): ContinualModel {
  const c = fx.config;
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: [c.hidden] }), createHeads(paradigm, c.hidden, { dtype: 'float64' }));
  model.to('float64');
  try {
    setParametersFromFixture(model, fx.initial, ['backbone.fc1.weight', 'backbone.fc1.bias']);
    model.train();
    for (let task = 1; task <= c.tasks; task++) {
      model.heads.setupTask(task, c.classes);
      if (paradigm !== 'dil' || task === 1) setParametersFromFixture(model, fx.initial, [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = fromFixture(fx.data[task - 1]!.x);
      const y = fromFixture(fx.data[task - 1]!.y);
      const ctx = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: c.batch };
      const stepPenalties: number[] = [];
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < c.samples; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const targets = model.heads.targets(y.narrow(0, b, c.batch), task);
            const { output, logits } = model.forward(xb, task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx = { ...ctx, epoch, step, batchCount: c.samples / c.batch, globalStep: 0, x: xb, targets, output, logits, classificationLoss };
            const extra = mas.trainingLoss(stepCtx);
            assert.equal(extra === null, task === 1, 'a penalty from the second task on only');
            if (extra !== null) stepPenalties.push(extra.item());
            const total = extra === null ? classificationLoss : classificationLoss.add(extra);
            optimizer.zeroGrad();
            total.backward();
            optimizer.step();
          });
        }
      }
      const taskImportance = mas.taskImportance(ctx);
      mas.onTaskEnd(ctx);
      assert.ok(model.training, 'the importance pass restores the training mode');
      try {
        check({ task, mas, model, taskImportance, stepPenalties });
      } finally {
        for (const t of taskImportance.values()) t.dispose();
        optimizer.dispose();
        x.dispose();
        y.dispose();
      }
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
