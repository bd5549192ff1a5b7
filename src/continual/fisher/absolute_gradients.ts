// The mean absolute gradient of a per-sample scalar, (1/N) Σ_n |∇_θ ℓ_n|, by
// parameter name: MAS's importance (ℓ_n = ‖F(x_n)‖²). It reuses the Fisher
// utility's machinery with abs in place of square. Sample n's gradient of a
// Linear weight is g_n a_nᵀ (g_n: its output gradient, a_n: its input), and
// |g_n a_nᵀ| = |g_n| |a_n|ᵀ, so Σ_n |g_n a_nᵀ| = |G|ᵀ|A| is exact and one
// matrix product; when a sample's gradient sums over positions (a
// convolution, extra input dims) abs does not factor through that sum, and
// the per-sample gradients are formed with bmm first (closed_form.ts).
// Parameters outside Linear and Conv2d layers (batch norm, user modules)
// take one grad() per sample on the batched graph, for them only.
import { enableGrad, grad, noGrad } from '../../tensor/autograd.js';
import { zerosLike } from '../../tensor/creation.js';
import { keep, tidy, tidyEach } from '../../tensor/scope.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Module } from '../../nn/module.js';
import { type CapturedLayer, capturableLayers, withCapture } from './capture.js';
import { closedFormApplies, perSampleGradientSums } from './closed_form.js';

/**
 * 'perSample': (1/N) Σ_n |∇ ℓ_n|, the abs taken per sample (exact).
 * 'minibatch': (1/N) Σ_batches |∇ Σ_{n ∈ batch} ℓ_n|, the abs taken per batch
 * (FACIL's |∇ batch mean|·B/N), which lets samples' gradients cancel.
 */
export type AbsoluteGradientEstimator = 'perSample' | 'minibatch';

export interface MeanAbsoluteGradientOptions {
  /** The module whose Linear and Conv2d layers are intercepted during the pass. */
  readonly model: Module;
  /** The parameters to report, by name. */
  readonly parameters: readonly (readonly [string, Tensor])[];
  /**
   * Inputs, samples along dim 0: one tensor, passed in batches of
   * `batchSize`, or batches already cut (each drawn inside its own scope, so
   * a batch built on the fly is freed once used).
   */
  readonly inputs: Tensor | Iterable<Tensor>;
  readonly batchSize: number;
  /** ℓ [N] of a batch of inputs; row n must depend on sample n alone. */
  readonly perSampleLoss: (x: Tensor) => Tensor;
  readonly estimator: AbsoluteGradientEstimator;
}

/** The mean absolute gradients, each shaped like its parameter and kept (the caller disposes them). */
export function meanAbsoluteGradients(o: MeanAbsoluteGradientOptions): Map<string, Tensor> {
  const result = tidy(() => {
    const sums = new Map(o.parameters.map(([name, p]) => [name, noGrad(() => zerosLike(p))] as [string, Tensor]));
    const layers = o.estimator === 'perSample' ? coveredLayers(o.model, o.parameters) : new Map<CapturedLayer, LayerNames>();
    let n = 0;
    tidyEach(o.inputs instanceof Tensor ? slices(o.inputs, o.batchSize) : o.inputs, (x) => {
      const size = x.shape[0] ?? 0;
      n += size;
      if (size > 0) enableGrad(() => (o.estimator === 'perSample' ? addPerSample(o, x, layers, sums) : addMinibatch(o, x, sums)));
    });
    if (n === 0) throw new RangeError('meanAbsoluteGradients: there are no samples');
    return noGrad(() => new Map([...sums].map(([name, sum]) => [name, sum.div(n)] as [string, Tensor])));
  });
  for (const t of result.values()) keep(t);
  return result;
}

function* slices(inputs: Tensor, batchSize: number): Generator<Tensor> {
  const n = inputs.shape[0] ?? 0;
  // narrow() views are freed by the per-batch scope that consumes them.
  for (let start = 0; start < n; start += batchSize) yield inputs.narrow(0, start, Math.min(batchSize, n - start));
}

