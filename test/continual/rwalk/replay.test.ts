// Reservoir replay: uniform inclusion of the reservoir, what the buffer
// stores per paradigm, and RWalk with replay in one class-incremental
// experiment, including a resumed run that reproduces an uninterrupted one.
import { instantiate, replayDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { MemoryBuffer } from '../../../src/continual/memory/buffer.js';
import { tensor, zeros } from '../../../src/tensor/creation.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { Rng } from '../../../src/continual/benchmarks/rng.js';
import { tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('replay-'), 'run');
const cil = [
  'paradigm=cil', 'benchmark.name=split', 'benchmark.numTasks=3', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]', 'benchmark.trainLimit=96',
  'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false',
  'algorithms=[{name: rwalk, deltaT: 3}, {name: replay, capacity: 40, batchSize: 8}]',
];

describe('Replay', () => {
  it('keeps the examples the reservoir memory would, and draws distinct stored ones', () => {
    const memory = new MemoryBuffer({ capacity: 5, policy: 'reservoir' });
    const rng = new Rng(1);
    memory.insert({ x: zeros([3, 2]), targets: tensor([4, 5, 6]), task: 1 }, rng);
    assert.deepEqual(memory.storedTargets, [4, 5, 6]);
    const drawn = memory.sample(10, rng)!;
    assert.deepEqual([...drawn.slots].sort(), [0, 1, 2], 'draws are distinct filled slots');
    for (const t of [drawn.x, drawn.targets]) t.dispose();
    memory.dispose();
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
    assertResumesBitIdentical(cil, tmp);
  });
});
