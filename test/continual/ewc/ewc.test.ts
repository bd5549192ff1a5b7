// EWC and online EWC: the aggregated penalty equals the direct per-task sum,
// Fisher passes restore the model's mode, the right parameters are covered,
// online EWC never mutates its stored Fisher, and both forget less than
// Finetuning on a real run.
import { instantiate, ewcDefinition, onlineEwcDefinition } from '../../../src/continual/algorithms/index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { QuadraticAnchors } from '../../../src/continual/algorithms/index.js';
import type { TaskContext } from '../../../src/continual/algorithms/index.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { type Tensor, grad, keep, manualSeed, rand, randint, randn, tidy } from '../../../src/index.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, TensorDataset } from '../../../src/continual/contracts/types.js';
import type { Optimizer } from '../../../src/optim/optimizer.js';
import { tempDir } from '../../helpers.js';

const tmp = (): string => join(tempDir('ewc-'), 'run');

describe('QuadraticAnchors', () => {
  it('A (θ − μ)² + c equals Σ_t F_t (θ − θ*_t)² in value and gradient (float64 reference), also after removing a task', () => {
    tidy(() => {
      manualSeed(5);
      const shapes: Record<string, number[]> = { w: [7, 5], b: [5] };
      const anchors = new QuadraticAnchors();
      const terms: { f: Record<string, Tensor>; a: Record<string, Tensor> }[] = [];
      for (let task = 1; task <= 4; task++) {
        const f: Record<string, Tensor> = {};
        const a: Record<string, Tensor> = {};
        for (const [name, shape] of Object.entries(shapes)) {
          // Zeros in some Fisher entries exercise the A = 0 guard.
          f[name] = rand(shape).mul(rand(shape).gt(0.3)).mul(10);
          a[name] = randn(shape);
        }
        terms.push({ f, a });
        anchors.add(task, {
          fisher: new Map(Object.entries(f).map(([n, t]) => [n, keep(t.clone())])),
          anchor: new Map(Object.entries(a).map(([n, t]) => [n, keep(t.clone())])),
        });
      }
      const theta = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, randn(s, { requiresGrad: true })]));
      const check = (tasks: number[]): void => {
        const value = anchors.penalty(Object.entries(theta))!;
        const grads = grad(value, Object.values(theta));
        let direct: Tensor | null = null;
        for (const t of tasks) {
          for (const name of Object.keys(shapes)) {
            const term = theta[name]!.double().sub(terms[t - 1]!.a[name]!.double()).square().mul(terms[t - 1]!.f[name]!.double()).sum();
            direct = direct === null ? term : direct.add(term);
          }
        }
        const directGrads = grad(direct!, Object.values(theta));
        const expected = direct!.item();
        assert.ok(Math.abs(value.item() - expected) <= 1e-5 * Math.abs(expected), `value ${value.item()} vs ${expected}`);
        grads.forEach((g, i) => assert.ok(g!.allclose(directGrads[i]!.float(), { rtol: 1e-4, atol: 1e-4 }), `gradient ${i}`));
      };
      check([1, 2, 3, 4]);
      anchors.remove(2);
      check([1, 3, 4]);
      anchors.dispose();
    });
  });
});

