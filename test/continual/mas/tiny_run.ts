// The tiny float64 run of tools/fixtures/mas.py, shared by the MAS tests:
// the fixture, and a replay of its run that drives MAS's hooks through the
// shared loop (../tiny_loop.ts).
import assert from 'node:assert/strict';
import { MAS, type MASOptions, masDefinition } from '../../../src/continual/algorithms/mas.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertMapsMatch, loadFixture } from '../../helpers.js';
import { tinyLoop, tinyModel } from '../tiny_loop.js';

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
 * The fixture's run with `mas` in the trainer's order (../tiny_loop.ts). Ω^t
 * is computed once more before onTaskEnd for `check`. Returns the trained
 * model (the caller disposes it).
 */
export function replay(paradigm: Paradigm, mas: MAS, check: (view: TaskView) => void): ContinualModel {
  const model = tinyModel(fx, paradigm, { dtype: 'float64' });
  let stepPenalties: number[] = [];
  let taskImportance: Map<string, Tensor> | null = null;
  try {
    tinyLoop(fx, model, paradigm, mas, {
      onLoss: (ctx, terms) => {
        assert.equal(terms.length === 0, ctx.task === 1, 'a penalty from the second task on only');
        if (terms.length > 0) stepPenalties.push(terms[0]!.item());
      },
      beforeTaskEnd: (ctx) => {
        taskImportance = mas.taskImportance(ctx);
      },
      afterTask: ({ task }) => {
        const importance = taskImportance!;
        taskImportance = null;
        try {
          assert.ok(model.training, 'the importance pass restores the training mode');
          check({ task, mas, model, taskImportance: importance, stepPenalties });
        } finally {
          for (const t of importance.values()) t.dispose();
        }
        stepPenalties = [];
      },
    });
  } catch (error) {
    for (const t of (taskImportance as Map<string, Tensor> | null)?.values() ?? []) t.dispose();
    model.dispose();
    throw error;
  }
  return model;
}
