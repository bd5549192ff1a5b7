// Reservoir replay: uniform inclusion of the reservoir, what the buffer
// stores per paradigm, and RWalk with replay in one class-incremental
// experiment, including a resumed run that reproduces an uninterrupted one.
import { instantiate, replayDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { Reservoir } from '../../../src/continual/algorithms/replay.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { Rng } from '../../../src/continual/benchmarks/rng.js';
import { tempDir } from '../../helpers.js';

const tmp = (): string => join(tempDir('replay-'), 'run');
const cil = [
  'paradigm=cil', 'benchmark.name=split', 'benchmark.numTasks=3', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]', 'benchmark.trainLimit=96',
  'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false',
  'algorithms=[{name: rwalk, deltaT: 3}, {name: replay, capacity: 40, batchSize: 8}]',
];

describe('Replay', () => {
  it('keeps every item of a stream with probability capacity / n (reservoir sampling)', () => {
    const capacity = 10;
    const n = 50;
    const trials = 4000;
    const counts = new Array<number>(n).fill(0);
    const rng = new Rng(7);
    for (let trial = 0; trial < trials; trial++) {
      const reservoir = new Reservoir(capacity, rng);
      const slots = new Array<number>(capacity).fill(-1);
      for (let item = 0; item < n; item++) {
        const slot = reservoir.offer();
        if (slot >= 0) slots[slot] = item;
      }
      assert.equal(reservoir.size, capacity);
      assert.equal(new Set(slots).size, capacity, 'distinct items fill every slot');
      for (const item of slots) counts[item]!++;
    }
    const p = capacity / n;
    const sd = Math.sqrt(trials * p * (1 - p));
    for (let item = 0; item < n; item++) {
      assert.ok(Math.abs(counts[item]! - trials * p) < 5 * sd, `item ${item} kept ${counts[item]} times, expected ${trials * p} ± ${(5 * sd).toFixed(0)}`);
    }
    // Early and late items alike: the first and last fifths have the same mean inclusion.
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean(counts.slice(0, 10)) - mean(counts.slice(40))) < 2 * sd);
    const draw = new Reservoir(5, new Rng(1));
    for (let i = 0; i < 3; i++) draw.offer();
    assert.deepEqual([...draw.draw(10)].sort(), [0, 1, 2], 'draws are distinct filled slots');
  });

  it('validates its options', () => {
    assert.throws(() => instantiate(replayDefinition, { capacity: 0 }), /capacity: expected an integer >= 1, got 0/);
    assert.throws(() => instantiate(replayDefinition, { batchSize: 1.5 }), /batchSize: expected an integer >= 1, got 1.5/);
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: replay}]']).algorithms, [{ name: 'replay', capacity: 1000, batchSize: 32, seed: 0 }]);
  });

  it('runs with RWalk in one CIL experiment, stores global targets of every task, and resumes exactly', () => {
    const replay = instantiate(replayDefinition, { capacity: 40, batchSize: 8, seed: 3 });
    const config = loadExperiment(undefined, [...cil, 'algorithms=[{name: rwalk, deltaT: 3}]']);
    try {
      const run = runExperiment({ config, runDir: tmp(), plugins: [replay] });
      assert.ok(run.accuracy.flat().every(Number.isFinite));
      const { tasks, targets } = replay.contents();
      assert.equal(tasks.length, 40);
      assert.deepEqual([...new Set(tasks)].sort(), [1, 2, 3], 'examples of every task are kept');
      tasks.forEach((t, i) => assert.ok(targets[i]! >= 2 * (t - 1) && targets[i]! < 2 * t, `target ${targets[i]} of task ${t} is a global class index`));
    } finally {
      replay.dispose();
    }
    // Both from the config: an uninterrupted run against one stopped after task 2 and resumed.
    const full = runExperiment({ config: loadExperiment(undefined, cil), runDir: tmp() });
    const dir = tmp();
    assert.throws(
      () => runExperiment({ config: loadExperiment(undefined, cil), runDir: dir, onTaskEnd: (task) => { if (task === 2) throw new Error('interrupted'); } }),
      /interrupted/,
    );
    const resumed = runExperiment({ config: loadExperiment(undefined, cil), runDir: dir, resume: true });
    assert.deepEqual(resumed.accuracy, full.accuracy);
    assert.deepEqual(resumed.loss, full.loss);
  });
});
