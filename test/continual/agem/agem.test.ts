// A-GEM in runs: options, the memory per paradigm (bounded by its capacity,
// examples of finished tasks only, targets in the paradigm's label space),
// the reference batch's size, the gradient it leaves on task 1, and a run
// killed after task 2 and resumed that ends bit-identical. Each anchor
// defect of algorithms-next.md section 17 has its named test.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { type AGEM, agemDefinition } from '../../../src/continual/algorithms/agem.js';
import type { Algorithm, StepContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('agem-'), 'run');
const common = ['benchmark.numTasks=3', 'benchmark.trainLimit=96', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16', 'training.validateEveryEpoch=false', 'training.optimizer={name: sgd, lr: 0.1}'];
const overrides: Record<Paradigm, string[]> = {
  til: ['paradigm=til', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'],
  cil: ['paradigm=cil', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'],
  dil: ['paradigm=dil', 'benchmark.name=permuted'],
};

/** Records, at each step, the tasks in the memory and the size of the reference batch A-GEM would draw. */
class Probe implements Algorithm {
  readonly name = 'probe';
  readonly memoryTasks: number[][][] = [[], [], [], []];
  constructor(private readonly agem: AGEM) {}
  onBatchEnd(ctx: StepContext): void {
    this.memoryTasks[ctx.task]!.push([...new Set(this.agem.memory.storedTasks)].sort());
  }
}

function runWith(paradigm: Paradigm, options: Record<string, unknown>): { agem: AGEM; probe: Probe; accuracy: number[][] } {
  const agem = instantiate(agemDefinition, options);
  const probe = new Probe(agem);
  const config = loadExperiment(undefined, [...overrides[paradigm], ...common, 'algorithms=[{name: finetuning}]']);
  const { accuracy } = runExperiment({ config, runDir: tmp(), plugins: [agem, probe] });
  return { agem, probe, accuracy };
}

describe('A-GEM', () => {
  it('validates its options and fills their defaults', () => {
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: agem}]']).algorithms, [{ name: 'agem', capacity: 1000, batchSize: 256, policy: 'reservoir', seed: 0 }]);
    assert.throws(() => instantiate(agemDefinition, { capacity: 0 }), /capacity: expected an integer >= 1, got 0/);
    assert.throws(() => instantiate(agemDefinition, { batchSize: 2.5 }), /batchSize: expected an integer >= 1, got 2.5/);
    assert.throws(() => instantiate(agemDefinition, { policy: 'greedy' }), /policy/);
    assert.deepEqual(agemDefinition.paradigms, ['til', 'cil', 'dil']);
  });

  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm}: while task t trains the memory holds tasks before t only; after 3 tasks it holds ${40} examples of every task with targets in the ${paradigm} label space`, () => {
      const { agem, probe, accuracy } = runWith(paradigm, { capacity: 40, batchSize: 8, seed: 1 });
      try {
        assert.ok(accuracy.flat().every(Number.isFinite));
        for (let task = 1; task <= 3; task++) {
          assert.equal(probe.memoryTasks[task]!.length, 6, `task ${task}: 96 / 16 steps`);
          for (const tasks of probe.memoryTasks[task]!) assert.deepEqual(tasks, Array.from({ length: task - 1 }, (_, i) => i + 1), `task ${task} trains against tasks 1..${task - 1}`);
        }
        assert.equal(agem.memory.size, 40);
        const tasks = agem.memory.storedTasks;
        const targets = agem.memory.storedTargets;
        assert.deepEqual([...new Set(tasks)].sort(), [1, 2, 3]);
        tasks.forEach((t, i) => {
          const [lo, hi] = paradigm === 'cil' ? [2 * (t - 1), 2 * t] : paradigm === 'til' ? [0, 2] : [0, 10];
          assert.ok(targets[i]! >= lo && targets[i]! < hi, `target ${targets[i]} of task ${t}`);
        });
        assert.ok(agem.projected > 0 && agem.projected <= agem.referenced && agem.referenced === 6, `task 3: ${agem.projected} of ${agem.referenced} steps projected`);
      } finally {
        agem.dispose();
      }
    });
  }

  it("draws the full configured reference batch from every stored task (Avalanche's sample_size // n_experiences rounds it down)", () => {
    const { agem } = runWith('cil', { capacity: 40, batchSize: 10, seed: 2 });
    try {
      // Three tasks in memory: Avalanche would draw 10 // 3 = 3 from each, 9 in all.
      const reference = agem.drawReference()!;
      assert.equal(reference.slots.length, 10);
      assert.equal(new Set(reference.slots).size, 10, 'without replacement');
      for (const t of [reference.x, reference.targets]) t.dispose();
      const small = instantiate(agemDefinition, { capacity: 40, batchSize: 256 });
      assert.equal(small.drawReference(), null, 'nothing to draw before the first task ends');
      small.dispose();
    } finally {
      agem.dispose();
    }
  });

  it("holds `capacity` examples, bounded whatever the number of tasks (Mammoth's memory holds one training batch per task)", () => {
    // Mammoth: batch 16 × 3 tasks = 48 examples whatever buffer_size; ours fills its 40 slots and stays there.
    const { agem } = runWith('til', { capacity: 40, batchSize: 8 });
    const larger = runWith('til', { capacity: 100, batchSize: 8 }).agem;
    try {
      assert.equal(agem.memory.size, 40);
      assert.equal(larger.memory.size, 100, 'a larger capacity keeps more than a batch per task');
      assert.equal(larger.memory.seen, 3 * 96, 'every training example was offered');
    } finally {
      agem.dispose();
      larger.dispose();
    }
  });

  it('a run stopped after task 2 and resumed from its checkpoint ends bit-identical to an uninterrupted one', () => {
    assertResumesBitIdentical([...overrides.cil, ...common, 'algorithms=[{name: agem, capacity: 30, batchSize: 8, seed: 4}]'], tmp);
  });
});
