// The tiny run of tools/fixtures/si.py, replayed through an algorithm's hooks
// by the shared loop (../tiny_loop.ts; an MLP 6 → 5 with a 2-class head per task, one
// shared head in DIL, float64, fixed data in a fixed order), and the check of
// an SI run against everything the fixture recorded of it.
import type { Algorithm } from '../../../src/continual/algorithms/algorithm.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import { Adam } from '../../../src/optim/adam.js';
import { SGD } from '../../../src/optim/sgd.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import assert from 'node:assert/strict';
import { SI, type SIOptions, siDefinition } from '../../../src/continual/algorithms/si.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import { type FixtureTensor, assertClose, assertMapsMatch, fromFixture, loadFixture } from '../../helpers.js';
import { tinyLoop, tinyModel } from '../tiny_loop.js';

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

/** Replays the fixture's run with `algorithm` (../tiny_loop.ts); returns the trained float64 model (the caller disposes it). */
export function replaySIRun(fx: SIFixture, algorithm: Algorithm, options: ReplayOptions): ContinualModel {
  const c = fx.config;
  const { paradigm } = options;
  const model = tinyModel(fx, paradigm, { dtype: 'float64' });
  try {
    options.prepare?.(model);
    tinyLoop(fx, model, paradigm, algorithm, {
      optimizer: (params, task) => (options.optimizer === 'adam' ? new Adam(params, { lr: c.adamLr }) : new SGD(params, { lr: c.lr, maximize: task === options.ascendTask })),
      onLoss: (ctx, terms) => assert.equal(terms.length === 0, ctx.task === 1, 'a penalty from the second task on only'),
      afterStep: ({ task }) => {
        if (task === 1) options.afterStep?.(task);
      },
      afterTask: ({ task }) => options.afterTask?.(task),
    });
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

