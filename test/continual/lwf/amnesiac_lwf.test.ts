// AmnesiacLwF through the real runner: it trains exactly as LwF, unlearning
// subtracts the tasks' changes, drops their perTask teachers and stops
// distilling their heads, the 'previous' teacher after unlearning is the
// model after the subtraction, the last task unlearned equals the retrain
// reference, a resumed run unlearns as an uninterrupted one, nothing leaks,
// and the configuration accepts it (and plain LwF where it keeps no task state).
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm } from '../../../src/continual/algorithms/algorithm.js';
import { amnesiacLwfDefinition } from '../../../src/continual/algorithms/amnesiac_lwf.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { distillationLoss } from '../../../src/continual/algorithms/lwf.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { liveTensorCount } from '../../../src/tensor/index.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { tempDir } from '../../helpers.js';

const tmp = (): string => join(tempDir('amnesiac-lwf-'), 'run');
const TINY = ['benchmark.trainLimit=128', 'backbone.hiddenSizes=[32]', 'training.optimizer.lr=0.05', 'training.optimizer.momentum=0.9', 'training.validateEveryEpoch=false'];

function snapshot(entries: Iterable<[string, Tensor]>): Map<string, Tensor> {
  return tidy(() => new Map([...entries].map(([n, t]) => [n, keep(t.detach().clone())] as [string, Tensor])));
}

