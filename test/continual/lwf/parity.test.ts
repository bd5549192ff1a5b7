// LwF against the PyTorch transcription of tools/fixtures/lwf.py (float64):
// the distillation value and its gradient for fixed logits in TIL, CIL and
// DIL, CLArena's formula on the same logits, and the parameters after each of
// three tasks and the distillation of every step for each configuration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type LwF, distillationLoss, lwfDefinition } from '../../../src/continual/algorithms/lwf.js';
import { MLP } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/heads.js';
import { ContinualModel } from '../../../src/continual/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { grad, noGrad } from '../../../src/tensor/autograd.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { type FixtureTensor, assertClose, assertMatches, fromFixture, loadFixture } from '../../helpers.js';

interface FixedLogits {
  student: FixtureTensor[];
  teacher: FixtureTensor[];
  value: number;
  gradient: FixtureTensor[];
  clarena: number;
}
interface RunRecord {
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

const fx = loadFixture<LwFFixture>('lwf');
const F64 = { rtol: 1e-10, atol: 1e-12 };
const F32 = { rtol: 1e-5, atol: 1e-6 };

/** What a replayed run ends each task with: its parameters (as float64) and the distillation of each step. */
export interface TinyRun {
  params: Map<string, Tensor>[];
  distillation: number[][];
}

export function disposeRun(run: TinyRun): void {
  for (const params of run.params) for (const t of params.values()) t.dispose();
}

/**
 * The fixture's run with LwF's hooks in the trainer's order (head set up,
 * fresh optimizer, onTaskStart, per batch forward → trainingLoss → backward →
 * step, then onTaskEnd), in `dtype`.
 */
export function replayRun(paradigm: Paradigm, options: Record<string, unknown>, dtype: DType, probe?: (ctx: StepContext, lwf: LwF) => void): TinyRun {
  const c = fx.config;
  const model = new ContinualModel(new MLP(c.inputs, { hiddenSizes: [c.hidden] }), createHeads(paradigm, c.hidden, { dtype }));
  model.to(dtype);
  const lwf = instantiate(lwfDefinition, { lambda: c.lambda, temperature: c.temperature, ...options });
  const set = (names: readonly string[]) => {
    const params = new Map(model.namedParameters());
    tidy(() => noGrad(() => names.forEach((n) => params.get(n)!.copy_(fromFixture(fx.initial[n]!).to(dtype)))));
  };
  const run: TinyRun = { params: [], distillation: [] };
  let globalStep = 0;
  try {
    set(['backbone.fc1.weight', 'backbone.fc1.bias']);
    model.train();
    for (let task = 1; task <= c.tasks; task++) {
      model.heads.setupTask(task, c.classes);
      if (paradigm !== 'dil' || task === 1) set([`heads.heads.${task - 1}.weight`, `heads.heads.${task - 1}.bias`]);
      const optimizer = new SGD(model.parameters(), { lr: c.lr });
      const x = tidy(() => fromFixture(fx.data[task - 1]!.x).to(dtype));
      const y = fromFixture(fx.data[task - 1]!.y);
      const ctx: TaskContext = { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: c.samples }, batchSize: c.batch };
      lwf.onTaskStart(ctx);
      const steps: number[] = [];
      for (let epoch = 1; epoch <= c.epochs; epoch++) {
        for (let b = 0, step = 0; b < c.samples; b += c.batch, step++) {
          tidy(() => {
            const xb = x.narrow(0, b, c.batch);
            const { output, logits } = model.forward(xb, task);
            const targets = model.heads.targets(y.narrow(0, b, c.batch), task);
            const classificationLoss = crossEntropy(logits, targets);
            const stepCtx: StepContext = { ...ctx, epoch, step, batchCount: c.samples / c.batch, globalStep, x: xb, targets, output, logits, classificationLoss };
            const extra = lwf.trainingLoss(stepCtx);
            assert.equal(extra === null, task === 1, 'a distillation term from the second task on only');
            if (extra !== null) steps.push(extra.item() / c.lambda);
            probe?.(stepCtx, lwf);
            const total = extra === null ? classificationLoss : classificationLoss.add(extra);
            optimizer.zeroGrad();
            total.backward();
            optimizer.step();
          });
          globalStep++;
        }
      }
      lwf.onTaskEnd(ctx);
      optimizer.dispose();
      x.dispose();
      y.dispose();
      run.distillation.push(steps);
      run.params.push(tidy(() => new Map(model.namedParameters().map(([n, p]) => [n, keep(p.detach().to('float64').clone())] as [string, Tensor]))));
    }
  } catch (error) {
    disposeRun(run);
    throw error;
  } finally {
    lwf.dispose();
    model.dispose();
  }
  return run;
}

