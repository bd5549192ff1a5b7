// The tiny run of the ER and ER-ACE fixtures (tools/fixtures/rehearsal_tiny.py):
// an MLP 6 -> 5 with 2-class heads, three tasks of 12 fixed samples in a
// fixed order, batch 4, 2 epochs, plain SGD lr 0.1. tinyRun drives an
// algorithm's hooks in the trainer's order (forward hook, classification
// loss, training loss, backward, step, batch end) and records the parameters
// and the memory after each task and the loss of every step.
import type { Algorithm, BatchContext, StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import type { MemoryBuffer } from '../../../src/continual/memory/buffer.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel, forwardWith } from '../../../src/continual/model/model.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, fromFixture, setParametersFromFixture } from '../../helpers.js';

export interface TinyConfig {
  inputs: number;
  hidden: number;
  classes: number;
  tasks: number;
  samples: number;
  batch: number;
  epochs: number;
  lr: number;
}
export interface TinyFixture {
  config: TinyConfig;
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
}
export interface MemoryRecord {
  x: FixtureTensor;
  targets: number[];
  tasks: number[];
}

/** What a run ends each task with. */
export interface TinyRun {
  params: Map<string, Tensor>[];
  /** x, targets and tasks of every filled slot after each task (x as float64). */
  memory: { x: Tensor; targets: number[]; tasks: number[] }[];
  /** The loss of every step: the classification loss plus every training-loss term. */
  loss: number[][];
}

export function disposeRun(run: TinyRun): void {
  for (const params of run.params) for (const t of params.values()) t.dispose();
  for (const m of run.memory) m.x.dispose();
}

/** Called after each step with its context (inside the step's scope). */
export type Probe = (ctx: StepContext) => void;

/** The fixture's run with `algorithm`'s hooks in the trainer's order, in `dtype`; `memory` is the algorithm's. */
export function tinyRun(fx: TinyFixture, paradigm: Paradigm, algorithm: Algorithm, memory: MemoryBuffer, dtype: DType = 'float64', probe?: Probe): TinyRun {
  const c = fx.config;
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: [c.hidden] }), createHeads(paradigm, c.hidden, { dtype }));
  model.to(dtype);
  const run: TinyRun = { params: [], memory: [], loss: [] };
  let globalStep = 0;
  try {
    setParametersFromFixture(model, fx.initial, ['backbone.fc1.weight', 'backbone.fc1.bias']);
    model.train();
    for (let task = 1; task <= c.tasks; task++) {
      model.heads.setupTask(task, c.classes);
      setParametersFromFixture(model, fx.initial, [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = tidy(() => fromFixture(fx.data[task - 1]!.x).to(dtype));
      const y = fromFixture(fx.data[task - 1]!.y);
      const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: c.batch };
      algorithm.onTaskStart?.(ctx);
      const steps: number[] = [];
      const count = c.samples / c.batch;
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < c.samples; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const { output, logits } = forwardWith(model, [algorithm], xb, task, { index: step, count });
            const targets = model.heads.targets(y.narrow(0, b, c.batch), task);
            const batchCtx: BatchContext = { ...ctx, epoch, step, batchCount: count, globalStep, x: xb, targets, output, logits };
            const classificationLoss = algorithm.classificationLoss?.(batchCtx) ?? crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...batchCtx, classificationLoss };
            const extra = algorithm.trainingLoss?.(stepCtx);
            const total = extra == null ? classificationLoss : classificationLoss.add(extra);
            steps.push(total.item());
            optimizer.zeroGrad();
            total.backward();
            algorithm.afterBackward?.(stepCtx);
            optimizer.step();
            algorithm.onBatchEnd?.(stepCtx);
            probe?.(stepCtx);
          });
          globalStep++;
        }
      }
      algorithm.onTaskEnd?.(ctx);
      optimizer.dispose();
      x.dispose();
      y.dispose();
      run.loss.push(steps);
      run.params.push(tidy(() => new Map(model.namedParameters().map(([n, p]) => [n, keep(p.detach().to('float64').clone())] as [string, Tensor]))));
      run.memory.push(
        tidy(() => {
          const all = memory.gather();
          return { x: keep(all.x.to('float64')), targets: [...memory.storedTargets], tasks: [...memory.storedTasks] };
        }),
      );
    }
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    model.dispose();
  }
  return run;
}
