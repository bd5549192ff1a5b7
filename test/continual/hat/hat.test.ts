// HAT and AdaHAT in real runs on the bundled data (earlier tasks' outputs
// bit-identical under SGD with momentum, Adam and weight decay with
// protection exact, and moving with protection gradient; MLP and CNN; the
// capacity report; kill-and-resume), one test per anchor defect of
// docs/algorithms/hat.md and adahat.md, AdaHAT's rate, configuration errors
// and hostile checkpoint states.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { adahatDefinition, adjustmentRate } from '../../../src/continual/algorithms/adahat.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { HAT, type HATReport, annealedScale, hatDefinition } from '../../../src/continual/algorithms/hat.js';
import { instantiate } from '../../../src/continual/algorithms/index.js';
import { cnnDefinition, instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import type { ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { full, randn, scalar, tensor } from '../../../src/tensor/creation.js';
import { manualSeed } from '../../../src/tensor/random.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { settledTensorCount, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('hat-'), 'run');
const small = [
  'paradigm=til', 'benchmark.numTasks=3', 'benchmark.trainLimit=128', 'backbone.hiddenSizes=[32]',
  'training.epochs=1', 'training.batchSize=32', 'training.validateEveryEpoch=false',
];
const withPlugin = (extra: string[] = []) => loadExperiment(undefined, [...small, 'algorithms=[{name: finetuning}]', ...extra]);

/**
 * After each task t, the logits of every task j ≤ t on a fixed batch; the
 * largest change of an earlier task's logits from right after it was learned.
 */
function outputsProbe(hat: HAT, inputShape: number[]): Algorithm & { drift: number[]; dispose(): void } {
  const x = tidy(() => keep(randn([8, ...inputShape])));
  const first: Tensor[] = [];
  const probe = {
    name: 'outputs-probe',
    drift: [] as number[],
    onTaskEnd(ctx: TaskContext) {
      ctx.model.eval();
      tidy(() =>
        noGrad(() => {
          let worst = 0;
          for (let j = 1; j <= ctx.task; j++) {
            const logits = hat.forward(ctx.model, x.to(ctx.model.parameters()[0]!.dtype), j).logits;
            if (j === ctx.task) first.push(keep(logits.clone()));
            else worst = Math.max(worst, logits.sub(first[j - 1]!).abs().max().item());
          }
          probe.drift.push(worst);
        }),
      );
      ctx.model.train();
    },
    dispose() {
      x.dispose();
      first.forEach((t) => t.dispose());
    },
  };
  return probe;
}

function runWithProbe(hat: HAT, extra: string[], inputShape = [1, 28, 28]) {
  const probe = outputsProbe(hat, inputShape);
  try {
    const run = runExperiment({ config: withPlugin(extra), runDir: tmp(), plugins: [hat, probe] });
    return { run, drift: probe.drift, report: hat.report()! };
  } finally {
    probe.dispose();
    hat.dispose();
  }
}

function assertNoForgetting(accuracy: number[][], bwt: number | null, what: string): void {
  for (let t = 0; t < accuracy.length; t++) for (let j = 0; j < t; j++) assert.equal(accuracy[t]![j], accuracy[j]![j], `${what}: accuracy on task ${j + 1} after task ${t + 1}`);
  assert.equal(bwt, 0, `${what}: BWT`);
}

describe('HAT in a real run', () => {
  it("keeps earlier tasks' outputs bit-identical (protection exact) under SGD with momentum, Adam and SGD with weight decay", () => {
    const live = settledTensorCount();
    for (const [what, optimizer] of [
      ['sgd momentum', '{name: sgd, lr: 0.05, momentum: 0.9}'],
      ['adam', '{name: adam, lr: 0.01}'],
      ['sgd weight decay', '{name: sgd, lr: 0.05, momentum: 0.9, weightDecay: 0.01}'],
    ] as const) {
      const { run, drift, report } = runWithProbe(instantiate(hatDefinition, {}), [`training.optimizer=${optimizer}`]);
      assert.deepEqual(drift, [0, 0, 0], `${what}: earlier tasks' logits on a fixed batch`);
      assertNoForgetting(run.accuracy, run.summary.bwt, what);
      assert.ok(report.tasks.every((t) => t.units > 0), `${what}: every task uses some units`);
      assert.ok(report.capacityUsedAfterTask[2]! > report.capacityUsedAfterTask[0]! || report.freeUnits === 0, `${what}: later tasks take more units`);
    }
    assert.equal(settledTensorCount(), live, 'no tensor outlives the runs');
  });

  it("lets earlier tasks' outputs move with protection gradient (the paper's conditioning alone), where exact keeps them", () => {
    // s_max 2 leaves a<t short of 1, so the conditioned gradients of used weights are small but not 0.
    const gradient = runWithProbe(instantiate(hatDefinition, { sMax: 2, protection: 'gradient' }), ['training.optimizer={name: adam, lr: 0.01}']);
    assert.ok(gradient.drift[1]! > 1e-4 && gradient.drift[2]! > 1e-4, `drift with protection gradient: ${gradient.drift}`);
    const exact = runWithProbe(instantiate(hatDefinition, { sMax: 2 }), ['training.optimizer={name: adam, lr: 0.01}']);
    assert.deepEqual(exact.drift, [0, 0, 0]);
  });

  it('runs from the configuration in TIL with a CNN: BWT exactly 0, the capacity report in summary.json and the log', () => {
    const { run, drift, report } = runWithProbe(instantiate(hatDefinition, {}), ['backbone={name: cnn, channels: [4], featureDim: 16}', 'training.optimizer={name: adam, lr: 0.01}']);
    assert.deepEqual(drift, [0, 0, 0]);
    assertNoForgetting(run.accuracy, run.summary.bwt, 'cnn');
    assert.deepEqual(report.unitsByLayer, { conv1: 4, fc1: 16 });
    assert.equal(report.capacityUnit, 'units');
    assert.equal(report.capacityUsedAfterTask.length, 3);
    assert.ok(report.capacityUsedAfterTask.every((c, i) => c >= (report.capacityUsedAfterTask[i - 1] ?? 0) && c <= 1));
    const used = Object.values(report.unitsUsedByLayer).reduce((a, b) => a + b, 0);
    assert.equal(report.freeUnits, 20 - used);
    assert.equal(report.capacityUsedAfterTask[2], used / 20);
    assert.equal(used, report.tasks.reduce((n, t) => n + t.newUnits, 0));
    assert.ok(report.weightsProtected > 0 && report.weightsProtected <= 1);
    const saved = JSON.parse(readFileSync(join(run.runDir, 'summary.json'), 'utf8')).algorithms.hat as HATReport;
    assert.deepEqual(saved, report);
    const lines = readFileSync(join(run.runDir, 'run.log'), 'utf8').split('\n').filter((l) => l.includes('hat: capacity used'));
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, new RegExp(`capacity used ${(100 * report.capacityUsedAfterTask[2]!).toFixed(2)}% of 20 units \\(${report.freeUnits} free\\); task 3's mask uses ${report.tasks[2]!.units} units`));
  });

  it('resumes bit-identical after a kill, hat and adahat, the report included', () => {
    for (const algorithm of ['{name: hat}', '{name: adahat, alpha: 0.01, adjust: update}']) {
      const { full: whole, resumed } = assertResumesBitIdentical([...small, `algorithms=[${algorithm}]`, 'training.optimizer={name: adam, lr: 0.01}'], tmp, { what: algorithm });
      const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).algorithms;
      assert.deepEqual(read(resumed.runDir), read(whole.runDir), `${algorithm}: the capacity report`);
    }
  });
});

