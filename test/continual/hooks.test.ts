// The lifecycle hooks the trainer calls (src/continual/algorithms/algorithm.ts):
// their order, and what happens when several algorithms implement the same
// hook — classificationLoss, skipsTraining, trainingSet, onEpochStart and the
// batch position that forward receives. trainTask runs on a tiny fixed
// benchmark, so that every batch can be counted and every number checked.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { OptimizerConfig, TrainingConfig } from '../../src/config/experiment.js';
import { loadExperiment } from '../../src/config/experiment.js';
import type { Algorithm, BatchPosition, StepContext } from '../../src/continual/algorithms/index.js';
import { instantiateBackbone, mlpDefinition } from '../../src/continual/backbones/index.js';
import { tensorDataset } from '../../src/continual/benchmarks/data.js';
import { evaluateTask } from '../../src/continual/training/evaluation.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import { createHeads } from '../../src/continual/model/heads.js';
import { ContinualModel } from '../../src/continual/model/model.js';
import { type TrainingObserver, trainTask } from '../../src/continual/training/trainer.js';
import type { ContinualBenchmark, TensorDataset } from '../../src/continual/contracts/types.js';
import { crossEntropy } from '../../src/nn/functional.js';
import { disposeStateDict } from '../../src/optim/optimizer.js';
import { type Tensor, grad, keep, manualSeed, noGrad, randint, randn, tidy } from '../../src/index.js';
import { assertTensorsMatch, tempDir } from '../helpers.js';

const INPUTS = 6;
const CLASSES = 2;

/** A dataset of `n` random samples (kept: the caller disposes it). */
function randomDataset(n: number): TensorDataset {
  return tensorDataset(keep(randn([n, INPUTS])), keep(randint(0, CLASSES, [n])));
}

/** `numTasks` tasks of `trainSize` random training samples and 8 test samples each. */
function tinyBenchmark(numTasks: number, trainSize: number): ContinualBenchmark {
  const tasks = Array.from({ length: numTasks }, () => ({ train: randomDataset(trainSize), val: randomDataset(0), test: randomDataset(8) }));
  return {
    name: 'tiny',
    numTasks,
    inputShape: [INPUTS],
    numClasses: () => CLASSES,
    classOffset: (task) => (task - 1) * CLASSES,
    task: (task) => tasks[task - 1]!,
    dispose: () => tasks.forEach((s) => [s.train, s.val, s.test].forEach((d) => [d.x, d.y].forEach((t) => t.dispose()))),
  };
}

function tinyModel(batchNorm = false): ContinualModel {
  return new ContinualModel(instantiateBackbone(mlpDefinition, [INPUTS], { hiddenSizes: [5], batchNorm }), createHeads('til', 5));
}

function training(epochs: number, batchSize: number, optimizer: OptimizerConfig = { name: 'sgd', lr: 0.1 }): TrainingConfig {
  return { epochs, batchSize, evalBatchSize: 64, optimizer, scheduler: { name: 'none' }, validateEveryEpoch: false };
}

/** Trains task `task` of `benchmark` and frees the optimizer state it returns (unless asked for). */
function train(task: number, model: ContinualModel, benchmark: ContinualBenchmark, algorithms: readonly Algorithm[], config: TrainingConfig, observer?: TrainingObserver): number {
  const result = trainTask(task, { model, benchmark, paradigm: 'til', algorithms, training: config, seed: 7, globalStep: 0, ...(observer === undefined ? {} : { observer }) });
  const entries = Object.keys(result.optimizerState.state).length;
  disposeStateDict(result.optimizerState);
  return entries;
}

function snapshot(model: ContinualModel): Map<string, Tensor> {
  return tidy(() => new Map(Object.entries(model.stateDict()).map(([k, t]) => [k, keep(t.clone())] as [string, Tensor])));
}

function free(state: Map<string, Tensor>): void {
  for (const t of state.values()) t.dispose();
}

