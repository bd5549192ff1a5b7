// The diagonal Fisher information of a model's parameters, as a public
// utility usable without the trainer (EWC, online EWC and anything else that
// weighs parameters by importance). See docs/fisher.md for the formulas.
//
// The exact per-sample estimators never loop over single samples for Linear
// and Conv2d parameters: one batched forward captures each layer's input and
// output, one functional grad() of the summed per-sample losses gives every
// sample's output gradient at once, and the squared per-sample parameter
// gradients follow in closed form (closed_form.ts). Parameters outside such
// layers (batch norm, user-defined modules, layers called several times per
// pass) take a slower but exact path: one grad() per sample on the same
// batched graph, for those parameters only.
import { multinomial, randnLike, scalar, tensor, zerosLike } from '../../tensor/creation.js';
import { enableGrad, grad, noGrad } from '../../tensor/autograd.js';
import { keep, tidy, tidyEach } from '../../tensor/scope.js';
import { Tensor } from '../../tensor/tensor.js';
import { Linear } from '../../nn/layers/linear.js';
import type { Module } from '../../nn/module.js';
import { ContinualModel } from '../model/model.js';
import { type CapturedLayer, capturableLayers, withCapture } from './capture.js';
import { closedFormApplies, perSampleGradientSums } from './closed_form.js';

/** How computeFisher estimates the Fisher: the empirical one (observed labels), the true one (labels sampled from the model), the expected one (exact over classes), or CLArena's mini-batch approximation. */
export type FisherEstimator = 'empirical' | 'true' | 'expected' | 'minibatch';
/** The likelihood computeFisher assumes: a softmax over classes, or a Gaussian for regression. */
export type FisherTaskKind = 'classification' | 'regression';

/** Inputs and targets. Samples run along dim 0, or along dim 1 ([S, N, ...]) with timeSeries. */
export interface FisherBatch {
  readonly x: Tensor;
  readonly y: Tensor;
}

/** What computeFisher estimates the diagonal Fisher of, on which data, and how. */
export interface ComputeFisherOptions {
  model: Module;
  /** One dataset (split into batches of batchSize) or an iterable of batches (used as given; a batch it creates while being iterated is freed once used). */
  data: FisherBatch | Iterable<FisherBatch>;
  /** Parameter names of `model`, or explicit [name, tensor] pairs; default every named parameter that requires grad. */
  parameters?: readonly string[] | readonly (readonly [string, Tensor])[];
  /** Batch size for a single dataset (default 64). */
  batchSize?: number;
  /** Default 'empirical'. */
  estimator?: FisherEstimator;
  /** The likelihood: 'classification' (softmax over the outputs) or 'regression' (Gaussian with variance regressionLvar). Default 'classification'. */
  task?: FisherTaskKind;
  /** Task id passed to a ContinualModel's forward (required for one, unless customForward is given). */
  taskId?: number;
  /** Variance of the Gaussian likelihood in regression (default 1). */
  regressionLvar?: number;
  /** Outputs are [S, N, F]; the NLL is summed over the S time steps of each sample. */
  timeSeries?: boolean;
  /** Indices of the output units the likelihood uses (targets then index into this list). */
  allowedOutputs?: readonly number[];
  /** Use at most this many samples (the first ones). */
  nMax?: number;
  /** Replaces the model's forward: returns the outputs (logits or regression outputs). */
  customForward?: (model: Module, x: Tensor) => Tensor;
  /** Replaces the NLL: per-sample negative log-likelihoods [N] of the (restricted) outputs and targets. Empirical and minibatch estimators only. */
  customNll?: (outputs: Tensor, targets: Tensor) => Tensor;
  /** Applied to each batch's targets before the NLL. */
  targetTransform?: (y: Tensor) => Tensor;
  /** Online accumulation: the result is gamma * previous + this Fisher (missing names count as zero). */
  online?: { previous: ReadonlyMap<string, Tensor>; gamma: number };
  /** Weight by the dataset size N instead of averaging over samples (online only). */
  properScaling?: boolean;
  /** N for properScaling (default: the single dataset's size, or the number of samples used for an iterable). */
  datasetSize?: number;
  /** Offset added to the new Fisher, e.g. 1/σ²_prior: a scalar or a tensor per parameter name (online only). */
  priorStrength?: number | ReadonlyMap<string, Tensor>;
  /** Mode of the pass: 'eval' (default), 'train', or 'keep' the current one. The previous modes are restored afterwards. */
  mode?: 'eval' | 'train' | 'keep';
}