interface LayerNames {
  weight: string | null;
  bias: string | null;
}

/** The Linear and Conv2d layers with a closed form whose parameters are asked for. */
function coveredLayers(model: Module, parameters: readonly (readonly [string, Tensor])[]): Map<CapturedLayer, LayerNames> {
  const byTensor = new Map(parameters.map(([name, p]) => [p, name]));
  const out = new Map<CapturedLayer, LayerNames>();
  for (const layer of capturableLayers(model)) {
    if (!closedFormApplies(layer)) continue;
    const names = { weight: byTensor.get(layer.weight) ?? null, bias: layer.bias === null ? null : byTensor.get(layer.bias) ?? null };
    if (names.weight !== null || names.bias !== null) out.set(layer, names);
  }
  return out;
}

function perSampleLoss(o: MeanAbsoluteGradientOptions, x: Tensor): Tensor {
  const loss = o.perSampleLoss(x);
  if (loss.ndim !== 1 || loss.shape[0] !== x.shape[0]) throw new RangeError(`meanAbsoluteGradients: the per-sample loss must be [${x.shape[0]}], got [${loss.shape.join(', ')}]`);
  return loss;
}

function addMinibatch(o: MeanAbsoluteGradientOptions, x: Tensor, sums: Map<string, Tensor>): void {
  const grads = grad(perSampleLoss(o, x).sum(), o.parameters.map(([, p]) => p), { allowUnused: true });
  noGrad(() => o.parameters.forEach(([name], i) => grads[i] && sums.get(name)!.add_(grads[i]!.abs())));
}

function addPerSample(o: MeanAbsoluteGradientOptions, x: Tensor, layers: Map<CapturedLayer, LayerNames>, sums: Map<string, Tensor>): void {
  const { result: loss, capture } = withCapture([...layers.keys()], () => perSampleLoss(o, x));
  try {
    const n = x.shape[0]!;
    // The closed form needs a layer called once, on one input row per sample.
    const closed = [...layers].flatMap(([layer, names]) => {
      const calls = capture.calls.get(layer);
      if (calls === undefined || calls.length !== 1) return [];
      const { input, output } = calls[0]!;
      return input.shape[0] === n && output.shape[0] === n ? [{ layer, names, input, output }] : [];
    });
    const covered = new Set(closed.flatMap(({ names }) => [names.weight, names.bias]));
    // A layer the pass never called (another task's head) has zero gradients.
    const uncalled = new Set([...layers].flatMap(([layer, names]) => (capture.calls.has(layer) ? [] : [names.weight, names.bias])));
    let rest = o.parameters.filter(([name]) => !covered.has(name) && !uncalled.has(name));
    if (rest.length > 0) {
      // Other parameters the loss does not reach stay zero without a loop.
      const reach = grad(loss.sum(), rest.map(([, p]) => p), { retainGraph: true, allowUnused: true });
      rest = rest.filter((_, i) => reach[i] !== null);
    }
    if (closed.length > 0) {
      // Row n of the gradient of Σ ℓ with respect to a layer's output is sample n's own (ℓ_n depends on row n alone).
      const gs = grad(loss.sum(), closed.map((c) => c.output), { retainGraph: rest.length > 0, allowUnused: true });
      noGrad(() =>
        closed.forEach((c, i) => {
          const g = gs[i];
          if (!g) return;
          const sum = perSampleGradientSums(c.layer, c.input, g, 0, 'abs');
          if (c.names.weight !== null) sums.get(c.names.weight)!.add_(sum.weight);
          if (c.names.bias !== null && sum.bias !== null) sums.get(c.names.bias)!.add_(sum.bias);
        }),
      );
    }
    for (let s = 0; s < n && rest.length > 0; s++) {
      tidy(() => {
        const gs = grad(loss.select(0, s), rest.map(([, p]) => p), { retainGraph: true, allowUnused: true });
        noGrad(() => rest.forEach(([name], i) => gs[i] && sums.get(name)!.add_(gs[i]!.abs())));
      });
    }
  } finally {
    capture.dispose();
  }
}
