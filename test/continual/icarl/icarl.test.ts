// iCaRL: its options and paradigms, the anchors' defects it does not have
// (one test each), TIL as CIL training with the nearest mean restricted to
// the task's classes, the checkpointed state, and class-incremental runs
// through runExperiment (resumed bit-identically; far above finetuning).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { SchemaError } from '../../../src/config/schema.js';
import { type Algorithm, type ICaRL, type StepContext, herding, icarlDefinition, icarlLoss, instantiate, l2Normalise } from '../../../src/continual/algorithms/index.js';
import { tensorDataset } from '../../../src/continual/benchmarks/data.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { grad, noGrad } from '../../../src/tensor/autograd.js';
import { randn } from '../../../src/tensor/creation.js';
import { manualSeed } from '../../../src/tensor/index.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertClose, assertMatches, assertTensorsMatch, fromFixture, settledTensorCount, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';
import { fixedBenchmark, fixtureBenchmark, fixtureModel, fx, headInitializer, tinyTraining, train } from './tiny.js';

const F64 = { rtol: 1e-10, atol: 1e-12 };
const tmp = (): string => join(tempDir('icarl-'), 'run');
const CIL = [
  'paradigm=cil', 'benchmark.name=split', 'benchmark.numTasks=3', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]', 'benchmark.trainLimit=96',
  'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false',
];

/** Trains the fixture's tasks 1..tasks with iCaRL (capacity K) in `paradigm`; returns the model and iCaRL for inspection (the caller frees them). */
function tinyRun(paradigm: 'til' | 'cil', capacity: number, tasks = fx.config.tasks, extra: Algorithm[] = [], modelOptions: Record<string, unknown> = {}): { model: ContinualModel; icarl: ICaRL; losses: number[][]; dispose(): void } {
  const benchmark = fixtureBenchmark('float64');
  const model = fixtureModel(paradigm, 'float64', modelOptions);
  const icarl = instantiate(icarlDefinition, { capacity });
  const losses: number[][] = [];
  try {
    for (let task = 1; task <= tasks; task++) losses.push(train(task, model, benchmark, paradigm, [headInitializer, icarl, ...extra]));
  } catch (error) {
    icarl.dispose();
    model.dispose();
    benchmark.dispose();
    throw error;
  }
  return { model, icarl, losses, dispose: () => [icarl, model, benchmark].forEach((d) => d.dispose()) };
}

function counts(classes: readonly number[]): number[] {
  const out: number[] = [];
  for (const c of classes) out[c] = (out[c] ?? 0) + 1;
  return out;
}

