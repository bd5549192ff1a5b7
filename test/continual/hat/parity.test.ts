// HAT and AdaHAT against the float64 PyTorch transcription of
// tools/fixtures/hat.py: s and the gates for every batch of B = 1, 2, 5; for
// fixed embeddings of two finished tasks (MLP and CNN): a<t, b<t, the gates,
// R and its gradient, the conditioned gradients, the compensation, the
// weights exact protection puts back and AdaHAT's summative mask and scaled
// gradients in each variant; and a tiny 3-task run of each through the
// trainer's hook order (regulariser per step, last step's gradients,
// embeddings, a<=t, parameters, test logits).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaHAT, adahatDefinition } from '../../../src/continual/algorithms/adahat.js';
import type { AlgorithmState, StepContext, TaskContext } from '../../../src/continual/algorithms/algorithm.js';
import { HAT, annealedScale, hatDefinition } from '../../../src/continual/algorithms/hat.js';
import { instantiateBackbone, cnnDefinition, mlpDefinition } from '../../../src/continual/backbones/index.js';
import type { ContinualBenchmark } from '../../../src/continual/contracts/types.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import { SGD } from '../../../src/optim/sgd.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { randn } from '../../../src/tensor/creation.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { type FixtureTensor, assertClose, assertMatches, fromFixture, loadFixture, settledTensorCount } from '../../helpers.js';
import { type TinyFixture, tinyLoop, tinyModel } from '../tiny_loop.js';

type Tensors = Record<string, FixtureTensor>;
interface FixedCase {
  layers: { layer: string; units: number }[];
  e1: Tensors;
  e2: Tensors;
  e3: Tensors;
  grads: Tensors;
  embeddingGrads: Tensors;
  batch: { index: number; count: number };
  s: number;
  gates: Tensors;
  cumulative: Tensors;
  used: Tensors;
  regulariser: number;
  regulariserGrad: Tensors;
  hatGrads: Tensors;
  compensated: Tensors;
  frozen: Tensors;
  summative: Tensors;
  adahatGrads: Record<'full' | 'noSum' | 'noReg', Tensors>;
}
interface RunTask {
  regularisers: number[];
  lastStepGrads: { weights: Tensors; embeddings: Tensors };
  embeddings: Tensors;
  cumulative: Tensors;
  summative: Tensors;
  params: Tensors;
  testLogits: FixtureTensor[];
}
interface HATFixture {
  schedule: { sMax: number; e: FixtureTensor; cases: { index: number; count: number; s: number; gates: FixtureTensor }[] };
  fixed: { alpha: number; epsilon: number; mlp: FixedCase; cnn: FixedCase };
  run: TinyFixture & {
    initialEmbeddings: Tensors[];
    testX: FixtureTensor;
    hat: { c: number; tasks: RunTask[] };
    adahat: { c: number; alpha: number; epsilon: number; tasks: RunTask[] };
  };
}

const fx = loadFixture<HATFixture>('hat');
const F64 = { rtol: 1e-10, atol: 1e-12 };

function copyInto(targets: ReadonlyMap<string, Tensor>, values: Tensors): void {
  tidy(() => noGrad(() => Object.entries(values).forEach(([k, v]) => targets.get(k)!.copy_(fromFixture(v)))));
}

/** A model of the fixed case's shape (float64) with heads for tasks 1..3. */
function fixedModel(kind: 'mlp' | 'cnn'): ContinualModel {
  const backbone =
    kind === 'mlp'
      ? instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5, 4] })
      : instantiateBackbone(cnnDefinition, [1, 8, 8], { channels: [3, 4], kernelSize: 3, featureDim: 5 });
  const model = new ContinualModel(backbone, createHeads('til', backbone.outputDim, { dtype: 'float64' }));
  model.to('float64');
  for (const task of [1, 2, 3]) model.heads.setupTask(task, 2);
  return model;
}

