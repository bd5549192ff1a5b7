// The tiny run of the ER and ER-ACE fixtures (tools/fixtures/rehearsal_tiny.py):
// an MLP 6 -> 5 with 2-class heads, three tasks of 12 fixed samples in a
// fixed order, batch 4, 2 epochs, plain SGD lr 0.1. tinyRun drives an
// algorithm's hooks through the shared loop (../tiny_loop.ts) and records the
// parameters and the memory after each task and the loss of every step.
import type { Algorithm, StepContext } from '../../../src/continual/algorithms/algorithm.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import type { MemoryBuffer } from '../../../src/continual/memory/buffer.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import type { FixtureTensor } from '../../helpers.js';
import { type TinyFixture as LoopFixture, disposeSnapshots, snapshotParameters, tinyLoop, tinyModel } from '../tiny_loop.js';

export interface TinyFixture extends LoopFixture {
  config: LoopFixture['config'] & { hidden: number; samples: number };
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
  disposeSnapshots(run.params);
  for (const m of run.memory) m.x.dispose();
}

/** Called after each step with its context (inside the step's scope). */
export type Probe = (ctx: StepContext) => void;

/** The fixture's run with `algorithm`'s hooks in the trainer's order, in `dtype`; `memory` is the algorithm's. */
export function tinyRun(fx: TinyFixture, paradigm: Paradigm, algorithm: Algorithm, memory: MemoryBuffer, dtype: DType = 'float64', probe?: Probe): TinyRun {
  const model = tinyModel(fx, paradigm, { dtype });
  const run: TinyRun = { params: [], memory: [], loss: [] };
  let steps: number[] = [];
  try {
    tinyLoop(fx, model, paradigm, algorithm, {
      onLoss: (_ctx, _terms, total) => steps.push(total.item()),
      afterStep: probe,
      afterTask: () => {
        run.loss.push(steps);
        steps = [];
        run.params.push(snapshotParameters(model));
        run.memory.push(
          tidy(() => {
            const all = memory.gather();
            return { x: keep(all.x.to('float64')), targets: [...memory.storedTargets], tasks: [...memory.storedTasks] };
          }),
        );
      },
    });
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    model.dispose();
  }
  return run;
}
