// DER and DER++: options, the anchors' defects we do not copy (a test each),
// what the memory holds, state, and small runs in TIL, CIL and DIL whose
// accuracies are checked against finetuning's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { DER, derDefinition } from '../../../src/continual/algorithms/der.js';
import { derppDefinition } from '../../../src/continual/algorithms/derpp.js';
import type { TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { Rng } from '../../../src/continual/benchmarks/rng.js';
import type { ContinualBenchmark, TensorDataset } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { Optimizer } from '../../../src/optim/optimizer.js';
import { randn, tensor, zeros } from '../../../src/tensor/creation.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { manualSeed } from '../../../src/tensor/random.js';
import { tidy } from '../../../src/tensor/scope.js';
import { tempDir } from '../../helpers.js';
import { disposeRun, fixtureDER, fx, replayRun } from './tiny_run.js';

const values = (t: { toTypedArray(): ArrayLike<number | bigint> }): number[] => Array.from(t.toTypedArray(), Number);
const tmp = (): string => join(tempDir('der-'), 'run');
const mean = (row: readonly number[]): number => row.reduce((a, b) => a + b, 0) / row.length;

/** The average accuracy after the last task of a run of `algorithms` with `overrides`. */
function finalAccuracy(overrides: readonly string[], algorithms: string, plugins: DER[] = []): number {
  const run = runExperiment({ config: loadExperiment(undefined, [...overrides, `algorithms=${algorithms}`]), runDir: tmp(), plugins });
  return mean(run.accuracy.at(-1)!);
}

const quick = ['benchmark.validationFraction=0', 'backbone.hiddenSizes=[64]', 'training.epochs=2', 'training.batchSize=16', 'training.optimizer.lr=0.05', 'training.optimizer.momentum=0', 'training.validateEveryEpoch=false'];
const splitCil = ['paradigm=cil', 'benchmark.name=split', 'benchmark.numTasks=5', 'benchmark.trainLimit=500', ...quick];

describe('DER and DER++: options', () => {
  it('fill their defaults (Mammoth best arguments, buffer 200) and name the key at fault', () => {
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: der}]']).algorithms, [{ name: 'der', capacity: 200, batchSize: 32, alpha: 0.3, cilLogits: 'all', seed: 0 }]);
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: derpp}]']).algorithms, [{ name: 'derpp', capacity: 200, batchSize: 32, alpha: 0.1, cilLogits: 'all', seed: 0, beta: 0.5 }]);
    assert.throws(() => instantiate(derDefinition, { alpha: -1 }), /alpha: expected a number >= 0, got -1/);
    assert.throws(() => instantiate(derDefinition, { beta: 0.5 }), /beta: unknown key/);
    assert.throws(() => instantiate(derppDefinition, { capacity: 0 }), /capacity: expected an integer >= 1, got 0/);
    assert.throws(() => instantiate(derppDefinition, { cilLogits: 'some' }), /cilLogits: expected one of 'all', 'seen'/);
    for (const paradigm of ['til', 'cil', 'dil']) assert.doesNotThrow(() => loadExperiment(undefined, [`paradigm=${paradigm}`, 'algorithms=[{name: derpp}]']));
  });

  it('refuse, at task start, CIL heads that do not fit cilLogits (a model built in code)', () => {
    const growing = new ContinualModel(instantiateBackbone(mlpDefinition, [3], { hiddenSizes: [4] }), createHeads('cil', 4));
    const full = new ContinualModel(instantiateBackbone(mlpDefinition, [3], { hiddenSizes: [4] }), createHeads('cil', 4, { fullWidth: 4 }));
    // onTaskStart reads the task, the paradigm and the model.
    const ctx = (model: ContinualModel): TaskContext => ({ task: 1, paradigm: 'cil', model, optimizer: {} as Optimizer, benchmark: {} as ContinualBenchmark, trainData: {} as TensorDataset, batchSize: 1, epochs: 1 });
    const all = instantiate(derDefinition, {});
    const seen = instantiate(derppDefinition, { cilLogits: 'seen' });
    try {
      assert.throws(() => all.onTaskStart(ctx(growing)), /der: cilLogits 'all' .* needs the full-width CIL head \(cilHeads: full or auto\), but the model has a head per task; .* or set cilLogits: seen/);
      assert.throws(() => seen.onTaskStart(ctx(full)), /derpp: cilLogits 'seen' .* needs a head per task \(cilHeads: growing\), but the model has the full-width head/);
      assert.doesNotThrow(() => all.onTaskStart(ctx(full)));
      assert.doesNotThrow(() => seen.onTaskStart(ctx(growing)));
    } finally {
      for (const d of [all, seen]) d.dispose();
      for (const m of [growing, full]) m.dispose();
    }
  });
});