/** The state of a run whose tasks 1 and 2 ended with embeddings e1 and e2. */
function fixedState(c: FixedCase): AlgorithmState {
  const tensors: Record<string, Tensor> = {};
  for (const [task, e] of [[1, c.e1], [2, c.e2]] as const) for (const [layer, t] of Object.entries(e)) tensors[`embeddings.${task}.${layer}`] = fromFixture(t);
  return { tensors, values: { sMax: 400, testMask: 'binary', layout: c.layers, tasks: [1, 2] } };
}

/**
 * Loads the fixed state into `algorithm`, starts task 3 with e3, runs a
 * training forward at the case's batch position and hands the step to `check`.
 */
function withFixedStep(kind: 'mlp' | 'cnn', algorithm: HAT, check: (model: ContinualModel, ctx: StepContext, params: Map<string, Tensor>) => void): void {
  const c = fx.fixed[kind];
  const model = fixedModel(kind);
  const state = fixedState(c);
  try {
    algorithm.loadState(state);
    const e3 = algorithm.trainableParameters(model, 3);
    copyInto(algorithm.embeddings(3)!, c.e3);
    const optimizer = new SGD([...model.parameters(), ...e3], { lr: 0.1 });
    const x = kind === 'mlp' ? randn([3, 6], { dtype: 'float64' }) : randn([3, 1, 8, 8], { dtype: 'float64' });
    const ctx: TaskContext = { task: 3, paradigm: 'til', model, optimizer, benchmark: {} as ContinualBenchmark, trainData: { x, y: x, size: 3 }, batchSize: 3, epochs: 1 };
    algorithm.onTaskStart(ctx);
    model.train();
    tidy(() => {
      const { output, logits } = algorithm.forward(model, x, 3, c.batch);
      const stepCtx: StepContext = { ...ctx, epoch: 1, step: c.batch.index, batchCount: c.batch.count, globalStep: 0, x, targets: x, output, logits, classificationLoss: logits.sum() };
      check(model, stepCtx, new Map(model.backbone.namedParameters()));
    });
    optimizer.dispose();
    x.dispose();
  } finally {
    for (const t of Object.values(state.tensors)) t.dispose();
    algorithm.dispose();
    model.dispose();
  }
}

/** Σ θ·G over the backbone plus Σ e·Q over the embeddings: a loss whose gradients are exactly G and Q. */
function syntheticLoss(c: FixedCase, params: Map<string, Tensor>, embeddings: ReadonlyMap<string, Tensor>): Tensor {
  let loss: Tensor | null = null;
  const add = (t: Tensor, g: FixtureTensor) => {
    const term = t.mul(fromFixture(g)).sum();
    loss = loss === null ? term : loss.add(term);
  };
  for (const [k, g] of Object.entries(c.grads)) add(params.get(k)!, g);
  for (const [k, q] of Object.entries(c.embeddingGrads)) add(embeddings.get(k)!, q);
  return loss!;
}

