// CBP: parity with the PyTorch transcription of tools/fixtures/cbp.py (every
// statistic, replacement and parameter after every step, redrawn weights
// included), the function kept at the moment of replacement (outgoing weights
// zero plus bias compensation) for linear and convolutional layers, the
// replacement count (ρ × eligible units accumulated, no truncation to zero),
// maturity, option validation, memory, and a resumed run.
import { instantiate, cbpDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { ConfigError } from '../../../src/config/loader.js';
import { CBP, type CBPUtility } from '../../../src/continual/algorithms/cbp.js';
import type { StepContext, TaskContext } from '../../../src/continual/algorithms/index.js';
import { createAlgorithms } from '../../../src/continual/algorithms/index.js';
import { ResNet18, cnnDefinition, instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import * as F from '../../../src/nn/functional.js';
import type { Optimizer } from '../../../src/optim/optimizer.js';
import { SGD } from '../../../src/optim/sgd.js';
import { manualSeed } from '../../../src/index.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { randint, randn, tensor } from '../../../src/tensor/creation.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertMatches, assertTensorsMatch, type FixtureTensor, fromFixture, loadFixture, settledTensorCount, tempDir } from '../../helpers.js';

interface StepRecord {
  task: number;
  replaced: Record<string, number[]>;
  ages: Record<string, number[]>;
  accumulated: Record<string, number>;
  utility: Record<string, FixtureTensor>;
  mean: Record<string, FixtureTensor>;
  params: Record<string, FixtureTensor>;
}
interface CBPFixture {
  config: {
    seed: number; inputs: number; hidden: number[]; classes: number; tasks: number; batch: number; epochs: number;
    lr: number; momentum: number; replacementRate: number; maturityThreshold: number; utilityDecay: number;
  };
  data: { x: FixtureTensor; y: FixtureTensor }[];
  runs: Record<CBPUtility, { initial: Record<string, FixtureTensor>; steps: StepRecord[] }>;
}

const tmp = (): string => join(tempDir('cbp-'), 'run');

function taskContext(model: ContinualModel, optimizer: Optimizer, task = 1, paradigm: Paradigm = 'til'): TaskContext {
  const none = { x: null as unknown as Tensor, y: null as unknown as Tensor, size: 0 };
  return { task, paradigm, model, optimizer, benchmark: {} as ContinualBenchmark, trainData: none, batchSize: 0, epochs: 1 };
}

/** One trainer step on (x, y): forward, cross-entropy, backward, optimizer step, then CBP. */
function trainStep(cbp: CBP, ctx: TaskContext, x: Tensor, y: Tensor, step: number): void {
  tidy(() => {
    const { output, logits } = ctx.model.forward(x, ctx.task);
    const classificationLoss = F.crossEntropy(logits, y);
    ctx.optimizer.zeroGrad();
    classificationLoss.backward();
    ctx.optimizer.step();
    const stepCtx: StepContext = { ...ctx, epoch: 1, step, batchCount: 1, globalStep: step, x, targets: y, output, logits, classificationLoss };
    cbp.onBatchEnd(stepCtx);
  });
}

/** CBP's step on the activations of x without any training (the weights CBP sees are the forward's). */
function observe(cbp: CBP, ctx: TaskContext, x: Tensor, step: number): void {
  tidy(() => {
    const { output, logits } = ctx.model.forward(x, ctx.task);
    const y = logits.argmax(1);
    cbp.onBatchEnd({ ...ctx, epoch: 1, step, batchCount: 1, globalStep: step, x, targets: y, output, logits, classificationLoss: logits.sum() });
  });
}

/** Copies of the model's parameters by name. */
function snapshot(model: ContinualModel): Map<string, Tensor> {
  return new Map(model.namedParameters().map(([n, p]) => [n, keep(p.detach().clone())]));
}

function free(map: Map<string, Tensor>): void {
  for (const t of map.values()) t.dispose();
}

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}