describe('DER and DER++: the anchors\' defects, not copied', () => {
  it('replays from task 1 on, with the current task\'s examples among the draws (CLArena replays only earlier tasks)', () => {
    let slotTasks: readonly number[] = [];
    const drawnTasks = new Map<number, Set<number>>();
    let task1Replays = 0;
    const run = replayRun('der', 'til', (ctx, der) => {
      if (der.lastDraws === null) return;
      const drawn = [...der.lastDraws.alpha].map((slot) => slotTasks[slot]!);
      if (!drawnTasks.has(ctx.task)) drawnTasks.set(ctx.task, new Set());
      drawn.forEach((t) => drawnTasks.get(ctx.task)!.add(t));
      if (ctx.task === 1) task1Replays++;
    }, (_ctx, der) => {
      slotTasks = [...der.memory.storedTasks];
      der.lastDraws = null;
    });
    disposeRun(run);
    assert.equal(task1Replays, (fx.config.samples / fx.config.batch) * fx.config.epochs - 1, 'every step of task 1 but the first replays');
    for (const task of [2, 3]) assert.ok(drawnTasks.get(task)!.has(task), `task ${task}'s own examples are drawn while it trains`);
  });

  it('DER++ draws the α and β batches independently (CLArena and Avalanche serve both terms with one minibatch)', () => {
    let steps = 0;
    let differ = 0;
    const run = replayRun('derpp', 'cil', (_ctx, der) => {
      const draws = der.lastDraws;
      if (draws === null) return;
      steps++;
      assert.ok(draws.beta !== null && draws.beta.length === draws.alpha.length);
      if (draws.alpha.some((slot, i) => slot !== draws.beta![i])) differ++;
    }, (_ctx, der) => { der.lastDraws = null; });
    disposeRun(run);
    assert.ok(steps > 0);
    assert.ok(differ >= steps - 2, `the two draws differ in ${differ} of ${steps} steps`);
    // DER makes one draw per step.
    const der = instantiate(derDefinition, {});
    assert.equal(der.beta, null);
    der.dispose();
  });

  it('draws without replacement (CLArena samples with replacement)', () => {
    let draws = 0;
    const run = replayRun('derpp', 'til', (_ctx, der) => {
      if (der.lastDraws === null) return;
      draws++;
      for (const slots of [der.lastDraws!.alpha, der.lastDraws!.beta!]) {
        assert.equal(new Set(slots).size, slots.length, `distinct slots: ${[...slots].join(', ')}`);
        assert.equal(slots.length, Math.min(fx.config.replay, der.memory.size));
      }
    }, (_ctx, der) => { der.lastDraws = null; });
    disposeRun(run);
    assert.equal(draws, (fx.config.samples / fx.config.batch) * fx.config.epochs * fx.config.tasks - 1);
    // Asked for more than it holds, it draws each stored example once.
    const der = fixtureDER('der', { batchSize: 32 });
    tidy(() => {
      der.memory.insert({ x: randn([5, 6]), targets: tensor([0, 1, 0, 1, 0]), task: 1, logits: randn([5, 2]) }, new Rng(1));
      const drawn = der.memory.sample(32, new Rng(2))!;
      assert.deepEqual([...drawn.slots].sort(), [0, 1, 2, 3, 4]);
    });
    der.dispose();
  });

  it('stores the input as the trainer gave it with the logits of the step\'s training forward, before the update (Avalanche: eval-mode logits at experience end; CLArena: the augmented input)', () => {
    let checked = false;
    const run = replayRun('der', 'cil', (ctx, der) => {
      if (checked) return;
      checked = true;
      // First step: an empty memory takes the whole batch into slots 0..3.
      const stored = der.memory.gather();
      assert.deepEqual(values(stored.x), values(ctx.x));
      assert.deepEqual(values(stored.logits!), values(ctx.logits.detach()), 'z is ctx.logits, computed before the step');
      assert.deepEqual(stored.logitWidths, [6, 6, 6, 6], 'all 6 classes of the full-width head');
      assert.deepEqual(values(stored.targets), values(ctx.targets));
      const after = noGrad(() => ctx.model.forward(ctx.x, ctx.task).logits);
      assert.ok(values(after).some((v, i) => v !== values(ctx.logits)[i]), 'the model after the step gives other logits');
    });
    disposeRun(run);
    assert.ok(checked);
  });

  it('leaves the model\'s random stream untouched (CLArena draws from the global torch generator)', () => {
    manualSeed(11);
    const expected = values(randn([6]));
    let got: number[] = [];
    let first = true;
    const steps = (fx.config.samples / fx.config.batch) * fx.config.epochs;
    let n = 0;
    // CIL: the full-width head exists from task 1, so the model itself draws nothing after its set-up.
    const run = replayRun('derpp', 'cil', (ctx) => {
      // After the last step of task 3: draws, insertions and replays happened since the seed.
      if (ctx.task === 3 && ++n === steps) got = values(randn([6]));
    }, () => {
      if (first) manualSeed(11);
      first = false;
    });
    disposeRun(run);
    assert.deepEqual(got, expected);
  });

  it('runs five CIL tasks with logits over all 10 classes (CLArena\'s stored logits fail to join at task 2)', () => {
    const der = instantiate(derppDefinition, { capacity: 100, batchSize: 16 });
    try {
      const overrides = [...splitCil, 'cilHeads=full', 'benchmark.trainLimit=100', 'training.epochs=1'];
      const run = runExperiment({ config: loadExperiment(undefined, [...overrides, 'algorithms=[{name: finetuning}]']), runDir: tmp(), plugins: [der] });
      assert.equal(run.accuracy.length, 5);
      assert.deepEqual([...new Set(der.memory.storedTasks)].sort(), [1, 2, 3, 4, 5]);
      const stored = der.memory.gather();
      assert.ok(stored.logitWidths.every((w) => w === 10));
      assert.deepEqual([...stored.logits!.shape], [100, 10]);
      der.memory.storedTasks.forEach((t, i) => assert.ok(der.memory.storedTargets[i]! >= 2 * (t - 1) && der.memory.storedTargets[i]! < 2 * t, 'global class targets'));
      for (const t of [stored.x, stored.targets, stored.logits!]) t.dispose();
    } finally {
      der.dispose();
    }
  });
});

