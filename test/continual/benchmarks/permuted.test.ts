// Permuted benchmarks on the embedded MNIST digits.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PermutedBenchmark } from '../../../src/continual/benchmarks/permuted.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import { batches } from '../../../src/continual/benchmarks/data.js';
import { liveTensorCount, manualSeed, nn, optim, randn, tensor, tidy } from '../../../src/index.js';

const raw = loadEmbeddedMnist('train');
const MEAN = 0.1307;
const STD = 0.3081;
const isIdentity = (p: Int32Array): boolean => p.every((v, i) => v === i);

describe('permuted benchmark', () => {
  const bench = new PermutedBenchmark({ numTasks: 3, seed: 10, trainLimit: 200 });
  const kept = new PermutedBenchmark({ numTasks: 3, seed: 10, trainLimit: 200, keepFirstUnpermuted: true });
  after(() => {
    bench.dispose();
    kept.dispose();
  });

  it('has a different permutation per task, every task permuted by default', () => {
    const perms = [1, 2, 3].map((t) => bench.permutation(t));
    for (const p of perms) {
      assert.equal(p.length, 784);
      assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 784 }, (_, i) => i));
      assert.ok(!isIdentity(p));
    }
    assert.notDeepEqual(perms[0], perms[1]);
    assert.notDeepEqual(perms[1], perms[2]);
  });

  it('is the same for two constructions with the same seed, different for another seed', () => {
    const twin = new PermutedBenchmark({ numTasks: 3, seed: 10 });
    const other = new PermutedBenchmark({ numTasks: 3, seed: 11 });
    for (const t of [1, 2, 3]) {
      assert.deepEqual(twin.permutation(t), bench.permutation(t));
      assert.notDeepEqual(other.permutation(t), bench.permutation(t));
    }
    // keepFirstUnpermuted changes task 1 only.
    assert.ok(isIdentity(kept.permutation(1)));
    assert.deepEqual(kept.permutation(2), bench.permutation(2));
    twin.dispose();
    other.dispose();
  });

  it('moves each pixel where the permutation says, before normalisation', () => {
    const task = bench.task(2);
    const ids = bench.taskIndices(2).train;
    const perm = bench.permutation(2);
    const x = task.train.x.toTypedArray() as Float32Array;
    assert.deepEqual([...task.train.x.shape], [200, 1, 28, 28]);
    for (const k of [0, 57, 199]) {
      const src = ids[k]!;
      for (let i = 0; i < 784; i++) {
        const want = (raw.images[src * 784 + perm[i]!]! / 255 - MEAN) / STD;
        assert.ok(Math.abs(x[k * 784 + i]! - want) < 1e-5, `example ${k} pixel ${i}: ${x[k * 784 + i]} vs ${want}`);
      }
    }
  });

  it('task 1 of keepFirstUnpermuted is the plain images; task t is task 1 permuted exactly', () => {
    tidy(() => {
      const plain = kept.task(1).train.x.reshape([200, 784]);
      const permuted = kept.task(3).train.x.reshape([200, 784]);
      assert.ok(permuted.equal(plain.indexSelect(1, tensor(BigInt64Array.from(kept.permutation(3), BigInt)))));
      assert.ok(!permuted.equal(plain));
      const first = kept.taskIndices(1).train[0]!;
      assert.ok(Math.abs((plain.toTypedArray() as Float32Array)[300]! - (raw.images[first * 784 + 300]! / 255 - MEAN) / STD) < 1e-6);
    });
  });

  it('keeps the dataset labels, counts classes per task and offsets them for CIL', () => {
    const task = bench.task(1);
    const ids = bench.taskIndices(1).train;
    assert.deepEqual(Array.from(task.train.y.toTypedArray(), Number), Array.from(ids, (i) => raw.labels[i]!));
    assert.equal(task.train.y.dtype, 'int64');
    assert.equal(task.train.x.dtype, 'float32');
    assert.deepEqual([1, 2, 3].map((t) => bench.numClasses(t)), [10, 10, 10]);
    assert.deepEqual([1, 2, 3].map((t) => bench.classOffset(t)), [0, 10, 20]);
    assert.deepEqual(bench.inputShape, [1, 28, 28]);
    assert.equal(bench.name, 'permuted-mnist-embedded');
    assert.throws(() => bench.task(4), /task 4 does not exist \(tasks are 1\.\.3\)/);
    assert.throws(() => bench.numClasses(0), /task 0 does not exist/);
  });

  it('caches each task, and dispose frees every tensor', () => {
    const b = new PermutedBenchmark({ numTasks: 2, seed: 1, trainLimit: 50 });
    const before = liveTensorCount();
    const t1 = tidy(() => b.task(1)); // a caller's tidy must not free the cached tensors
    assert.equal(b.task(1), t1);
    const x1 = tidy(() => t1.train.x); // built in full on first read, and kept
    assert.equal(x1.isDisposed, false);
    assert.equal(t1.train.x, x1);
    b.task(2);
    assert.ok(liveTensorCount() > before);
    b.dispose();
    assert.equal(liveTensorCount(), before - 0);
    assert.equal(x1.isDisposed, true);
    assert.throws(() => t1.train.x, /released/);
    assert.throws(() => b.task(1), /disposed/);
  });

  it('images and labels stay paired: a linear model learns a permuted task far above chance', () => {
    const b = new PermutedBenchmark({ numTasks: 2, seed: 2, trainLimit: 2000 });
    const { train, test } = b.task(2);
    manualSeed(0);
    const model = new nn.Linear(784, 10);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const batch of batches(train, 32, { shuffle: true, seed: epoch })) {
        tidy(() => {
          opt.zeroGrad();
          nn.functional.crossEntropy(model.forward(batch.x.flatten(1)), batch.y).backward();
          opt.step();
        });
        batch.x.dispose();
        batch.y.dispose();
      }
    }
    const accuracy = tidy(() => model.forward(test.x.flatten(1)).argmax(1).eq(test.y).float().mean().item());
    // This reaches about 86% (2,000 examples, 3 epochs); images and labels out of step would give about 10%.
    assert.ok(accuracy > 0.75, `test accuracy ${accuracy}`);
    opt.dispose();
    model.dispose();
    b.dispose();
  });

  it("building tasks leaves libtorch's generator alone (model initialisation stays the same)", () => {
    const draw = (): number[] => tidy(() => Array.from(randn([3]).toTypedArray(), Number));
    manualSeed(5);
    const expected = draw();
    manualSeed(5);
    const b = new PermutedBenchmark({ numTasks: 2, seed: 3, trainLimit: 20 });
    b.task(2);
    assert.deepEqual(draw(), expected);
    b.dispose();
  });
});