/** Every task's parameters and every step's distillation against the fixture's record, within `tol` of the scale. */
function compareRun(run: TinyRun, want: RunRecord, what: string, tol: { rtol: number; atol: number }): void {
  assert.equal(run.params.length, want.params.length, `${what}: tasks`);
  run.params.forEach((params, t) => {
    assert.deepEqual([...params.keys()].sort(), Object.keys(want.params[t]!).sort(), `${what} task ${t + 1}: parameter names`);
    for (const [name, p] of params) assertMatches(p, want.params[t]![name]!, `${what} task ${t + 1} ${name}`, tol);
    assert.equal(run.distillation[t]!.length, want.distillation[t]!.length, `${what} task ${t + 1}: steps`);
    run.distillation[t]!.forEach((v, i) => assertClose(v, want.distillation[t]![i]!, `${what} task ${t + 1} step ${i}: distillation`, tol.rtol, tol.atol));
  });
}

const RUNS: { key: string; paradigm: Paradigm; options: Record<string, unknown> }[] = [
  { key: 'til', paradigm: 'til', options: {} },
  { key: 'tilFrozenOldHeads', paradigm: 'til', options: { trainOldHeads: false } },
  { key: 'tilPerTask', paradigm: 'til', options: { teacher: 'perTask' } },
  { key: 'tilPerTaskFrozenOldHeads', paradigm: 'til', options: { teacher: 'perTask', trainOldHeads: false } },
  { key: 'cil', paradigm: 'cil', options: {} },
  { key: 'cilFrozenOldHeads', paradigm: 'cil', options: { trainOldHeads: false } },
  { key: 'dil', paradigm: 'dil', options: {} },
];

describe('LwF parity with the PyTorch transcription (tools/fixtures/lwf.py)', () => {
  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm}: the distillation value and its gradient for fixed logits (float64), and CLArena's formula within 1e-4`, () => {
      const f = fx.fixedLogits[paradigm];
      tidy(() => {
        const students = f.student.map((s) => fromFixture(s, { requiresGrad: true }));
        const teachers = f.teacher.map((t) => fromFixture(t));
        // TIL: one distribution per old head, summed; CIL: the old heads concatenated (one tensor here); DIL: the shared head.
        const value = students.map((s, i) => distillationLoss(s, teachers[i]!, fx.config.temperature)).reduce((a, b) => a.add(b));
        assertClose(value.item(), f.value, 'value', F64.rtol, F64.atol);
        grad(value, students).forEach((g, i) => assertMatches(g!, f.gradient[i]!, `gradient of distribution ${i}`, F64));
        const gap = Math.abs(value.item() - f.clarena);
        assert.ok(gap <= 1e-4, `CLArena's softmax^(1/T) with +1e-5: ${f.clarena}, ours ${value.item()}`);
        assert.ok(gap > 1e-10, 'the two formulas differ by the +1e-5 only');
      });
    });
  }

  for (const { key, paradigm, options } of RUNS) {
    it(`${key}: the parameters after each of 3 tasks and the distillation of every step (float64, 1e-10)`, () => {
      const run = replayRun(paradigm, options, 'float64');
      try {
        compareRun(run, fx.runs[key]!, key, F64);
      } finally {
        disposeRun(run);
      }
    });
  }

  it('til in float32: within 1e-5 of the float64 transcription', () => {
    const run = replayRun('til', {}, 'float32');
    try {
      compareRun(run, fx.runs['til']!, 'til float32', F32);
    } finally {
      disposeRun(run);
    }
  });
});