/** Two float32 computations of the same quantity by different kernels. */
const CLOSE = { rtol: 1e-5, atol: 1e-5 };

describe('CBP', () => {
  for (const utility of ['contribution', 'adaptable'] as const) {
    it(`matches the PyTorch transcription step by step (${utility} utility): replacements, ages, u, f and every parameter, redrawn weights included`, () => {
      const fx = loadFixture<CBPFixture>('cbp');
      const c = fx.config;
      const run = fx.runs[utility];
      // The same generator state as the fixture: the model, the second head and every redraw come from it.
      manualSeed(c.seed);
      const model = new ContinualModel(instantiateBackbone(mlpDefinition, [c.inputs], { hiddenSizes: c.hidden }), createHeads('til', c.hidden.at(-1)!));
      model.heads.setupTask(1, c.classes);
      const cbp = instantiate(cbpDefinition, { replacementRate: c.replacementRate, maturityThreshold: c.maturityThreshold, utilityDecay: c.utilityDecay, utility });
      let k = 0;
      let replacedAny = false;
      try {
        for (let task = 1; task <= c.tasks; task++) {
          if (task > 1) model.heads.setupTask(task, c.classes);
          // Task 1: the backbone and head 1; later tasks: their new head.
          const params = new Map(model.namedParameters());
          for (const [name, want] of Object.entries(run.initial)) {
            const isNew = name.startsWith(`heads.heads.${task - 1}.`) || (task === 1 && name.startsWith('backbone.'));
            if (isNew) assertMatches(params.get(name)!, want, `initial ${name}`, { rtol: 0, atol: 0 });
          }
          const optimizer = new SGD(model.parameters(), { lr: c.lr, momentum: c.momentum });
          const ctx = taskContext(model, optimizer, task);
          cbp.onTaskStart(ctx);
          const x = fromFixture(fx.data[task - 1]!.x);
          const y = fromFixture(fx.data[task - 1]!.y);
          for (let epoch = 0; epoch < c.epochs; epoch++) {
            for (let b = 0; b < x.shape[0]!; b += c.batch) {
              tidy(() => trainStep(cbp, ctx, x.narrow(0, b, c.batch), y.narrow(0, b, c.batch), k));
              const want = run.steps[k]!;
              assert.equal(want.task, task);
              for (const layer of ['fc1', 'fc2']) {
                const where = `step ${k + 1} ${layer}`;
                assert.deepEqual(cbp.lastReplaced().get(layer) ?? [], want.replaced[layer] ?? [], `${where}: units replaced`);
                const stats = cbp.layerStatistics(layer)!;
                assert.deepEqual([...stats.ages], want.ages[layer], `${where}: ages`);
                assert.ok(Math.abs(stats.accumulated - want.accumulated[layer]!) < 1e-12, `${where}: accumulated ${stats.accumulated} vs ${want.accumulated[layer]}`);
                assertMatches(stats.utility, want.utility[layer]!, `${where}: utility`, { rtol: 1e-4, atol: 1e-6 });
                assertMatches(stats.mean, want.mean[layer]!, `${where}: mean activation`, { rtol: 1e-4, atol: 1e-6 });
              }
              for (const [name, p] of model.namedParameters()) assertMatches(p, want.params[name]!, `step ${k + 1} ${name}`, { rtol: 1e-4, atol: 1e-6 });
              replacedAny ||= cbp.lastReplaced().size > 0;
              k++;
            }
          }
          optimizer.dispose();
          x.dispose();
          y.dispose();
        }
        assert.equal(k, run.steps.length);
        assert.ok(replacedAny);
      } finally {
        cbp.dispose();
        model.dispose();
      }
    });
  }

  it("leaves an MLP's outputs unchanged at the moment of replacement, but for each replaced unit sending its bias-corrected mean activation", () => {
    // Five training steps build the running means (η = 0.9, so the bias
    // correction 1 − η^age matters); at step 6 every unit is mature and
    // ρ · n units of each layer are replaced at once. The test keeps its own
    // running means from the activations, and compares the network after the
    // replacement with the network just before it in which each replaced
    // unit's activation is replaced by its f̂, on inputs never seen.
    // Without the compensation, or with an uncorrected mean, they differ.
    manualSeed(5);
    const eta = 0.9;
    const widths = [12, 10, 8];
    const heads = createHeads('til', 8);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [7], { hiddenSizes: widths }), heads);
    model.heads.setupTask(1, 3);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const ctx = taskContext(model, optimizer);
    const cbp = instantiate(cbpDefinition, { replacementRate: 0.25, maturityThreshold: 5, utilityDecay: eta });
    const names = ['fc1', 'fc2', 'fc3'];
    const running = names.map((_, i) => keep(tensor(new Float32Array(widths[i]!))));
    const probe = keep(randn([9, 7]));
    let before: Map<string, Tensor> | undefined;
    try {
      for (let step = 1; step <= 6; step++) {
        tidy(() => {
          const x = randn([16, 7]);
          const y = randint(0, 3, [16]);
          noGrad(() => {
            const acts = model.forward(x, 1).output.activations;
            names.forEach((n, i) => running[i]!.mul_(eta).add_(acts.get(n)!.mean(0), 1 - eta));
          });
          if (step === 6) {
            // The stepped weights CBP will change: take the step by hand, snapshot, then CBP.
            const { output, logits } = model.forward(x, 1);
            const loss = F.crossEntropy(logits, y);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
            before = snapshot(model);
            cbp.onBatchEnd({ ...ctx, epoch: 1, step, batchCount: 1, globalStep: step, x, targets: y, output, logits, classificationLoss: loss });
          } else trainStep(cbp, ctx, x, y, step);
        });
        assert.equal(cbp.lastReplaced().size, step === 6 ? 3 : 0, `replacements at step ${step}`);
      }
      const replaced = names.map((n) => [...cbp.lastReplaced().get(n)!]);
      assert.deepEqual(replaced.map((r) => r.length), widths.map((w) => Math.floor(0.25 * w)));
      const w = before!;
      tidy(() =>
        noGrad(() => {
          const meanHat = running.map((f) => f.div(1 - eta ** 6));
          // The network before the replacement, each replaced unit sending f̂.
          let h = probe;
          let plain = probe;
          names.forEach((n, i) => {
            const z = F.linear(h, w.get(`backbone.${n}.weight`)!, w.get(`backbone.${n}.bias`)!).relu();
            plain = F.linear(plain, w.get(`backbone.${n}.weight`)!, w.get(`backbone.${n}.bias`)!).relu();
            const mask = tensor(Array.from({ length: widths[i]! }, (_, u) => replaced[i]!.includes(u)), { dtype: 'bool' });
            h = z.mul(mask.logicalNot().float()).add(meanHat[i]!.mul(mask.float()));
          });
          const expected = F.linear(h, w.get('heads.heads.0.weight')!, w.get('heads.heads.0.bias')!);
          const original = F.linear(plain, w.get('heads.heads.0.weight')!, w.get('heads.heads.0.bias')!);
          const after = model.forward(probe, 1).logits;
          assertTensorsMatch(after, expected, 'outputs after replacement vs before with replaced units at f̂', CLOSE);
          assert.ok(!after.allclose(original, { rtol: 1e-3, atol: 1e-3 }), 'the replaced units did carry input-dependent signal (the check is not vacuous)');
        }),
      );
      // The replaced units themselves: fresh incoming rows within the initial bound, zero bias,
      // zero outgoing columns (but in rows of next-layer units replaced at the same step,
      // which are fresh rows), and fresh statistics.
      names.forEach((n, i) => {
        const fanIn = i === 0 ? 7 : widths[i - 1]!;
        const weight = model.backbone.layer(n).weight;
        const bias = model.backbone.layer(n).bias!;
        const next = i + 1 < names.length ? model.backbone.layer(names[i + 1]!).weight : heads.heads[0]!.weight;
        const nextFresh = i + 1 < names.length ? replaced[i + 1]! : [];
        const stats = cbp.layerStatistics(n)!;
        for (const u of replaced[i]!) {
          const row = tidy(() => values(weight.select(0, u)));
          const old = tidy(() => values(w.get(`backbone.${n}.weight`)!.select(0, u)));
          assert.ok(row.every((v) => Math.abs(v) <= 1 / Math.sqrt(fanIn)), `${n} unit ${u}: incoming weights within ±1/√${fanIn}`);
          assert.ok(row.some((v, j) => v !== old[j]), `${n} unit ${u}: incoming weights redrawn`);
          assert.equal(tidy(() => bias.select(0, u).item()), 0, `${n} unit ${u}: bias 0`);
          const column = tidy(() => values(next.select(1, u)));
          column.forEach((v, o) => {
            if (!nextFresh.includes(o)) assert.equal(v, 0, `${n} unit ${u}: outgoing weight to unit ${o} is 0`);
          });
          assert.equal(stats.ages[u], 0);
          assert.equal(tidy(() => stats.utility.select(0, u).item()), 0);
          assert.equal(tidy(() => stats.mean.select(0, u).abs().sum().item()), 0);
        }
      });
    } finally {
      if (before !== undefined) free(before);
      for (const t of [...running, probe]) t.dispose();
      cbp.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('with η = 0 keeps the batch-mean output exactly: the replaced features are replaced by their mean over the batch', () => {
    manualSeed(11);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [5], { hiddenSizes: [10] }), createHeads('dil', 10));
    model.heads.setupTask(1, 4);
    const optimizer = new SGD(model.parameters(), { lr: 0 });
    const ctx = taskContext(model, optimizer, 1, 'dil');
    const cbp = instantiate(cbpDefinition, { replacementRate: 0.3, maturityThreshold: 0, utilityDecay: 0 });
    const x = randn([32, 5]);
    try {
      const beforeMean = tidy(() => noGrad(() => values(model.forward(x, 1).logits.mean(0))));
      observe(cbp, ctx, x, 0);
      assert.equal(cbp.lastReplaced().get('fc1')!.length, 3);
      const afterLogits = tidy(() => noGrad(() => model.forward(x, 1).logits));
      const afterMean = tidy(() => values(afterLogits.mean(0)));
      afterMean.forEach((v, i) => assert.ok(Math.abs(v - beforeMean[i]!) < 1e-5, `class ${i}: batch-mean logit ${v} vs ${beforeMean[i]}`));
      afterLogits.dispose();
    } finally {
      x.dispose();
      cbp.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('replaces channels of convolutions: conv → conv and last conv → fc1 (per position) compensated, and the feature → heads', () => {
    // Checks the compensation identity of each link separately: the next
    // layer's pre-activation after the replacement equals, from the same
    // (post-replacement) input, its pre-activation before the replacement
    // with the replaced channel sending its mean — exactly for fc1 and the
    // heads, at interior positions for conv → conv (zero padding at the
    // border reads fewer taps of the constant).
    manualSeed(3);
    const eta = 0.8;
    const backbone = instantiateBackbone(cnnDefinition, [2, 8, 8], { channels: [3, 4], featureDim: 5 });
    const model = new ContinualModel(backbone, createHeads('til', 5));
    model.heads.setupTask(1, 2);
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const ctx = taskContext(model, optimizer);
    const cbp = instantiate(cbpDefinition, { replacementRate: 0.34, maturityThreshold: 2, utilityDecay: eta });
    // Running means as the test computes them: conv1 per channel, conv2 per channel and position, fc1 per unit.
    const f1 = keep(tensor(new Float32Array(3)));
    const f2 = keep(tensor(new Float32Array(4 * 4), { shape: [4, 2, 2] }));
    const f3 = keep(tensor(new Float32Array(5)));
    let before: Map<string, Tensor> | undefined;
    try {
      for (let step = 1; step <= 3; step++) {
        tidy(() => {
          const x = randn([6, 2, 8, 8]);
          const y = randint(0, 2, [6]);
          const { output, logits } = model.forward(x, 1);
          const a = output.activations;
          noGrad(() => {
            f1.mul_(eta).add_(a.get('conv1')!.mean([0, 2, 3]), 1 - eta);
            f2.mul_(eta).add_(a.get('conv2')!.mean(0), 1 - eta);
            f3.mul_(eta).add_(a.get('fc1')!.mean(0), 1 - eta);
          });
          const loss = F.crossEntropy(logits, y);
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
          if (step === 3) before = snapshot(model);
          cbp.onBatchEnd({ ...ctx, epoch: 1, step, batchCount: 1, globalStep: step, x, targets: y, output, logits, classificationLoss: loss });
        });
      }
      const [r1] = cbp.lastReplaced().get('conv1')!;
      const [r2] = cbp.lastReplaced().get('conv2')!;
      const [r3] = cbp.lastReplaced().get('fc1')!;
      assert.ok(r1 !== undefined && r2 !== undefined && r3 !== undefined, 'one unit of each layer replaced at step 3');
      const w = before!;
      const correction = 1 - eta ** 3;
      tidy(() =>
        noGrad(() => {
          const probe = randn([4, 2, 8, 8]);
          const a = model.forward(probe, 1).output.activations;
          const only = (n: number, r: number): Tensor => tensor(Array.from({ length: n }, (_, i) => i === r), { dtype: 'bool' });
          // conv1 → conv2: channel r1 of conv2's input held at f̂1[r1], old weights; interior positions, rows ≠ r2.
          const a1 = a.get('conv1')!;
          const m1 = only(3, r1).view(1, 3, 1, 1);
          const held1 = a1.maskedFill(m1, 0).add(m1.float().mul(f1.select(0, r1).div(correction)));
          const expected2 = F.conv2d(held1, w.get('backbone.conv2.weight')!, w.get('backbone.conv2.bias')!, { padding: 1 });
          const actual2 = F.conv2d(a1, backbone.layer('conv2').weight, backbone.layer('conv2').bias, { padding: 1 });
          const interior = (t: Tensor): Tensor => t.narrow(2, 1, 2).narrow(3, 1, 2);
          const keepRows = tensor(Array.from({ length: 4 }, (_, i) => i).filter((i) => i !== r2));
          assertTensorsMatch(interior(actual2.indexSelect(1, keepRows)), interior(expected2.indexSelect(1, keepRows)), 'conv2 interior pre-activation', CLOSE);
          // conv2 → fc1: channel r2 held at its per-position f̂2, rows ≠ r3.
          const a2 = a.get('conv2')!;
          const m2 = only(4, r2).view(1, 4, 1, 1);
          const held2 = a2.maskedFill(m2, 0).add(m2.float().mul(f2.div(correction).unsqueeze(0)));
          const rows3 = tensor(Array.from({ length: 5 }, (_, i) => i).filter((i) => i !== r3));
          const expected3 = F.linear(held2.flatten(1), w.get('backbone.fc1.weight')!, w.get('backbone.fc1.bias')!).indexSelect(1, rows3);
          const actual3 = F.linear(a2.flatten(1), backbone.layer('fc1').weight, backbone.layer('fc1').bias).indexSelect(1, rows3);
          assertTensorsMatch(actual3, expected3, 'fc1 pre-activation', CLOSE);
          // fc1 → head: unit r3 held at f̂3[r3].
          const a3 = a.get('fc1')!;
          const m3 = only(5, r3).view(1, 5);
          const held3 = a3.maskedFill(m3, 0).add(m3.float().mul(f3.div(correction)));
          assertTensorsMatch(model.forward(probe, 1).logits, F.linear(held3, w.get('heads.heads.0.weight')!, w.get('heads.heads.0.bias')!), 'logits', CLOSE);
          // Zeroed slices: conv2[:, r1] (rows ≠ r2), fc1's 2×2 columns of channel r2 (rows ≠ r3).
          assert.equal(backbone.layer('conv2').weight.indexSelect(0, keepRows).select(1, r1).abs().sum().item(), 0);
          assert.equal(backbone.layer('fc1').weight.indexSelect(0, rows3).narrow(1, r2 * 4, 4).abs().sum().item(), 0);
          assert.notEqual(backbone.layer('fc1').weight.indexSelect(0, rows3).narrow(1, ((r2 + 1) % 4) * 4, 4).abs().sum().item(), 0, 'other channels keep their columns');
          // Fresh incoming kernels within ±1/√fan_in.
          const bound1 = 1 / Math.sqrt(2 * 9);
          assert.ok(backbone.layer('conv1').weight.select(0, r1).abs().max().item() <= bound1);
          assert.ok(!backbone.layer('conv1').weight.select(0, r1).equal(w.get('backbone.conv1.weight')!.select(0, r1)));
          assert.equal(backbone.layer('conv1').bias!.select(0, r1).item(), 0);
        }),
      );
    } finally {
      if (before !== undefined) free(before);
      for (const t of [f1, f2, f3]) t.dispose();
      cbp.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('replaces ρ × eligible units summed over steps, with the fraction carried (no truncation to zero at the paper\'s ρ = 1e-4)', () => {
    manualSeed(2);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [5], { hiddenSizes: [64] }), createHeads('til', 64));
    model.heads.setupTask(1, 2);
    const optimizer = new SGD(model.parameters(), { lr: 0 });
    const ctx = taskContext(model, optimizer);
    const x = randn([4, 5]);
    try {
      // ρ = 1/1024: every partial sum of ρ · eligible is exact in binary, so the count is exactly ⌊Σ⌋.
      for (const [rho, steps, maturity] of [[1 / 1024, 1500, 20], [1e-4, 2000, 100]] as const) {
        const cbp = instantiate(cbpDefinition, { replacementRate: rho, maturityThreshold: maturity });
        const ages = new Array<number>(64).fill(0);
        let expected = 0;
        let total = 0;
        for (let step = 0; step < steps; step++) {
          for (let i = 0; i < 64; i++) ages[i]! += 1;
          expected += rho * ages.filter((a) => a > maturity).length;
          observe(cbp, ctx, x, step);
          const units = cbp.lastReplaced().get('fc1') ?? [];
          for (const u of units) ages[u] = 0;
          total += units.length;
        }
        const stats = cbp.layerStatistics('fc1')!;
        assert.equal(stats.replaced, total);
        assert.deepEqual([...stats.ages], ages, `ρ = ${rho}: ages`);
        if (rho === 1 / 1024) {
          assert.equal(total, Math.floor(expected), `ρ = ${rho}: replaced ${total}, ⌊Σ ρ·eligible⌋ = ${Math.floor(expected)}`);
          assert.equal(stats.accumulated, expected - total, 'the fraction carried');
        } else {
          assert.ok(total > 0 && Math.abs(total - expected) < 1, `ρ = ${rho}: replaced ${total}, Σ ρ·eligible = ${expected}`);
        }
        cbp.dispose();
      }
    } finally {
      x.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('never replaces a unit whose age is not above the maturity threshold', () => {
    manualSeed(4);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [5], { hiddenSizes: [6, 5] }), createHeads('til', 5));
    model.heads.setupTask(1, 2);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const ctx = taskContext(model, optimizer);
    const maturity = 7;
    const cbp = instantiate(cbpDefinition, { replacementRate: 0.5, maturityThreshold: maturity });
    const ages = new Map([['fc1', new Array<number>(6).fill(0)], ['fc2', new Array<number>(5).fill(0)]]);
    let replaced = 0;
    try {
      for (let step = 1; step <= 60; step++) {
        tidy(() => trainStep(cbp, ctx, randn([8, 5]), randint(0, 2, [8]), step));
        for (const [layer, a] of ages) {
          for (let i = 0; i < a.length; i++) a[i]! += 1;
          for (const u of cbp.lastReplaced().get(layer) ?? []) {
            assert.ok(a[u]! > maturity, `step ${step}: ${layer} unit ${u} replaced at age ${a[u]}`);
            a[u] = 0;
            replaced++;
          }
        }
        if (step <= maturity) assert.equal(cbp.lastReplaced().size, 0, `no unit is mature at step ${step}`);
      }
      assert.ok(replaced > 10, `units were replaced (${replaced})`);
    } finally {
      cbp.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('frees every temporary: the tensor count stays flat over steps with replacements', () => {
    manualSeed(6);
    const model = new ContinualModel(instantiateBackbone(cnnDefinition, [1, 8, 8], { channels: [3, 4], featureDim: 6 }), createHeads('til', 6));
    model.heads.setupTask(1, 2);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const ctx = taskContext(model, optimizer);
    const cbp = instantiate(cbpDefinition, { replacementRate: 0.3, maturityThreshold: 1, utility: 'adaptable' });
    const x = randn([4, 1, 8, 8]);
    const y = randint(0, 2, [4]);
    try {
      for (let step = 0; step < 3; step++) trainStep(cbp, ctx, x, y, step);
      const count = settledTensorCount();
      let replaced = 0;
      for (let step = 3; step < 40; step++) {
        trainStep(cbp, ctx, x, y, step);
        replaced += [...cbp.lastReplaced().values()].reduce((n, u) => n + u.length, 0);
      }
      assert.ok(replaced > 20);
      // A leak would add tensors every step.
      assert.equal(settledTensorCount(), count, 'live tensors after 37 more steps');
    } finally {
      x.dispose();
      y.dispose();
      cbp.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });

  it('rejects bad options with the option, the value and what is allowed', () => {
    for (const [options, pattern] of [
      [{ replacementRate: -0.1 }, /replacementRate: expected a number in \[0, 1\], got -0.1/],
      [{ replacementRate: 1.5 }, /replacementRate: expected a number in \[0, 1\], got 1.5/],
      [{ replacementRate: Number.NaN }, /replacementRate/],
      [{ maturityThreshold: 2.5 }, /maturityThreshold: expected an integer >= 0, got 2.5/],
      [{ maturityThreshold: -1 }, /maturityThreshold: expected an integer >= 0, got -1/],
      [{ utilityDecay: 1 }, /utilityDecay: expected a number in \[0, 1\), got 1/],
      [{ utilityDecay: -0.5 }, /utilityDecay/],
      [{ utility: 'weight' as CBPUtility }, /utility: expected one of 'contribution', 'adaptable', got 'weight'/],
    ] as const) {
      assert.throws(() => instantiate(cbpDefinition, options), pattern);
    }
    assert.deepEqual(loadExperiment(undefined, ['algorithms=[{name: cbp}]']).algorithms, [
      { name: 'cbp', replacementRate: 1e-4, maturityThreshold: 100, utilityDecay: 0.99, utility: 'contribution' },
    ]);
    const [made] = createAlgorithms([{ name: 'cbp', replacementRate: 0.01, maturityThreshold: 5, utilityDecay: 0.9, utility: 'adaptable' }]);
    assert.ok(made instanceof CBP);
    assert.deepEqual([made.replacementRate, made.maturityThreshold, made.utilityDecay, made.utility], [0.01, 5, 0.9, 'adaptable']);
    for (const [override, pattern] of [
      ['algorithms=[{name: cbp, replacementRate: 2}]', /algorithms\[0\]\.replacementRate/],
      ['algorithms=[{name: cbp, maturityThreshold: 0.5}]', /algorithms\[0\]\.maturityThreshold/],
      ['algorithms=[{name: cbp, utilityDecay: 1}]', /algorithms\[0\]\.utilityDecay/],
      ['algorithms=[{name: cbp, utility: random}]', /algorithms\[0\]\.utility/],
    ] as const) {
      assert.throws(() => loadExperiment(undefined, [override]), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    }
  });

  it('rejects backbones it cannot handle exactly, naming the fix', () => {
    const cases: [ContinualModel, RegExp][] = [
      [new ContinualModel(instantiateBackbone(mlpDefinition, [4], { hiddenSizes: [3], batchNorm: true }), createHeads('til', 3)), /backbone\.batchNorm must be false/],
      [new ContinualModel(instantiateBackbone(cnnDefinition, [1, 8, 8], { channels: [2], batchNorm: true }), createHeads('til', 128)), /backbone\.batchNorm must be false/],
      [new ContinualModel(new ResNet18([3, 32, 32]), createHeads('til', 512)), /ResNet18 backbone is not supported; use 'mlp' or 'cnn'/],
    ];
    for (const [model, pattern] of cases) {
      model.heads.setupTask(1, 2);
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      const cbp = instantiate(cbpDefinition);
      try {
        assert.throws(() => cbp.onTaskStart(taskContext(model, optimizer)), pattern);
      } finally {
        cbp.dispose();
        optimizer.dispose();
        model.dispose();
      }
    }
  });

  it('checkpoints its statistics: a run stopped after task 1 and resumed ends exactly as an uninterrupted one', () => {
    // 8 steps per task and maturity 10: units first become eligible in task 2,
    // so task 2's replacements depend on the ages carried through the checkpoint.
    const overrides = [
      'benchmark.numTasks=2', 'benchmark.trainLimit=256', 'benchmark.validationFraction=0', 'backbone.hiddenSizes=[16, 12]',
      'training.epochs=1', 'training.batchSize=32', 'training.validateEveryEpoch=false',
    ];
    const options = { replacementRate: 0.05, maturityThreshold: 10, utilityDecay: 0.9 };
    const full = instantiate(cbpDefinition, options);
    const stopped = instantiate(cbpDefinition, options);
    const resumed = instantiate(cbpDefinition, options);
    try {
      const reference = runExperiment({ config: loadExperiment(undefined, overrides), runDir: tmp(), plugins: [full] });
      assert.ok(full.layerStatistics('fc1')!.replaced > 0 && full.layerStatistics('fc2')!.replaced > 0, 'units were replaced in task 2');
      const dir = tmp();
      assert.throws(
        () => runExperiment({ config: loadExperiment(undefined, overrides), runDir: dir, plugins: [stopped], onTaskEnd: (task) => { if (task === 1) throw new Error('interrupted'); } }),
        /interrupted/,
      );
      const again = runExperiment({ config: loadExperiment(undefined, overrides), runDir: dir, resume: true, plugins: [resumed] });
      assert.deepEqual(again.accuracy, reference.accuracy);
      assert.deepEqual(again.loss, reference.loss);
      for (const layer of ['fc1', 'fc2']) {
        const a = full.layerStatistics(layer)!;
        const b = resumed.layerStatistics(layer)!;
        assert.deepEqual([...b.ages], [...a.ages]);
        assert.equal(b.accumulated, a.accumulated);
        assert.equal(b.replaced, a.replaced);
        assert.ok(b.utility.equal(a.utility) && b.mean.equal(a.mean), `${layer}: utility and mean`);
      }
    } finally {
      for (const c of [full, stopped, resumed]) c.dispose();
    }
  });
});
