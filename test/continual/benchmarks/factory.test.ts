// createBenchmark: configurations, their errors, the validation split and trainLimit.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type BenchmarkConfig, PermutedBenchmark, RotatedBenchmark, SplitBenchmark, createBenchmark, validateBenchmarkConfig } from '../../../src/continual/benchmarks/index.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import { tidy } from '../../../src/index.js';

const train = loadEmbeddedMnist('train');

describe('createBenchmark', () => {
  it('builds each kind from a plain object', () => {
    const p = createBenchmark({ name: 'permuted', dataset: 'mnist-embedded', numTasks: 3, seed: 1, keepFirstUnpermuted: true });
    assert.ok(p instanceof PermutedBenchmark && p.keepFirstUnpermuted);
    const s = createBenchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 2, seed: 1, classSplit: [[0, 1, 2], [3]] });
    assert.ok(s instanceof SplitBenchmark);
    assert.equal(s.numClasses(1), 3);
    const r = createBenchmark({ name: 'rotated', dataset: 'mnist-embedded', numTasks: 2, seed: 1, angles: [0, 30] });
    assert.ok(r instanceof RotatedBenchmark);
    assert.equal(r.angle(2), 30);
    // The dataset defaults to the bundled digits.
    const d = createBenchmark({ name: 'permuted', numTasks: 1, seed: 0 });
    assert.equal(d.dataset.name, 'mnist-embedded');
    for (const b of [p, s, r, d]) b.dispose();
  });

  it('rejects invalid configurations, saying what is wrong', () => {
    const bad = (config: unknown, pattern: RegExp): void => assert.throws(() => createBenchmark(config as BenchmarkConfig), pattern);
    bad({ name: 'shuffled', numTasks: 2, seed: 0 }, /name must be one of permuted, split, rotated, got "shuffled"/);
    bad({ name: 'split', dataset: 'mnist-embedded', numTasks: 11, seed: 0 }, /benchmark configuration: .*11 tasks but mnist-embedded has only 10 classes/);
    bad({ name: 'permuted', numTasks: 2, seed: 0, angles: [0, 1] }, /'angles' applies to rotated benchmarks only, not permuted/);
    bad({ name: 'split', numTasks: 2, seed: 0, keepFirstUnpermuted: true }, /'keepFirstUnpermuted' applies to permuted benchmarks only/);
    // Unset options and keepFirstUnpermuted: false are what a configuration with defaults passes for every kind.
    createBenchmark({ name: 'split', numTasks: 2, seed: 0, keepFirstUnpermuted: false, angles: undefined, classSplit: undefined, validationFraction: 0.1 } as BenchmarkConfig).dispose();
    bad({ name: 'permuted', numTasks: 2, seed: 0, numTask: 3 }, /unknown field 'numTask'/);
    bad({ name: 'permuted', numTasks: 0, seed: 0 }, /numTasks must be a positive integer, got 0/);
    bad({ name: 'permuted', numTasks: 2, seed: -1 }, /seed must be a non-negative integer/);
    bad({ name: 'permuted', numTasks: 2, seed: 0, validationFraction: 1 }, /validationFraction must be a number in \[0, 1\)/);
    bad({ name: 'permuted', numTasks: 2, seed: 0, trainLimit: 0 }, /trainLimit must be a positive integer/);
    bad({ name: 'permuted', numTasks: 2, seed: 0, dataset: 'mnsit' }, /unknown dataset "mnsit"; known datasets: mnist-embedded, mnist/);
    bad({ name: 'split', numTasks: 2, seed: 0, classSplit: [0, 1] }, /classSplit must be a list of lists/);
    bad({ name: 'rotated', numTasks: 2, seed: 0, angles: [0] }, /1 angles given for 2 tasks/);
    bad(null, /expected an object/);
    assert.equal(validateBenchmarkConfig({ name: 'rotated', numTasks: 1, seed: 0 }).dataset, 'mnist-embedded');
  });
});

describe('validation split and trainLimit', () => {
  const a = createBenchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 5, seed: 3 });
  const b = createBenchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 5, seed: 3 });
  const c = createBenchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 5, seed: 4 });
  after(() => [a, b, c].forEach((x) => x.dispose()));

  it('holds out about 10% of each class, disjoint from training, the same for the same seed', () => {
    const seenVal = new Set<number>();
    let trainTotal = 0;
    for (let t = 1; t <= 5; t++) {
      const ids = a.taskIndices(t);
      const val = new Set(ids.val);
      assert.ok(Array.from(ids.train).every((i) => !val.has(i)), 'train and validation are disjoint');
      assert.deepEqual(b.taskIndices(t).val, ids.val, 'fixed by the seed');
      assert.notDeepEqual(c.taskIndices(t).val, ids.val, 'another seed, another split');
      for (const cls of [2 * t - 2, 2 * t - 1]) {
        let n = 0;
        for (let i = 0; i < train.labels.length; i++) if (train.labels[i] === cls) n++;
        const inVal = Array.from(ids.val).filter((i) => train.labels[i] === cls).length;
        assert.equal(inVal, Math.round(n * 0.1), `class ${cls}`);
      }
      for (const i of ids.val) seenVal.add(i);
      trainTotal += ids.train.length;
    }
    assert.equal(seenVal.size + trainTotal, train.labels.length, 'together the tasks use every training example once');
  });

  it('the validation tensors hold the held-out examples', () => {
    const task = a.task(2);
    const ids = a.taskIndices(2);
    assert.equal(task.val.size, ids.val.length);
    assert.deepEqual(Array.from(task.val.y.toTypedArray(), Number), Array.from(ids.val, (i) => train.labels[i]! - 2));
  });

  it('validationFraction 0 leaves an empty validation set of the right shape', () => {
    const z = createBenchmark({ name: 'permuted', numTasks: 1, seed: 0, validationFraction: 0, trainLimit: 10 });
    const task = z.task(1);
    assert.equal(task.val.size, 0);
    assert.deepEqual([...task.val.x.shape], [0, 1, 28, 28]);
    assert.deepEqual([...task.val.y.shape], [0]);
    z.dispose();
  });

  it('trainLimit caps each task with a seeded subset; permuted tasks share it', () => {
    const p = createBenchmark({ name: 'permuted', numTasks: 2, seed: 8, trainLimit: 300 });
    const i1 = p.taskIndices(1).train;
    assert.equal(i1.length, 300);
    assert.deepEqual(p.taskIndices(2).train, i1);
    // A random subset, not the first 300 (which would all be zeros: the data are ordered by class).
    assert.ok(new Set(Array.from(i1, (i) => train.labels[i])).size === 10);
    assert.ok(Array.from(i1).every((v, k) => k === 0 || v > i1[k - 1]!), 'kept in dataset order');
    const s = createBenchmark({ name: 'split', numTasks: 5, seed: 8, trainLimit: 100 });
    for (let t = 1; t <= 5; t++) assert.equal(s.taskIndices(t).train.length, 100);
    p.dispose();
    s.dispose();
  });

  it('two constructions with the same configuration give identical tensors', () => {
    const config: BenchmarkConfig = { name: 'permuted', dataset: 'mnist-embedded', numTasks: 2, seed: 21, trainLimit: 100 };
    const x = createBenchmark(config);
    const y = createBenchmark(config);
    tidy(() => {
      for (const split of ['train', 'val', 'test'] as const) {
        assert.ok(x.task(2)[split].x.equal(y.task(2)[split].x));
        assert.ok(x.task(2)[split].y.equal(y.task(2)[split].y));
      }
    });
    x.dispose();
    y.dispose();
  });
});