describe('AmnesiacLwF', () => {
  it('trains exactly as LwF until a task is unlearned', () => {
    const overrides = [...TINY, 'benchmark.numTasks=3'];
    const plain = runExperiment({ config: loadExperiment(undefined, [...overrides, 'algorithms=[{name: lwf, teacher: perTask, warmupEpochs: 1}]']), runDir: tmp() });
    const amnesiac = runExperiment({ config: loadExperiment(undefined, [...overrides, 'algorithms=[{name: amnesiacLwf, teacher: perTask, warmupEpochs: 1}]']), runDir: tmp() });
    assert.deepEqual(amnesiac.accuracy, plain.accuracy);
    assert.deepEqual(amnesiac.loss, plain.loss);
  });

  it('perTask: unlearning task 2 drops its teacher and its head from the distillation; the other teachers stay', () => {
    const config = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=4', 'reference.retrain=false', 'reference.original=false']);
    config.unlearning = { requests: [{ afterTask: 3, tasks: [2] }] };
    const lwf = instantiate(amnesiacLwfDefinition, { teacher: 'perTask' });
    let checked = 0;
    let steps = 0;
    const probe: Algorithm = {
      name: 'probe',
      trainingLoss: (ctx) => {
        if (ctx.task !== 4) return null;
        steps = ctx.batchCount;
        // Heads 1 and 3 only, each against the model at the end of its task.
        const want = tidy(() => {
          const terms = [1, 3].map((j) => {
            const head = lwf.teacherOf(j)!;
            const student = ctx.model.heads.forward(ctx.output.feature, j);
            return distillationLoss(student, head.logits(ctx.x, [j])[0]!, lwf.temperature);
          });
          return terms[0]!.add(terms[1]!).item();
        });
        assert.equal(lwf.teacherOf(2), null, 'no teacher of the unlearned task');
        assert.equal(lwf.trainingLoss(ctx)!.item(), want);
        checked++;
        return null;
      },
    };
    try {
      runExperiment({ config, runDir: tmp(), plugins: [lwf, probe] });
      assert.ok(steps > 0 && checked % steps === 0, 'every step of task 4');
      assert.deepEqual(lwf.unlearned, [2]);
      assert.deepEqual(lwf.state().values['teachers'], [1, 3, 4]);
      assert.deepEqual(lwf.bookkeeping.deltas!.tasks, [1, 3, 4]);
    } finally {
      lwf.dispose();
    }
  });

  it("previous: the teacher after unlearning is the model with the unlearned change subtracted", () => {
    const config = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=3', 'backbone.batchNorm=true', 'reference.retrain=false', 'reference.original=false']);
    config.unlearning = { requests: [{ afterTask: 2, tasks: [1] }] };
    const lwf = instantiate(amnesiacLwfDefinition);
    let afterUnlearning: Map<string, Tensor> | undefined;
    let compared = 0;
    const probe: Algorithm = {
      name: 'probe',
      unlearn: (ctx) => {
        if (ctx.afterTask === 2) afterUnlearning = snapshot(ctx.model.backbone.namedParameters().concat(ctx.model.backbone.namedBuffers()));
      },
      onTaskStart: (ctx) => {
        if (ctx.task !== 3) return;
        // Task 1 is unlearned: only head 2 is distilled, by a copy of the unlearned model.
        assert.equal(lwf.teacherOf(1), null);
        const teacher = lwf.teacherOf(2)!;
        for (const [name, t] of [...teacher.backbone.namedParameters(), ...teacher.backbone.namedBuffers()]) {
          assert.ok(tidy(() => t.equal(afterUnlearning!.get(name)!)), `teacher ${name} is the unlearned model's`);
          compared++;
        }
      },
    };
    try {
      runExperiment({ config, runDir: tmp(), plugins: [lwf, probe] });
      assert.equal(compared, 7);
    } finally {
      for (const t of afterUnlearning?.values() ?? []) t.dispose();
      lwf.dispose();
    }
  });

  it('unlearning the last task trained equals the retrain reference: no accuracy gain', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=2', 'algorithms=[{name: amnesiacLwf, lambda: 2}]', 'unlearning.requests=[{afterTask: 2, tasks: [2]}]', 'reference.original=false',
    ]);
    const { accuracy, unlearning } = runExperiment({ config, runDir: tmp() });
    assert.equal(unlearning!.tasks[0]!.retrainAccuracy, accuracy[0]![0], 'the retrain reference is the run after task 1');
    assert.ok(Math.abs(unlearning!.accuracyGain!) <= 1e-3, `AG ${unlearning!.accuracyGain}`);
  });

  it('a resumed run unlearns from the records in its checkpoint and ends with the results of an uninterrupted run', () => {
    for (const teacher of ['previous', 'perTask']) {
      const config = loadExperiment(undefined, [
        ...TINY, 'benchmark.numTasks=4', `algorithms=[{name: amnesiacLwf, teacher: ${teacher}}]`,
        'unlearning.requests=[{afterTask: 2, tasks: [1]}, {afterTask: 4, tasks: [2]}]', 'reference.original=false', 'reference.retrain=false',
      ]);
      const whole = tmp();
      runExperiment({ config, runDir: whole });
      const resumed = `${whole}-resumed`;
      cpSync(whole, resumed, { recursive: true });
      for (const t of [3, 4]) rmSync(join(resumed, 'checkpoints', `task_${t}.safetensors`));
      runExperiment({ config, runDir: resumed, resume: true });
      for (const file of ['acc.csv', 'loss.csv', 'unlearning.csv']) {
        assert.equal(readFileSync(join(resumed, file), 'utf8'), readFileSync(join(whole, file), 'utf8'), `${teacher}: ${file}`);
      }
    }
  });

  it('frees every tensor it held once the run ends', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=3', 'benchmark.trainLimit=64', 'algorithms=[{name: amnesiacLwf, teacher: perTask}]',
      'unlearning.requests=[{afterTask: 3, tasks: [2]}]', 'unlearning.unlearnableAge=2', 'reference.original=false', 'reference.retrain=false',
    ]);
    const before = liveTensorCount();
    runExperiment({ config, runDir: tmp() });
    assert.equal(liveTensorCount(), before);
  });

  it("is accepted with unlearning requests; plain LwF too beside amnesiacFinetuning with 'previous' (no task state), not with 'perTask'", () => {
    const requests = ['benchmark.numTasks=2', 'unlearning.requests=[{afterTask: 2, tasks: [1]}]'];
    assert.equal(loadExperiment(undefined, [...requests, 'algorithms=[{name: amnesiacLwf}]']).algorithms[0]!.name, 'amnesiacLwf');
    loadExperiment(undefined, [...requests, 'algorithms=[{name: amnesiacFinetuning}, {name: lwf}]']);
    assert.throws(
      () => loadExperiment(undefined, [...requests, 'algorithms=[{name: amnesiacFinetuning}, {name: lwf, teacher: perTask}]']),
      /'lwf' keeps state of every task that unlearning cannot undo/,
    );
  });
});
