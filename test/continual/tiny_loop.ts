// The tiny continual-learning run that the algorithms' parity fixtures record
// (tools/fixtures/*.py): an MLP with the fixture's initial weights, one fixed
// dataset per task, its batches in order (no shuffling), a fresh plain SGD per
// task. tinyLoop drives the algorithms' hooks exactly as trainTask
// (src/continual/training/trainer.ts) does for one such batch order:
//
//   heads.setupTask, the new head set to the fixture's initial values,
//   a fresh optimizer (over trainableParameters too), onTaskStart,
//   per epoch: onEpochStart, then per batch: forward (an algorithm's forward hook or model.forward),
//     targets, classificationLoss hook or cross-entropy, + every trainingLoss
//     term, zeroGrad, backward, afterBackward, step, onBatchEnd;
//   onTaskEnd.
//
// What a test records (the terms of each step, snapshots after each task) it
// asks for through TinyHooks; the loop itself is the same for every algorithm.
import { type Algorithm, type BatchContext, type StepContext, type TaskContext, firstAnswer } from '../../src/continual/algorithms/algorithm.js';
import { instantiateBackbone, mlpDefinition } from '../../src/continual/backbones/index.js';
import type { ContinualBenchmark, Paradigm, TaskId } from '../../src/continual/contracts/types.js';
import { createHeads } from '../../src/continual/model/heads.js';
import { ContinualModel, forwardWith } from '../../src/continual/model/model.js';
import { crossEntropy } from '../../src/nn/functional.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import { SGD } from '../../src/optim/sgd.js';
import type { DType } from '../../src/tensor/dtype.js';
import { keep, tidy } from '../../src/tensor/scope.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { type FixtureTensor, fromFixture, setParametersFromFixture } from '../helpers.js';

/** What every tiny-run fixture holds: its sizes, the initial weights (backbone and every task's head) and each task's data. */
export interface TinyFixture {
  config: { inputs: number; hidden: number | number[]; classes: number; tasks: number; batch: number; epochs: number; lr: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
}

export interface TinyModelOptions {
  /** The model's dtype (default float32, the fixtures' inputs then being float32 too). */
  dtype?: DType;
  /** CIL only: one head over this many classes from task 1 (Mammoth's convention), instead of a head per task. */
  fullWidth?: number;
}

/** The fixture's MLP in `dtype` with its initial backbone weights; each head is set as its task starts, by tinyLoop. */
export function tinyModel(fx: TinyFixture, paradigm: Paradigm, options: TinyModelOptions = {}): ContinualModel {
  const c = fx.config;
  const dtype = options.dtype ?? 'float32';
  const hidden = typeof c.hidden === 'number' ? [c.hidden] : c.hidden;
  const heads = createHeads(paradigm, hidden[hidden.length - 1]!, { dtype, ...(options.fullWidth === undefined ? {} : { fullWidth: options.fullWidth }) });
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: hidden }), heads);
  model.to(dtype);
  try {
    setParametersFromFixture(model, fx.initial, Object.keys(fx.initial).filter((n) => n.startsWith('backbone.')));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

export interface TinyHooks {
  /** The task's optimizer over `params` (default: plain SGD at the fixture's lr). */
  optimizer?(params: Tensor[], task: TaskId): Optimizer;
  /** Each step's context before the training-loss terms are asked for. */
  beforeLoss?(ctx: StepContext): void;
  /** Each step's training-loss terms (one per algorithm that gave one) and the total, before backward. */
  onLoss?(ctx: StepContext, terms: readonly Tensor[], total: Tensor): void;
  /** After the step's onBatchEnd, inside the step's scope. */
  afterStep?(ctx: StepContext): void;
  /** After the task's last step, before onTaskEnd. */
  beforeTaskEnd?(ctx: TaskContext): void;
  /** After onTaskEnd, while the task's data and optimizer are still alive. */
  afterTask?(ctx: TaskContext): void;
}

/** Trains `model` (from tinyModel) over the fixture's tasks with `algorithms`' hooks in the trainer's order; the caller keeps and disposes the model and the algorithms. */
export function tinyLoop(fx: TinyFixture, model: ContinualModel, paradigm: Paradigm, algorithms: Algorithm | readonly Algorithm[], hooks: TinyHooks = {}): void {
  const all: readonly Algorithm[] = Array.isArray(algorithms) ? algorithms : [algorithms as Algorithm];
  const c = fx.config;
  const dtype = model.parameters()[0]!.dtype;
  let globalStep = 0;
  for (let task = 1; task <= c.tasks; task++) {
    model.heads.setupTask(task, c.classes);
    // The new head, where setupTask made one: every task's in TIL and CIL, the shared one (task 1) in DIL or a full-width CIL head.
    const head = [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`];
    const names = new Set(model.namedParameters().map(([n]) => n));
    if (head.every((n) => names.has(n))) setParametersFromFixture(model, fx.initial, head);
    const params = [...model.parameters(), ...all.flatMap((a) => a.trainableParameters?.(model, task) ?? [])];
    const optimizer = hooks.optimizer?.(params, task) ?? new SGD(params, { lr: c.lr });
    const x = tidy(() => fromFixture(fx.data[task - 1]!.x).to(dtype));
    const y = fromFixture(fx.data[task - 1]!.y);
    try {
      const n = x.shape[0]!;
      const batchCount = Math.ceil(n / c.batch);
      const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: n }, batchSize: c.batch, epochs: c.epochs };
      model.train();
      for (const a of all) a.onTaskStart?.(ctx);
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        model.train();
        for (const a of all) a.onEpochStart?.(ctx, epoch);
        for (let b = 0, step = 0; b < n; b += c.batch, step++) {
          tidy(() => {
            const size = Math.min(c.batch, n - b);
            const xb = x.narrow(0, b, size);
            const { output, logits } = forwardWith(model, all, xb, task, { index: step, count: batchCount });
            const targets = model.heads.targets(y.narrow(0, b, size), task);
            const batchCtx: BatchContext = { ...ctx, epoch, step, batchCount, globalStep, x: xb, targets, output, logits };
            const classificationLoss = firstAnswer(all, (a) => a.classificationLoss?.(batchCtx)) ?? crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...batchCtx, classificationLoss };
            hooks.beforeLoss?.(stepCtx);
            const terms: Tensor[] = [];
            let total: Tensor = classificationLoss;
            for (const a of all) {
              const extra = a.trainingLoss?.(stepCtx);
              if (extra == null) continue;
              terms.push(extra);
              total = total.add(extra);
            }
            hooks.onLoss?.(stepCtx, terms, total);
            optimizer.zeroGrad();
            total.backward();
            for (const a of all) a.afterBackward?.(stepCtx);
            optimizer.step();
            for (const a of all) a.onBatchEnd?.(stepCtx);
            hooks.afterStep?.(stepCtx);
          });
          globalStep++;
        }
      }
      hooks.beforeTaskEnd?.(ctx);
      for (const a of all) a.onTaskEnd?.(ctx);
      hooks.afterTask?.(ctx);
    } finally {
      optimizer.dispose();
      x.dispose();
      y.dispose();
    }
  }
}

/** The model's parameters now, as float64 copies by name (kept: the caller disposes them). */
export function snapshotParameters(model: ContinualModel): Map<string, Tensor> {
  return tidy(() => new Map(model.namedParameters().map(([n, p]) => [n, keep(p.detach().to('float64').clone())] as [string, Tensor])));
}

export function disposeSnapshots(snapshots: readonly ReadonlyMap<string, Tensor>[]): void {
  for (const s of snapshots) for (const t of s.values()) t.dispose();
}