describe('DER and DER++: runs', () => {
  it('CIL (Split MNIST, 5 tasks): with the full-width head both beat finetuning by far; the growing-head `seen` variant scores as finetuning', () => {
    const finetuning = finalAccuracy(splitCil, '[{name: finetuning}]');
    const der = finalAccuracy(splitCil, '[{name: der, capacity: 200, batchSize: 16}]');
    const derpp = finalAccuracy(splitCil, '[{name: derpp, capacity: 200, batchSize: 16}]');
    const seen = finalAccuracy(splitCil, '[{name: der, capacity: 200, batchSize: 16, cilLogits: seen}]');
    assert.ok(finetuning < 0.25, `finetuning forgets: ${finetuning}`);
    assert.ok(der > finetuning + 0.4, `DER ${der} vs finetuning ${finetuning}`);
    assert.ok(derpp > finetuning + 0.4, `DER++ ${derpp} vs finetuning ${finetuning}`);
    assert.ok(Math.abs(seen - finetuning) < 0.1, `DER with growing heads ${seen} scores as finetuning ${finetuning}`);
  });

  it('TIL (Split MNIST): each task through its own head, local targets and 2-wide logits stored, accuracy as finetuning\'s or better', () => {
    const til = ['paradigm=til', 'benchmark.name=split', 'benchmark.numTasks=5', 'benchmark.trainLimit=300', ...quick];
    const der = instantiate(derppDefinition, { capacity: 200, batchSize: 16 });
    try {
      const withDer = finalAccuracy(til, '[{name: finetuning}]', [der]);
      const finetuning = finalAccuracy(til, '[{name: finetuning}]');
      assert.ok(withDer >= finetuning - 0.02 && withDer > 0.9, `DER++ ${withDer} vs finetuning ${finetuning}`);
      assert.deepEqual([...new Set(der.memory.storedTasks)].sort(), [1, 2, 3, 4, 5]);
      assert.ok(der.memory.storedTargets.every((y) => y === 0 || y === 1), 'local targets');
      const stored = der.memory.gather();
      assert.ok(stored.logitWidths.every((w) => w === 2));
      for (const t of [stored.x, stored.targets, stored.logits!]) t.dispose();
    } finally {
      der.dispose();
    }
  });

  it('DIL (Permuted MNIST, 4 tasks): the shared head; both beat finetuning', () => {
    const dil = ['paradigm=dil', 'benchmark.name=permuted', 'benchmark.numTasks=4', 'benchmark.trainLimit=500', ...quick];
    const finetuning = finalAccuracy(dil, '[{name: finetuning}]');
    const der = finalAccuracy(dil, '[{name: der, capacity: 200, batchSize: 16}]');
    const derpp = finalAccuracy(dil, '[{name: derpp, capacity: 200, batchSize: 16}]');
    assert.ok(der > finetuning + 0.03, `DER ${der} vs finetuning ${finetuning}`);
    assert.ok(derpp > finetuning + 0.03, `DER++ ${derpp} vs finetuning ${finetuning}`);
  });
});

describe('DER and DER++: state', () => {
  it('the memory round-trips through state/loadState; a saved memory that does not fit is refused', () => {
    const a = fixtureDER('derpp');
    const b = fixtureDER('derpp');
    const small = fixtureDER('derpp', { capacity: 4 });
    try {
      tidy(() => {
        a.memory.insert({ x: randn([6, 6]), targets: tensor([0, 1, 2, 3, 4, 5]), task: 3, logits: randn([6, 6]) }, new Rng(1));
        b.loadState(a.state());
        const x = a.memory.gather();
        const y = b.memory.gather();
        for (const key of ['x', 'targets', 'logits'] as const) assert.deepEqual(values(y[key]!), values(x[key]!), key);
        assert.deepEqual(y.logitWidths, x.logitWidths);
        assert.deepEqual(y.tasks, x.tasks);
        assert.equal(b.memory.seen, 6);
        assert.throws(() => small.loadState(a.state()), /its saved memory holds 6 examples, but the capacity is 4/);
        const broken = a.state();
        assert.throws(() => b.loadState({ tensors: { ...broken.tensors, logits: zeros([8]) }, values: broken.values }), /its saved tensor 'logits' has shape \[8\], expected \[8, width\]/);
      });
    } finally {
      for (const d of [a, b, small]) d.dispose();
    }
  });
});
