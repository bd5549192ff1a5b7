// Split benchmarks: classes per task, local labels, offsets; the colour path on CIFAR fixtures.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SplitBenchmark } from '../../../src/continual/benchmarks/split.js';
import { loadCifar10 } from '../../../src/data/cifar.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import { loadFixture } from '../../helpers.js';

const CIFAR = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..', 'test', 'fixtures', 'cifar');
const train = loadEmbeddedMnist('train');
const test = loadEmbeddedMnist('test');
const classFacts = loadFixture<{ embedded: { classes: { test: number }[] } }>('datasets').embedded.classes;
const ints = (t: { toTypedArray(): ArrayLike<number | bigint> }): number[] => Array.from(t.toTypedArray(), Number);

describe('split benchmark', () => {
  const bench = new SplitBenchmark({ numTasks: 5, seed: 0 });
  after(() => bench.dispose());

  it('partitions the classes into consecutive pairs by default', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((t) => bench.classes(t)), [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    assert.deepEqual([1, 2, 3, 4, 5].map((t) => bench.numClasses(t)), [2, 2, 2, 2, 2]);
    assert.deepEqual([1, 2, 3, 4, 5].map((t) => bench.classOffset(t)), [0, 2, 4, 6, 8]);
    assert.equal(bench.name, 'split-mnist-embedded');
  });

  it("a task holds exactly its classes' examples, with local labels 0..k-1", () => {
    const task = bench.task(3);
    const ids = bench.taskIndices(3);
    // Every test example of classes 4 and 5, as counted in Python.
    assert.equal(task.test.size, classFacts[4]!.test + classFacts[5]!.test);
    assert.deepEqual(ints(task.test.y), Array.from(ids.test, (i) => test.labels[i]! - 4));
    assert.deepEqual(ints(task.train.y), Array.from(ids.train, (i) => train.labels[i]! - 4));
    assert.deepEqual([...new Set(ints(task.train.y))].sort(), [0, 1]);
    let expectedTrain = 0;
    for (let i = 0; i < train.labels.length; i++) if (train.labels[i] === 4 || train.labels[i] === 5) expectedTrain++;
    assert.equal(task.train.size + task.val.size, expectedTrain);
    // Local label + offset is the global class.
    assert.deepEqual(ints(task.test.y).map((y) => y + bench.classOffset(3)), Array.from(ids.test, (i) => test.labels[i]!));
  });

  it('takes an explicit class split in local-label order, with offsets from the earlier tasks', () => {
    const b = new SplitBenchmark({ numTasks: 3, seed: 0, classSplit: [[9, 0], [3], [1, 2, 4]], trainLimit: 40 });
    assert.deepEqual([1, 2, 3].map((t) => b.numClasses(t)), [2, 1, 3]);
    assert.deepEqual([1, 2, 3].map((t) => b.classOffset(t)), [0, 2, 3]);
    const t1 = b.task(1);
    const ids = b.taskIndices(1);
    assert.equal(t1.train.size, 40);
    assert.deepEqual(ints(t1.train.y), Array.from(ids.train, (i) => (train.labels[i] === 9 ? 0 : 1)));
    assert.ok(Array.from(ids.train).every((i) => train.labels[i] === 9 || train.labels[i] === 0));
    assert.ok(ints(t1.train.y).includes(0) && ints(t1.train.y).includes(1));
    assert.deepEqual(ints(b.task(2).test.y), new Array<number>(b.task(2).test.size).fill(0));
    b.dispose();
  });

  it('rejects impossible splits with clear errors', () => {
    assert.throws(() => new SplitBenchmark({ numTasks: 11, seed: 0 }), /11 tasks but mnist-embedded has only 10 classes/);
    assert.throws(() => new SplitBenchmark({ numTasks: 3, seed: 0 }), /10 classes do not divide into 3 equal tasks; choose a divisor of 10 or give classSplit/);
    assert.throws(() => new SplitBenchmark({ numTasks: 2, seed: 0, classSplit: [[0, 1], [1, 2]] }), /class 1 is in task 1 and task 2/);
    assert.throws(() => new SplitBenchmark({ numTasks: 2, seed: 0, classSplit: [[0, 1], [10]] }), /names class 10, but mnist-embedded has classes 0\.\.9/);
    assert.throws(() => new SplitBenchmark({ numTasks: 3, seed: 0, classSplit: [[0], [1]] }), /classSplit has 2 tasks but numTasks is 3/);
    assert.throws(() => new SplitBenchmark({ numTasks: 2, seed: 0, classSplit: [[0], []] }), /task 2 has no classes/);
  });

  it('normalises each colour channel with its own constants (CIFAR-10 fixture)', () => {
    const b = new SplitBenchmark({ dataset: 'cifar10', dataDir: CIFAR, numTasks: 2, seed: 0, validationFraction: 0 });
    const raw = loadCifar10(CIFAR, 'train');
    const { mean, std } = b.normalization;
    const task = b.task(1);
    const ids = b.taskIndices(1).train;
    assert.ok(ids.length > 0);
    assert.deepEqual([...task.train.x.shape], [ids.length, 3, 32, 32]);
    const x = task.train.x.toTypedArray() as Float32Array;
    ids.forEach((src, k) => {
      assert.ok(raw.labels[src]! < 5);
      for (const [c, h, w] of [[0, 16, 16], [1, 10, 3], [2, 0, 0], [2, 20, 12]] as const) {
        const want = (raw.images[src * 3072 + c * 1024 + h * 32 + w]! / 255 - mean[c]!) / std[c]!;
        assert.ok(Math.abs(x[k * 3072 + c * 1024 + h * 32 + w]! - want) < 1e-5);
      }
    });
    assert.equal(task.val.size, 0);
    assert.deepEqual([...task.val.x.shape], [0, 3, 32, 32]);
    b.dispose();
  });
});
