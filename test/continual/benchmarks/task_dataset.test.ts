// Task datasets built on demand from the dataset's bytes (task_dataset.ts):
// the same values as the whole split built at once, memory freed on release,
// and a long run whose native tensors do not grow beyond what each task keeps.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { experimentSchema } from '../../../src/config/experiment.js';
import type { ImageBenchmark } from '../../../src/continual/benchmarks/base.js';
import { batches } from '../../../src/continual/benchmarks/data.js';
import { PermutedBenchmark } from '../../../src/continual/benchmarks/permuted.js';
import { RotatedBenchmark } from '../../../src/continual/benchmarks/rotated.js';
import { SplitBenchmark } from '../../../src/continual/benchmarks/split.js';
import { permutePixels, rotateImages } from '../../../src/continual/benchmarks/transforms.js';
import type { TensorDataset } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import { type Tensor, liveTensorCount, tensor, tidy } from '../../../src/index.js';
import { tempDir } from '../../helpers.js';

const train = loadEmbeddedMnist('train');
const test = loadEmbeddedMnist('test');

function indexTensor(values: ArrayLike<number>): Tensor {
  return tensor(BigInt64Array.from(Array.from(values), (v) => BigInt(v)));
}

/** A split built the way the benchmarks built every split before building per batch: all rows at once, then transformed and normalised. */
function wholeSplit(raw: typeof train, ids: Int32Array, transform: (x: Tensor) => Tensor): Tensor {
  return tidy(() => {
    const images = tensor(raw.images, { shape: raw.shape });
    const pixels = images.indexSelect(0, indexTensor(ids)).to('float32');
    const shape = [1, 1, 1, 1];
    return transform(pixels).mul_(tensor(Float32Array.of(1 / (255 * 0.3081)), { shape })).sub_(tensor(Float32Array.of(0.1307 / 0.3081), { shape }));
  });
}

/** Every batch of `data` (in a shuffled order) holds exactly the rows of `expected` it names, and `x` is `expected`. */
function assertSameRows(data: TensorDataset, expected: Tensor): void {
  assert.equal(data.size, expected.shape[0]);
  let seen = 0;
  tidy(() => {
    for (const batch of batches(data, 37, { shuffle: true, seed: 5 })) {
      assert.ok(data.rows !== undefined);
      seen += batch.x.shape[0]!;
    }
    const order = Int32Array.from({ length: data.size }, (_, i) => (i * 7919) % data.size);
    const index = indexTensor(order);
    const rows = data.rows!(index);
    assert.ok(rows.x.equal(expected.indexSelect(0, index)), 'rows() differ from the whole split');
    assert.ok(rows.y.equal(data.y.indexSelect(0, index)));
    assert.ok(data.x.equal(expected), 'x differs from the whole split');
  });
  assert.equal(seen, data.size);
}

