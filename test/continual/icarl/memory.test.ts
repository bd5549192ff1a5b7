// What iCaRL added to the shared machinery: MemoryBuffer.append (rows in the
// next free slots, no policy) and retain (keep given slots, in that order),
// and a training set whose labels are the targets already (labels:
// 'targets'), which the trainer uses without mapping them through the heads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Algorithm, BatchContext, TrainingSet } from '../../../src/continual/algorithms/algorithm.js';
import { tensorDataset } from '../../../src/continual/benchmarks/data.js';
import { MemoryBuffer } from '../../../src/continual/memory/buffer.js';
import { tensor } from '../../../src/tensor/creation.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import { fixtureBenchmark, fixtureModel, train } from './tiny.js';

/** Rows i of a [n, 2] input hold (i, 10 i), so that their order can be read back. */
function rows(values: number[]): ReturnType<typeof tensor> {
  return tensor(values.map((v) => [v, 10 * v]));
}

describe('MemoryBuffer.append and retain', () => {
  it('append writes rows to the next free slots in order and refuses what does not fit', () => {
    const memory = new MemoryBuffer({ capacity: 5, policy: 'reservoir' });
    tidy(() => {
      memory.append({ x: rows([1, 2]), targets: tensor([7, 7]), task: 1 });
      memory.append({ x: rows([3, 4, 5]), targets: tensor([8, 8, 9]), task: 2 });
      assert.deepEqual(memory.storedTargets, [7, 7, 8, 8, 9]);
      assert.deepEqual(memory.storedTasks, [1, 1, 2, 2, 2]);
      assert.equal(memory.seen, 5, 'appended rows count as offered, so a saved memory never holds more than it saw');
      assert.deepEqual(memory.gather().x.toArray(), [[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]);
      assert.throws(() => memory.append({ x: rows([6]), targets: tensor([9]), task: 2 }), /MemoryBuffer.append: 1 examples do not fit in the 0 free slots/);
    });
    memory.dispose();
  });

  it('retain keeps the listed slots, moved to the front in the listed order; deleteTask still keeps slot order', () => {
    const memory = new MemoryBuffer({ capacity: 6, policy: 'reservoir' });
    tidy(() => {
      memory.append({ x: rows([0, 1, 2, 3, 4]), targets: tensor([0, 0, 1, 1, 2]), task: 1 });
      assert.equal(memory.retain([3, 0, 4]), 2);
      assert.deepEqual(memory.storedTargets, [1, 0, 2]);
      assert.deepEqual(memory.gather().x.toArray(), [[3, 30], [0, 0], [4, 40]]);
      assert.throws(() => memory.retain([0, 0]), /slot 0 is listed twice/);
      assert.throws(() => memory.retain([3]), /slot 3 is not filled \(size 3\)/);
      memory.append({ x: rows([5, 6]), targets: tensor([3, 3]), task: 2 });
      assert.equal(memory.deleteTask(1), 3);
      assert.deepEqual(memory.gather().x.toArray(), [[5, 50], [6, 60]]);
      assert.equal(memory.retain([0, 1]), 0, 'retaining everything in order changes nothing');
    });
    memory.dispose();
  });
});

describe("trainingSet labels: 'targets'", () => {
  it('are the targets as they are (CIL task 2 is not offset), while local labels are mapped through the heads', () => {
    const benchmark = fixtureBenchmark('float64');
    const model = fixtureModel('cil', 'float64');
    const seen: number[][] = [];
    let chosen: TrainingSet | null = null;
    const probe = (labels: 'local' | 'targets' | undefined): Algorithm => ({
      name: 'probe',
      trainingSet: (ctx) => {
        chosen = tidy(() => ({ ...tensorDataset(keep(ctx.trainData.x.narrow(0, 0, 4).clone()), keep(tensor([0, 1, 3, 2]))), labels }));
        return chosen;
      },
      classificationLoss: (ctx: BatchContext) => {
        seen.push(Array.from(ctx.targets.toTypedArray(), Number).sort());
        return null;
      },
    });
    const free = () => [chosen!.x, chosen!.y].forEach((t) => t.dispose());
    try {
      train(1, model, benchmark, 'cil', [], { epochs: 1, batchSize: 4, evalBatchSize: 4, optimizer: { name: 'sgd', lr: 0 }, scheduler: { name: 'none' }, validateEveryEpoch: false });
      train(2, model, benchmark, 'cil', [probe('targets')], { epochs: 1, batchSize: 4, evalBatchSize: 4, optimizer: { name: 'sgd', lr: 0 }, scheduler: { name: 'none' }, validateEveryEpoch: false });
      free();
      // Local labels 0..1 of task 2 become 2..3; labels 3 and 2 would index past the 4 classes, so only the first two are used here.
      chosen = null;
      const local: Algorithm = { ...probe('local'), trainingSet: (ctx) => (chosen = tidy(() => ({ ...tensorDataset(keep(ctx.trainData.x.narrow(0, 0, 2).clone()), keep(tensor([0, 1]))) }))) };
      train(2, model, benchmark, 'cil', [local], { epochs: 1, batchSize: 4, evalBatchSize: 4, optimizer: { name: 'sgd', lr: 0 }, scheduler: { name: 'none' }, validateEveryEpoch: false });
      free();
      assert.deepEqual(seen, [[0, 1, 2, 3], [2, 3]]);
    } finally {
      model.dispose();
      benchmark.dispose();
    }
  });
});
