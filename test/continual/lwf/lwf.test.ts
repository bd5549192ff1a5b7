// LwF against the defects of its anchors (algorithms-next.md section 12): the
// teacher runs in eval mode and its batch-norm statistics stay put, the old
// heads train by default and get no distillation gradient with trainOldHeads
// false, class-incremental runs work, the student's backbone runs once per
// step, 'previous' holds one teacher whatever the number of tasks; plus the
// paper's warm-up, options, a resumed run, and LwF with replay in one run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { SchemaError } from '../../../src/config/schema.js';
import type { Algorithm, StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { LwF, distillationLoss, headLayers, lwfDefinition } from '../../../src/continual/algorithms/lwf.js';
import { Replay, replayDefinition } from '../../../src/continual/algorithms/replay.js';
import { MLP, instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { SGD } from '../../../src/optim/sgd.js';
import { grad } from '../../../src/tensor/autograd.js';
import { randint, randn } from '../../../src/tensor/creation.js';
import { cat } from '../../../src/tensor/functions.js';
import { manualSeed } from '../../../src/tensor/index.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertTensorsMatch, settledTensorCount, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';
import { disposeRun, replayRun } from './tiny_run.js';

const tmp = (): string => join(tempDir('lwf-'), 'run');
const SMALL = ['benchmark.numTasks=3', 'benchmark.trainLimit=96', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false'];
const CIL = ['paradigm=cil', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'];

function snapshot(entries: Iterable<[string, Tensor]>): Map<string, Tensor> {
  return tidy(() => new Map([...entries].map(([n, t]) => [n, keep(t.detach().clone())] as [string, Tensor])));
}

function free(state: Map<string, Tensor> | undefined): void {
  for (const t of state?.values() ?? []) t.dispose();
}

function equal(a: Tensor, b: Tensor): boolean {
  return tidy(() => a.equal(b));
}

describe('LwF', () => {
  it('runs the teacher in eval mode: its batch-norm statistics stay those of the model as the task began, and dropout is off', () => {
    const lwf = instantiate(lwfDefinition);
    let start: Map<string, Tensor> | undefined;
    let checked = 0;
    // Listed before LwF: it sees the model before LwF copies it, and the teacher before LwF frees it.
    const probe: Algorithm = {
      name: 'probe',
      onTaskStart: (ctx) => {
        if (ctx.task === 2) start = snapshot(ctx.model.backbone.namedBuffers());
      },
      onTaskEnd: (ctx) => {
        if (ctx.task !== 2) return;
        const teacher = lwf.teacherOf(1)!;
        assert.ok(teacher.backbone.modules().every((m) => !m.training), 'every module of the teacher is in eval mode');
        const buffers = new Map(teacher.backbone.namedBuffers());
        assert.ok(buffers.size >= 3, 'the backbone has batch-norm buffers');
        for (const [name, saved] of start!) {
          assert.ok(equal(buffers.get(name)!, saved), `teacher ${name} unchanged by the task's training`);
          if (name.endsWith('runningMean')) assert.ok(!equal(new Map(ctx.model.backbone.namedBuffers()).get(name)!, saved), `the student's ${name} did move`);
        }
        tidy(() => {
          const x = ctx.trainData.x.narrow(0, 0, 16);
          const [a] = teacher.logits(x, [1]);
          const [b] = teacher.logits(x, [1]);
          assert.ok(a!.equal(b!), 'dropout is off: two teacher passes agree exactly');
        });
        checked++;
      },
    };
    try {
      runExperiment({ config: loadExperiment(undefined, [...SMALL, 'benchmark.numTasks=2', 'backbone.batchNorm=true', 'backbone.dropout=0.5']), runDir: tmp(), plugins: [probe, lwf] });
      assert.equal(checked, 1);
    } finally {
      free(start);
      lwf.dispose();
    }
  });

  it('trains the old heads by default; with trainOldHeads false the distillation gives them exactly zero gradient (TIL and CIL)', () => {
    for (const paradigm of ['til', 'cil'] as const) {
      for (const trainOldHeads of [true, false]) {
        let checked = 0;
        let oldNorm = 0;
        let backboneNorm = 0;
        const run = replayRun(paradigm, { trainOldHeads }, 'float64', (ctx: StepContext, lwf: LwF) => {
          if (ctx.task !== 3) return;
          const old = headLayers(ctx.model).slice(0, 2).flatMap((h) => [h.weight, h.bias!]);
          const backbone = ctx.model.backbone.parameters();
          tidy(() => {
            const grads = grad(lwf.trainingLoss(ctx)!, [...old, ...backbone], { retainGraph: true, allowUnused: true });
            oldNorm += grads.slice(0, old.length).reduce((s, g) => s + (g === null ? 0 : g.abs().sum().item()), 0);
            backboneNorm += grads.slice(old.length).reduce((s, g) => s + g!.abs().sum().item(), 0);
          });
          checked++;
        });
        try {
          assert.equal(checked, 6, 'every step of task 3');
          // (On a task's first step student and teacher agree and every gradient is 0.)
          assert.ok(backboneNorm > 1e-6, `${paradigm}: the distillation reaches the backbone`);
          if (trainOldHeads) assert.ok(oldNorm > 1e-6, `${paradigm}: the distillation reaches the old heads`);
          else assert.equal(oldNorm, 0, `${paradigm}: no distillation gradient on the old heads`);
          // TIL: the old head's only gradient is the distillation's.
          if (paradigm === 'til') {
            const after1 = run.params[0]!.get('heads.heads.0.weight')!;
            const after3 = run.params[2]!.get('heads.heads.0.weight')!;
            assert.equal(equal(after1, after3), !trainOldHeads, `head 1 ${trainOldHeads ? 'moves' : 'stays'} in tasks 2 and 3`);
          }
        } finally {
          disposeRun(run);
        }
      }
    }
  });

  it("works class-incrementally (CLArena raises there): one distribution over every old class, from the student's feature", () => {
    const lwf = instantiate(lwfDefinition);
    let checked = 0;
    const probe: Algorithm = {
      name: 'probe',
      trainingLoss: (ctx) => {
        if (ctx.task === 1) return null;
        const oldClasses = 2 * (ctx.task - 1);
        const teacher = lwf.teacherOf(1)!;
        const want = tidy(() => {
          const student = ctx.logits.narrow(1, 0, oldClasses);
          const old = Array.from({ length: ctx.task - 1 }, (_, i) => i + 1);
          return distillationLoss(student, cat(teacher.logits(ctx.x, old), 1), lwf.temperature).item();
        });
        assert.equal(lwf.trainingLoss(ctx)!.item(), want, "the old classes' block of the concatenated logits");
        checked++;
        return null;
      },
    };
    try {
      const run = runExperiment({ config: loadExperiment(undefined, [...SMALL, ...CIL]), runDir: tmp(), plugins: [lwf, probe] });
      assert.ok(run.accuracy.flat().every(Number.isFinite));
      assert.equal(checked, 12, 'six steps of each of tasks 2 and 3');
    } finally {
      lwf.dispose();
    }
  });

  it("runs the student's backbone once per step: its old outputs come from the trainer's feature", () => {
    for (const teacher of ['previous', 'perTask'] as const) {
      const lwf = instantiate(lwfDefinition, { teacher });
      const original = MLP.prototype.forward;
      let student: unknown;
      let counts = { student: 0, teacher: 0 };
      const perStep: { task: number; student: number; teacher: number }[] = [];
      MLP.prototype.forward = function (this: MLP, x: Tensor) {
        if (this === student) counts.student++;
        else counts.teacher++;
        return original.call(this, x);
      };
      const probe: Algorithm = {
        name: 'probe',
        onTaskStart: (ctx) => {
          student = ctx.model.backbone;
          counts = { student: 0, teacher: 0 };
        },
        onBatchEnd: (ctx) => {
          perStep.push({ task: ctx.task, ...counts });
          counts = { student: 0, teacher: 0 };
        },
      };
      try {
        runExperiment({ config: loadExperiment(undefined, SMALL), runDir: tmp(), plugins: [lwf, probe] });
      } finally {
        MLP.prototype.forward = original;
        lwf.dispose();
      }
      assert.equal(perStep.length, 18);
      for (const s of perStep) {
        assert.equal(s.student, 1, `${teacher}: one student pass per step of task ${s.task}`);
        // 'previous': one teacher pass per step; 'perTask': one per old task (CLArena's design).
        assert.equal(s.teacher, teacher === 'previous' ? Math.min(1, s.task - 1) : s.task - 1, `${teacher}: teacher passes per step of task ${s.task}`);
      }
    }
  });

  it("holds one teacher in 'previous' mode, made as a task starts and freed as it ends: memory does not grow with tasks", () => {
    manualSeed(11);
    const lwf = instantiate(lwfDefinition);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5], batchNorm: true }), createHeads('til', 5));
    const data = { x: keep(randn([8, 6])), y: keep(randint(0, 2, [8])) };
    const during: number[] = [];
    const after: number[] = [];
    try {
      for (let task = 1; task <= 6; task++) {
        model.heads.setupTask(task, 2);
        const optimizer = new SGD(model.parameters(), { lr: 0.1 });
        const ctx: TaskContext = { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { ...data, size: 8 }, batchSize: 8, epochs: 1 };
        model.train();
        lwf.onTaskStart(ctx);
        during.push(settledTensorCount());
        if (task > 1) {
          const teachers = new Set(Array.from({ length: task - 1 }, (_, j) => lwf.teacherOf(j + 1)));
          assert.equal(teachers.size, 1, 'one teacher serves every old head');
          assert.ok(!teachers.has(null));
        }
        tidy(() => {
          const { output, logits } = model.forward(data.x, task);
          const classificationLoss = crossEntropy(logits, data.y);
          const stepCtx: StepContext = { ...ctx, epoch: 1, step: 0, batchCount: 1, globalStep: task - 1, x: data.x, targets: data.y, output, logits, classificationLoss };
          const extra = lwf.trainingLoss(stepCtx);
          assert.equal(extra === null, task === 1);
          optimizer.zeroGrad();
          (extra === null ? classificationLoss : classificationLoss.add(extra)).backward();
          optimizer.step();
        });
        lwf.onTaskEnd(ctx);
        model.zeroGrad();
        optimizer.dispose();
        after.push(settledTensorCount());
      }
      // Between tasks the only growth is the new head (weight and bias); during task t+1
      // one teacher adds the backbone's 7 entries (fc1: 2, bn1: 2 + 3 buffers) and t old heads.
      for (let t = 1; t < 6; t++) assert.equal(after[t]! - after[t - 1]!, 2, `after task ${t + 1}: one more head, no teacher`);
      for (let t = 1; t < 6; t++) assert.equal(during[t]! - after[t - 1]!, 2 + 7 + 2 * t, `during task ${t + 1}: one teacher with ${t} old heads`);
    } finally {
      lwf.dispose();
      model.dispose();
      data.x.dispose();
      data.y.dispose();
    }
  });

  it("warms up as the paper does: the new head alone, backbone, batch-norm statistics and old heads untouched", () => {
    const lwf = instantiate(lwfDefinition, { warmupEpochs: 2 });
    let before: Map<string, Tensor> | undefined;
    let changed: string[] = [];
    const snap = (ctx: TaskContext) => snapshot(Object.entries(ctx.model.stateDict()));
    const first: Algorithm = { name: 'before', onTaskStart: (ctx) => { if (ctx.task === 2) before = snap(ctx); } };
    const second: Algorithm = {
      name: 'after',
      onTaskStart: (ctx) => {
        if (ctx.task !== 2) return;
        const now = snap(ctx);
        changed = [...now].filter(([n, t]) => !equal(t, before!.get(n)!)).map(([n]) => n);
        free(now);
      },
    };
    try {
      runExperiment({ config: loadExperiment(undefined, [...SMALL, 'benchmark.numTasks=2', 'backbone.batchNorm=true']), runDir: tmp(), plugins: [first, lwf, second] });
      assert.deepEqual(changed.sort(), ['heads.heads.1.bias', 'heads.heads.1.weight']);
    } finally {
      free(before);
      lwf.dispose();
    }
  });

  it('validates and defaults its options through the schema; perTask refuses paradigms without a head per task', () => {
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: lwf}]']).algorithms, [
      { name: 'lwf', lambda: 1, temperature: 2, teacher: 'previous', trainOldHeads: true, warmupEpochs: 0 },
    ]);
    assert.throws(() => instantiate(lwfDefinition, { temperature: 0 }), SchemaError);
    assert.throws(() => instantiate(lwfDefinition, { lambda: -1 }), SchemaError);
    assert.throws(() => instantiate(lwfDefinition, { teacher: 'latest' }), SchemaError);
    assert.throws(() => instantiate(lwfDefinition, { warmupEpochs: 1.5 }), SchemaError);
    instantiate(lwfDefinition, { lambda: 0 }).dispose();
    for (const paradigm of ['cil', 'dil'] as Paradigm[]) {
      const overrides = paradigm === 'cil' ? [...SMALL, ...CIL] : [...SMALL, 'paradigm=dil'];
      assert.throws(
        () => runExperiment({ config: loadExperiment(undefined, [...overrides, 'algorithms=[{name: lwf, teacher: perTask}]']), runDir: tmp() }),
        /teacher 'perTask' .* needs a head per task \(TIL\)/,
      );
    }
  });

  it('a run stopped after task 2 and resumed ends bit-identical to an uninterrupted one (previous and perTask, with batch norm)', () => {
    for (const teacher of ['previous', 'perTask']) {
      assertResumesBitIdentical([...SMALL, 'backbone.batchNorm=true', `algorithms=[{name: lwf, teacher: ${teacher}, lambda: 2}]`], tmp, { what: teacher });
    }
  });

  it('keeps its perTask teachers in checkpoints, read back and checked', () => {
    const lwf = instantiate(lwfDefinition, { teacher: 'perTask' });
    const overrides = [...SMALL, 'benchmark.numTasks=2'];
    try {
      runExperiment({ config: loadExperiment(undefined, overrides), runDir: tmp(), plugins: [lwf] });
      const state = lwf.state();
      assert.deepEqual(state.values, { teachers: [1, 2] });
      assert.deepEqual(Object.keys(state.tensors).sort(), [
        'teacher.1.backbone.fc1.bias', 'teacher.1.backbone.fc1.weight', 'teacher.1.heads.1.bias', 'teacher.1.heads.1.weight',
        'teacher.2.backbone.fc1.bias', 'teacher.2.backbone.fc1.weight', 'teacher.2.heads.2.bias', 'teacher.2.heads.2.weight',
      ]);
      const copy = instantiate(lwfDefinition, { teacher: 'perTask' });
      try {
        copy.loadState(state);
        const again = copy.state();
        for (const [key, t] of Object.entries(state.tensors)) assertTensorsMatch(again.tensors[key]!, t, key, { rtol: 0, atol: 0 });
        const { ['teacher.2.heads.2.weight']: _, ...partial } = state.tensors;
        assert.throws(() => copy.loadState({ tensors: partial, values: state.values }), /saved tensor 'teacher\.2\.heads\.2\.weight' is missing/);
        assert.throws(() => copy.loadState({ tensors: state.tensors, values: { teachers: [1] } }), /'teacher\.2\.[a-z.0-9]+' belongs to no listed teacher/);
        assert.throws(() => copy.loadState({ tensors: state.tensors, values: { teachers: 'all' } }), /saved values do not fit/);
        const previous = instantiate(lwfDefinition);
        assert.throws(() => previous.loadState(state), /holds perTask teachers \(1, 2\), but teacher is 'previous'/);
        previous.dispose();
      } finally {
        copy.dispose();
      }
    } finally {
      lwf.dispose();
    }
  });

  it('combines with replay in one run: the loss is cross-entropy plus the LwF and replay terms, in value and gradient', () => {
    class RecordingLwF extends LwF {
      last: Tensor | null = null;
      override trainingLoss(ctx: StepContext): Tensor | null {
        return (this.last = super.trainingLoss(ctx));
      }
    }
    class RecordingReplay extends Replay {
      last: Tensor | null = null;
      override trainingLoss(ctx: StepContext): Tensor | null {
        return (this.last = super.trainingLoss(ctx));
      }
    }
    const lwf = new RecordingLwF(lwfDefinition.options.parse({}));
    const replay = new RecordingReplay(replayDefinition.options.parse({ capacity: 40, batchSize: 8, seed: 3 }));
    let expected: Map<Tensor, Tensor> | null = null;
    let checked = 0;
    const probe: Algorithm = {
      name: 'probe',
      trainingLoss: (ctx) => {
        if (lwf.last === null || replay.last === null) return null;
        const params = ctx.model.parameters();
        const sum = ctx.classificationLoss.add(lwf.last).add(replay.last);
        const grads = grad(sum, params, { retainGraph: true, allowUnused: true });
        expected = new Map(params.map((p, i) => [p, grads[i]!] as [Tensor, Tensor]));
        return null;
      },
      afterBackward: (ctx) => {
        if (expected === null) return;
        for (const p of ctx.model.parameters()) {
          const got = p.grad;
          const want = expected.get(p)!;
          if (want === null) assert.equal(got, null);
          else assertTensorsMatch(got!, want, 'the gradient of CE + LwF + replay', { rtol: 1e-6, atol: 1e-9 });
          got?.dispose();
        }
        expected = null;
        checked++;
      },
    };
    try {
      const run = runExperiment({ config: loadExperiment(undefined, [...SMALL, ...CIL]), runDir: tmp(), plugins: [lwf, replay, probe] });
      assert.ok(run.accuracy.flat().every(Number.isFinite));
      assert.equal(checked, 12, 'every step of tasks 2 and 3 has both terms');
    } finally {
      lwf.dispose();
      replay.dispose();
    }
  });
});