describe('AdaHAT', () => {
  it("drifts less on earlier tasks as alpha → 0 (it has no exact protection: soft by design)", () => {
    const drift = [1, 1e-2, 1e-6].map((alpha) => runWithProbe(instantiate(adahatDefinition, { alpha }), ['training.optimizer={name: sgd, lr: 0.05}']).drift[2]!);
    assert.ok(drift[0]! > drift[1]! && drift[1]! > drift[2]!, `drift after task 3 for alpha 1, 1e-2, 1e-6: ${drift}`);
    assert.ok(drift[0]! > 1e-3, `alpha 1 drifts: ${drift}`);
  });

  it('has the rate r / (I + r), r = α / (ε + R), exactly, for a large importance too', () => {
    tidy(() => {
      for (const [importance, sparsity] of [[0, 0.3], [2, 0.25], [1e6, 0.5], [1e12, 0]] as const) {
        const r = 1e-6 / (0.1 + sparsity);
        const got = adjustmentRate(importance, scalar(sparsity, { dtype: 'float64' }), 1e-6, 0.1).item();
        assert.ok(Math.abs(got - r / (importance + r)) <= 1e-15 * (r / (importance + r)), `I ${importance}, R ${sparsity}: ${got}`);
      }
      assert.equal(adjustmentRate(0, scalar(0.3, { dtype: 'float64' }), 1e-6, 0.1).item(), 1, 'no importance: rate exactly 1');
    });
  });

  it("anchor: noSum leaves task 1's gradients unscaled (t − 1 earlier tasks, not CLArena's t)", () => {
    for (const variant of ['full', 'noSum', 'noReg'] as const) {
      const adahat = instantiate(adahatDefinition, { variant });
      withTinyTask(adahat, [3, 4], 1, (model, ctx) => {
        const g = new Map(model.backbone.namedParameters().map(([k, p]) => [k, keep(p.grad!.clone())] as const));
        adahat.afterBackward(ctx);
        for (const [k, p] of model.backbone.namedParameters()) assert.ok(p.grad!.equal(g.get(k)!), `${variant}: ${k}`);
        g.forEach((t) => t.dispose());
      });
    }
  });

  it('adjust update works under AdamW (weight decay included) and still damps earlier tasks as alpha → 0', () => {
    const drift = [1, 1e-6].map((alpha) => runWithProbe(instantiate(adahatDefinition, { alpha, adjust: 'update' }), ['training.optimizer={name: adamw, lr: 0.01}']).drift[2]!);
    assert.ok(drift[1]! < 0.1 * drift[0]!, `drift after task 3 for alpha 1, 1e-6: ${drift}`);
  });
});

