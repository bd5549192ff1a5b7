// GDumb in runs: options and the DIL policy check, the memory per paradigm,
// trained models after every task, the re-initialisation (fresh per task,
// global generator untouched), the retraining freeing what it allocates, and
// a run stopped after task 2 and resumed that ends bit-identical. Each anchor
// defect of algorithms-next.md section 20 has its named test.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { type GDumb, gdumbDefinition, reinitialize } from '../../../src/continual/algorithms/gdumb.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { ResNet18 } from '../../../src/continual/backbones/resnet.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { SGD } from '../../../src/optim/sgd.js';
import { randn, randint } from '../../../src/tensor/creation.js';
import { getRngState, manualSeed } from '../../../src/tensor/random.js';
import { assertTensorsMatch, settledTensorCount, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('gdumb-'), 'run');
const common = ['benchmark.numTasks=3', 'benchmark.trainLimit=120', 'backbone.hiddenSizes=[32]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false'];
const overrides: Record<Paradigm, string[]> = {
  til: ['paradigm=til', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'],
  cil: ['paradigm=cil', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'],
  dil: ['paradigm=dil', 'benchmark.name=permuted'],
};
const retrain = { capacity: 60, epochs: 8, seed: 1 };

/** Records the memory's class counts as each task starts (after GDumb's streaming, which runs first). */
class Probe implements Algorithm {
  readonly name = 'probe';
  readonly counts: Map<number, number>[] = [];
  constructor(private readonly gdumb: GDumb) {}
  onTaskStart(): void {
    this.counts.push(this.gdumb.memory.classCounts());
  }
}

function runWith(paradigm: Paradigm, options: Record<string, unknown>): { gdumb: GDumb; probe: Probe; accuracy: number[][] } {
  const gdumb = instantiate(gdumbDefinition, options);
  const probe = new Probe(gdumb);
  const config = loadExperiment(undefined, [...overrides[paradigm], ...common, 'algorithms=[{name: finetuning}]']);
  const { accuracy } = runExperiment({ config, runDir: tmp(), plugins: [gdumb, probe] });
  return { gdumb, probe, accuracy };
}

const sorted = (counts: Map<number, number>): [number, number][] => [...counts].sort((a, b) => a[0] - b[0]);

describe('GDumb', () => {
  it('validates its options and fills their defaults', () => {
    assert.deepEqual(loadExperiment(undefined, ['paradigm=cil', 'benchmark.name=split', 'algorithms=[{name: gdumb}]']).algorithms, [
      { name: 'gdumb', capacity: 500, policy: 'greedy', epochs: 256, batchSize: 16, maxLr: 0.05, minLr: 0.0005, momentum: 0.9, weightDecay: 1e-6, clip: 10, seed: 0 },
    ]);
    assert.throws(() => instantiate(gdumbDefinition, { clip: 0 }), /clip: expected a number > 0, got 0/);
    assert.throws(() => instantiate(gdumbDefinition, { epochs: 0 }), /epochs: expected an integer >= 1, got 0/);
  });

  it('refuses the greedy sampler with paradigm dil, naming the fix; classBalanced is accepted; CIL needs growing heads', () => {
    assert.throws(() => loadExperiment(undefined, ['paradigm=dil', 'benchmark.name=permuted', 'algorithms=[{name: gdumb}]']), /algorithms\[0\]\.policy: .*never admits a new domain.*set policy: classBalanced for paradigm dil/);
    assert.equal(loadExperiment(undefined, ['paradigm=dil', 'benchmark.name=permuted', 'algorithms=[{name: gdumb, policy: classBalanced}]']).algorithms[0]!.name, 'gdumb');
    assert.throws(() => loadExperiment(undefined, ['paradigm=cil', 'benchmark.name=split', 'cilHeads=full', 'algorithms=[{name: gdumb}]']), /'gdumb' \(algorithms\[0\]\) needs growing heads: its retraining scores the memory/);
  });

  it("balances over the classes seen so far, online (the authors' code takes ⌊k / all classes⌋ of each class of the whole stream)", () => {
    const { gdumb, probe } = runWith('cil', retrain);
    try {
      // After task 1 two classes share all 60 slots (the authors: ⌊60 / 6⌋ = 10 each); after task 2, 15 each of four; after task 3, 10 each of six.
      assert.deepEqual(sorted(probe.counts[0]!), [[0, 30], [1, 30]]);
      assert.deepEqual(sorted(probe.counts[1]!), [[0, 15], [1, 15], [2, 15], [3, 15]]);
      assert.deepEqual(sorted(probe.counts[2]!), [[0, 10], [1, 10], [2, 10], [3, 10], [4, 10], [5, 10]]);
    } finally {
      gdumb.dispose();
    }
  });

  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm}: after every task the model is trained: every accuracy-matrix row is well above chance (Mammoth retrains only after the last task)`, () => {
      const { gdumb, accuracy } = runWith(paradigm, paradigm === 'dil' ? { ...retrain, policy: 'classBalanced' } : retrain);
      try {
        const chance = (task: number): number => (paradigm === 'til' ? 0.5 : paradigm === 'cil' ? 1 / (2 * task) : 0.1);
        for (let row = 0; row < 3; row++) {
          for (let task = 0; task <= row; task++) {
            const acc = accuracy[row]![task]!;
            assert.ok(acc > chance(row + 1) + 0.25, `after task ${row + 1}, task ${task + 1}: accuracy ${acc.toFixed(3)} vs chance ${chance(row + 1).toFixed(3)}`);
          }
        }
        const tasks = new Set(gdumb.memory.storedTasks);
        assert.deepEqual([...tasks].sort(), [1, 2, 3], 'the memory holds every task');
        if (paradigm === 'dil') assert.ok(gdumb.memory.classCounts().size === 10, 'the ten shared classes');
      } finally {
        gdumb.dispose();
      }
    });
  }

  it('re-initialises with a fresh seeded draw per task (Avalanche resets to the same initial weights each time), leaving the global generator alone', () => {
    const make = (): ContinualModel => {
      const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5] }), createHeads('cil', 5));
      model.heads.setupTask(1, 2);
      return model;
    };
    const gdumb = instantiate(gdumbDefinition, { seed: 3 });
    const a = make();
    const b = make();
    try {
      const before = getRngState();
      reinitialize(a, gdumb.initSeed(1));
      reinitialize(b, gdumb.initSeed(1));
      const after = getRngState();
      assertTensorsMatch(after, before, 'the global generator state', { rtol: 0, atol: 0 });
      for (const t of [before, after]) t.dispose();
      const weights = (m: ContinualModel) => m.namedParameters().map(([, p]) => p.detach());
      weights(a).forEach((w, i) => assertTensorsMatch(w, weights(b)[i]!, 'the same seed draws the same weights', { rtol: 0, atol: 0 }));
      reinitialize(b, gdumb.initSeed(2));
      weights(a).forEach((w, i) => assert.ok(!w.equal(weights(b)[i]!), `parameter ${i}: task 2's draw differs from task 1's`));
      assert.notEqual(gdumb.initSeed(1), gdumb.initSeed(2));
    } finally {
      a.dispose();
      b.dispose();
      gdumb.dispose();
    }
  });

  it('re-initialising a ResNet-18 (trained, statistics moved) gives the weights and buffers of one freshly built after the same seed', () => {
    manualSeed(11);
    const fresh = new ResNet18([3, 8, 8]);
    const used = new ResNet18([3, 8, 8]);
    try {
      used.train().forward(randn([4, 3, 8, 8])); // moves the batch-norm statistics
      reinitialize(used, 11);
      const want = new Map([...fresh.namedParameters(), ...fresh.namedBuffers()]);
      const got = [...used.namedParameters(), ...used.namedBuffers()];
      assert.equal(got.length, want.size);
      for (const [name, t] of got) assertTensorsMatch(t.detach(), want.get(name)!.detach(), name, { rtol: 0, atol: 0 });
    } finally {
      fresh.dispose();
      used.dispose();
    }
  });

  it('the retraining frees everything it allocates', () => {
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5] }), createHeads('cil', 5));
    const gdumb = instantiate(gdumbDefinition, { capacity: 10, epochs: 3, batchSize: 4 });
    const x = randn([20, 6]);
    const y = randint(0, 2, [20]);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    try {
      model.heads.setupTask(1, 2);
      const ctx: TaskContext = { task: 1, paradigm: 'cil', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: 20 }, batchSize: 4, epochs: 1 };
      gdumb.onTaskStart(ctx);
      const before = settledTensorCount();
      gdumb.onTaskEnd(ctx);
      assert.equal(settledTensorCount(), before);
      assert.equal(gdumb.memory.size, 10);
    } finally {
      for (const t of [x, y]) t.dispose();
      optimizer.dispose();
      gdumb.dispose();
      model.dispose();
    }
  });

  it('a run stopped after task 2 and resumed from its checkpoint ends bit-identical to an uninterrupted one', () => {
    assertResumesBitIdentical([...overrides.cil, ...common, 'algorithms=[{name: gdumb, capacity: 30, epochs: 3, seed: 4}]'], tmp);
  });
});
