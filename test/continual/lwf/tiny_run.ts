// The tiny run of the LwF fixture (tools/fixtures/lwf.py): an MLP 6 -> 5 with
// 2-class heads trained with plain SGD on fixed data over three tasks.
// replayRun drives LwF's hooks through the shared loop, in float32 or
// float64, and returns the parameters after each task and the distillation
// of each step.
import assert from 'node:assert/strict';
import type { StepContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type LwF, lwfDefinition } from '../../../src/continual/algorithms/lwf.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { type FixtureTensor, loadFixture } from '../../helpers.js';
import { disposeSnapshots, snapshotParameters, tinyLoop, tinyModel } from '../tiny_loop.js';

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
  disposeSnapshots(run.params);
}

/**
 * The fixture's run with LwF's hooks in the trainer's order (../tiny_loop.ts),
 * in `dtype`. `probe` sees each step after trainingLoss, before backward.
 */
export function replayRun(paradigm: Paradigm, options: Record<string, unknown>, dtype: DType, probe?: (ctx: StepContext, lwf: LwF) => void): TinyRun {
  const c = fx.config;
  const model = tinyModel(fx, paradigm, { dtype });
  const lwf = instantiate(lwfDefinition, { lambda: c.lambda, temperature: c.temperature, ...options });
  const run: TinyRun = { params: [], distillation: [] };
  let steps: number[] = [];
  try {
    tinyLoop(fx, model, paradigm, lwf, {
      onLoss: (ctx, terms) => {
        assert.equal(terms.length === 0, ctx.task === 1, 'a distillation term from the second task on only');
        if (terms.length > 0) steps.push(terms[0]!.item() / c.lambda);
        probe?.(ctx, lwf);
      },
      afterTask: () => {
        run.distillation.push(steps);
        steps = [];
        run.params.push(snapshotParameters(model));
      },
    });
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    lwf.dispose();
    model.dispose();
  }
  return run;
}
