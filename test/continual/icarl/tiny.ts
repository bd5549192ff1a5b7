// The tiny setting of the iCaRL tests: the fixture of tools/fixtures/icarl.py
// (an MLP 6 -> 5, 2-class heads, 3 tasks of 12 fixed samples) as a
// benchmark, a model with the fixture's initial weights, and trainTask with
// the trainer's own loop (shuffled batches, hooks in order).
import type { TrainingConfig } from '../../../src/config/experiment.js';
import type { Algorithm, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { tensorDataset } from '../../../src/continual/benchmarks/data.js';
import type { ContinualBenchmark, Paradigm, TensorDataset } from '../../../src/continual/contracts/types.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { type TrainingObserver, trainTask } from '../../../src/continual/training/trainer.js';
import { disposeStateDict } from '../../../src/optim/optimizer.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import { type FixtureTensor, fromFixture, loadFixture, setParametersFromFixture } from '../../helpers.js';

export interface ICaRLFixture {
  config: { inputs: number; hidden: number; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number; capacity: number; seed: number };
  herding: { features: FixtureTensor; orders: Record<string, number[]>; symmetric: { features: FixtureTensor; order: number[] } };
  fixedLoss: { logits: FixtureTensor; targets: FixtureTensor; teacherLogits: FixtureTensor; seen: number; value: number; gradient: FixtureTensor; allUnits: number };
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  testX: FixtureTensor;
  run: {
    losses: number[][];
    params: Record<string, FixtureTensor>[];
    memory: { x: FixtureTensor; targets: number[] }[];
    nme: { means: FixtureTensor; logits: FixtureTensor }[];
  };
}

export const fx = loadFixture<ICaRLFixture>('icarl');

/** A benchmark of fixed task datasets (the caller keeps them; dispose frees them), `classes` classes per task. */
export function fixedBenchmark(train: TensorDataset[], classes: number, inputShape: readonly number[]): ContinualBenchmark {
  const empty = (d: TensorDataset) => tensorDataset(d.x.narrow(0, 0, 0), d.y.narrow(0, 0, 0));
  const tasks = train.map((d) => ({ train: d, val: empty(d), test: d }));
  return {
    name: 'fixed',
    numTasks: train.length,
    inputShape,
    numClasses: () => classes,
    classOffset: (task) => (task - 1) * classes,
    task: (task) => tasks[task - 1]!,
    dispose: () => tasks.forEach((s) => [s.train.x, s.train.y, s.val.x, s.val.y].forEach((t) => t.dispose())),
  };
}

/** The fixture's tasks as a benchmark, in `dtype`. */
export function fixtureBenchmark(dtype: DType): ContinualBenchmark {
  const train = fx.data.map((d) => tidy(() => tensorDataset(keep(fromFixture(d.x).to(dtype)), keep(fromFixture(d.y)))));
  return fixedBenchmark(train, fx.config.classes, [fx.config.inputs]);
}

/** The fixture's MLP with its initial backbone weights (each head is set as its task starts, by `headInitializer`). */
export function fixtureModel(paradigm: Paradigm, dtype: DType, options: Record<string, unknown> = {}): ContinualModel {
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [fx.config.inputs], { hiddenSizes: [fx.config.hidden], ...options }), createHeads(paradigm, fx.config.hidden, { dtype }));
  model.to(dtype);
  setParametersFromFixture(model, fx.initial, ['backbone.fc1.weight', 'backbone.fc1.bias']);
  return model;
}

/** Sets each new head to the fixture's initial values as its task starts (placed first, before the algorithm under test). */
export const headInitializer: Algorithm = {
  name: 'head initializer',
  onTaskStart(ctx: TaskContext) {
    const j = ctx.task - 1;
    setParametersFromFixture(ctx.model, fx.initial, [`heads.heads.${j}.weight`, `heads.heads.${j}.bias`]);
  },
};

export function tinyTraining(overrides: Partial<TrainingConfig> = {}): TrainingConfig {
  const c = fx.config;
  return { epochs: c.epochs, batchSize: c.batch, evalBatchSize: 64, optimizer: { name: 'sgd', lr: c.lr }, scheduler: { name: 'none' }, validateEveryEpoch: false, ...overrides };
}

/** Trains `task` with the trainer; returns the logged loss of each step. */
export function train(task: number, model: ContinualModel, benchmark: ContinualBenchmark, paradigm: Paradigm, algorithms: readonly Algorithm[], training = tinyTraining()): number[] {
  const losses: number[] = [];
  const observer: TrainingObserver = { batchEnd: (_t, _e, _s, loss) => losses.push(loss) };
  const result = trainTask(task, { model, benchmark, paradigm, algorithms, training, seed: fx.config.seed, globalStep: 0, observer });
  disposeStateDict(result.optimizerState);
  return losses;
}