/** An algorithm that records every hook call as `name:hook[:detail]` and returns what `answers` says. */
function recorder(name: string, events: string[], answers: Partial<Pick<Algorithm, 'skipsTraining' | 'trainingSet' | 'classificationLoss' | 'forward'>> = {}): Algorithm {
  const first = (ctx: { epoch: number; step: number }): boolean => ctx.epoch === 1 && ctx.step === 0;
  return {
    name,
    onTaskStart: (ctx) => events.push(`${name}:onTaskStart:${ctx.task}`),
    skipsTraining: (task) => {
      events.push(`${name}:skipsTraining:${task}`);
      return answers.skipsTraining?.(task) ?? false;
    },
    trainingSet: (ctx) => {
      events.push(`${name}:trainingSet`);
      return answers.trainingSet?.(ctx) ?? null;
    },
    onEpochStart: (_ctx, epoch) => events.push(`${name}:onEpochStart:${epoch}`),
    forward: (model, x, task, batch) => {
      if (batch?.index === 0) events.push(`${name}:forward`);
      return answers.forward?.(model, x, task, batch) ?? null;
    },
    classificationLoss: (ctx) => {
      if (first(ctx)) events.push(`${name}:classificationLoss`);
      return answers.classificationLoss?.(ctx) ?? null;
    },
    trainingLoss: (ctx) => {
      if (first(ctx)) events.push(`${name}:trainingLoss`);
      return null;
    },
    afterBackward: (ctx) => {
      if (first(ctx)) events.push(`${name}:afterBackward`);
    },
    onBatchEnd: (ctx) => {
      if (first(ctx)) events.push(`${name}:onBatchEnd`);
    },
    onTaskEnd: (ctx) => events.push(`${name}:onTaskEnd:${ctx.task}`),
  };
}

