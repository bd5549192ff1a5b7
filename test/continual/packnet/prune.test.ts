// PackNet's hooks driven by hand: the authors' pruning rule on chosen weights
// (ties at the cutoff go, the cutoff rank rounds halves to even), the
// learning-rate scale at the prune, a backbone with a bias-free layer and
// ResNet-18 (bias-free convolutions and batch norm), and the checkpointed
// state: a round trip, and hostile states refused with the key named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TaskContext, instantiate, packnetDefinition } from '../../../src/continual/algorithms/index.js';
import { type PackNet, roundHalfToEven } from '../../../src/continual/algorithms/packnet.js';
import { BackboneBase, type ParameterOverrides, activationMap, applyWeighted, registerChild } from '../../../src/continual/backbones/common.js';
import { instantiateBackbone, mlpDefinition, resnet18Definition } from '../../../src/continual/backbones/index.js';
import type { BackboneOutput, ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel, forwardWith } from '../../../src/continual/model/model.js';
import { crossEntropy } from '../../../src/nn/functional.js';
import { Linear } from '../../../src/nn/layers/linear.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { randint, randn, tensor } from '../../../src/tensor/creation.js';
import { manualSeed } from '../../../src/tensor/random.js';
import { liveTensorCount } from '../../../src/tensor/runtime.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, loadFixture } from '../../helpers.js';
import { type TinyFixture, tinyLoop } from '../tiny_loop.js';

/** A task context for driving the hooks by hand. */
function context(model: ContinualModel, task: number, optimizer: SGD, epochs = 2): TaskContext {
  const x = randn([4, 4]);
  return { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y: randint(0, 2, [4]), size: 4 }, batchSize: 4, epochs };
}

const ownerValues = (packnet: PackNet, layer: string): number[] => Array.from(packnet.ownerTensors().get(layer)!.toTypedArray() as Uint8Array);

describe('PackNet pruning', () => {
  it("rounds the cutoff rank as Python's round does (halves to even)", () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 7.5, 2.4, 2.6, 3].map(roundHalfToEven), [0, 2, 2, 4, 8, 2, 3, 3]);
  });

  it('anchor: ties at the cutoff are pruned (the authors’ kth value), so more than int(n·p) can go; the learning rate is scaled', () => {
    manualSeed(1);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [4], { hiddenSizes: [5, 1] }), createHeads('til', 1));
    const packnet = instantiate(packnetDefinition, { pruneFraction: 0.5, retrainLrScale: 0.25 });
    model.heads.setupTask(1, 2);
    const optimizer = new SGD(model.parameters(), { lr: 0.4, momentum: 0.9 });
    const ctx = context(model, 1, optimizer);
    try {
      // fc1: 20 weights, eleven of magnitude 0.5 (both signs), the rest larger. k = 10, c = 0.5: all eleven go.
      const fc1 = [0.5, -0.5, 0.5, 0.5, -0.5, 0.5, -0.5, 0.5, 0.5, -0.5, 0.5, 1, -2, 3, -4, 5, 6, -7, 8, 9];
      // fc2: 5 weights, k = round(2.5) = 2 (Math.round would say 3).
      const fc2 = [0.1, -0.2, 0.3, -0.4, 0.5];
      tidy(() =>
        noGrad(() => {
          model.backbone.namedParameters().find(([n]) => n === 'fc1.weight')![1].copy_(tensor(fc1, { shape: [5, 4] }));
          model.backbone.namedParameters().find(([n]) => n === 'fc2.weight')![1].copy_(tensor(fc2, { shape: [1, 5] }));
        }),
      );
      model.train();
      packnet.onTaskStart(ctx);
      assert.deepEqual(ownerValues(packnet, 'fc1'), new Array(20).fill(1), 'task 1 owns every weight');
      packnet.onEpochStart(ctx, 1);
      assert.equal(optimizer.paramGroups[0]!.lr, 0.4, 'no prune before the last retrainEpochs');
      packnet.onEpochStart(ctx, 2);
      assert.equal(optimizer.paramGroups[0]!.lr, 0.4 * 0.25, 'the prune scales the learning rate');
      assert.deepEqual(ownerValues(packnet, 'fc1'), fc1.map((w) => (Math.abs(w) <= 0.5 ? 0 : 1)), 'all eleven tied weights are freed (int(n·p) = 10)');
      assert.deepEqual(ownerValues(packnet, 'fc2'), [0, 0, 1, 1, 1]);
      const weights = tidy(() => model.backbone.namedParameters().filter(([n]) => n.endsWith('.weight')).map(([, p]) => Array.from(p.toTypedArray() as Float32Array)));
      assert.deepEqual(weights, [fc1.map((w) => (Math.abs(w) <= 0.5 ? 0 : w)), [0, 0, 0.3, -0.4, 0.5].map(Math.fround)], 'pruned weights are set to 0');
      packnet.onTaskEnd(ctx);
      const entry = packnet.report()!.tasks[0]!;
      assert.deepEqual([entry.owned, entry.pruned, entry.ownedByLayer], [12, 13, { fc1: 9, fc2: 3 }]);
      // Task 2 takes what task 1 freed.
      model.heads.setupTask(2, 2);
      const ctx2 = context(model, 2, optimizer);
      packnet.onTaskStart(ctx2);
      assert.deepEqual(ownerValues(packnet, 'fc2'), [2, 2, 1, 1, 1]);
      assert.throws(() => packnet.onTaskEnd(ctx2), /task 2 ended before its prune at epoch 2/);
      for (const t of [ctx2.trainData.x, ctx2.trainData.y]) t.dispose();
    } finally {
      for (const t of [ctx.trainData.x, ctx.trainData.y]) t.dispose();
      optimizer.dispose();
      packnet.dispose();
      model.dispose();
    }
  });
});

