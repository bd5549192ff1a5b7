// MAS: the defects of the reference implementations, each on a case where
// they give another number than the paper's definition (section 14 of the
// spec): the abs per batch (Avalanche, FACIL), the importance pass in training
// mode (Avalanche), the plain norm (FACIL), the exponential average α 0.5
// (both), ½ in the penalty (FACIL) and heads left out of Ω (FACIL).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAS, masDefinition } from '../../../src/continual/algorithms/mas.js';
import { instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';
import { createHeads } from '../../../src/continual/model/heads.js';
import { ContinualModel } from '../../../src/continual/model/model.js';
import type { ContinualBenchmark, Paradigm } from '../../../src/continual/contracts/types.js';
import { SGD } from '../../../src/optim/sgd.js';
import { grad, noGrad } from '../../../src/tensor/autograd.js';
import { randn, tensor, zeros } from '../../../src/tensor/creation.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertClose, assertTensorsMatch } from '../../helpers.js';
import { masOptions, replay } from './tiny_run.js';

const EXACT = { rtol: 1e-12, atol: 1e-14 };

function taskContext(model: ContinualModel, paradigm: Paradigm, x: Tensor, batchSize: number) {
  const n = x.shape[0]!;
  return { task: 1, paradigm, model, optimizer: new SGD(model.parameters(), { lr: 0.1 }), benchmark: {} as ContinualBenchmark, trainData: { x, y: zeros([n], { dtype: 'int64' }), size: n }, batchSize, epochs: 1 };
}

/** Every sample's own forward and backward: (1/N) Σ_n |∇ ‖F(x_n)‖²| in the model's current mode (the test oracle). */
function naiveImportance(model: ContinualModel, x: Tensor): Map<string, Tensor> {
  const named = model.namedParameters();
  const n = x.shape[0]!;
  return tidy(() => {
    const sums = new Map(named.map(([name, p]) => [name, noGrad(() => p.mul(0))] as [string, Tensor]));
    for (let s = 0; s < n; s++) {
      const loss = model.forward(x.narrow(0, s, 1), 1).logits.square().sum();
      const grads = grad(loss, named.map(([, p]) => p), { allowUnused: true });
      noGrad(() => named.forEach(([name], i) => grads[i] && sums.get(name)!.add_(grads[i]!.abs())));
    }
    return noGrad(() => new Map([...sums].map(([name, t]) => [name, t.div(n)] as [string, Tensor])));
  });
}

describe('MAS against the defects of its reference implementations', () => {
  it("defaults to the paper: λ 0.1, per-sample abs, sum, squared norm, eval mode", () => {
    assert.deepEqual(masDefinition.options.parse({}), { lambda: 0.1, estimator: 'perSample', accumulate: 'sum', alpha: 0.5, norm: 'squared', mode: 'eval' });
  });

  it('takes the abs per sample: two samples whose gradients cancel in a batch keep their importance', () => {
    // Features relu(x), relu(−x); a 1-output head [1, −1]: F(1) = 1, F(−1) = −1,
    // so ∂F²/∂bias is 2 and −2. Per sample Ω_bias = 2; per batch |2 − 2| / 2 = 0.
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [1], { hiddenSizes: [2] }), createHeads('dil', 2));
    model.heads.setupTask(1, 1);
    const set = new Map(model.namedParameters());
    tidy(() =>
      noGrad(() => {
        set.get('backbone.fc1.weight')!.copy_(tensor([[1], [-1]], { dtype: 'float32' }));
        set.get('backbone.fc1.bias')!.zero_();
        set.get('heads.heads.0.weight')!.copy_(tensor([[1, -1]], { dtype: 'float32' }));
        set.get('heads.heads.0.bias')!.zero_();
      }),
    );
    const x = tensor([[1], [-1]], { dtype: 'float32' });
    const ctx = taskContext(model, 'dil', x, 2);
    const perSample = new MAS(masDefinition.options.parse({}));
    const minibatch = new MAS(masDefinition.options.parse({ estimator: 'minibatch' }));
    try {
      const a = perSample.taskImportance(ctx);
      const b = minibatch.taskImportance(ctx);
      assert.equal(a.get('heads.heads.0.bias')!.item(), 2);
      assert.equal(b.get('heads.heads.0.bias')!.item(), 0);
      // Where the gradients agree in sign both estimators agree: ∂F²/∂w = 2F·feature = [2, 2].
      assertTensorsMatch(a.get('heads.heads.0.weight')!, b.get('heads.heads.0.weight')!, 'head weight', EXACT);
      for (const t of [...a.values(), ...b.values()]) t.dispose();
    } finally {
      ctx.optimizer.dispose();
      model.dispose();
    }
  });

  it('runs the importance pass in eval mode: batch-norm statistics unchanged, dropout off, every mode restored', () => {
    const model = new ContinualModel(instantiateBackbone(mlpDefinition, [4], { hiddenSizes: [8, 6], batchNorm: true, dropout: 0.5 }), createHeads('til', 6));
    model.heads.setupTask(1, 3);
    model.to('float64');
    const x = randn([20, 4], { dtype: 'float64' });
    const ctx = taskContext(model, 'til', x, 8);
    const mas = new MAS(masDefinition.options.parse({}));
    const train = new MAS(masDefinition.options.parse({ mode: 'train' }));
    const buffers = (): Map<string, Tensor> => new Map(model.namedBuffers().map(([n, b]) => [n, b.clone()] as [string, Tensor]));
    try {
      // One training-mode forward so that the running statistics are not at their initial values.
      tidy(() => model.forward(x, 1));
      const before = buffers();
      model.train();
      const omega = mas.taskImportance(ctx);
      assert.ok(model.modules().every((m) => m.training), 'training mode restored');
      for (const [name, b] of model.namedBuffers()) assertTensorsMatch(b, before.get(name)!, `buffer ${name} unchanged`, { rtol: 0, atol: 0 });
      // Eval mode is deterministic (no dropout mask) and is what the naive oracle sees in eval mode.
      model.eval();
      const again = mas.taskImportance(ctx);
      assert.ok(model.modules().every((m) => !m.training), 'eval mode restored');
      const oracle = naiveImportance(model, x);
      for (const [name, t] of omega) {
        assertTensorsMatch(t, again.get(name)!, `${name}: the same in a second pass`, { rtol: 0, atol: 0 });
        // The batch-norm parameters take the per-sample grad() loop, the linear ones the closed form.
        assertTensorsMatch(t, oracle.get(name)!, `${name}: the naive per-sample loop`, EXACT);
      }
      // Avalanche's training-mode pass moves the statistics.
      const trained = train.taskImportance(ctx);
      assert.ok(model.namedBuffers().some(([name, b]) => name.endsWith('runningMean') && b.sub(before.get(name)!).abs().max().item() > 0), 'training mode updates running statistics');
      for (const t of [...omega.values(), ...again.values(), ...oracle.values(), ...trained.values(), ...before.values()]) t.dispose();
    } finally {
      ctx.optimizer.dispose();
      model.dispose();
    }
  });

  it("accumulates by a sum: after task 2 Ω = Ω^1 + Ω^2, where Avalanche's and FACIL's EMA gives ½ Ω^1 + ½ Ω^2", () => {
    const rules = [
      ['sum', (first: Tensor, next: Tensor) => first.add(next)],
      ['ema', (first: Tensor, next: Tensor) => first.mul(0.5).add(next.mul(0.5))],
    ] as const;
    for (const [accumulate, combine] of rules) {
      const mas = new MAS(masOptions({ accumulate, alpha: 0.5 }));
      const first = new Map<string, Tensor>();
      const model = replay('til', mas, ({ task, mas, taskImportance }) => {
        if (task === 1) for (const [name, t] of taskImportance) first.set(name, t.clone());
        if (task !== 2) return;
        tidy(() => {
          for (const [name, next] of taskImportance) {
            const before = first.get(name);
            // The second task's head has no earlier importance: its Ω is its Ω^2 under either rule.
            assertTensorsMatch(mas.importance.get(name)!, before === undefined ? next : combine(before, next), `${accumulate}: Ω of ${name}`, EXACT);
          }
        });
      });
      for (const t of first.values()) t.dispose();
      mas.dispose();
      model.dispose();
    }
  });

  it('has no ½ in the penalty, and covers the heads: λ Σ Ω (θ − θ*)² over backbone and heads', () => {
    const mas = new MAS(masOptions({ lambda: 0.7 }));
    const model = replay('cil', mas, () => undefined);
    try {
      const named = model.namedParameters();
      for (const [name] of named) assert.ok(mas.importance.get(name)!.abs().sum().item() > 0, `${name} has importance`);
      tidy(() => {
        noGrad(() => named.forEach(([, p], i) => p.add_(0.01 * (i + 1))));
        let byHand = 0;
        for (const [name, p] of named) byHand += mas.importance.get(name)!.mul(p.sub(mas.anchor.get(name)!).square()).sum().item();
        assertClose(mas.penalty(model)!.item(), 0.7 * byHand, 'λ Σ Ω (θ − θ*)²', 1e-12, 0);
        // The first task's head is pulled back too (FACIL leaves heads out).
        const head = named.find(([name]) => name === 'heads.heads.0.weight')![1];
        assert.ok(grad(mas.penalty(model)!, [head])[0]!.abs().sum().item() > 0);
      });
    } finally {
      mas.dispose();
      model.dispose();
    }
  });
});