describe('HAT parity with PyTorch (float64)', () => {
  it('anneals s from 1/s_max (b = 1) to s_max (b = B), s_max for B = 1, and gates with σ(s e)', () => {
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [3], { hiddenSizes: [6] }), createHeads('til', 6, { dtype: 'float64' }));
    model.to('float64');
    model.heads.setupTask(1, 2);
    const hat = new HAT(hatDefinition.options.parse({ sMax: fx.schedule.sMax }));
    try {
      hat.trainableParameters(model, 1);
      copyInto(hat.embeddings(1)!, { fc1: fx.schedule.e });
      model.train();
      for (const want of fx.schedule.cases) {
        const batch = { index: want.index, count: want.count };
        assertClose(annealedScale(fx.schedule.sMax, batch), want.s, `s at b = ${want.index + 1} of ${want.count}`, 1e-15, 0);
        tidy(() => {
          hat.forward(model, randn([2, 3], { dtype: 'float64' }), 1, batch);
          assertMatches(hat.trainingGates()!.get('fc1')!, want.gates, `gates at b = ${want.index + 1} of ${want.count}`, F64);
        });
      }
      const s = fx.schedule.cases.map((c) => c.s);
      assert.deepEqual([s[0], s[1], s[2], s[3], s[s.length - 1]], [400, 1 / 400, 400, 1 / 400, 400]);
    } finally {
      hat.dispose();
      model.dispose();
    }
  });

  for (const kind of ['mlp', 'cnn'] as const) {
    it(`${kind}: a<t, b<t, gates, R and ∇R, conditioned gradients, compensation and the weights kept, for fixed embeddings`, () => {
      const c = fx.fixed[kind];
      const hat = new HAT(hatDefinition.options.parse({ c: 1 }));
      withFixedStep(kind, hat, (model, ctx, params) => {
        for (const [layer, want] of Object.entries(c.cumulative)) assertMatches(hat.cumulativeMask().get(layer)!, want, `a<t ${layer}`, F64);
        for (const [layer, want] of Object.entries(c.used)) assertMatches(hat.usedUnits().get(layer)!, want, `b<t ${layer}`);
        for (const [layer, want] of Object.entries(c.gates)) assertMatches(hat.trainingGates()!.get(layer)!, want, `gates ${layer}`, F64);
        const r = hat.trainingLoss(ctx)!;
        assertClose(r.item(), c.regulariser, 'R', 1e-12, 0);
        const e3 = hat.embeddings(3)!;
        r.backward();
        for (const [layer, want] of Object.entries(c.regulariserGrad)) assertMatches(e3.get(layer)!.grad!, want, `∂R/∂e ${layer}`, F64);
        ctx.optimizer.zeroGrad();
        syntheticLoss(c, params, e3).backward();
        hat.afterBackward(ctx);
        for (const [key, want] of Object.entries(c.hatGrads)) assertMatches(params.get(key)!.grad!, want, `conditioned ∇ ${key}`, F64);
        for (const [layer, want] of Object.entries(c.compensated)) assertMatches(e3.get(layer)!.grad!, want, `compensated ∇e ${layer}`, F64);
        // Exact protection: move every weight, and the step's end puts back exactly those with min(b_i, b_j) = 1 (biases b_i).
        const before = new Map([...params].map(([k, p]) => [k, keep(p.detach().clone())] as const));
        noGrad(() => params.forEach((p) => p.add_(1)));
        hat.onBatchEnd(ctx);
        for (const [key, want] of Object.entries(c.frozen)) {
          const kept = tidy(() => params.get(key)!.eq(before.get(key)!));
          assertMatches(kept, want, `kept ${key}`);
          kept.dispose();
        }
        before.forEach((t) => t.dispose());
        assert.ok(Object.values(c.frozen).some((f) => f.data.some(Boolean)) && Object.values(c.frozen).some((f) => f.data.some((v) => !v)), 'some weights kept, some not');
        assert.ok(model.training);
      });
    });

    it(`${kind}: AdaHAT's summative mask and its scaled gradients in each variant`, () => {
      const c = fx.fixed[kind];
      for (const variant of ['full', 'noSum', 'noReg'] as const) {
        const adahat = new AdaHAT(adahatDefinition.options.parse({ alpha: fx.fixed.alpha, epsilon: fx.fixed.epsilon, variant, compensation: false }));
        withFixedStep(kind, adahat, (_model, ctx, params) => {
          for (const [layer, want] of Object.entries(c.summative)) assertMatches(adahat.summativeMask().get(layer)!, want, `m ${layer}`, F64);
          ctx.optimizer.zeroGrad();
          syntheticLoss(c, params, adahat.embeddings(3)!).backward();
          adahat.afterBackward(ctx);
          for (const [key, want] of Object.entries(c.adahatGrads[variant])) assertMatches(params.get(key)!.grad!, want, `${variant}: adjusted ∇ ${key}`, F64);
          // Without compensation the embeddings' gradient is Q as it came.
          for (const [layer, want] of Object.entries(c.embeddingGrads)) assertMatches(adahat.embeddings(3)!.get(layer)!.grad!, want, `${variant}: ∇e ${layer} untouched`, F64);
        });
      }
    });
  }

  // adjust 'update' under plain SGD: w_old + rate·(−lr g) is the step on rate·g, to rounding.
  for (const kind of ['hat', 'adahat', 'adahat (adjust update)'] as const) {
    it(`${kind}: a tiny 3-task run matches step by step (regulariser, last gradients, embeddings, a≤t, parameters, test logits)`, () => {
      const live = settledTensorCount();
      const run = fx.run;
      const spec = run[kind === 'hat' ? 'hat' : 'adahat'];
      const update = kind === 'adahat (adjust update)';
      const model = tinyModel(run, 'til', { dtype: 'float64' });
      const algorithm =
        kind === 'hat'
          ? new HAT(hatDefinition.options.parse({ c: spec.c }))
          : new AdaHAT(adahatDefinition.options.parse({ c: spec.c, alpha: run.adahat.alpha, epsilon: run.adahat.epsilon, adjust: update ? 'update' : 'gradient' }));
      const testX = fromFixture(run.testX);
      const firstLogits: Tensor[] = [];
      let regularisers: number[] = [];
      try {
        tinyLoop(run, model, 'til', algorithm, {
          // Asked right after trainableParameters: the task's embeddings take the fixture's initial values.
          optimizer: (params, task) => {
            copyInto(algorithm.embeddings(task)!, run.initialEmbeddings[task - 1]!);
            regularisers = [];
            return new SGD(params, { lr: run.config.lr });
          },
          onLoss: (_ctx, terms) => regularisers.push(terms.length === 0 ? 0 : terms[0]!.item()),
          beforeTaskEnd: ({ task }) => {
            const want = spec.tasks[task - 1]!;
            regularisers.forEach((r, i) => assertClose(r, want.regularisers[i]!, `task ${task} step ${i + 1}: c·R`, 1e-10, 1e-14));
            assert.equal(regularisers.length, want.regularisers.length);
            const params = new Map(model.backbone.namedParameters());
            if (!update) for (const [key, g] of Object.entries(want.lastStepGrads.weights)) assertMatches(params.get(key)!.grad!, g, `task ${task} last ∇ ${key}`, F64);
            for (const [layer, g] of Object.entries(want.lastStepGrads.embeddings)) assertMatches(algorithm.embeddings(task)!.get(layer)!.grad!, g, `task ${task} last ∇e ${layer}`, F64);
          },
          afterTask: ({ task }) => {
            const want = spec.tasks[task - 1]!;
            for (const [layer, e] of Object.entries(want.embeddings)) assertMatches(algorithm.embeddings(task)!.get(layer)!, e, `task ${task} e ${layer}`, F64);
            for (const [layer, a] of Object.entries(want.cumulative)) assertMatches(algorithm.cumulativeMask().get(layer)!, a, `task ${task} a≤t ${layer}`, F64);
            if (algorithm instanceof AdaHAT) for (const [layer, m] of Object.entries(want.summative)) assertMatches(algorithm.summativeMask().get(layer)!, m, `task ${task} m ${layer}`, F64);
            const params = new Map(model.namedParameters());
            for (const [name, p] of Object.entries(want.params)) assertMatches(params.get(name)!, p, `task ${task} ${name}`, F64);
            model.eval();
            noGrad(() =>
              tidy(() => {
                for (let j = 1; j <= task; j++) {
                  const logits = algorithm.forward(model, testX, j).logits;
                  assertMatches(logits, want.testLogits[j - 1]!, `after task ${task}: logits of task ${j}`, F64);
                  if (j === task) firstLogits.push(keep(logits));
                  else if (kind === 'hat') assert.ok(logits.equal(firstLogits[j - 1]!), `after task ${task}: task ${j}'s logits are bit-identical`);
                }
              }),
            );
          },
        });
      } finally {
        for (const t of firstLogits) t.dispose();
        testX.dispose();
        algorithm.dispose();
        model.dispose();
      }
      assert.equal(settledTensorCount(), live, 'no tensor outlives the run');
    });
  }
});
