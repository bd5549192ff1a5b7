// Fix: after task 1 nothing moves. With batch norm, dropout and an SGD with
// momentum and weight decay (each of which would move something if a later
// task ran a single step or a training-mode forward), every parameter and
// buffer after tasks 2 and 3 is bit-identical to the values after task 1; the
// later TIL tasks score exactly what their untrained heads score on the
// task-1 backbone; CIL and DIL runs work the same way.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { fixDefinition } from '../../../src/continual/algorithms/fix.js';
import { evaluateTask } from '../../../src/continual/training/evaluation.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import type { Paradigm } from '../../../src/continual/contracts/types.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertTensorsMatch, tempDir } from '../../helpers.js';

const base = [
  'benchmark.numTasks=3', 'benchmark.trainLimit=200', 'backbone.hiddenSizes=[16, 16]', 'backbone.batchNorm=true', 'backbone.dropout=0.3',
  'training.epochs=2', 'training.batchSize=32', 'training.validateEveryEpoch=false',
  'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9, weightDecay: 0.01}', 'algorithms=[{name: fix}]',
];
const overrides: Record<Paradigm, string[]> = {
  til: ['paradigm=til', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'],
  cil: ['paradigm=cil', 'benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'],
  dil: ['paradigm=dil', 'benchmark.name=rotated'],
};

/** A plugin that copies every parameter and buffer at each task end, and scores each task's head as the task starts. */
class Recorder implements Algorithm {
  readonly name = 'recorder';
  readonly states: Map<string, Tensor>[] = [];
  readonly untrainedAccuracy: number[] = [];

  onTaskStart(ctx: TaskContext): void {
    const test = ctx.benchmark.task(ctx.task).test;
    this.untrainedAccuracy.push(evaluateTask(ctx.model, [], test, ctx.task, 256).accuracy);
  }

  onTaskEnd(ctx: TaskContext): void {
    const entries = [...ctx.model.namedParameters(), ...ctx.model.namedBuffers()];
    this.states.push(new Map(entries.map(([name, t]) => [name, t.detach().clone()] as [string, Tensor])));
  }

  dispose(): void {
    for (const state of this.states) for (const t of state.values()) t.dispose();
  }
}

describe('Fix', () => {
  it('is declared with no options, every paradigm, and no state to unlearn', () => {
    assert.deepEqual(fixDefinition.options.parse({}), {});
    assert.deepEqual(fixDefinition.paradigms, ['til', 'cil', 'dil']);
    assert.equal(fixDefinition.unlearning({}), 'stateless');
    const fix = fixDefinition.create({});
    assert.deepEqual([1, 2, 3, 10].map((t) => fix.skipsTraining?.(t)), [false, true, true, true]);
  });

  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm.toUpperCase()}: parameters and buffers after tasks 2 and 3 are bit-identical to those after task 1`, () => {
      const recorder = new Recorder();
      try {
        const run = runExperiment({ config: loadExperiment(undefined, [...base, ...overrides[paradigm]]), runDir: join(tempDir('fix-'), 'run'), plugins: [recorder] });
        const [first, ...later] = recorder.states;
        assert.equal(later.length, 2);
        assert.ok([...first!.keys()].some((name) => name.includes('runningMean')), 'batch-norm statistics are compared');
        for (const [i, state] of later.entries()) {
          for (const [name, t] of first!) assertTensorsMatch(state.get(name)!, t, `after task ${i + 2}: ${name}`, { rtol: 0, atol: 0 });
        }
        // Task 1 keeps its accuracy where later heads do not compete with it (CIL: they do, untrained).
        if (paradigm !== 'cil') assert.deepEqual(run.accuracy.map((row) => row[0]), [run.accuracy[0]![0], run.accuracy[0]![0], run.accuracy[0]![0]]);
        if (paradigm === 'til') {
          // Heads of tasks 2 and 3 stay at their initialisation: they score what they scored before their task.
          assert.equal(run.accuracy[1]![1], recorder.untrainedAccuracy[1]);
          assert.equal(run.accuracy[2]![2], recorder.untrainedAccuracy[2]);
          assert.ok(run.accuracy[0]![0]! > recorder.untrainedAccuracy[0]! + 0.1, 'task 1 was trained');
        }
      } finally {
        recorder.dispose();
      }
    });
  }
});
