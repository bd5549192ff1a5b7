// The tiny run of tools/fixtures/si.py, replayed through an algorithm's hooks
// in the trainer's order (an MLP 6 → 5 with a 2-class head per task, one
// shared head in DIL, float64, fixed data in a fixed order), and the check of
// an SI run against everything the fixture recorded of it.
import type { Algorithm, StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { Adam } from '../../../src/optim/adam.js';
import type { Optimizer } from '../../../src/optim/optimizer.js';
import { SGD } from '../../../src/optim/sgd.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import assert from 'node:assert/strict';
import { SI, type SIOptions, siDefinition } from '../../../src/continual/algorithms/si.js';
import { keep } from '../../../src/tensor/scope.js';
import { type FixtureTensor, assertClose, assertMapsMatch, fromFixture, loadFixture, setParametersFromFixture } from '../../helpers.js';

export interface SIConfig {
  inputs: number;
  hidden: number;
  classes: number;
  tasks: number;
  samples: number;
  batch: number;
  epochs: number;
  lr: number;
  adamLr: number;
  c: number;
  xi: number;
}

export interface SIRun {
  task1Omegas: Record<string, FixtureTensor>[];
  tasks: { importance: Record<string, FixtureTensor>; anchor: Record<string, FixtureTensor> }[];
  fixedPenalty: number;
  fixedGradient: Record<string, FixtureTensor>;
  final: Record<string, FixtureTensor>;
}

export interface SIFixture {
  config: SIConfig;
  initial: Record<string, FixtureTensor>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  runs: Record<'til' | 'cil' | 'dil' | 'tilAdam' | 'tilTotal' | 'tilAscend' | 'tilAscendUnclamped' | 'tilUpperClamp', SIRun>;
}

export const TOL = { rtol: 1e-10, atol: 1e-12 };

export function compareMaps(actual: ReadonlyMap<string, Tensor>, expected: Record<string, FixtureTensor>, what: string): void {
  assertMapsMatch(actual, expected, what, TOL);
}

export interface ReplayOptions {
  paradigm: Paradigm;
  optimizer?: 'sgd' | 'adam';
  /** This task's SGD climbs the loss (maximize), so that ω turns negative. */
  ascendTask?: number;
  /** Called once the model is built and initialised (to freeze a parameter). */
  prepare?(model: ContinualModel): void;
  /** After each step of task 1. */
  afterStep?(task: number): void;
  /** After onTaskEnd. */
  afterTask?(task: number): void;
}

/** Replays the fixture's run with `algorithm`; returns the trained float64 model (the caller disposes it). */
export function replaySIRun(fx: SIFixture, algorithm: Algorithm, options: ReplayOptions): ContinualModel {
  const c = fx.config;
  const { paradigm } = options;
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: [c.hidden] }), createHeads(paradigm, c.hidden, { dtype: 'float64' }));
  model.to('float64');
  try {
    setParametersFromFixture(model, fx.initial, ['backbone.fc1.weight', 'backbone.fc1.bias']);
    options.prepare?.(model);
    model.train();
    let globalStep = 0;
    for (let task = 1; task <= c.tasks; task++) {
      model.heads.setupTask(task, c.classes);
      if (paradigm !== 'dil' || task === 1) setParametersFromFixture(model, fx.initial, [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer: Optimizer =
        options.optimizer === 'adam' ? new Adam(model.parameters(), { lr: c.adamLr }) : new SGD(model.parameters(), { lr: c.lr, maximize: task === options.ascendTask });
      const x = fromFixture(fx.data[task - 1]!.x);
      const y = fromFixture(fx.data[task - 1]!.y);
      const n = x.shape[0]!;
      const batchCount = Math.ceil(n / c.batch);
      const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: n }, batchSize: c.batch };
      algorithm.onTaskStart?.(ctx);
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < n; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const targets = model.heads.targets(y.narrow(0, b, c.batch), task);
            const { output, logits } = model.forward(xb, task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch, step, batchCount, globalStep, x: xb, targets, output, logits, classificationLoss };
            const extra = algorithm.trainingLoss?.(stepCtx) ?? null;
            assert.equal(extra === null, task === 1, 'a penalty from the second task on only');
            const total = extra === null ? classificationLoss : classificationLoss.add(extra);
            optimizer.zeroGrad();
            total.backward();
            algorithm.afterBackward?.(stepCtx);
            optimizer.step();
            algorithm.onBatchEnd?.(stepCtx);
          });
          globalStep++;
          if (task === 1) options.afterStep?.(task);
        }
      }
      algorithm.onTaskEnd?.(ctx);
      optimizer.dispose();
      x.dispose();
      y.dispose();
      options.afterTask?.(task);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

export const fx = loadFixture<SIFixture>('si');

/** Validated SI options with the fixture's c and ξ. */
export const options = (more: Partial<SIOptions> = {}): SIOptions => siDefinition.options.parse({ c: fx.config.c, xi: fx.config.xi, ...more });

/** Replays the fixture's run with `si` and compares everything the fixture recorded of `run`. */
export function checkRun(run: SIRun, si: SI, replay: Omit<ReplayOptions, 'afterStep' | 'afterTask'>): void {
  const omegas: Map<string, Tensor>[] = [];
  const model = replaySIRun(fx, si, {
    ...replay,
    afterStep: () => omegas.push(tidy(() => new Map([...si.pathIntegral].map(([n, t]) => [n, keep(t.clone())])))),
    afterTask: (task) => {
      compareMaps(si.importances, run.tasks[task - 1]!.importance, `task ${task} Ω`);
      compareMaps(si.anchors, run.tasks[task - 1]!.anchor, `task ${task} θ*`);
    },
  });
  try {
    assert.equal(omegas.length, run.task1Omegas.length, 'steps of task 1');
    omegas.forEach((omega, k) => compareMaps(omega, run.task1Omegas[k]!, `ω after step ${k + 1}`));
    checkFixedPenalty(run, si);
    compareMaps(new Map(model.namedParameters()), run.final, 'final parameters');
  } finally {
    for (const omega of omegas) for (const t of omega.values()) t.dispose();
    si.dispose();
    model.dispose();
  }
}

/** The penalty and its gradient at the fixture's fixed point (the initial parameters). */
function checkFixedPenalty(run: SIRun, si: SI): void {
  tidy(() => {
    const names = Object.keys(run.fixedGradient);
    const theta = names.map((name) => [name, fromFixture(fx.initial[name]!, { requiresGrad: true })] as [string, Tensor]);
    const penalty = si.penaltyAt(theta)!;
    assertClose(penalty.item(), run.fixedPenalty, 'penalty at the fixed point', 1e-10, 1e-14);
    penalty.backward();
    compareMaps(new Map(theta.map(([name, t]) => [name, t.grad!])), run.fixedGradient, 'penalty gradient at the fixed point');
  });
}

