// The tiny run of the DER fixture (tools/fixtures/der.py): an MLP 6 -> 5 with
// 2-class tasks (TIL: a head per task; CIL: one full-width head over all 6
// classes) trained with plain SGD on fixed data over three tasks. replayRun
// drives DER's hooks through the shared loop and returns the α and β terms of
// every step (read through a spy on `terms`, which trainingLoss calls), the
// memory and the parameters after each task.
import type { StepContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type DER, derDefinition } from '../../../src/continual/algorithms/der.js';
import { derppDefinition } from '../../../src/continual/algorithms/derpp.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, loadFixture } from '../../helpers.js';
import { disposeSnapshots, snapshotParameters, tinyLoop, tinyModel } from '../tiny_loop.js';

export interface MemoryRecord {
  x: FixtureTensor;
  targets: FixtureTensor;
  tasks: FixtureTensor;
  logits: FixtureTensor;
  widths: number[];
  seen: number;
}
export interface RunRecord {
  params: Record<string, FixtureTensor>[];
  terms: number[][][];
  memory: MemoryRecord[];
}
export interface DERFixture {
  config: {
    inputs: number; hidden: number; classes: number; tasks: number; samples: number; batch: number; epochs: number; lr: number;
    capacity: number; replay: number; seed: number; settings: Record<'der' | 'derpp', { alpha: number; beta: number | null }>;
  };
  initial: Record<'til' | 'cil', Record<string, FixtureTensor>>;
  data: { x: FixtureTensor; y: FixtureTensor }[];
  runs: Record<string, RunRecord>;
}

export const fx = loadFixture<DERFixture>('der');

/** The memory as stored after a task (padded logits as float64). */
export interface StoredMemory {
  x: Tensor;
  targets: number[];
  tasks: number[];
  logits: Tensor;
  widths: number[];
  seen: number;
}

export interface TinyRun {
  params: Map<string, Tensor>[];
  terms: number[][][];
  memory: StoredMemory[];
}

export function disposeRun(run: TinyRun): void {
  disposeSnapshots(run.params);
  for (const m of run.memory) for (const t of [m.x, m.logits]) t.dispose();
}

export type Variant = 'der' | 'derpp';

/** The DER or DER++ of the fixture's settings, with `options` on top. */
export function fixtureDER(variant: Variant, options: Record<string, unknown> = {}): DER {
  const c = fx.config;
  const s = c.settings[variant];
  const base = { capacity: c.capacity, batchSize: c.replay, seed: c.seed, alpha: s.alpha, ...(s.beta === null ? {} : { beta: s.beta }) };
  return variant === 'der' ? instantiate(derDefinition, { ...base, ...options }) : instantiate(derppDefinition, { ...base, ...options });
}

/**
 * The fixture's run with DER's hooks in the trainer's order (../tiny_loop.ts),
 * in float64: TIL heads per task, or CIL's full-width head over every class
 * of the 3 tasks. `before` sees each step's context before trainingLoss,
 * `probe` after the insertion.
 */
export function replayRun(variant: Variant, paradigm: 'til' | 'cil', probe?: (ctx: StepContext, der: DER) => void, before?: (ctx: StepContext, der: DER) => void): TinyRun {
  const c = fx.config;
  const tiny = { ...fx, initial: fx.initial[paradigm] };
  const model = tinyModel(tiny, paradigm, { dtype: 'float64', ...(paradigm === 'cil' ? { fullWidth: c.classes * c.tasks } : {}) });
  const der = fixtureDER(variant);
  const run: TinyRun = { params: [], terms: [], memory: [] };
  let current: number[][] = [];
  const terms = der.terms.bind(der);
  der.terms = (ctx) => {
    const t = terms(ctx);
    if (t !== null) current.push(t.beta === null ? [t.alpha.item()] : [t.alpha.item(), t.beta.item()]);
    return t;
  };
  try {
    tinyLoop(tiny, model, paradigm, der, {
      beforeLoss: (ctx) => before?.(ctx, der),
      afterStep: (ctx) => probe?.(ctx, der),
      afterTask: () => {
        run.terms.push(current);
        current = [];
        run.memory.push(tidy(() => {
          const all = der.memory.gather();
          return {
            x: keep(all.x.clone()),
            targets: Array.from(all.targets.toTypedArray(), Number),
            tasks: [...all.tasks],
            logits: keep(all.logits!.clone()),
            widths: [...all.logitWidths],
            seen: der.memory.seen,
          };
        }));
        run.params.push(snapshotParameters(model));
      },
    });
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    der.dispose();
    model.dispose();
  }
  return run;
}
