// The full-width class-incremental head (cilHeads: full): one head over all
// the benchmark's classes from task 1, training logits over all of them,
// testing over the classes of the tasks set up so far; how `cilHeads: auto`
// resolves and which settings are configuration errors; and a resumed run
// with the full-width head that ends as an uninterrupted one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { resolveCilHeads } from '../../../src/config/heads_rules.js';
import { createBenchmark } from '../../../src/continual/benchmarks/index.js';
import { buildModel } from '../../../src/continual/experiment/sequence.js';
import { HeadsCIL, createHeads } from '../../../src/continual/model/heads.js';
import { crossEntropy, linear } from '../../../src/nn/functional.js';
import { loadSafetensors } from '../../../src/serialization/safetensors.js';
import { randn, tensor } from '../../../src/tensor/creation.js';
import { tidy } from '../../../src/tensor/scope.js';
import { tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const values = (t: { toTypedArray(): ArrayLike<number | bigint> }): number[] => Array.from(t.toTypedArray(), Number);

describe('HeadsCIL with a full-width head', () => {
  it('one head over every class from task 1; training logits over all of them, targets global, testing over the classes seen', () => {
    const heads = new HeadsCIL(5, { fullWidth: 9 });
    assert.ok(heads.isFullWidth);
    heads.setupTask(1, 2);
    assert.deepEqual(heads.namedParameters().map(([n, p]) => [n, [...p.shape]]), [['heads.0.weight', [9, 5]], ['heads.0.bias', [9]]]);
    heads.setupTask(2, 3);
    heads.setupTask(2, 3);
    assert.equal(heads.parameters().length, 2, 'later tasks claim classes in the one head, no new parameters');
    assert.deepEqual([1, 2].map((t) => heads.numClasses(t)), [2, 3]);
    assert.deepEqual([1, 2].map((t) => heads.classOffset(t)), [0, 2]);
    assert.equal(heads.seenClasses, 5);
    assert.equal(heads.head(2), heads.head(1));
    tidy(() => {
      const feature = randn([4, 5]);
      const all = linear(feature, heads.head(1).weight, heads.head(1).bias);
      heads.train();
      assert.equal(heads.totalClasses, 9);
      const training = heads.forward(feature, 1);
      assert.deepEqual([...training.shape], [4, 9], 'training: every class of the benchmark, unseen ones included');
      assert.deepEqual(values(training), values(all));
      assert.deepEqual(values(heads.targets(tensor([0, 2, 1]), 2)), [2, 4, 3]);
      // The cross-entropy over all 9 classes pushes down the unseen classes' logits.
      const w = heads.head(1).weight;
      crossEntropy(training, heads.targets(tensor([0, 1, 2, 0]), 2)).backward();
      assert.ok(values(w.grad!.narrow(0, 5, 4)).some((g) => g !== 0), 'unseen classes get gradient');
      heads.zeroGrad();
      heads.eval();
      assert.equal(heads.totalClasses, 5);
      const testing = heads.forward(feature, 1);
      assert.deepEqual([...testing.shape], [4, 5], 'testing: only the classes of tasks 1..2');
      assert.deepEqual(values(testing), values(all.narrow(1, 0, 5)));
      heads.train();
    });
    assert.throws(() => heads.setupTask(2, 4), /HeadsCIL.setupTask: task 2 is already set up with 3 classes, not 4/);
    assert.throws(() => heads.setupTask(3, 5), /task 3's 5 classes after 5 would exceed the full-width head's 9 classes/);
    heads.setupTask(3, 4);
    tidy(() => {
      heads.eval();
      assert.deepEqual([...heads.forward(randn([2, 5]), 3).shape], [2, 9], 'all tasks set up: every class is a candidate');
    });
    heads.dispose();
  });

  it('createHeads makes one for CIL only; growing CIL heads are unchanged', () => {
    assert.throws(() => createHeads('til', 4, { fullWidth: 6 }), /a full-width head is for paradigm cil only, not til/);
    assert.throws(() => createHeads('cil', 4, { fullWidth: 0 }), /HeadsCIL: fullWidth must be a positive integer, got 0/);
    const growing = createHeads('cil', 4) as HeadsCIL;
    assert.equal(growing.isFullWidth, false);
    growing.setupTask(1, 2);
    growing.setupTask(2, 2);
    growing.eval();
    tidy(() => assert.deepEqual([...growing.forward(randn([1, 4]), 1).shape], [1, 4]));
    assert.equal(growing.parameters().length, 4);
    growing.dispose();
  });
});

const split = ['paradigm=cil', 'benchmark.name=split', 'benchmark.numTasks=5'];

describe('cilHeads: resolution and errors', () => {
  it("auto is full with der or derpp (cilLogits: all), growing otherwise; buildModel makes the benchmark's 10-class head", () => {
    assert.equal(resolveCilHeads(loadExperiment(undefined, [...split, 'algorithms=[{name: der}]'])), 'full');
    assert.equal(resolveCilHeads(loadExperiment(undefined, [...split, 'algorithms=[{name: ewc}, {name: derpp}]'])), 'full');
    assert.equal(resolveCilHeads(loadExperiment(undefined, [...split, 'algorithms=[{name: der, cilLogits: seen}]'])), 'growing');
    assert.equal(resolveCilHeads(loadExperiment(undefined, [...split, 'algorithms=[{name: finetuning}]'])), 'growing');
    assert.equal(resolveCilHeads(loadExperiment(undefined, [...split, 'cilHeads=full'])), 'full');
    assert.equal(resolveCilHeads(loadExperiment(undefined, ['paradigm=til', 'algorithms=[{name: der}]'])), 'growing', 'outside CIL the setting does not apply');
    const config = loadExperiment(undefined, [...split, 'algorithms=[{name: der}]']);
    const benchmark = createBenchmark({ ...config.benchmark, seed: config.seed });
    const model = buildModel(config, benchmark);
    try {
      assert.ok(model.heads instanceof HeadsCIL && model.heads.fullWidth === 10);
      model.heads.setupTask(1, 2);
      assert.deepEqual(model.namedParameters().filter(([n]) => n.startsWith('heads.')).map(([n, p]) => [n, [...p.shape]]), [['heads.heads.0.weight', [10, 100]], ['heads.heads.0.bias', [10]]]);
    } finally {
      model.dispose();
      benchmark.dispose();
    }
  });

  it('cilHeads: growing with der is an error naming both fixes; so are full outside CIL and lwf with der', () => {
    assert.throws(
      () => loadExperiment(undefined, [...split, 'cilHeads=growing', 'algorithms=[{name: der}]']),
      /cilHeads: is 'growing', but 'der' \(algorithms\[0\]\) needs full heads: der stores and matches logits over all the benchmark's classes \(cilLogits: all\); set cilHeads: full \(or auto\), or set algorithms\[0\]\.cilLogits: seen/,
    );
    assert.throws(() => loadExperiment(undefined, [...split, 'cilHeads=full', 'algorithms=[{name: derpp, cilLogits: seen}]']), /cilHeads: is 'full', but 'derpp' \(algorithms\[0\]\) needs growing heads.*set cilHeads: growing \(or auto\), or set algorithms\[0\]\.cilLogits: all/);
    assert.throws(() => loadExperiment(undefined, ['paradigm=til', 'cilHeads=full']), /cilHeads: 'full' applies to paradigm cil only, but paradigm is 'til'; remove cilHeads or set paradigm: cil/);
    assert.throws(() => loadExperiment(undefined, [...split, 'cilHeads=full', 'algorithms=[{name: lwf}]']), /'lwf' \(algorithms\[0\]\) needs growing heads: its teacher copies the heads of earlier tasks/);
    assert.throws(() => loadExperiment(undefined, [...split, 'algorithms=[{name: der}, {name: lwf}]']), /algorithms\[1\]\.name: 'lwf' needs growing heads \(.*\), but 'der' \(algorithms\[0\]\) needs full ones/);
    assert.doesNotThrow(() => loadExperiment(undefined, [...split, 'cilHeads=growing', 'algorithms=[{name: der, cilLogits: seen}]']));
    assert.doesNotThrow(() => loadExperiment(undefined, ['paradigm=til', 'cilHeads=growing', 'algorithms=[{name: der}]']));
  });
});

describe('a resumed CIL run with the full-width head', () => {
  const cil = [
    'paradigm=cil', 'benchmark.name=split', 'benchmark.numTasks=3', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]', 'benchmark.trainLimit=96',
    'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false',
    'algorithms=[{name: derpp, capacity: 40, batchSize: 8}]',
  ];
  const tmp = (): string => join(tempDir('der-heads-'), 'run');

  it("checkpoints one 6-class head (heads.heads.0) and resumes bit-identical", () => {
    const { full } = assertResumesBitIdentical(cil, tmp, {
      whileStopped: (dir) => {
        const saved = loadSafetensors(join(dir, 'checkpoints', 'task_2.safetensors'));
        try {
          const heads = Object.keys(saved.tensors).filter((k) => k.startsWith('model.heads.'));
          assert.deepEqual(heads.sort(), ['model.heads.heads.0.bias', 'model.heads.heads.0.weight']);
          assert.deepEqual([...saved.tensors['model.heads.heads.0.weight']!.shape], [6, 16]);
          assert.deepEqual([...saved.tensors['algorithm.0.logits']!.shape], [40, 6], 'stored logits over all 6 classes');
        } finally {
          for (const t of Object.values(saved.tensors)) t.dispose();
        }
      },
    });
    assert.ok(full.accuracy.at(-1)!.every((a) => a > 0), 'every task is still recognised after task 3');
  });
});