/** fc1 without a bias, fc2 with one: 6 -> 5 -> 4 with ReLU, the tiny fixture's sizes. */
class BiasFreeMLP extends BackboneBase {
  readonly outputDim = 4;
  readonly weightedLayerNames = ['fc1', 'fc2'];
  constructor() {
    super();
    registerChild(this, 'fc1', new Linear(6, 5, { bias: false }));
    registerChild(this, 'fc2', new Linear(5, 4));
  }
  forward(x: Tensor, overrides?: ParameterOverrides): BackboneOutput {
    this.checkOverrides(overrides);
    const a1 = applyWeighted(this.layer('fc1'), 'fc1', x, overrides).relu();
    const a2 = applyWeighted(this.layer('fc2'), 'fc2', a1, overrides).relu();
    return { feature: a2, activations: activationMap(this.weightedLayerNames, [a1, a2]) };
  }
}

describe('PackNet backbones', () => {
  it('anchor: a layer without a bias works (Avalanche tests weight where it means bias), and the other biases freeze after task 1', () => {
    const fx = loadFixture<TinyFixture & { testX: FixtureTensor }>('packnet');
    manualSeed(2);
    const model = new ContinualModel(new BiasFreeMLP(), createHeads('til', 4));
    const packnet = instantiate(packnetDefinition, {});
    const x = randn([5, 6]);
    const first: Tensor[] = [];
    const fc2Bias: Tensor[] = [];
    try {
      tinyLoop(fx, model, 'til', packnet, {
        optimizer: (params) => new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }),
        afterTask: ({ task }) => {
          const bias = model.backbone.namedParameters().find(([n]) => n === 'fc2.bias')![1];
          if (task === 1) fc2Bias.push(keep(bias.clone()));
          else assert.ok(bias.equal(fc2Bias[0]!), `task ${task}: fc2's bias is frozen after task 1`);
          model.eval();
          noGrad(() =>
            tidy(() => {
              for (let j = 1; j <= task; j++) {
                const logits = packnet.forward(model, x, j)!.logits;
                if (j === task) first.push(keep(logits));
                else assert.ok(logits.equal(first[j - 1]!), `after task ${task}: task ${j}'s logits are bit-identical`);
              }
            }),
          );
          model.train();
        },
      });
      assert.equal(packnet.report()!.tasks.length, 3);
      assert.deepEqual(model.backbone.namedParameters().map(([n]) => n), ['fc1.weight', 'fc2.weight', 'fc2.bias']);
    } finally {
      for (const t of [...first, ...fc2Bias, x]) t.dispose();
      packnet.dispose();
      model.dispose();
    }
  });

  it('runs ResNet-18 (bias-free convolutions, batch norm frozen after task 1) with task 1 unchanged by task 2', () => {
    manualSeed(3);
    const model = new ContinualModel(instantiateBackbone(resnet18Definition, [1, 8, 8], {}), createHeads('til', 512));
    const packnet = instantiate(packnetDefinition, { pruneFraction: 0.75 });
    const x = randn([8, 1, 8, 8]);
    const y = randint(0, 2, [8]);
    const logits1: Tensor[] = [];
    let buffers: Tensor[] = [];
    try {
      for (const task of [1, 2]) {
        model.heads.setupTask(task, 2);
        const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
        const ctx: TaskContext = { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y, size: 8 }, batchSize: 8, epochs: 2 };
        model.train();
        packnet.onTaskStart(ctx);
        for (const epoch of [1, 2]) {
          model.train();
          packnet.onEpochStart(ctx, epoch);
          tidy(() => {
            const { output, logits } = forwardWith(model, [packnet], x, task);
            const loss = crossEntropy(logits, y);
            optimizer.zeroGrad();
            loss.backward();
            packnet.afterBackward({ ...ctx, epoch, step: 0, batchCount: 1, globalStep: 0, x, targets: y, output, logits, classificationLoss: loss });
            optimizer.step();
            packnet.onBatchEnd();
          });
        }
        packnet.onTaskEnd(ctx);
        optimizer.dispose();
        model.eval();
        noGrad(() =>
          tidy(() => {
            const out = packnet.forward(model, x, 1)!.logits;
            if (task === 1) {
              logits1.push(keep(out));
              buffers = model.backbone.buffers().map((b) => keep(b.clone()));
            } else {
              assert.ok(out.equal(logits1[0]!), "task 1's logits are bit-identical after task 2");
              model.backbone.buffers().forEach((b, i) => assert.ok(b.equal(buffers[i]!), `batch-norm buffer ${i} did not move in task 2`));
            }
          }),
        );
      }
      const report = packnet.report()!;
      assert.equal(report.capacityUsedAfterTask[0], report.tasks[0]!.owned / report.totalWeights);
      assert.ok(report.capacityUsedAfterTask[1]! > report.capacityUsedAfterTask[0]!);
    } finally {
      for (const t of [x, y, ...buffers, ...logits1]) t.dispose();
      packnet.dispose();
      model.dispose();
    }
  });
});