describe('lifecycle hooks', () => {
  it('are called in the documented order, each algorithm in the configured order', () => {
    manualSeed(1);
    const benchmark = tinyBenchmark(1, 8);
    const model = tinyModel();
    const events: string[] = [];
    try {
      train(1, model, benchmark, [recorder('a', events), recorder('b', events)], training(2, 4));
    } finally {
      model.dispose();
      benchmark.dispose();
    }
    const both = (hook: string): string[] => [`a:${hook}`, `b:${hook}`];
    const firstBatch = [...both('forward'), ...both('classificationLoss'), ...both('trainingLoss'), ...both('afterBackward'), ...both('onBatchEnd')];
    assert.deepEqual(events, [
      ...both('onTaskStart:1'), ...both('skipsTraining:1'), ...both('trainingSet'),
      ...both('onEpochStart:1'), ...firstBatch,
      ...both('onEpochStart:2'), ...both('forward'),
      ...both('onTaskEnd:1'),
    ]);
  });

  it('classificationLoss: the first algorithm that returns one wins; it is what later hooks see, what is optimized and what is logged', () => {
    manualSeed(2);
    const benchmark = tinyBenchmark(1, 4);
    const model = tinyModel();
    const events: string[] = [];
    const replacement = (ctx: StepContext | Parameters<NonNullable<Algorithm['classificationLoss']>>[0]): Tensor => ctx.logits.square().mean().mul(3);
    let chosen = NaN;
    let seenByLaterHooks = NaN;
    const logged: number[] = [];
    const first = recorder('first', events, {
      classificationLoss: (ctx) => {
        const loss = replacement(ctx);
        chosen = loss.item();
        return loss;
      },
    });
    const second = recorder('second', events, { classificationLoss: (ctx) => crossEntropy(ctx.logits, ctx.targets).mul(100) });
    const reader: Algorithm = { name: 'reader', trainingLoss: (ctx) => ((seenByLaterHooks = ctx.classificationLoss.item()), null) };
    try {
      // One batch of the whole training set: the step is θ − lr ∇(replacement) at the initial θ.
      const data = benchmark.task(1).train;
      model.heads.setupTask(1, CLASSES);
      const expected = tidy(() => {
        const params = model.parameters();
        model.train();
        const loss = replacement({ logits: model.forward(data.x, 1).logits } as StepContext);
        const grads = grad(loss, params);
        return noGrad(() => params.map((p, i) => keep(p.sub(grads[i]!.mul(0.1)))));
      });
      train(1, model, benchmark, [first, second, reader], training(1, 4), { batchEnd: (_task, _epoch, _step, loss) => logged.push(loss) });
      assert.ok(!events.includes('second:classificationLoss'), 'the second algorithm is not asked once the first has answered');
      assert.deepEqual(logged, [chosen], 'the logged loss is the replacement');
      assert.equal(seenByLaterHooks, chosen, 'ctx.classificationLoss is the replacement');
      model.parameters().forEach((p, i) => assertTensorsMatch(p, expected[i]!, `parameter ${i} stepped along the replacement's gradient`, { rtol: 1e-5, atol: 1e-7 }));
      expected.forEach((t) => t.dispose());
    } finally {
      model.dispose();
      benchmark.dispose();
    }
  });

  it('skipsTraining: parameters, BatchNorm statistics and the optimizer do not move, even with weight decay and momentum; onTaskStart and onTaskEnd still run', () => {
    manualSeed(3);
    const optimizer: OptimizerConfig = { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.1 };
    for (const skip of [false, true]) {
      const benchmark = tinyBenchmark(1, 10);
      const model = tinyModel(true);
      const events: string[] = [];
      const observed: string[] = [];
      // Only the second algorithm asks to skip: any one that says so skips the task for all.
      const algorithms = [recorder('a', events), recorder('b', events, { skipsTraining: () => skip })];
      try {
        model.heads.setupTask(1, CLASSES);
        const before = snapshot(model);
        const optimizerEntries = train(1, model, benchmark, algorithms, training(2, 4, optimizer), { epochStart: (t, e) => observed.push(`epochStart:${t}:${e}`) });
        const after = snapshot(model);
        const moved = [...before].filter(([name, t]) => tidy(() => !t.equal(after.get(name)!))).map(([name]) => name);
        if (skip) {
          assert.deepEqual(moved, [], 'nothing moved');
          assert.equal(optimizerEntries, 0, 'the optimizer took no step (no momentum buffer)');
          assert.equal(model.training, false, 'the model stays in eval mode');
          assert.deepEqual(events, ['a:onTaskStart:1', 'b:onTaskStart:1', 'a:skipsTraining:1', 'b:skipsTraining:1', 'a:onTaskEnd:1', 'b:onTaskEnd:1']);
          assert.deepEqual(observed, [], 'no epoch is run');
        } else {
          // The same setting trained: weights, BatchNorm statistics and its batch counter move, momentum buffers exist.
          for (const name of ['backbone.fc1.weight', 'backbone.bn1.runningMean', 'backbone.bn1.runningVar', 'backbone.bn1.numBatchesTracked', 'heads.heads.0.bias']) {
            assert.ok(moved.includes(name), `${name} moves when the task is trained (moved: ${moved.join(', ')})`);
          }
          assert.ok(optimizerEntries > 0);
        }
        free(before);
        free(after);
      } finally {
        model.dispose();
        benchmark.dispose();
      }
    }
  });

  it('skipsTraining in a run: the skipped task is still tested, and the model scores on earlier tasks as before it', () => {
    const skipper: Algorithm = { name: 'skipper', skipsTraining: (task) => task === 2 };
    const config = loadExperiment(undefined, ['benchmark.numTasks=2', 'benchmark.trainLimit=128', 'backbone.hiddenSizes=[16]', 'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9, weightDecay: 0.01}']);
    const { accuracy } = runExperiment({ config, runDir: join(tempDir('hooks-'), 'run'), plugins: [skipper] });
    assert.equal(accuracy[1]!.length, 2, 'task 2 was tested');
    assert.equal(accuracy[1]![0], accuracy[0]![0], 'task 1 scores exactly as before the skipped task');
  });

  it('trainingSet: the epochs iterate the set the first answering algorithm chooses; batchCount follows its size', () => {
    manualSeed(4);
    const benchmark = tinyBenchmark(1, 4);
    const model = tinyModel();
    const chosen = randomDataset(10);
    const ignored = randomDataset(6);
    const events: string[] = [];
    const seen: { epoch: number; samples: number; sum: number; batchCount: number }[] = [];
    const counts: number[] = [];
    const counter: Algorithm = {
      name: 'counter',
      onBatchEnd: (ctx) => {
        const last = seen[seen.length - 1];
        const row = last?.epoch === ctx.epoch ? last : { epoch: ctx.epoch, samples: 0, sum: 0, batchCount: ctx.batchCount };
        if (row !== last) seen.push(row);
        row.samples += ctx.x.shape[0]!;
        row.sum += ctx.x.sum().item();
      },
    };
    try {
      const algorithms = [recorder('none', events), recorder('chooser', events, { trainingSet: () => chosen }), recorder('late', events, { trainingSet: () => ignored }), counter];
      train(1, model, benchmark, algorithms, training(2, 4), { epochStart: (_task, _epoch, total) => counts.push(total) });
      assert.ok(!events.includes('late:trainingSet'), 'the algorithm after the chooser is not asked');
      const sum = tidy(() => chosen.x.sum().item());
      assert.equal(seen.length, 2);
      for (const row of seen) {
        assert.equal(row.samples, 10, `epoch ${row.epoch}: every sample of the chosen set once`);
        assert.ok(Math.abs(row.sum - sum) < 1e-4, `epoch ${row.epoch}: the chosen set's samples (sum ${row.sum} vs ${sum})`);
        assert.equal(row.batchCount, 3, 'ceil(10 / 4) batches');
      }
      assert.deepEqual(counts, [3, 3], "the observer's batch count");
    } finally {
      [chosen, ignored].forEach((d) => [d.x, d.y].forEach((t) => t.dispose()));
      model.dispose();
      benchmark.dispose();
    }
  });

  it('onEpochStart: once per epoch, before the epoch\'s first batch, with the epoch from 1', () => {
    manualSeed(5);
    const benchmark = tinyBenchmark(1, 6);
    const model = tinyModel();
    const events: string[] = [];
    const marker: Algorithm = {
      name: 'marker',
      onEpochStart: (_ctx, epoch) => events.push(`epoch ${epoch}`),
      onBatchEnd: (ctx) => events.push(`batch ${ctx.epoch}.${ctx.step}`),
    };
    try {
      train(1, model, benchmark, [marker], training(3, 4));
    } finally {
      model.dispose();
      benchmark.dispose();
    }
    assert.deepEqual(events, ['epoch 1', 'batch 1.0', 'batch 1.1', 'epoch 2', 'batch 2.0', 'batch 2.1', 'epoch 3', 'batch 3.0', 'batch 3.1']);
  });

  it('forward: training batches get their index 0..count−1 and count = ceil(size / batchSize); testing gets no position; the first algorithm that answers wins', () => {
    manualSeed(6);
    const benchmark = tinyBenchmark(1, 11);
    const model = tinyModel();
    const positions: (BatchPosition | undefined)[] = [];
    const events: string[] = [];
    const observer: Algorithm = { name: 'observer', forward: (_model, _x, _task, batch) => (positions.push(batch), null) };
    const answering = recorder('answering', events, { forward: (m, x, task) => m.forward(x, task) });
    const late = recorder('late', events, { forward: () => assert.fail('a later algorithm is asked after one answered') });
    try {
      train(1, model, benchmark, [observer, answering, late], training(2, 4));
      const trained = positions.splice(0);
      assert.deepEqual(trained, [0, 1, 2, 0, 1, 2].map((index) => ({ index, count: 3 })));
      assert.deepEqual(events.filter((e) => e.endsWith('forward')), ['answering:forward', 'answering:forward']);
      evaluateTask(model, [observer], benchmark.task(1).test, 1, 4);
      assert.deepEqual(positions, [undefined, undefined], 'two test batches, no position');
    } finally {
      model.dispose();
      benchmark.dispose();
    }
  });
});