describe('EWC', () => {
  it('rejects λ <= 0 and γ outside [0, 1] with clear errors', () => {
    assert.throws(() => instantiate(ewcDefinition, { lambda: 0 }), /lambda: expected a number > 0, got 0/);
    assert.throws(() => instantiate(onlineEwcDefinition, { lambda: 1, gamma: 1.5 }), /gamma: expected a number in \[0, 1\], got 1.5/);
  });

  it('covers the backbone in TIL and also the shared head in DIL; restores train mode after the Fisher pass', () => {
    for (const paradigm of ['til', 'dil'] as const) {
      let names: string[] = [];
      let modeAfter: boolean | undefined;
      const ewc = instantiate(ewcDefinition, { lambda: 1 });
      const probe = {
        name: 'probe',
        onTaskEnd: (ctx: TaskContext) => {
          names = ewc.anchors.term(ctx.task)!.fisher.size > 0 ? [...ewc.anchors.term(ctx.task)!.fisher.keys()] : [];
          modeAfter = ctx.model.training;
        },
      };
      runExperiment({
        config: loadExperiment(undefined, ['benchmark.numTasks=1', 'benchmark.trainLimit=128', 'backbone.hiddenSizes=[16]', 'backbone.dropout=0.5', `paradigm=${paradigm}`, 'training.epochs=1']),
        runDir: tmp(),
        plugins: [ewc, probe],
      });
      assert.equal(modeAfter, true);
      assert.ok(names.every((n) => n.startsWith('backbone.') || (paradigm === 'dil' && n.startsWith('heads.'))));
      assert.equal(names.some((n) => n.startsWith('heads.')), paradigm === 'dil');
      ewc.dispose();
    }
  });

  it('with timing "train" the Fisher is the mean of B·g² over the task\'s steps (positive where weights were used)', () => {
    const ewc = instantiate(ewcDefinition, { lambda: 1, fisherTiming: 'train' });
    runExperiment({
      config: loadExperiment(undefined, ['benchmark.numTasks=1', 'benchmark.trainLimit=128', 'backbone.hiddenSizes=[16]', 'training.epochs=1']),
      runDir: tmp(),
      plugins: [ewc],
    });
    const fisher = ewc.anchors.term(1)!.fisher;
    const bias = fisher.get('backbone.fc1.bias')!;
    assert.ok(bias.min().item() >= 0);
    assert.ok(bias.sum().item() > 0);
    ewc.dispose();
  });
});

describe('EWC Fisher estimators', () => {
  it('estimates the end-of-task Fisher with each estimator of the Fisher utility; exact ones refuse the "train" timing', () => {
    const sums: Record<string, number> = {};
    for (const estimator of ['minibatch', 'empirical', 'true', 'expected'] as const) {
      const ewc = instantiate(ewcDefinition, { lambda: 1, estimator });
      runExperiment({
        config: loadExperiment(undefined, ['benchmark.numTasks=1', 'benchmark.trainLimit=128', 'backbone.hiddenSizes=[16]', 'training.epochs=1']),
        runDir: tmp(),
        plugins: [ewc],
      });
      sums[estimator] = ewc.anchors.term(1)!.fisher.get('backbone.fc1.weight')!.sum().item();
      ewc.dispose();
    }
    for (const [estimator, sum] of Object.entries(sums)) assert.ok(sum > 0, `${estimator}: ${sum}`);
    // The per-sample empirical Fisher is at least the mini-batch one: E[g²] >= (E g)² per batch.
    assert.ok(sums['empirical']! >= sums['minibatch']!, `empirical ${sums['empirical']} vs minibatch ${sums['minibatch']}`);
    assert.throws(() => instantiate(ewcDefinition, { lambda: 1, fisherTiming: 'train', estimator: 'empirical' }), /fisherTiming 'train' .* supports only the 'minibatch' estimator, got 'empirical'/);
  });
});

describe('online EWC', () => {
  it('keeps F* = γ F*_prev + F_t and never changes it while computing penalties', () => {
    const online = instantiate(onlineEwcDefinition, { lambda: 10, gamma: 0.5 });
    const seen: number[] = [];
    const probe = {
      name: 'probe',
      onTaskEnd: () => seen.push(online.runningFisher!.get('backbone.fc1.weight')!.sum().item()),
    };
    runExperiment({
      config: loadExperiment(undefined, ['benchmark.numTasks=3', 'benchmark.trainLimit=256', 'backbone.hiddenSizes=[16]', 'training.epochs=2']),
      runDir: tmp(),
      plugins: [online, probe],
    });
    // Dozens of penalty evaluations ran between these reads; F* only changes at task ends.
    const after = online.runningFisher!.get('backbone.fc1.weight')!.sum().item();
    assert.equal(after, seen[2]);
    assert.ok(seen[1]! > 0.5 * seen[0]!, 'the second task adds its own Fisher to the decayed first');
    online.dispose();
  });
});

