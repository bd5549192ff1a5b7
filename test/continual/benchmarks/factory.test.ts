// createBenchmark: configurations, the errors of their schema, the validation split and trainLimit.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ImageBenchmark, PermutedBenchmark, RotatedBenchmark, SplitBenchmark, benchmarkSchema, createBenchmark } from '../../../src/continual/benchmarks/index.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import { tidy } from '../../../src/index.js';

const train = loadEmbeddedMnist('train');

/** A benchmark from settings as a configuration writes them, validated and defaulted by the schema. */
function benchmark(settings: object, seed: number): ImageBenchmark {
  return createBenchmark({ ...benchmarkSchema.parse(settings), seed });
}

describe('createBenchmark', () => {
  it('builds each kind from validated settings', () => {
    const p = benchmark({ name: 'permuted', dataset: 'mnist-embedded', numTasks: 3, keepFirstUnpermuted: true }, 1);
    assert.ok(p instanceof PermutedBenchmark && p.keepFirstUnpermuted);
    const s = benchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 2, classSplit: [[0, 1, 2], [3]] }, 1);
    assert.ok(s instanceof SplitBenchmark);
    assert.equal(s.numClasses(1), 3);
    const r = benchmark({ name: 'rotated', dataset: 'mnist-embedded', numTasks: 2, angles: [0, 30] }, 1);
    assert.ok(r instanceof RotatedBenchmark);
    assert.equal(r.angle(2), 30);
    // The dataset defaults to the bundled digits.
    const d = benchmark({ name: 'permuted', numTasks: 1 }, 0);
    assert.equal(d.dataset.name, 'mnist-embedded');
    for (const b of [p, s, r, d]) b.dispose();
  });

  it('the schema rejects invalid settings, saying what is wrong, before anything is built', () => {
    const bad = (settings: unknown, pattern: RegExp): void => assert.throws(() => benchmarkSchema.parse(settings), pattern);
    bad({ name: 'shuffled', numTasks: 2 }, /name: expected one of 'permuted', 'split', 'rotated', got 'shuffled'/);
    bad({ name: 'split', dataset: 'mnist-embedded', numTasks: 11 }, /numTasks: .*11 tasks but mnist-embedded has only 10 classes/);
    bad({ name: 'permuted', numTasks: 2, angles: [0, 1] }, /angles: is an option of the 'rotated' benchmark, but benchmark.name is 'permuted'/);
    bad({ name: 'split', numTasks: 2, keepFirstUnpermuted: true }, /keepFirstUnpermuted: only meaningful when benchmark.name is 'permuted'/);
    // keepFirstUnpermuted: false is the default for every kind.
    assert.equal(benchmarkSchema.parse({ name: 'split', numTasks: 2, keepFirstUnpermuted: false }).keepFirstUnpermuted, false);
    bad({ name: 'permuted', numTasks: 2, numTask: 3 }, /numTask: unknown key.*numTasks/);
    bad({ name: 'permuted', numTasks: 0 }, /numTasks: expected an integer >= 1, got 0/);
    bad({ name: 'permuted', numTasks: 2, validationFraction: 1 }, /validationFraction: expected a number in \[0, 1\), got 1/);
    bad({ name: 'permuted', numTasks: 2, trainLimit: 0 }, /trainLimit: expected an integer >= 1, got 0/);
    bad({ name: 'permuted', numTasks: 2, dataset: 'mnsit' }, /dataset: unknown dataset 'mnsit'/);
    bad({ name: 'split', numTasks: 2, classSplit: [0, 1] }, /classSplit\[0\]: expected a list/);
    bad({ name: 'rotated', numTasks: 2, angles: [0] }, /angles: 1 angles given for 2 tasks/);
    bad(null, /expected a mapping/);
    assert.equal(benchmarkSchema.parse({ name: 'rotated', numTasks: 1 }).dataset, 'mnist-embedded');
  });
});

describe('validation split and trainLimit', () => {
  const a = benchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 5 }, 3);
  const b = benchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 5 }, 3);
  const c = benchmark({ name: 'split', dataset: 'mnist-embedded', numTasks: 5 }, 4);
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
    const z = benchmark({ name: 'permuted', numTasks: 1, validationFraction: 0, trainLimit: 10 }, 0);
    const task = z.task(1);
    assert.equal(task.val.size, 0);
    assert.deepEqual([...task.val.x.shape], [0, 1, 28, 28]);
    assert.deepEqual([...task.val.y.shape], [0]);
    z.dispose();
  });

  it('trainLimit caps each task with a seeded subset; permuted tasks share it', () => {
    const p = benchmark({ name: 'permuted', numTasks: 2, trainLimit: 300 }, 8);
    const i1 = p.taskIndices(1).train;
    assert.equal(i1.length, 300);
    assert.deepEqual(p.taskIndices(2).train, i1);
    // A random subset, not the first 300 (which would all be zeros: the data are ordered by class).
    assert.ok(new Set(Array.from(i1, (i) => train.labels[i])).size === 10);
    assert.ok(Array.from(i1).every((v, k) => k === 0 || v > i1[k - 1]!), 'kept in dataset order');
    const s = benchmark({ name: 'split', numTasks: 5, trainLimit: 100 }, 8);
    for (let t = 1; t <= 5; t++) assert.equal(s.taskIndices(t).train.length, 100);
    p.dispose();
    s.dispose();
  });

  it('two constructions with the same configuration give identical tensors', () => {
    const config = { ...benchmarkSchema.parse({ name: 'permuted', dataset: 'mnist-embedded', numTasks: 2, trainLimit: 100 }), seed: 21 };
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