describe('PackNet state', () => {
  /** A PackNet after two tasks of the tiny fixture run, with its state. */
  function trained(): { packnet: PackNet; model: ContinualModel } {
    const fx = loadFixture<TinyFixture>('packnet');
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5, 4] }), createHeads('til', 4));
    const packnet = instantiate(packnetDefinition, {});
    tinyLoop({ ...fx, config: { ...fx.config, tasks: 2 } }, model, 'til', packnet);
    return { packnet, model };
  }

  it('restores owners and report from its state, and leaves no tensor behind', () => {
    const { packnet, model } = trained();
    const before = liveTensorCount();
    const copy = instantiate(packnetDefinition, {});
    try {
      tidy(() => copy.loadState(packnet.state()));
      for (const [layer, owner] of packnet.ownerTensors()) assert.ok(tidy(() => copy.ownerTensors().get(layer)!.equal(owner)), `owners of ${layer}`);
      assert.deepEqual(copy.report(), packnet.report());
      assert.deepEqual(copy.summary(), packnet.summary());
      assert.throws(() => tidy(() => instantiate(packnetDefinition, { pruneFraction: 0.75 }).loadState(packnet.state())), /pruned with pruneFraction 0.5, but pruneFraction is 0.75/);
    } finally {
      copy.dispose();
    }
    assert.equal(liveTensorCount(), before, 'a loaded and disposed copy leaves nothing behind');
    packnet.dispose();
    model.dispose();
  });

  it('refuses hostile states, naming the key at fault', () => {
    const { packnet, model } = trained();
    const target = instantiate(packnetDefinition, {});
    try {
      const good = packnet.state();
      const refuse = (tensors: Record<string, Tensor>, values: Record<string, unknown>, pattern: RegExp) =>
        assert.throws(() => tidy(() => target.loadState({ tensors, values })), pattern);
      tidy(() => {
        refuse(good.tensors, { ...good.values, tasks: [1, 'two'] }, /tasks\[1\]/);
        refuse(good.tensors, { ...good.values, tasks: [2, 1] }, /tasks: expected \[1\.\.2\] in order/);
        refuse(good.tensors, { ...good.values, layout: 'fc1' }, /layout/);
        refuse(good.tensors, { ...good.values, report: undefined }, /report: expected an entry per finished task \(2\)/);
        const { ['owners.fc2']: _, ...missing } = good.tensors;
        refuse(missing, good.values, /'owners.fc2' is missing/);
        refuse({ ...good.tensors, 'owners.fc1': good.tensors['owners.fc1']!.to('float32') }, good.values, /'owners.fc1' has dtype float32, expected uint8/);
        refuse({ ...good.tensors, 'owners.fc1': good.tensors['owners.fc1']!.reshape([-1]) }, good.values, /'owners.fc1' has shape \[30\], expected \[5, 6\]/);
        refuse({ ...good.tensors, 'owners.fc2': good.tensors['owners.fc2']!.add(1) }, good.values, /'owners.fc2' names task 3, but only 2 finished/);
      });
      assert.equal(target.report(), null, 'a refused state leaves the target as it was');
    } finally {
      target.dispose();
      packnet.dispose();
      model.dispose();
    }
  });
});
