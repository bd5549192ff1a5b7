// The tiny run of the LwF fixture (tools/fixtures/lwf.py): an MLP 6 -> 5 with
// 2-class heads trained with plain SGD on fixed data over three tasks.
// replayRun drives LwF's hooks in the trainer's order on it, in float32 or
// float64, and returns the parameters after each task and the distillation
// of each step.
import assert from 'node:assert/strict';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type LwF, lwfDefinition } from '../../../src/continual/algorithms/lwf.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { type FixtureTensor, fromFixture, loadFixture } from '../../helpers.js';

export interface FixedLogits {
  student: FixtureTensor[];
  teacher: FixtureTensor[];
  value: number;
  gradient: FixtureTensor[];
  clarena: number;
}
export interface RunRecord {
  params: Record<string, FixtureTensor>[];
  distillation: number[][];
}
export interface LwFFixture {
  config: { inputs: number; hidden: number; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; lambda: number; temperature: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  fixedLogits: Record<Paradigm, FixedLogits>;
  runs: Record<string, RunRecord>;
}

export const fx = loadFixture<LwFFixture>('lwf');

/** What a replayed run ends each task with: its parameters (as float64) and the distillation of each step. */
export interface TinyRun {
  params: Map<string, Tensor>[];
  distillation: number[][];
}

export function disposeRun(run: TinyRun): void {
  for (const params of run.params) for (const t of params.values()) t.dispose();
}

/**
 * The fixture's run with LwF's hooks in the trainer's order (head set up,
 * fresh optimizer, onTaskStart, per batch forward → trainingLoss → backward →
 * step, then onTaskEnd), in `dtype`.
 */
export function replayRun(paradigm: Paradigm, options: Record<string, unknown>, dtype: DType, probe?: (ctx: StepContext, lwf: LwF) => void): TinyRun {
  const c = fx.config;
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: [c.hidden] }), createHeads(paradigm, c.hidden, { dtype }));
  model.to(dtype);
  const lwf = instantiate(lwfDefinition, { lambda: c.lambda, temperature: c.temperature, ...options });
  const set = (names: readonly string[]) => {
    const params = new Map(model.namedParameters());
    tidy(() => noGrad(() => names.forEach((n) => params.get(n)!.copy_(fromFixture(fx.initial[n]!).to(dtype)))));
  };
  const run: TinyRun = { params: [], distillation: [] };
  let globalStep = 0;
  try {
    set(['backbone.fc1.weight', 'backbone.fc1.bias']);
    model.train();
    for (let task = 1; task <= c.tasks; task++) {
      model.heads.setupTask(task, c.classes);
      if (paradigm !== 'dil' || task === 1) set([`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = tidy(() => fromFixture(fx.data[task - 1]!.x).to(dtype));
      const y = fromFixture(fx.data[task - 1]!.y);
      const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: c.batch };
      lwf.onTaskStart(ctx);
      const steps: number[] = [];
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < c.samples; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const { output, logits } = model.forward(xb, task);
            const targets = model.heads.targets(y.narrow(0, b, c.batch), task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch, step, batchCount: c.samples / c.batch, globalStep, x: xb, targets, output, logits, classificationLoss };
            const extra = lwf.trainingLoss(stepCtx);
            assert.equal(extra === null, task === 1, 'a distillation term from the second task on only');
            if (extra !== null) steps.push(extra.item() / c.lambda);
            probe?.(stepCtx, lwf);
            const total = extra === null ? classificationLoss : classificationLoss.add(extra);
            optimizer.zeroGrad();
            total.backward();
            optimizer.step();
          });
          globalStep++;
        }
      }
      lwf.onTaskEnd(ctx);
      optimizer.dispose();
      x.dispose();
      y.dispose();
      run.distillation.push(steps);
      run.params.push(tidy(() => new Map(model.namedParameters().map(([n, p]) => [n, keep(p.detach().to('float64').clone())] as [string, Tensor]))));
    }
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    lwf.dispose();
    model.dispose();
  }
  return run;
}

