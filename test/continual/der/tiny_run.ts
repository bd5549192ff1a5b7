// The tiny run of the DER fixture (tools/fixtures/der.py): an MLP 6 -> 5 with
// 2-class tasks (TIL: a head per task; CIL: one full-width head over all 6
// classes) trained with plain SGD on fixed data over three tasks. replayRun
// drives DER's hooks in the trainer's order and returns the α and β terms of
// every step (read through a spy on `terms`, which trainingLoss calls), the
// memory and the parameters after each task.
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type DER, derDefinition } from '../../../src/continual/algorithms/der.js';
import { derppDefinition } from '../../../src/continual/algorithms/derpp.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, fromFixture, loadFixture, setParametersFromFixture } from '../../helpers.js';

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
  for (const params of run.params) for (const t of params.values()) t.dispose();
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

/** The fixture's model in float64: TIL heads per task, or CIL's full-width head over every class of the 3 tasks. */
export function fixtureModel(paradigm: 'til' | 'cil'): ContinualModel {
  const c = fx.config;
  const heads = createHeads(paradigm, c.hidden, { dtype: 'float64', ...(paradigm === 'cil' ? { fullWidth: c.classes * c.tasks } : {}) });
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: [c.hidden] }), heads);
  model.to('float64');
  return model;
}

/**
 * The fixture's run with DER's hooks in the trainer's order (head set up,
 * fresh optimizer, onTaskStart, per batch forward → trainingLoss → backward →
 * step → onBatchEnd), in float64. `before` sees each step's context before
 * trainingLoss, `probe` after the insertion.
 */
export function replayRun(variant: Variant, paradigm: 'til' | 'cil', probe?: (ctx: StepContext, der: DER) => void, before?: (ctx: StepContext, der: DER) => void): TinyRun {
  const c = fx.config;
  const initial = fx.initial[paradigm];
  const model = fixtureModel(paradigm);
  const der = fixtureDER(variant);
  const run: TinyRun = { params: [], terms: [], memory: [] };
  let current: number[][] = [];
  const terms = der.terms.bind(der);
  der.terms = (ctx) => {
    const t = terms(ctx);
    if (t !== null) current.push(t.beta === null ? [t.alpha.item()] : [t.alpha.item(), t.beta.item()]);
    return t;
  };
  let globalStep = 0;
  try {
    setParametersFromFixture(model, initial, ['backbone.fc1.weight', 'backbone.fc1.bias']);
    model.train();
    for (let task = 1; task <= c.tasks; task++) {
      model.heads.setupTask(task, c.classes);
      if (paradigm === 'til' || task === 1) setParametersFromFixture(model, initial, [`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = tidy(() => fromFixture(fx.data[task - 1]!.x));
      const y = fromFixture(fx.data[task - 1]!.y);
      const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: c.batch };
      der.onTaskStart(ctx);
      current = [];
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < c.samples; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const { output, logits } = model.forward(xb, task);
            const targets = model.heads.targets(y.narrow(0, b, c.batch), task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch, step, batchCount: c.samples / c.batch, globalStep, x: xb, targets, output, logits, classificationLoss };
            before?.(stepCtx, der);
            const extra = der.trainingLoss(stepCtx);
            const total = extra === null ? classificationLoss : classificationLoss.add(extra);
            optimizer.zeroGrad();
            total.backward();
            optimizer.step();
            der.onBatchEnd(stepCtx);
            probe?.(stepCtx, der);
          });
          globalStep++;
        }
      }
      optimizer.dispose();
      x.dispose();
      y.dispose();
      run.terms.push(current);
      run.memory.push(tidy(() => {
        const all = der.memory.gather();
        return {
          x: keep(all.x.clone()),
          targets: Array.from(all.targets.toTypedArray(), Number),
          tasks: Array.from(all.tasks.toTypedArray(), Number),
          logits: keep(all.logits!.clone()),
          widths: [...all.logitWidths],
          seen: der.memory.seen,
        };
      }));
      run.params.push(tidy(() => new Map(model.namedParameters().map(([n, p]) => [n, keep(p.detach().clone())] as [string, Tensor]))));
    }
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    der.dispose();
    model.dispose();
  }
  return run;
}