/** A model and `algorithm` in the training step of `task` (tasks before it loaded from `state`, if given), with gradients of Σ θ. */
function withTinyTask(algorithm: HAT, hidden: number[], task: number, check: (model: ContinualModel, ctx: StepContext) => void, state?: AlgorithmState, cnn = false): void {
  manualSeed(5);
  const backbone = cnn ? instantiateBackbone(cnnDefinition, [1, 8, 8], { channels: hidden, featureDim: 4 }) : instantiateBackbone(mlpDefinition, [6], { hiddenSizes: hidden });
  const model = new ContinualModel(backbone, createHeads('til', backbone.outputDim));
  try {
    for (let t = 1; t <= task; t++) model.heads.setupTask(t, 2);
    if (state !== undefined) algorithm.loadState(state);
    const e = algorithm.trainableParameters(model, task);
    const optimizer = new SGD([...model.parameters(), ...e], { lr: 0.1 });
    const x = cnn ? randn([2, 1, 8, 8]) : randn([2, 6]);
    const ctx: TaskContext = { task, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y: x, size: 2 }, batchSize: 2, epochs: 1 };
    algorithm.onTaskStart(ctx);
    model.train();
    tidy(() => {
      const { output, logits } = algorithm.forward(model, x, task, { index: 1, count: 3 });
      const stepCtx: StepContext = { ...ctx, epoch: 1, step: 1, batchCount: 3, globalStep: 1, x, targets: x, output, logits, classificationLoss: logits.sum() };
      optimizer.zeroGrad();
      model.backbone.parameters().map((p) => p.sum()).reduce((a, b) => a.add(b)).backward();
      check(model, stepCtx);
    });
    optimizer.dispose();
    x.dispose();
  } finally {
    algorithm.dispose();
    model.dispose();
  }
}

