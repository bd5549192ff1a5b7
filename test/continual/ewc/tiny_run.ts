// The tiny run both EWC parity fixtures record (tools/fixtures/ewc.py and
// online_ewc.py): an MLP backbone with one head per task, trained with plain
// SGD on fixed data in a fixed order. replayTinyRun drives an algorithm's
// hooks through the shared loop (../tiny_loop.ts) on the same run so that its
// state, penalties and parameters can be compared with the fixture's.
import assert from 'node:assert/strict';
import type { Algorithm } from '../../../src/continual/algorithms/index.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { type FixtureTensor, assertClose, assertMapsMatch } from '../../helpers.js';
import { tinyLoop, tinyModel } from '../tiny_loop.js';

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
 * Reproduces the fixture's run with `algorithm`'s hooks in the trainer's
 * order (../tiny_loop.ts) and returns the trained model (the caller disposes
 * it and the algorithm; on failure both are disposed here).
 */
export function replayTinyRun(fx: TinyRunFixture, algorithm: Required<Pick<Algorithm, 'onTaskStart' | 'trainingLoss' | 'onTaskEnd'>> & Algorithm, hooks: ReplayHooks): ContinualModel {
  const model = tinyModel(fx, 'til');
  let stepPenalties: number[] = [];
  try {
    tinyLoop(fx, model, 'til', algorithm, {
      onLoss: (ctx, terms) => {
        assert.equal(terms.length === 0, ctx.task === 1, 'a penalty from the second task on only');
        if (terms.length > 0) stepPenalties.push(terms[0]!.item());
      },
      beforeTaskEnd: ({ task }) => hooks.beforeTaskEnd?.(task, model),
      afterTask: ({ task }) => {
        assert.ok(model.training, 'the model is back in training mode after the Fisher pass');
        hooks.afterTask(task, stepPenalties);
        stepPenalties = [];
      },
    });
  } catch (e) {
    algorithm.dispose?.();
    model.dispose();
    throw e;
  }
  return model;
}