describe('task datasets built per batch', () => {
  const made: ImageBenchmark[] = [];
  after(() => made.forEach((b) => b.dispose()));

  it('permuted: every batch and the whole x equal the split built at once, bit for bit', () => {
    const b = new PermutedBenchmark({ numTasks: 3, seed: 2, trainLimit: 300 });
    made.push(b);
    for (const task of [1, 3]) {
      const ids = b.taskIndices(task);
      const perm = b.permutation(task);
      const splits = b.task(task);
      tidy(() => {
        assertSameRows(splits.train, wholeSplit(train, ids.train, (x) => permutePixels(x, perm)));
        assertSameRows(splits.test, wholeSplit(test, ids.test, (x) => permutePixels(x, perm)));
      });
    }
  });

  it('rotated: every batch and the whole x equal the split built at once, bit for bit', () => {
    const b = new RotatedBenchmark({ numTasks: 3, seed: 2, trainLimit: 200, angles: [0, 35, 90] });
    made.push(b);
    for (const task of [1, 2, 3]) {
      const ids = b.taskIndices(task);
      const angle = b.angle(task);
      const rotate = (x: Tensor): Tensor => (angle === 0 ? x : rotateImages(x, angle));
      tidy(() => {
        assertSameRows(b.task(task).train, wholeSplit(train, ids.train, rotate));
        assertSameRows(b.task(task).val, wholeSplit(train, ids.val, rotate));
      });
    }
  });

  it('split: every batch and the whole x equal the split built at once, with local labels', () => {
    const b = new SplitBenchmark({ numTasks: 5, seed: 2 });
    made.push(b);
    const ids = b.taskIndices(4);
    const splits = b.task(4);
    tidy(() => {
      assertSameRows(splits.train, wholeSplit(train, ids.train, (x) => x));
      assertSameRows(splits.test, wholeSplit(test, ids.test, (x) => x));
    });
    assert.deepEqual(Array.from(splits.test.y.toTypedArray(), Number), Array.from(ids.test, (i) => test.labels[i]! - 6));
  });

  it('a task holds no float inputs until x is read; releaseInputs and release free what it built', () => {
    const split = new SplitBenchmark({ numTasks: 5, seed: 2 });
    made.push(split);
    split.normalization; // loads the dataset: its bytes stay for the benchmark's life
    const loaded = liveTensorCount();
    const splits = split.task(2);
    // Indices and labels of three splits.
    assert.equal(liveTensorCount(), loaded + 6);
    const x = splits.train.x;
    assert.equal(liveTensorCount(), loaded + 7);
    split.releaseInputs(2);
    assert.equal(x.isDisposed, true);
    assert.equal(liveTensorCount(), loaded + 6);
    // Read again, x is built again, with the values every batch gets.
    tidy(() => assert.ok(splits.train.x.equal(splits.train.rows!(indexTensor(Int32Array.from({ length: splits.train.size }, (_, i) => i))).x)));
    split.release(2);
    assert.equal(liveTensorCount(), loaded);
    assert.throws(() => splits.train.rows!(indexTensor([0])), /released/);

    // Permuted tasks share their examples and labels: each further task holds only its permutation.
    const permuted = new PermutedBenchmark({ numTasks: 4, seed: 2, trainLimit: 100 });
    made.push(permuted);
    permuted.task(1);
    const one = liveTensorCount();
    permuted.task(2);
    permuted.task(3);
    assert.equal(liveTensorCount(), one + 2);
    permuted.release(3);
    permuted.release(2);
    assert.equal(liveTensorCount(), one);
    assert.ok(permuted.task(2).test.size > 0);
  });
});

describe('a long run', () => {
  it('keeps no more native tensors per task than its head and its permutation (30 permuted tasks)', () => {
    const config = experimentSchema.parse({
      seed: 3,
      paradigm: 'til',
      benchmark: { name: 'permuted', numTasks: 30, trainLimit: 20 },
      backbone: { name: 'mlp', hiddenSizes: [8] },
      training: { epochs: 1, batchSize: 10, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } },
      algorithms: [{ name: 'finetuning' }],
      output: { dir: tempDir('long-run-') },
    });
    const counts: number[] = [];
    runExperiment({ config, runDir: join(config.output.dir, 'run'), onTaskEnd: () => counts.push(liveTensorCount()) });
    assert.equal(counts.length, 30);
    // What a task keeps for the rest of the run: its TIL head (weight and
    // bias) and its permutation, nothing else (its examples and labels are
    // shared with every task, its inputs built per batch).
    // (The count can also fall: a tensor made outside any scope is freed
    // when the garbage collector runs, whenever that is.)
    const added = counts.slice(5).map((c, i) => c - counts[4 + i]!);
    assert.ok(added.every((n) => n <= 3), `tensors added by tasks 6..30: ${added.join(', ')}`);
    assert.ok(counts[29]! - counts[4]! <= 25 * 3, `${counts[29]! - counts[4]!} tensors more after task 30 than after task 5`);
  });
});