/** A state whose finished task 1 has embedding `values` per layer. */
const stateOf = (layers: Record<string, number[]>, extra: Record<string, unknown> = {}): AlgorithmState => ({
  tensors: Object.fromEntries(Object.entries(layers).map(([layer, v]) => [`embeddings.1.${layer}`, tensor(v, { dtype: 'float32' })])),
  values: { sMax: 400, testMask: 'binary', layout: Object.entries(layers).map(([layer, v]) => ({ layer, units: v.length })), tasks: [1], ...extra },
});
const disposeState = (s: AlgorithmState) => Object.values(s.tensors).forEach((t) => t.dispose());

describe('HAT anchor defects (CLArena) not copied', () => {
  it('anchor: the first batch of an epoch gets s = 1/s_max > 0, not a negative scale', () => {
    assert.equal(annealedScale(400, { index: 0, count: 469 }), 1 / 400);
    // CLArena's 0-based batch_idx in (b − 1): 1/s_max − (s_max − 1/s_max)/(B − 1) ≈ −0.85.
    assert.ok(1 / 400 - (400 - 1 / 400) / 468 < -0.8);
  });

  it('anchor: the last batch of an epoch gets s = s_max', () => {
    for (const count of [2, 3, 469]) assert.equal(annealedScale(400, { index: count - 1, count }), 400);
  });

  it('anchor: an epoch of one batch gets s = s_max (no division by zero)', () => {
    assert.equal(annealedScale(400, { index: 0, count: 1 }), 400);
  });

  it('anchor: embeddings are clamped to ±embeddingClamp after every step (6 by default; 0 turns it off)', () => {
    for (const [clamp, want] of [[6, 6], [0, 10]] as const) {
      const hat = instantiate(hatDefinition, { embeddingClamp: clamp });
      withTinyTask(hat, [3, 4], 1, (_model, ctx) => {
        noGrad(() => hat.embeddings(1)!.forEach((e, layer) => e.copy_(full(e.shape, layer === 'fc1' ? 10 : -10))));
        hat.onBatchEnd(ctx);
        for (const [layer, e] of hat.embeddings(1)!) assert.deepEqual([...e.toTypedArray()], new Array<number>(e.shape[0]!).fill(layer === 'fc1' ? want : -want), `clamp ${clamp}: ${layer}`);
      });
    }
  });

  it('anchor: the regulariser is not zero with 10 or fewer free units (5 free: R is the formula)', () => {
    // Task 1 used 15 of 20 units (σ(400·6) = 1 exactly, σ(−400·6) = 0): 5 units are free.
    const state = stateOf({ fc1: [...new Array<number>(15).fill(6), ...new Array<number>(5).fill(-6)] });
    const hat = instantiate(hatDefinition, { c: 1 });
    withTinyTask(hat, [20], 2, (_model, ctx) => {
      const a = hat.trainingGates()!.get('fc1')!;
      const want = tidy(() => a.narrow(0, 15, 5).sum().item() / 5);
      const r = hat.trainingLoss(ctx)!;
      assert.ok(want > 0);
      assert.ok(Math.abs(r.item() - want) <= 1e-6 * want, `R ${r.item()} vs ${want}`);
    }, state);
    disposeState(state);
    // No unit free at all: Σ(1 − a<t) = 0 and R = 0 (no term).
    const allUsed = stateOf({ fc1: new Array<number>(20).fill(6) });
    const full1 = instantiate(hatDefinition, {});
    withTinyTask(full1, [20], 2, (_model, ctx) => assert.equal(full1.trainingLoss(ctx), null), allUsed);
    disposeState(allUsed);
  });

  it("anchor: R is one scalar ratio Σ a(1 − a<t) / Σ (1 − a<t), not the 'cross' mode's mask times a misplaced sum", () => {
    const state = stateOf({ fc1: [6, -6, -6], fc2: [-6, 6, -6, -6] });
    const hat = instantiate(hatDefinition, { c: 1 });
    withTinyTask(hat, [3, 4], 2, (_model, ctx) => {
      const r = hat.trainingLoss(ctx)!;
      assert.deepEqual([...r.shape], []);
      const gates = hat.trainingGates()!;
      const want = tidy(() => (gates.get('fc1')!.narrow(0, 1, 2).sum().item() + gates.get('fc2')!.narrow(0, 2, 2).sum().item() + gates.get('fc2')!.narrow(0, 0, 1).sum().item()) / 5);
      assert.ok(Math.abs(r.item() - want) <= 1e-6 * want, `R ${r.item()} vs ${want}`);
    }, state);
    disposeState(state);
  });

  it('anchor: DIL and CIL are refused (the shared head would be unprotected)', () => {
    for (const name of ['hat', 'adahat']) {
      for (const paradigm of ['cil', 'dil']) {
        assert.throws(() => loadExperiment(undefined, [`paradigm=${paradigm}`, `algorithms=[{name: ${name}}]`]), new RegExp(`'${name}' supports paradigm til only, but paradigm is '${paradigm}'.*shared head`));
      }
    }
    const hat = instantiate(hatDefinition, {});
    try {
      assert.throws(() => runExperiment({ config: loadExperiment(undefined, [...small, 'paradigm=dil', 'benchmark.numTasks=1', 'benchmark.trainLimit=32']), runDir: tmp(), plugins: [hat] }), /HAT supports task-incremental learning only .* the paradigm is 'dil'; set paradigm: til/);
    } finally {
      hat.dispose();
    }
  });

  it("anchor: CNN masks are per channel and fc1's inputs take their channel's mask (H·W columns each)", () => {
    // conv1 has 2 channels; task 1 used channel 0 and every unit of fc1. fc1 reads 2 × 4 × 4 inputs.
    const state = stateOf({ conv1: [6, -6], fc1: [6, 6, 6, 6] });
    const hat = instantiate(hatDefinition, {});
    withTinyTask(hat, [2], 2, (model, ctx) => {
      assert.deepEqual(hat.trainingGates()!.get('conv1')!.shape, [2]);
      hat.afterBackward(ctx);
      const g = model.backbone.namedParameters().find(([n]) => n === 'fc1.weight')![1].grad!;
      tidy(() => {
        assert.ok(g.narrow(1, 0, 16).eq(0).all().item(), "channel 0's 16 columns: min(1, 1) = 1, gradient 0");
        assert.ok(g.narrow(1, 16, 16).eq(1).all().item(), "channel 1's 16 columns: min(1, 0) = 0, gradient kept");
        const conv = model.backbone.namedParameters().find(([n]) => n === 'conv1.weight')![1].grad!;
        assert.ok(conv.narrow(0, 0, 1).eq(0).all().item() && conv.narrow(0, 1, 1).eq(1).all().item(), 'conv1 per output channel');
      });
    }, state, true);
    disposeState(state);
  });
});