describe('iCaRL', () => {
  it('validates and defaults its options through the schema; DIL is refused as a configuration error', () => {
    assert.deepEqual(loadExperiment(undefined, [...CIL, 'algorithms=[{name: icarl}]']).algorithms, [{ name: 'icarl', capacity: 500 }]);
    assert.throws(() => instantiate(icarlDefinition, { capacity: 0 }), (e: unknown) => e instanceof SchemaError && /capacity: expected an integer >= 1, got 0/.test(e.message));
    assert.throws(() => instantiate(icarlDefinition, { memory: 10 }), SchemaError);
    assert.throws(() => loadExperiment(undefined, ['paradigm=dil', 'algorithms=[{name: icarl}]']), /'icarl' supports paradigm cil or til only, but paradigm is 'dil'; set paradigm: cil/);
    loadExperiment(undefined, ['paradigm=til', 'benchmark.name=split', 'algorithms=[{name: icarl}]']);
    assert.throws(() => loadExperiment(undefined, [...CIL, 'cilHeads=full', 'algorithms=[{name: icarl}]']), /'icarl' \(algorithms\[0\]\) needs growing heads: its sigmoid loss and class means cover the classes seen so far/);
  });

  it('refuses a capacity below the number of classes seen, naming the key and the fix', () => {
    assert.throws(() => tinyRun('cil', 3, 2), /capacity 3 cannot keep one exemplar for each of the 4 classes seen by task 2; raise capacity to at least 4/);
  });

  it('herding gives a class all m exemplars, distinct, past 1000 (Avalanche caps its herding at 1000 iterations and skips repeats)', () => {
    manualSeed(5);
    const features = tidy(() => keep(l2Normalise(randn([1100, 3], { dtype: 'float64' }))));
    try {
      const chosen = herding(features, 1050);
      assert.equal(chosen.length, 1050);
      assert.equal(new Set(chosen).size, 1050, 'no repeats');
      assert.deepEqual(herding(features, 1200).sort((a, b) => a - b), Array.from({ length: 1100 }, (_, i) => i), 'm past the class size: every row once');
      assert.deepEqual(herding(features, 40), chosen.slice(0, 40), 'a smaller m is a prefix: the reduction keeps the first m');
      assert.deepEqual(herding(features.narrow(0, 0, 0), 3), [], 'a class without examples gets none');
    } finally {
      features.dispose();
    }
  });

  it('m = floor(K / classes seen): the memory never exceeds K (Avalanche\'s ceil keeps 12 of K = 10 here)', () => {
    const run = tinyRun('cil', 10);
    try {
      // 6 classes: floor(10/6) = 1 each (ceil: 2 each, 12 > 10); after task 2 it was floor(10/4) = 2 each.
      assert.deepEqual(counts(run.icarl.exemplarClasses()), [1, 1, 1, 1, 1, 1]);
      assert.equal(run.losses[2]!.length, fx.config.epochs * Math.ceil((12 + 8) / 4), 'task 3 trained on its 12 samples and the 8 exemplars of 4 classes at m = 2');
    } finally {
      run.dispose();
    }
  });

  it('never flips: class means of 4-D inputs are those of the exemplars as stored (Avalanche flips any 4-D input, MNIST included)', () => {
    manualSeed(11);
    const make = () => tidy(() => tensorDataset(keep(randn([12, 1, 2, 3], { dtype: 'float64' })), keep(randn([12]).gt(0).long())));
    const benchmark = fixedBenchmark([make()], 2, [1, 2, 3]);
    const model = fixtureModel('cil', 'float64');
    const icarl = instantiate(icarlDefinition, { capacity: 6 });
    try {
      train(1, model, benchmark, 'cil', [headInitializer, icarl]);
      tidy(() => {
        const stored = icarl.memory.gather();
        model.eval();
        const mean = (x: Tensor, c: number) => {
          const rows = stored.targets.eq(c).nonzero().flatten();
          return l2Normalise(l2Normalise(noGrad(() => model.backbone.forward(x.indexSelect(0, rows)).feature)).mean(0, true)).squeeze(0);
        };
        const plain = [0, 1].map((c) => mean(stored.x, c));
        const flipped = [0, 1].map((c) => l2Normalise(plain[c]!.add(mean(stored.x.flip(3), c)).div(2).unsqueeze(0)).squeeze(0));
        plain.forEach((mu, c) => assertTensorsMatch(icarl.means!.select(0, c), mu, `class ${c}: mean of the unflipped exemplars`, F64));
        assert.ok(flipped.some((mu, c) => icarl.means!.select(0, c).sub(mu).abs().max().item() > 1e-3), 'the flip-averaged means would differ');
        model.train();
      });
    } finally {
      icarl.dispose();
      model.dispose();
      benchmark.dispose();
    }
  });

  it('the BCE runs over the seen classes only (Avalanche and Mammoth sum over all N output units, unseen ones with target 0)', () => {
    const f = fx.fixedLoss;
    tidy(() => {
      const logits = fromFixture(f.logits);
      const q = fromFixture(f.teacherLogits).sigmoid();
      const ours = icarlLoss(logits.narrow(1, 0, f.seen), fromFixture(f.targets), q).item();
      assertClose(ours, f.value, 'seen classes', 1e-12, 1e-14);
      const unseen = logits.narrow(1, f.seen, 2);
      const extra = unseen.exp().add(1).log().sum(1).mean().item();
      assertClose(f.allUnits - ours, extra, 'the all-units loss adds log(1 + e^z) of every unseen unit', 1e-10, 1e-12);
    });
    // In a run: task 1 of 3 scores its 2 classes, and the logged loss is the BCE over those 2 columns.
    const seen: number[] = [];
    const probe: Algorithm = { name: 'probe', trainingLoss: (ctx: StepContext) => (seen.push(ctx.logits.shape[1]!), assertClose(ctx.classificationLoss.item(), icarlLoss(ctx.logits, ctx.targets, null).item(), 'loss', 1e-12, 1e-14), null) };
    tinyRun('cil', 8, 1, [probe]).dispose();
    assert.deepEqual([...new Set(seen)], [2]);
  });

  it('distils from the model as the task began in eval mode: deterministic with dropout, batch-norm statistics unused (Avalanche\'s teacher is in training mode)', () => {
    let snapshot: ContinualModel | null = null;
    let checked = 0;
    const probe: Algorithm = {
      name: 'probe',
      onTaskStart: (ctx) => {
        snapshot?.dispose();
        snapshot = ctx.model.clone().eval();
      },
      trainingLoss: (ctx: StepContext) => {
        if (ctx.task !== 2) return null;
        const q = noGrad(() => tidy(() => snapshot!.forward(ctx.x, 1).logits.narrow(1, 0, 2).sigmoid()));
        assertClose(ctx.classificationLoss.item(), icarlLoss(ctx.logits, ctx.targets, q).item(), `step ${ctx.step}`, 1e-12, 1e-14);
        q.dispose();
        checked++;
        return null;
      },
    };
    const run = tinyRun('cil', 8, 2, [probe], { dropout: 0.5, batchNorm: true });
    snapshot!.dispose();
    run.dispose();
    assert.equal(checked, 10);
  });

  it('adds no weight-decay term of its own (Mammoth adds one to the loss): a step is −lr × the gradient of the BCE alone', () => {
    const benchmark = fixtureBenchmark('float64');
    const model = fixtureModel('cil', 'float64');
    const icarl = instantiate(icarlDefinition, { capacity: 8 });
    try {
      model.heads.setupTask(1, 2);
      headInitializer.onTaskStart!({ task: 1, model } as never);
      const data = benchmark.task(1).train;
      const expected = tidy(() => {
        const params = model.parameters();
        const loss = icarlLoss(model.forward(data.x, 1).logits, data.y, null);
        const grads = grad([loss], params);
        return { loss: loss.item(), params: params.map((p, i) => keep(p.detach().sub(grads[i]!.mul(fx.config.lr)))) };
      });
      const losses = train(1, model, benchmark, 'cil', [headInitializer, icarl], tinyTraining({ epochs: 1, batchSize: 12 }));
      assertClose(losses[0]!, expected.loss, 'logged loss', 1e-12, 1e-14);
      model.parameters().forEach((p, i) => assertTensorsMatch(p, expected.params[i]!, `parameter ${i}`, F64));
      expected.params.forEach((t) => t.dispose());
    } finally {
      icarl.dispose();
      model.dispose();
      benchmark.dispose();
    }
  });

  it('TIL trains exactly as CIL (every seen class\'s sigmoid) and tests by the nearest mean of the task\'s own classes', () => {
    const run = tinyRun('til', fx.config.capacity);
    const testX = fromFixture(fx.testX);
    try {
      const params = new Map(run.model.namedParameters());
      for (const [name, value] of Object.entries(fx.run.params[2]!)) assertMatches(params.get(name)!, value, `TIL ${name} equals the CIL run`, F64);
      run.losses.forEach((steps, t) => steps.forEach((v, i) => assertClose(v, fx.run.losses[t]![i]!, `task ${t + 1} step ${i}`, 1e-10, 1e-12)));
      tidy(() => {
        const all = fromFixture(fx.run.nme[2]!.logits);
        run.model.eval();
        for (let task = 1; task <= 3; task++) {
          const { logits } = run.icarl.forward(run.model, testX, task)!;
          assertTensorsMatch(logits, all.narrow(1, 2 * (task - 1), 2), `task ${task}: the columns of its classes`, F64);
        }
        run.model.train();
      });
    } finally {
      testX.dispose();
      run.dispose();
    }
  });

  it('answers with the network while the classes of the task have no mean yet (validation in the middle of a task)', () => {
    const run = tinyRun('cil', 8, 1);
    try {
      run.model.heads.setupTask(2, 2);
      run.model.eval();
      const x = tidy(() => keep(fromFixture(fx.testX)));
      assert.equal(run.icarl.forward(run.model, x, 1), null, 'CIL: the logits would have 4 columns, means cover 2');
      run.model.train();
      x.dispose();
      const benchmark = fixtureBenchmark('float64');
      train(1, fixtureModel('cil', 'float64'), benchmark, 'cil', [headInitializer, instantiate(icarlDefinition, { capacity: 8 })], tinyTraining({ validateEveryEpoch: true }));
      benchmark.dispose();
    } finally {
      run.dispose();
    }
  });

  it('frees what it holds: no tensor outlives a run of three tasks in TIL and CIL once disposed', () => {
    for (const paradigm of ['til', 'cil'] as const) {
      tinyRun(paradigm, fx.config.capacity).dispose();
      const before = settledTensorCount();
      const run = tinyRun(paradigm, fx.config.capacity);
      // Between tasks it holds the memory's three tensors and the means, not the teacher or the training set.
      assert.equal(Object.keys(run.icarl.state().tensors).length, 4);
      run.dispose();
      assert.equal(settledTensorCount(), before, `${paradigm}: live tensors`);
    }
  });

  it('float32 runs the CIL fixture within 1e-5 (the same exemplars)', () => {
    const benchmark = fixtureBenchmark('float32');
    const model = fixtureModel('cil', 'float32');
    const icarl = instantiate(icarlDefinition, { capacity: fx.config.capacity });
    try {
      for (let task = 1; task <= fx.config.tasks; task++) {
        const losses = train(task, model, benchmark, 'cil', [headInitializer, icarl]);
        losses.forEach((v, i) => assertClose(v, fx.run.losses[task - 1]![i]!, `task ${task} step ${i}`, 1e-5, 1e-6));
        assert.deepEqual(icarl.exemplarClasses(), fx.run.memory[task - 1]!.targets);
        tidy(() => {
          assertTensorsMatch(icarl.memory.gather().x.to('float64'), fromFixture(fx.run.memory[task - 1]!.x), `task ${task}: exemplars`, { rtol: 1e-6, atol: 1e-7 });
          assertTensorsMatch(icarl.means!.to('float64'), fromFixture(fx.run.nme[task - 1]!.means), `task ${task}: means`, { rtol: 1e-5, atol: 1e-6 });
        });
      }
      const params = new Map(model.namedParameters());
      tidy(() => {
        for (const [name, value] of Object.entries(fx.run.params[2]!)) assertTensorsMatch(params.get(name)!.to('float64'), fromFixture(value), name, { rtol: 1e-5, atol: 1e-6 });
      });
    } finally {
      icarl.dispose();
      model.dispose();
      benchmark.dispose();
    }
  });

  it('checkpoints the ordered exemplars, the class means and the classes of each task, read back through a schema', () => {
    const run = tinyRun('cil', fx.config.capacity, 2);
    const copy = instantiate(icarlDefinition, { capacity: fx.config.capacity });
    try {
      const state = run.icarl.state();
      assert.deepEqual(Object.keys(state.tensors).sort(), ['exemplars.targets', 'exemplars.tasks', 'exemplars.x', 'means']);
      assert.deepEqual(state.values.tasks, [[1, 0, 2], [2, 2, 2]]);
      copy.loadState(state);
      assert.deepEqual(copy.exemplarClasses(), run.icarl.exemplarClasses());
      assertTensorsMatch(copy.means!, run.icarl.means!, 'means', { rtol: 0, atol: 0 });
      assert.throws(() => copy.loadState({ ...state, values: { ...state.values, tasks: [[1, 0, 2], [2, 2, 3]] } }), /its saved tensor 'means' has shape \[4, 5\], expected \[5, features\]/);
      assert.throws(() => copy.loadState({ ...state, values: { ...state.values, tasks: [[1, 0, 2]] } }), /its saved tensor 'means' has shape \[4, 5\], expected \[2, features\]/);
      assert.throws(() => copy.loadState({ ...state, values: { ...state.values, tasks: [[2, 0, 2]] } }), /do not list tasks 1, 2/);
      assert.throws(() => copy.loadState({ ...state, values: { ...state.values, tasks: 'x' } }), /its saved values do not fit: tasks/);
    } finally {
      copy.dispose();
      run.dispose();
    }
  });

  it('CIL on split MNIST: a run stopped after task 2 and resumed ends bit-identical to an uninterrupted one', () => {
    assertResumesBitIdentical([...CIL, 'algorithms=[{name: icarl, capacity: 30}]'], tmp);
  });

  for (const paradigm of ['cil', 'til'] as const) {
    const versus = paradigm === 'cil' ? "far above finetuning's" : "as high as finetuning's, which hardly forgets there";
    it(`${paradigm.toUpperCase()} on split MNIST (5 tasks): 10 classes of 5 exemplars each, final accuracy ${versus}`, () => {
      const overrides = [
        `paradigm=${paradigm}`, 'benchmark.name=split', 'benchmark.numTasks=5', 'benchmark.trainLimit=100', 'backbone.hiddenSizes=[64]',
        'training.epochs=2', 'training.batchSize=16', 'training.validateEveryEpoch=false', 'training.optimizer={name: sgd, lr: 0.05}',
      ];
      const average = (rows: number[][]) => rows.at(-1)!.reduce((a, b) => a + b) / rows.at(-1)!.length;
      const icarl = instantiate(icarlDefinition, { capacity: 50 });
      try {
        // Finetuning adds nothing: iCaRL, a plugin here so that its memory can be read, does all.
        const ours = average(runExperiment({ config: loadExperiment(undefined, [...overrides, 'algorithms=[{name: finetuning}]']), runDir: tmp(), plugins: [icarl] }).accuracy);
        assert.deepEqual(counts(icarl.exemplarClasses()), Array(10).fill(5));
        const finetuning = average(runExperiment({ config: loadExperiment(undefined, [...overrides, 'algorithms=[{name: finetuning}]']), runDir: tmp() }).accuracy);
        if (paradigm === 'cil') {
          assert.ok(finetuning < 0.25, `finetuning forgets every old class (${finetuning})`);
          assert.ok(ours > 0.6, `iCaRL ${ours} against finetuning ${finetuning}`);
        } else {
          // Finetuning hardly forgets in TIL on split MNIST (0.968 here): iCaRL must be as good (0.970).
          assert.ok(ours > 0.9 && ours > finetuning - 0.02, `iCaRL ${ours} against finetuning ${finetuning}`);
        }
      } finally {
        icarl.dispose();
      }
    });
  }
});