describe('EWC on Permuted MNIST (bundled digits)', () => {
  it('forgets clearly less than Finetuning', () => {
    const common = ['benchmark.numTasks=4', 'backbone.hiddenSizes=[100,100]', 'training.epochs=3'];
    const fine = runExperiment({ config: loadExperiment(undefined, common), runDir: tmp() });
    const ewc = runExperiment({ config: loadExperiment(undefined, [...common, 'algorithms=[{name: ewc, lambda: 1000}]']), runDir: tmp() });
    const online = runExperiment({ config: loadExperiment(undefined, [...common, 'algorithms=[{name: onlineEwc, lambda: 1000, gamma: 1}]']), runDir: tmp() });
    // Finetuning's BWT is -0.07 to -0.09 depending on the CPU's kernels; EWC's about a fifth of it. Asked: at most half.
    assert.ok(fine.summary.bwt! < -0.04, `Finetuning must forget for the comparison to mean anything: BWT ${fine.summary.bwt}`);
    assert.ok(ewc.summary.bwt! > 0.5 * fine.summary.bwt!, `EWC BWT ${ewc.summary.bwt} vs Finetuning ${fine.summary.bwt}`);
    assert.ok(online.summary.bwt! > 0.5 * fine.summary.bwt!, `online EWC BWT ${online.summary.bwt} vs Finetuning ${fine.summary.bwt}`);
  });
});

describe('online EWC nMax', () => {
  it("the Fisher with nMax n equals the Fisher of a training set of only the first n samples; nMax is validated by the schema", () => {
    manualSeed(11);
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [6], { hiddenSizes: [5] }), createHeads('til', 5));
    const x = keep(randn([10, 6]));
    const y = keep(randint(0, 2, [10]));
    try {
      model.heads.setupTask(1, 2);
      const fisherOf = (trainData: TensorDataset, nMax?: number): Map<string, Tensor> => {
        const ewc = instantiate(onlineEwcDefinition, nMax === undefined ? {} : { nMax });
        const ctx = { task: 1, paradigm: 'til', model, optimizer: {} as Optimizer, benchmark: {} as ContinualBenchmark, trainData, batchSize: 4, epochs: 1 } as const satisfies TaskContext;
        ewc.onTaskStart(ctx);
        ewc.onTaskEnd(ctx);
        const fisher = new Map([...ewc.runningFisher!].map(([name, f]) => [name, keep(f.clone())] as [string, Tensor]));
        ewc.dispose();
        return fisher;
      };
      const all = fisherOf({ x, y, size: 10 });
      // 7 cuts a batch of 4; 12 is more than the set holds.
      for (const n of [1, 4, 7, 12]) {
        const capped = fisherOf({ x, y, size: 10 }, n);
        const m = Math.min(n, 10);
        const firstN = tidy(() => fisherOf({ x: x.narrow(0, 0, m), y: y.narrow(0, 0, m), size: m }));
        for (const [name, f] of capped) assert.ok(f.equal(firstN.get(name)!), `nMax ${n}: ${name}`);
        const differs = [...capped].some(([name, f]) => !f.equal(all.get(name)!));
        assert.equal(differs, n < 10, `nMax ${n} ${n < 10 ? 'differs from' : 'equals'} the Fisher of all samples`);
        for (const t of [...capped.values(), ...firstN.values()]) t.dispose();
      }
      for (const t of all.values()) t.dispose();
    } finally {
      x.dispose();
      y.dispose();
      model.dispose();
    }
    for (const nMax of [0, 2.5, -1]) assert.throws(() => instantiate(onlineEwcDefinition, { nMax }), /nMax/, `nMax ${nMax}`);
    assert.throws(() => instantiate(onlineEwcDefinition, { nMax: 5, fisherTiming: 'train' }), /nMax: needs fisherTiming 'train_end'/);
  });
});