describe('HAT errors', () => {
  const run = (algorithm: string, extra: string[]) =>
    runExperiment({ config: loadExperiment(undefined, [...small, 'benchmark.numTasks=1', 'benchmark.trainLimit=32', `algorithms=[${algorithm}]`, ...extra]), runDir: tmp() });

  it('rejects weight decay where nothing puts the weights back, naming the fix; accepts it where something does', () => {
    assert.throws(() => run('{name: hat, protection: gradient}', ['training.optimizer={name: adamw, lr: 0.001}']), /HAT: the optimizer has weightDecay 0.01.*set training.optimizer.weightDecay: 0, or protection: exact/);
    assert.throws(() => run('{name: adahat}', ['training.optimizer={name: sgd, lr: 0.01, weightDecay: 0.001}']), /AdaHAT: the optimizer has weightDecay 0.001.*or adjust: update/);
    assert.equal(run('{name: hat}', ['training.optimizer={name: adamw, lr: 0.001}']).accuracy.length, 1);
    assert.equal(run('{name: adahat, adjust: update}', ['training.optimizer={name: adamw, lr: 0.001}']).accuracy.length, 1);
  });

  it('rejects batch normalisation and ResNet-18 with the fix named', () => {
    for (const name of ['hat', 'adahat']) {
      assert.throws(() => run(`{name: ${name}}`, ['backbone={name: mlp, hiddenSizes: [8], batchNorm: true}']), /MLP backbone has batch normalisation.*use backbone.batchNorm: false/);
      assert.throws(() => run(`{name: ${name}}`, ['backbone={name: cnn, channels: [4], batchNorm: true}']), /CNN backbone has batch normalisation.*use backbone.batchNorm: false/);
      assert.throws(() => run(`{name: ${name}}`, ['backbone={name: resnet18}']), /ResNet18 backbone has batch normalisation.*resnet18 always normalises .* is not supported/);
    }
  });

  it('rejects bad options in the configuration', () => {
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: hat, testMask: hard}]']), /testMask: expected one of 'binary', 'sigmoid'/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: hat, embeddingClamp: -1}]']), /embeddingClamp/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: adahat, alpha: 0}]']), /alpha/);
    assert.throws(() => loadExperiment(undefined, ['algorithms=[{name: adahat, variant: cross}]']), /variant: expected one of 'full', 'noSum', 'noReg'/);
  });

  it('refuses a training forward without the batch position, and a task it has no embeddings for', () => {
    const hat = instantiate(hatDefinition, {});
    withTinyTask(hat, [3], 1, (model, _ctx) => {
      const x = randn([2, 6]);
      assert.throws(() => hat.forward(model, x, 1), /a training forward needs the batch's position in its epoch/);
      model.eval();
      assert.throws(() => hat.forward(model, x, 2), /no embeddings for task 2 \(testing\); they exist for tasks \[\] and task 1 is being trained/);
      model.train();
    });
  });

  it('refuses hostile checkpoint states, naming the key', () => {
    const cases: [string, AlgorithmState, RegExp][] = [
      ['missing tensor', { tensors: {}, values: stateOf({ fc1: [1, 2, 3] }).values }, /saved tensor 'embeddings.1.fc1' is missing/],
      ['wrong shape', stateOf({ fc1: [1, 2] }, { layout: [{ layer: 'fc1', units: 3 }] }), /'embeddings.1.fc1' has shape \[2\], expected \[3\]/],
      ['not finite', stateOf({ fc1: [1, Number.NaN, 3] }), /'embeddings.1.fc1' is not finite/],
      ['bad values', stateOf({ fc1: [1, 2, 3] }, { tasks: ['one'] }), /saved values do not fit: tasks\[0\]/],
      ['other sMax', stateOf({ fc1: [1, 2, 3] }, { sMax: 100 }), /made with sMax 100 and testMask binary, but this run has sMax 400/],
    ];
    for (const [what, state, error] of cases) {
      const hat = instantiate(hatDefinition, {});
      try {
        assert.throws(() => hat.loadState(state), error, what);
      } finally {
        hat.dispose();
        disposeState(state);
      }
    }
    // A checkpoint of another backbone is refused at the next task.
    const state = stateOf({ fc1: [1, 2, 3] });
    const hat = instantiate(hatDefinition, {});
    assert.throws(() => withTinyTask(hat, [4], 2, () => {}, state), /the checkpoint's embeddings are for fc1 \(3 units\), the model has fc1 \(4 units\)/);
    disposeState(state);
  });
});