const ESTIMATORS: readonly FisherEstimator[] = ['empirical', 'true', 'expected', 'minibatch'];

/** A per-sample loss [N] (in the graph) and optional per-sample weights [N] of its squared gradient. */
interface Component {
  loss: Tensor;
  weight: Tensor | null;
}

function fail(message: string): never {
  throw new RangeError(`computeFisher: ${message}`);
}

function checkPositiveInteger(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) fail(`${what} must be a positive integer, got ${n}`);
}

function shapeText(t: Tensor | readonly number[]): string {
  return `[${(t instanceof Tensor ? t.shape : t).join(', ')}]`;
}

function isBatch(data: unknown): data is FisherBatch {
  return typeof data === 'object' && data !== null && (data as { x?: unknown }).x instanceof Tensor && (data as { y?: unknown }).y instanceof Tensor;
}

function resolveParameters(model: Module, spec: ComputeFisherOptions['parameters']): [string, Tensor][] {
  const named = model.namedParameters();
  let out: [string, Tensor][];
  if (spec === undefined) out = named.filter(([, p]) => p.requiresGrad);
  else {
    const byName = new Map<string, Tensor>(named);
    out = spec.map((entry) => {
      if (typeof entry === 'string') {
        const p = byName.get(entry);
        if (p === undefined) fail(`the model has no parameter '${entry}'`);
        return [entry, p];
      }
      const [name, t] = entry;
      if (!(t instanceof Tensor)) fail(`parameters: the entry '${String(name)}' is not a tensor`);
      return [name, t];
    });
  }
  if (out.length === 0) fail('there are no parameters to compute the Fisher for');
  const names = new Set<string>();
  for (const [name, t] of out) {
    if (names.has(name)) fail(`parameter '${name}' is listed twice`);
    names.add(name);
    if (!t.requiresGrad) fail(`parameter '${name}' does not require grad, so its gradient cannot be computed`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64') fail(`parameter '${name}' is ${t.dtype}, not floating point`);
  }
  return out;
}

function validate(o: ComputeFisherOptions): void {
  if (o.estimator !== undefined && !ESTIMATORS.includes(o.estimator)) fail(`estimator must be one of ${ESTIMATORS.join(', ')}, got '${String(o.estimator)}'`);
  if (o.task !== undefined && o.task !== 'classification' && o.task !== 'regression') fail(`task must be 'classification' or 'regression', got '${String(o.task)}'`);
  if (o.mode !== undefined && o.mode !== 'eval' && o.mode !== 'train' && o.mode !== 'keep') fail(`mode must be 'eval', 'train' or 'keep', got '${String(o.mode)}'`);
  if (o.batchSize !== undefined) checkPositiveInteger('batchSize', o.batchSize);
  if (o.nMax !== undefined) checkPositiveInteger('nMax', o.nMax);
  if (o.datasetSize !== undefined) {
    checkPositiveInteger('datasetSize', o.datasetSize);
    if (!o.properScaling) fail('datasetSize only applies with properScaling');
  }
  const lvar = o.regressionLvar ?? 1;
  if (!(Number.isFinite(lvar) && lvar > 0)) fail(`regressionLvar must be a positive finite variance, got ${lvar}`);
  if (o.regressionLvar !== undefined && o.task !== 'regression') fail("regressionLvar only applies with task 'regression'");
  if (o.online !== undefined) {
    const gamma = o.online.gamma;
    if (!(typeof gamma === 'number' && gamma >= 0 && gamma <= 1)) fail(`online.gamma must be in [0, 1], got ${String(gamma)}`);
    if (!(o.online.previous instanceof Map)) fail('online.previous must be a Map from parameter name to tensor');
  }
  if (o.properScaling && o.online === undefined) fail('properScaling is only defined for online accumulation (pass online: {previous, gamma})');
  if (o.priorStrength !== undefined) {
    if (o.online === undefined) fail('priorStrength is only defined for online accumulation (pass online: {previous, gamma})');
    if (typeof o.priorStrength === 'number' && !(Number.isFinite(o.priorStrength) && o.priorStrength >= 0)) {
      fail(`priorStrength must be a finite non-negative number, got ${o.priorStrength}`);
    }
  }
  const est = o.estimator ?? 'empirical';
  if (o.customNll !== undefined && (est === 'true' || est === 'expected')) {
    fail(`customNll defines no predictive distribution to sample or integrate over, so it cannot be used with the '${est}' estimator`);
  }
  if (o.allowedOutputs !== undefined) {
    const a = o.allowedOutputs;
    if (a.length === 0) fail('allowedOutputs must list at least one output index');
    if (a.some((i) => !Number.isInteger(i) || i < 0)) fail(`allowedOutputs must be non-negative integers, got [${a.join(', ')}]`);
    if (new Set(a).size !== a.length) fail(`allowedOutputs has duplicates: [${a.join(', ')}]`);
  }
  if (o.taskId !== undefined) checkPositiveInteger('taskId', o.taskId);
}

/** The model's outputs for `x`: customForward, a ContinualModel's logits for taskId, or forward(x). */
function runForward(o: ComputeFisherOptions, x: Tensor): Tensor {
  let out: unknown;
  if (o.customForward !== undefined) out = o.customForward(o.model, x);
  else if (o.model instanceof ContinualModel) {
    if (o.taskId === undefined) fail('a ContinualModel needs taskId to choose its head (or pass customForward)');
    out = o.model.forward(x, o.taskId).logits;
  } else {
    const forward = (o.model as unknown as { forward?: unknown }).forward;
    if (typeof forward !== 'function') fail(`${o.model.constructor.name} has no forward(x); pass customForward`);
    out = (forward as (x: Tensor) => unknown).call(o.model, x);
  }
  if (!(out instanceof Tensor)) fail('the forward pass must return a tensor of outputs (use customForward to pick it out)');
  return out;
}

/** The batches to process, each cut to the samples nMax still allows. */
function* batches(o: ComputeFisherOptions, sampleDim: number): Generator<FisherBatch> {
  let left = o.nMax ?? Infinity;
  const source: Iterable<FisherBatch> = isBatch(o.data) ? split(o.data, o.batchSize ?? 64, sampleDim) : o.data;
  for (const b of source) {
    if (left <= 0) return;
    if (!isBatch(b)) fail('each batch must be an object {x, y} of tensors');
    const n = b.x.shape[sampleDim];
    if (n === undefined || b.y.shape[sampleDim] !== n) fail(`x ${shapeText(b.x)} and y ${shapeText(b.y)} must hold the same number of samples along dim ${sampleDim}`);
    if (n === 0) continue;
    if (n <= left) yield b;
    else yield { x: b.x.narrow(sampleDim, 0, left), y: b.y.narrow(sampleDim, 0, left) };
    left -= Math.min(n, left);
  }
}

function* split(data: FisherBatch, batchSize: number, sampleDim: number): Generator<FisherBatch> {
  const n = data.x.shape[sampleDim] ?? 0;
  for (let start = 0; start < n; start += batchSize) {
    const len = Math.min(batchSize, n - start);
    // narrow() views are freed by the per-batch scope that consumes them.
    yield { x: data.x.narrow(sampleDim, start, len), y: data.y.shape[sampleDim] === n ? data.y.narrow(sampleDim, start, len) : data.y };
  }
}

/** Per-sample Gaussian or categorical NLL [N] of outputs Y at targets T. */
function defaultNll(o: ComputeFisherOptions, y: Tensor, t: Tensor): Tensor {
  const ts = o.timeSeries ?? false;
  if ((o.task ?? 'classification') === 'regression') {
    if (t.shape.join() !== y.shape.join()) fail(`regression targets must have the outputs' shape ${shapeText(y)}, got ${shapeText(t)}`);
    const lvar = o.regressionLvar ?? 1;
    const sq = y.sub(t).square();
    const dims = ts ? [0, ...range(2, sq.ndim)] : range(1, sq.ndim);
    return (dims.length === 0 ? sq : sq.sum(dims)).mul(0.5 / lvar);
  }
  const classes = y.shape[y.ndim - 1]!;
  const want = ts ? y.shape.slice(0, 2) : y.shape.slice(0, 1);
  if (t.dtype !== 'int64') fail(`classification targets must be int64 class indices, got ${t.dtype}`);
  if (t.shape.join() !== want.join()) fail(`classification targets must have shape ${shapeText(want)}, got ${shapeText(t)}`);
  const [lo, hi] = [t.min().item(), t.max().item()];
  if (lo < 0 || hi >= classes) fail(`class targets must lie in [0, ${classes}) (indices into the ${o.allowedOutputs ? 'allowed ' : ''}outputs), got values in [${lo}, ${hi}]`);
  const picked = y.logSoftmax(-1).gather(y.ndim - 1, t.unsqueeze(-1)).squeeze(-1).neg();
  return ts ? picked.sum(0) : picked;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** The per-sample losses whose squared gradients (times the weights) make up the estimator. */
function components(o: ComputeFisherOptions, y: Tensor, t: Tensor, n: number): Component[] {
  const est = o.estimator ?? 'empirical';
  const ts = o.timeSeries ?? false;
  const regression = (o.task ?? 'classification') === 'regression';
  const nll = (targets: Tensor): Tensor => {
    const loss = o.customNll !== undefined ? o.customNll(y, targets) : defaultNll(o, y, targets);
    if (!(loss instanceof Tensor) || loss.shape.join() !== String(n)) {
      fail(`the NLL must be a vector of per-sample values [${n}], got ${loss instanceof Tensor ? shapeText(loss) : typeof loss}`);
    }
    return loss;
  };
  if (est === 'empirical' || est === 'minibatch') return [{ loss: nll(t), weight: null }];
  const detached = y.detach();
  if (est === 'true') {
    // The labels are drawn from the model's own predictive distribution (global generator).
    if (regression) return [{ loss: nll(detached.add(randnLike(detached).mul(Math.sqrt(o.regressionLvar ?? 1)))), weight: null }];
    const classes = y.shape[y.ndim - 1]!;
    const sampled = multinomial(detached.softmax(-1).reshape([-1, classes]), 1).reshape(y.shape.slice(0, -1));
    return [{ loss: nll(sampled), weight: null }];
  }
  // 'expected': Σ over outcomes exactly. Time steps are conditionally
  // independent given x and each step's score has zero mean, so the cross
  // terms vanish and the diagonal is a sum over (step, outcome) pairs.
  const out: Component[] = [];
  const steps = ts ? y.shape[0]! : 1;
  const units = y.shape[y.ndim - 1]!;
  const logp = regression ? null : y.logSoftmax(-1);
  for (let s = 0; s < steps; s++) {
    const ys = ts ? y.select(0, s) : y;
    const lps = logp === null ? null : ts ? logp.select(0, s) : logp;
    for (let c = 0; c < units; c++) {
      if (lps === null) {
        // Gaussian: E[(∇ NLL)²] = Σ_f (∇ y_f)² / lvar, i.e. the output unit over its standard deviation.
        out.push({ loss: ys.select(1, c).mul(1 / Math.sqrt(o.regressionLvar ?? 1)), weight: null });
      } else {
        const lp = lps.select(1, c);
        out.push({ loss: lp.neg(), weight: lp.detach().exp() });
      }
    }
  }
  return out;
}

interface Plan {
  /** Layers to intercept, with the names of their parameters being computed. */
  layers: Map<CapturedLayer, { weight: string | null; bias: string | null }>;
}

function plan(model: Module, params: [string, Tensor][]): Plan {
  const byTensor = new Map<Tensor, string>(params.map(([n, t]) => [t, n]));
  const layers = new Map<CapturedLayer, { weight: string | null; bias: string | null }>();
  for (const layer of capturableLayers(model)) {
    if (!closedFormApplies(layer)) continue;
    const weight = byTensor.get(layer.weight) ?? null;
    const bias = layer.bias === null ? null : byTensor.get(layer.bias) ?? null;
    if (weight !== null || bias !== null) layers.set(layer, { weight, bias });
  }
  return { layers };
}

/**
 * Adds one batch's Σ_n (per-sample squared gradient) to `sums` (or, for
 * 'minibatch', B·(∇ batch-mean loss)²) and returns the batch's sample count.
 */
function accumulateBatch(o: ComputeFisherOptions, batch: FisherBatch, params: [string, Tensor][], p: Plan, sums: Map<string, Tensor>): number {
  const ts = o.timeSeries ?? false;
  const sampleDim = ts ? 1 : 0;
  return tidy(() =>
    enableGrad(() => {
      const targets = o.targetTransform !== undefined ? o.targetTransform(batch.y) : batch.y;
      if (!(targets instanceof Tensor)) fail('targetTransform must return a tensor');
      const { result: raw, capture } = withCapture([...p.layers.keys()], () => runForward(o, batch.x));
      try {
        if (raw.ndim !== (ts ? 3 : 2)) fail(`the outputs must be ${ts ? '[S, N, F] with timeSeries' : '[N, F]'}, got ${shapeText(raw)}`);
        let y = raw;
        if (o.allowedOutputs !== undefined) {
          const width = raw.shape[raw.ndim - 1]!;
          const bad = o.allowedOutputs.find((i) => i >= width);
          if (bad !== undefined) fail(`allowedOutputs index ${bad} is out of range for ${width} outputs`);
          y = raw.indexSelect(raw.ndim - 1, tensor([...o.allowedOutputs], { dtype: 'int64' }));
        }
        const n = y.shape[sampleDim]!;
        const comps = components(o, y, targets, n);
        if ((o.estimator ?? 'empirical') === 'minibatch') {
          minibatchStep(comps[0]!.loss, params, n, sums);
          return n;
        }
        exactStep(comps, params, p, capture.calls, n, ts, sums);
        return n;
      } finally {
        capture.dispose();
      }
    }),
  );
}

function minibatchStep(loss: Tensor, params: [string, Tensor][], n: number, sums: Map<string, Tensor>): void {
  const grads = grad(loss.mean(), params.map(([, t]) => t), { allowUnused: true });
  noGrad(() => {
    params.forEach(([name], i) => {
      const g = grads[i];
      if (g) sums.get(name)!.add_(g.square(), n);
    });
  });
}

function exactStep(
  comps: Component[],
  params: [string, Tensor][],
  p: Plan,
  calls: Map<CapturedLayer, { input: Tensor; output: Tensor }[]>,
  n: number,
  timeSeries: boolean,
  sums: Map<string, Tensor>,
): void {
  // Closed form for layers called exactly once whose input holds one row per sample.
  const closed: { layer: CapturedLayer; input: Tensor; output: Tensor; batchDim: number; names: { weight: string | null; bias: string | null } }[] = [];
  const covered = new Set<string>();
  for (const [layer, names] of p.layers) {
    const list = calls.get(layer);
    if (list === undefined || list.length !== 1) continue;
    const { input, output } = list[0]!;
    const batchDim = timeSeries && input.ndim >= 3 && layer instanceof Linear ? 1 : 0;
    if (input.shape[batchDim] !== n || output.shape[batchDim] !== n) continue;
    closed.push({ layer, input, output, batchDim, names });
    if (names.weight !== null) covered.add(names.weight);
    if (names.bias !== null) covered.add(names.bias);
  }
  let fallback = params.filter(([name]) => !covered.has(name));
  if (fallback.length > 0) {
    // Parameters the loss does not reach (another task's head, say) have zero Fisher: skip their per-sample loop.
    const reach = grad(comps[0]!.loss.sum(), fallback.map(([, t]) => t), { retainGraph: true, allowUnused: true });
    fallback = fallback.filter((_, i) => reach[i] !== null);
  }
  for (const comp of comps) {
    tidy(() => {
      const root = comp.weight === null ? null : comp.weight.sqrt();
      if (closed.length > 0) {
        const gs = grad(comp.loss.sum(), closed.map((c) => c.output), { retainGraph: true, allowUnused: true });
        noGrad(() => {
          closed.forEach((c, i) => {
            const g0 = gs[i];
            if (!g0) return;
            // Scaling each sample's output gradient by √w weights its squared parameter gradient by w.
            const shape = c.output.shape.map((d, k) => (k === c.batchDim ? d : 1));
            const g = root === null ? g0 : g0.mul(root.reshape(shape));
            const sq = perSampleGradientSums(c.layer, c.input, g, c.batchDim, 'square');
            if (c.names.weight !== null) sums.get(c.names.weight)!.add_(sq.weight);
            if (c.names.bias !== null && sq.bias !== null) sums.get(c.names.bias)!.add_(sq.bias);
          });
        });
      }
      // The exact slow path: one grad per sample on the batched graph, for the uncovered parameters only.
      if (fallback.length > 0) {
        for (let s = 0; s < n; s++) {
          tidy(() => {
            const gs = grad(comp.loss.select(0, s), fallback.map(([, t]) => t), { retainGraph: true, allowUnused: true });
            noGrad(() => {
              const w = comp.weight === null ? 1 : comp.weight.select(0, s).item();
              fallback.forEach(([name], i) => {
                const g = gs[i];
                if (g) sums.get(name)!.add_(g.square(), w);
              });
            });
          });
        }
      }
    });
  }
}

/**
 * The diagonal Fisher information of the parameters, by name, each shaped
 * like its parameter. The tensors are kept (no scope frees them): dispose
 * them when done. The model's train/eval modes are restored afterwards.
 */
export function computeFisher(options: ComputeFisherOptions): Map<string, Tensor> {
  validate(options);
  const params = resolveParameters(options.model, options.parameters);
  const sampleDim = options.timeSeries ? 1 : 0;
  // Checked before the (possibly long) pass so that a mismatch fails fast.
  checkOnlineMaps(options, params);
  const modes = options.model.modules().map((m) => [m, m.training] as const);
  const mode = options.mode ?? 'eval';
  if (mode !== 'keep') options.model.train(mode === 'train');
  try {
    const result = tidy(() => {
      const sums = new Map<string, Tensor>(params.map(([name, t]) => [name, noGrad(() => zerosLike(t))]));
      const p = plan(options.model, params);
      let used = 0;
      // Each batch is drawn inside its own scope, so that one the iterable
      // builds on the fly (a task's rows) is freed as soon as it is used.
      tidyEach(batches(options, sampleDim), (batch) => {
        used += accumulateBatch(options, batch, params, p, sums);
      });
      if (used === 0) fail('the data holds no samples');
      const datasetSize = options.datasetSize ?? (isBatch(options.data) ? options.data.x.shape[sampleDim]! : used);
      // properScaling: N times the per-sample mean (N = the dataset's size even when nMax subsamples it).
      const factor = options.properScaling ? datasetSize / used : 1 / used;
      return noGrad(() => {
        const out = new Map<string, Tensor>();
        for (const [name] of params) {
          let f = sums.get(name)!.mul(factor);
          const prior = options.priorStrength;
          if (prior !== undefined) f = f.add(typeof prior === 'number' ? scalar(prior, { dtype: f.dtype }) : prior.get(name)!);
          const prev = options.online?.previous.get(name);
          if (options.online !== undefined && prev !== undefined) f = f.add(prev.mul(options.online.gamma));
          out.set(name, f);
        }
        return out;
      });
    });
    for (const t of result.values()) keep(t);
    return result;
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}

function checkOnlineMaps(o: ComputeFisherOptions, params: [string, Tensor][]): void {
  const names = new Set(params.map(([n]) => n));
  const shapes = new Map(params.map(([n, t]) => [n, t.shape.join()]));
  const check = (what: string, map: ReadonlyMap<string, Tensor>, complete: boolean): void => {
    for (const [name, t] of map) {
      if (!names.has(name)) fail(`${what} has an entry '${name}' that is not among the parameters being computed`);
      if (!(t instanceof Tensor) || t.shape.join() !== shapes.get(name)) fail(`${what} '${name}' must be a tensor of the parameter's shape`);
    }
    if (complete) for (const n of names) if (!map.has(n)) fail(`${what} has no entry for parameter '${n}'`);
  };
  if (o.online !== undefined) check('online.previous', o.online.previous, false);
  if (o.priorStrength instanceof Map) check('priorStrength', o.priorStrength, true);
  else if (o.priorStrength !== undefined && typeof o.priorStrength !== 'number') fail('priorStrength must be a number or a Map from parameter name to tensor');
}
