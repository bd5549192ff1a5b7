// The trainer end to end on the bundled MNIST digits: forgetting shows,
// runs are reproducible, hooks run in order and combine, schedulers step,
// CIL offsets labels, and a non-finite loss stops the run keeping results.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../src/config/experiment.js';
import type { Algorithm, StepContext, TaskContext } from '../../src/continual/algorithms/index.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import { NonFiniteLossError } from '../../src/continual/training/trainer.js';
import { full } from '../../src/index.js';
import { tempDir } from '../helpers.js';

const tmp = (): string => tempDir('run-');
const small = ['benchmark.numTasks=2', 'benchmark.trainLimit=256', 'backbone.hiddenSizes=[32]', 'training.epochs=1', 'training.batchSize=64'];

describe('trainer', () => {
  it('Finetuning on Permuted MNIST forgets: a_{1,1} is clearly above a_{T,1}', () => {
    const config = loadExperiment(undefined, [
      'benchmark.numTasks=4', 'backbone.hiddenSizes=[100,100]', 'training.epochs=3', 'training.optimizer.lr=0.05', 'training.optimizer.momentum=0.9',
    ]);
    const { accuracy, summary } = runExperiment({ config, runDir: join(tmp(), 'run') });
    const first = accuracy[0]![0]!;
    const last = accuracy[3]![0]!;
    assert.ok(first > 0.85, `task 1 is learned (a_{1,1} = ${first})`);
    assert.ok(first - last > 0.1, `task 1 is forgotten (a_{1,1} = ${first}, a_{4,1} = ${last})`);
    assert.ok(summary.bwt! < -0.05, `BWT ${summary.bwt} is clearly negative`);
    for (let t = 0; t < 4; t++) assert.ok(accuracy[t]![t]! > 0.8, `each new task is learned (a_{${t + 1},${t + 1}} = ${accuracy[t]![t]})`);
  });

  it('the same config and seed give identical accuracy and loss matrices; another seed does not', () => {
    const run = (seed: number) => runExperiment({ config: loadExperiment(undefined, [...small, `seed=${seed}`]), runDir: join(tmp(), 'run') });
    const a = run(3);
    const b = run(3);
    const c = run(4);
    assert.deepEqual(a.accuracy, b.accuracy);
    assert.deepEqual(a.loss, b.loss);
    assert.notDeepEqual(a.loss, c.loss);
  });

  it('calls every hook of several plugins in lifecycle order, with gradients present after backward', () => {
    const events: string[] = [];
    const recorder = (name: string): Algorithm => ({
      name,
      onTaskStart: (ctx: TaskContext) => events.push(`${name}:start:${ctx.task}`),
      trainingLoss: (ctx: StepContext) => {
        if (ctx.epoch === 1 && ctx.step === 0) events.push(`${name}:loss:${ctx.task}`);
        return null;
      },
      afterBackward: (ctx: StepContext) => {
        if (ctx.step !== 0) return;
        const grads = ctx.model.parameters().map((p) => p.grad);
        events.push(`${name}:backward:${ctx.task}:${grads.some((g) => g !== null) ? 'grads' : 'no grads'}`);
        for (const g of grads) g?.dispose();
      },
      onBatchEnd: (ctx: StepContext) => {
        if (ctx.step === 0) events.push(`${name}:batchEnd:${ctx.task}:${ctx.output.activations.size}`);
      },
      onTaskEnd: (ctx: TaskContext) => events.push(`${name}:end:${ctx.task}`),
    });
    runExperiment({ config: loadExperiment(undefined, small), runDir: join(tmp(), 'run'), plugins: [recorder('a'), recorder('b')] });
    const task = (t: number) => [
      `a:start:${t}`, `b:start:${t}`, `a:loss:${t}`, `b:loss:${t}`, `a:backward:${t}:grads`, `b:backward:${t}:grads`,
      `a:batchEnd:${t}:1`, `b:batchEnd:${t}:1`, `a:end:${t}`, `b:end:${t}`,
    ];
    assert.deepEqual(events, [...task(1), ...task(2)]);
  });

  it('adds a plugin loss term to the training loss (a large weight penalty shrinks the weights)', () => {
    const norms: number[] = [];
    for (const penalty of [0, 10]) {
      const plugin: Algorithm = {
        name: 'shrink',
        trainingLoss: (ctx) => (penalty === 0 ? null : ctx.model.backbone.layer('fc1').weight.square().sum().mul(penalty)),
        onTaskEnd: (ctx) => norms.push(ctx.model.backbone.layer('fc1').weight.norm().item()),
      };
      runExperiment({ config: loadExperiment(undefined, small), runDir: join(tmp(), 'run'), plugins: [plugin] });
    }
    assert.ok(norms[2]! < norms[0]! / 2, `penalised weight norm ${norms[2]} vs ${norms[0]}`);
  });

  it('steps the learning-rate scheduler every epoch, with a fresh optimizer and scheduler per task', () => {
    const lrs: number[][] = [[], []];
    runExperiment({
      config: loadExperiment(undefined, [...small, 'training.epochs=3', 'training.optimizer.lr=0.1', 'training.scheduler={name: step, stepSize: 1, gamma: 0.5}']),
      runDir: join(tmp(), 'run'),
      observer: { epochEnd: (task, _epoch, s) => lrs[task - 1]!.push(s.lr) },
    });
    assert.deepEqual(lrs, [[0.1, 0.05, 0.025], [0.1, 0.05, 0.025]]);
  });

  it('class-incremental: logits cover every class seen so far and targets are offset', () => {
    const seen: string[] = [];
    runExperiment({
      config: loadExperiment(undefined, [...small, 'paradigm=cil']),
      runDir: join(tmp(), 'run'),
      plugins: [{
        name: 'probe',
        trainingLoss: (ctx) => {
          if (ctx.step === 0) seen.push(`${ctx.task}:${ctx.logits.shape[1]}:${ctx.targets.min().item()}-${ctx.targets.max().item()}`);
          return null;
        },
      }],
    });
    assert.deepEqual(seen, ['1:10:0-9', '2:20:10-19']);
  });

  it('stops on a non-finite loss, naming task, epoch and step, and keeps the results written so far', () => {
    const runDir = join(tmp(), 'run');
    const poison: Algorithm = { name: 'poison', trainingLoss: (ctx) => (ctx.task === 2 && ctx.step === 2 ? full([], NaN) : null) };
    assert.throws(
      () => runExperiment({ config: loadExperiment(undefined, small), runDir, plugins: [poison] }),
      (e: Error) => e instanceof NonFiniteLossError && /the training loss became NaN at task 2, epoch 1, step 2/.test(e.message),
    );
    const csv = readFileSync(join(runDir, 'acc.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 2, 'the header and the row of task 1');
    assert.match(csv[1]!, /^1,/);
    assert.ok(existsSync(join(runDir, 'checkpoints', 'task_1.safetensors')));
    assert.ok(!existsSync(join(runDir, 'checkpoints', 'task_2.safetensors')));
    assert.match(readFileSync(join(runDir, 'run.log'), 'utf8'), /ERROR .*NaN at task 2/);
  });
});
