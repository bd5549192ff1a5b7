// The test oracle: the naive Fisher, one sample at a time, each with its own
// forward and backward pass (hypnettorch's method). Deliberately simple and
// independent of src/continual/fisher: no capture, no closed forms.
import assert from 'node:assert/strict';
import { type Tensor, cat, grad, nn, noGrad, tidy } from '../../../src/index.js';

export interface OracleOptions {
  forward: (x: Tensor) => Tensor;
  params: [string, Tensor][];
  x: Tensor;
  y: Tensor;
  estimator: 'empirical' | 'expected';
  regression?: boolean;
  lvar?: number;
  timeSeries?: boolean;
  allowedOutputs?: number[];
}

/** Mean over samples of Σ_outcomes weight · (∇ NLL)², every sample run alone. */
export function oracleFisher(o: OracleOptions): Map<string, Float64Array> {
  const sums = new Map(o.params.map(([n, t]) => [n, new Float64Array(t.numel())]));
  const dim = o.timeSeries ? 1 : 0;
  const n = o.x.shape[dim]!;
  const lvar = o.lvar ?? 1;
  for (let s = 0; s < n; s++) {
    tidy(() => {
      let out = o.forward(o.x.narrow(dim, s, 1));
      if (o.allowedOutputs) {
        const full = out;
        out = cat(o.allowedOutputs.map((i) => full.narrow(full.ndim - 1, i, 1)), full.ndim - 1);
      }
      const t = o.y.narrow(dim, s, 1);
      const terms: { loss: Tensor; weight: number }[] = [];
      if (o.estimator === 'empirical') {
        const loss = o.regression ? out.sub(t).square().sum().mul(0.5 / lvar) : nn.functional.crossEntropy(out.reshape([-1, out.shape[out.ndim - 1]!]), t.reshape([-1]), { reduction: 'sum' });
        terms.push({ loss, weight: 1 });
      } else {
        const flat = out.reshape([-1, out.shape[out.ndim - 1]!]);
        const logp = flat.logSoftmax(1);
        for (let r = 0; r < flat.shape[0]!; r++) {
          for (let c = 0; c < flat.shape[1]!; c++) {
            if (o.regression) terms.push({ loss: flat.select(0, r).select(0, c).div(Math.sqrt(lvar)), weight: 1 });
            else terms.push({ loss: logp.select(0, r).select(0, c), weight: Math.exp(logp.select(0, r).select(0, c).item()) });
          }
        }
      }
      for (const { loss, weight } of terms) {
        const gs = grad(loss, o.params.map(([, p]) => p), { retainGraph: true, allowUnused: true });
        noGrad(() => {
          o.params.forEach(([name], i) => {
            const g = gs[i];
            if (!g) return;
            const acc = sums.get(name)!;
            const v = g.toTypedArray();
            for (let k = 0; k < acc.length; k++) acc[k]! += weight * Number(v[k]) ** 2;
          });
        });
      }
    });
  }
  for (const acc of sums.values()) for (let k = 0; k < acc.length; k++) acc[k]! /= n;
  return sums;
}

/** Asserts |a - e| <= atol + rtol |e| elementwise for every parameter. */
export function assertFisherClose(actual: Map<string, Tensor>, expected: Map<string, ArrayLike<number>>, label: string, rtol = 1e-4, atol = 1e-7): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${label}: parameter names`);
  let scale = 0;
  for (const e of expected.values()) for (let k = 0; k < e.length; k++) scale = Math.max(scale, Math.abs(e[k]!));
  for (const [name, t] of actual) {
    const got = t.toTypedArray();
    const want = expected.get(name)!;
    assert.equal(got.length, want.length, `${label}: ${name} size`);
    for (let k = 0; k < want.length; k++) {
      const g = Number(got[k]);
      const w = want[k]!;
      // atol is relative to the largest entry: float32 sums of tiny squares carry absolute rounding error.
      assert.ok(Math.abs(g - w) <= atol * scale + rtol * Math.abs(w), `${label}: ${name}[${k}] = ${g}, oracle ${w}`);
    }
  }
}

export function paramsOf(model: nn.Module): [string, Tensor][] {
  return model.namedParameters();
}
