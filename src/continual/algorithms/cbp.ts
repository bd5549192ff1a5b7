// CBP, continual backpropagation (Dohare et al., "Loss of plasticity in deep
// continual learning", Nature 2024), as defined in docs/algorithms/cbp.md.
// After every optimizer step, for every unit i of every weighted backbone
// layer (a row of a Linear, an output channel of a Conv2d), with h_i its
// activation in that step's forward pass:
//
//   age_i ← age_i + 1
//   f_i   ← η f_i + (1 − η) mean h_i                      running mean activation
//   u_i   ← η u_i + (1 − η) y_i                           running utility, where
//     contribution: y_i = Σ_k |w_k,i| · mean |h_i|
//     adaptable:    y_i = Σ_k |w_k,i| · mean |h_i − f̂_i| / mean_j |v_i,j|
//   with w_·,i the unit's OUTGOING weights, v_i,· its incoming weights, the
//   means over the batch (and the positions of a channel), and x̂ = x / (1 − η^age)
//   the bias-corrected average. Then, per layer:
//   eligible = #{i : age_i > m};  a ← a + ρ · eligible;  r = ⌊a⌋;  a ← a − r
//   and the r eligible units of lowest û are replaced:
//     v_i,· ~ the layer's initial distribution, b_i = 0,
//     b_next += Σ_k w_·,i f̂_i, then w_·,i = 0 (the next layer now receives the
//     unit's mean activation instead of its activation),
//     u_i = f_i = age_i = 0, optimizer state of v_i,·, b_i and w_·,i reset.
//
// The outgoing weights of the last backbone layer (the feature) are the
// columns of every head set up so far: all heads read the feature, so all are
// compensated and zeroed, and the utility counts all of them.
//
// Ages are counts kept in JavaScript (exact, and the eligibility test needs no
// tensor work); utilities and running means are kept tensors updated in place.
import { type Infer, enumOf, integer, number, object, record } from '../../config/schema.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import { kaimingUniform_ } from '../../nn/init.js';
import type { Parameter } from '../../nn/parameter.js';
import type { Optimizer } from '../../optim/optimizer.js';
import { noGrad } from '../../tensor/autograd.js';
import { empty, tensor, zeros, zerosLike } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CNN } from '../backbones/cnn.js';
import { MLP } from '../backbones/mlp.js';
import { HeadDIL, HeadsCIL, HeadsTIL } from '../model/heads.js';
import type { ContinualModel } from '../model/model.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { readStateValues } from './state.js';

const cbpOptions = object({
  replacementRate: number({ min: 0, max: 1 })
    .default(1e-4)
    .describe('cbp: ρ, the fraction of the eligible units of a layer replaced per step (accumulated across steps), in [0, 1]'),
  maturityThreshold: integer({ min: 0 }).default(100).describe('cbp: m, a unit is eligible for replacement once its age (steps since it was made) exceeds m'),
  utilityDecay: number({ min: 0, max: 1, maxExclusive: true }).default(0.99).describe('cbp: η, decay of the running utility and mean activation, in [0, 1)'),
  utility: enumOf(['contribution', 'adaptable']).default('contribution').describe("cbp: the utility measure: 'contribution' (mean |h| × Σ|outgoing w|) or the authors' 'adaptable' (mean |h − f̂| × Σ|outgoing w| / mean |incoming w|)"),
});
/** The options of `cbp`, validated and defaulted: an `algorithms` entry `{name: cbp, ...}` without its name. */
export type CBPOptions = Infer<typeof cbpOptions>;
/** CBP's measure of a unit's usefulness (the `utility` option). */
export type CBPUtility = CBPOptions['utility'];

/** The JSON part of the checkpointed state: per layer, the fractional replacements carried over and the units replaced so far. */
const savedValues = object({ layers: record(object({ accumulated: number({ min: 0 }), replaced: integer({ min: 0 }) })) });

/**
 * Where a layer's units send their output: what their outgoing weights are.
 *   linear   the next Linear reads unit i as its input column i
 *   conv     the next Conv2d reads channel i at every position (kernel slice [:, i])
 *   flatten  the next Linear reads channel i's H×W map flattened: `positions` columns from i·positions
 *   heads    the feature: every head reads unit i as its input column i
 */
type Outgoing =
  | { kind: 'linear'; layer: Linear }
  | { kind: 'conv'; layer: Conv2d }
  | { kind: 'flatten'; layer: Linear; positions: number }
  | { kind: 'heads'; heads: readonly Linear[] };

/** A layer's running statistics. */
interface LayerStats {
  /** u, [n]. */
  utility: Tensor;
  /** f: [n], or [n, P] when the next layer reads each of a channel's P positions with its own weights (flatten). */
  mean: Tensor;
  /** Steps since each unit was made. */
  ages: Float64Array;
  /** The fractional number of replacements carried to the next step. */
  accumulated: number;
  /** Units replaced so far. */
  replaced: number;
}

/** What one layer's step needs, resolved from the model at that step. */
interface LayerStep {
  name: string;
  layer: Linear | Conv2d;
  outgoing: Outgoing;
  stats: LayerStats;
  /** The activation is never negative (ReLU, sigmoid), so mean |h| is mean h. */
  nonNegative: boolean;
}

/** The `cbp` algorithm. Continual backpropagation: after every step, replaces a small fraction of mature low-utility units with fresh ones (plasticity). */
export class CBP implements Algorithm {
  readonly name = 'cbp';
  readonly replacementRate: number;
  readonly maturityThreshold: number;
  readonly utilityDecay: number;
  readonly utility: CBPUtility;
  private readonly layers = new Map<string, LayerStats>();
  private readonly lastReplacedUnits = new Map<string, number[]>();

  constructor(options: CBPOptions) {
    this.replacementRate = options.replacementRate;
    this.maturityThreshold = options.maturityThreshold;
    this.utilityDecay = options.utilityDecay;
    this.utility = options.utility;
  }

  onTaskStart(ctx: TaskContext): void {
    // Fails before the first step on an unsupported model, and creates the statistics of a fresh run.
    this.resolve(ctx.model);
  }

  onBatchEnd(ctx: StepContext): void {
    const steps = this.resolve(ctx.model);
    this.lastReplacedUnits.clear();
    noGrad(() =>
      tidy(() => {
        // Every layer's statistics first, from the weights the step produced
        // and before any replacement changes them (as the authors' code does).
        for (const s of steps) {
          const h = ctx.output.activations.get(s.name);
          if (h === undefined) throw new Error(`CBP: the backbone reported no activation for layer '${s.name}'`);
          this.updateStatistics(s, h);
        }
        for (const s of steps) {
          const units = this.chooseReplacements(s.stats);
          if (units.length === 0) continue;
          this.replace(s, units, ctx.optimizer);
          this.lastReplacedUnits.set(s.name, units);
        }
      }),
    );
  }

  /** age, f and u after one step's activations `h` ([N, n] or [N, C, H, W]). */
  private updateStatistics(s: LayerStep, h: Tensor): void {
    const { stats } = s;
    const eta = this.utilityDecay;
    for (let i = 0; i < stats.ages.length; i++) stats.ages[i]! += 1;
    const perUnit = unitReducer(s, h);
    const batchMean = perUnit(h);
    // lerp_(x, 1 − η): f ← η f + (1 − η) x, in one operation.
    stats.mean.lerp_(batchMean, 1 - eta);
    const outgoing = outgoingMagnitude(s.outgoing, stats.mean);
    let y: Tensor;
    if (this.utility === 'contribution') {
      y = (s.nonNegative ? batchMean : perUnit(h.abs())).mul(outgoing);
    } else {
      const meanHat = stats.mean.div(this.biasCorrection(stats.ages, stats.mean));
      y = perUnit(h.sub(broadcastLike(meanHat, h)).abs()).mul(outgoing);
    }
    if (y.ndim === 2) y = y.sum(1);
    if (this.utility === 'adaptable') y = y.div(s.layer.weight.abs().flatten(1).mean(1));
    stats.utility.lerp_(y, 1 - eta);
  }

  /** 1 − η^age of every unit (or of `units` only), shaped to divide a statistic like `like` ([n] or [n, P]). */
  private biasCorrection(ages: Float64Array, like: Tensor, units?: readonly number[]): Tensor {
    const chosen = units ?? Array.from(ages.keys());
    const values = Float32Array.from(chosen, (i) => 1 - this.utilityDecay ** ages[i]!);
    return tensor(values, { shape: like.ndim === 1 ? [chosen.length] : [chosen.length, 1], device: like.device }).to(like.dtype);
  }

  /** The units to replace this step: ⌊accumulated⌋ eligible units of lowest bias-corrected utility. */
  private chooseReplacements(stats: LayerStats): number[] {
    const eligible: number[] = [];
    stats.ages.forEach((age, i) => {
      if (age > this.maturityThreshold) eligible.push(i);
    });
    if (eligible.length === 0) return [];
    stats.accumulated += this.replacementRate * eligible.length;
    const count = Math.floor(stats.accumulated);
    if (count === 0) return [];
    stats.accumulated -= count;
    const u = stats.utility.toTypedArray();
    const corrected = new Map(eligible.map((i) => [i, Number(u[i]) / (1 - this.utilityDecay ** stats.ages[i]!)]));
    // Lowest û first; equal utilities in unit order, so the choice is deterministic.
    return eligible.sort((a, b) => corrected.get(a)! - corrected.get(b)! || a - b).slice(0, count);
  }

  private replace(s: LayerStep, units: number[], optimizer: Optimizer): void {
    const { layer, stats } = s;
    const index = tensor(units, { device: layer.weight.device });
    // f̂ of the replaced units, read before it is reset (the authors' gnt.py
    // resets it first and so always compensates with zero).
    const meanHat = stats.mean.indexSelect(0, index).div(this.biasCorrection(stats.ages, stats.mean, units));
    compensateAndZero(s.outgoing, index, meanHat, stats.ages.length, optimizer);
    const weight = layer.weight;
    // Drawn as the layer's own initialisation draws (PyTorch's default: kaiming-uniform with a = √5, U(±1/√fan_in)).
    const fresh = kaimingUniform_(empty([units.length, ...weight.shape.slice(1)], { dtype: weight.dtype, device: weight.device }), { a: Math.sqrt(5) });
    weight.indexPut_(index, fresh);
    const rows = unitMask(index, weight.shape[0]!);
    resetOptimizerState(optimizer, weight, rows.reshape(-1, ...weight.shape.slice(1).map(() => 1)));
    if (layer.bias !== null) {
      layer.bias.indexPut_(index, 0);
      resetOptimizerState(optimizer, layer.bias, rows);
    }
    stats.utility.indexPut_(index, 0);
    stats.mean.indexPut_(index, 0);
    for (const i of units) stats.ages[i] = 0;
    stats.replaced += units.length;
  }

  /** The layers of the model's backbone with their outgoing weights and statistics (created on first use). */
  private resolve(model: ContinualModel): LayerStep[] {
    const backbone = model.backbone;
    if (!(backbone instanceof MLP || backbone instanceof CNN)) {
      throw new Error(
        `CBP: the ${backbone.constructor.name} backbone is not supported; use 'mlp' or 'cnn'. CBP needs a plain chain of Linear/Conv2d layers, where a unit's outgoing weights are one slice of the next layer (resnet18's residual connections and batch normalisation break that)`,
      );
    }
    if (backbone.batchNorm) {
      throw new Error(
        'CBP: backbone.batchNorm must be false. Batch normalisation between layers re-centres and rescales every unit by batch statistics, so a bias compensation cannot keep the function unchanged when a unit is replaced',
      );
    }
    const heads = headLayers(model);
    // The CNN's activations are ReLU outputs; the MLP's are unless it uses tanh.
    const nonNegative = backbone instanceof CNN || backbone.activation !== 'tanh';
    return backbone.weightedLayerNames.map((name) => {
      const layer = backbone.layer(name);
      const nextName = backbone.followingLayer(name);
      let outgoing: Outgoing;
      if (nextName === null) outgoing = { kind: 'heads', heads };
      else {
        const next = backbone.layer(nextName);
        if (next instanceof Conv2d) outgoing = { kind: 'conv', layer: next };
        else if (layer instanceof Conv2d) outgoing = { kind: 'flatten', layer: next, positions: next.inFeatures / layer.outChannels };
        else outgoing = { kind: 'linear', layer: next };
      }
      const units = layer instanceof Linear ? layer.outFeatures : layer.outChannels;
      const positions = outgoing.kind === 'flatten' ? outgoing.positions : 1;
      return { name, layer, outgoing, stats: this.statsFor(name, units, positions, layer.weight), nonNegative };
    });
  }

  private statsFor(name: string, units: number, positions: number, like: Tensor): LayerStats {
    let stats = this.layers.get(name);
    if (stats === undefined) {
      const options = { dtype: like.dtype, device: like.device };
      const mean = keep(zeros(positions === 1 ? [units] : [units, positions], options));
      stats = { utility: keep(zeros([units], options)), mean, ages: new Float64Array(units), accumulated: 0, replaced: 0 };
      this.layers.set(name, stats);
    } else if (stats.ages.length !== units || (stats.mean.shape[1] ?? 1) !== positions) {
      throw new Error(`CBP: the statistics of layer '${name}' are for ${stats.ages.length} units × ${stats.mean.shape[1] ?? 1} positions, but the layer has ${units} × ${positions} (a checkpoint of another model?)`);
    }
    return stats;
  }

  /** A layer's statistics (for inspection and tests): u, f, ages, the carried fraction and the count replaced so far. */
  layerStatistics(name: string): Readonly<LayerStats> | undefined {
    return this.layers.get(name);
  }

  /** The units replaced at the last step, by layer, in the order chosen (lowest utility first). */
  lastReplaced(): ReadonlyMap<string, readonly number[]> {
    return this.lastReplacedUnits;
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    const layers: Record<string, { accumulated: number; replaced: number }> = {};
    for (const [name, s] of this.layers) {
      tensors[`utility.${name}`] = s.utility;
      tensors[`mean.${name}`] = s.mean;
      tensors[`age.${name}`] = tensor(s.ages, { shape: [s.ages.length] });
      layers[name] = { accumulated: s.accumulated, replaced: s.replaced };
    }
    return { tensors, values: { layers } };
  }

  loadState(state: AlgorithmState): void {
    const { layers } = readStateValues(savedValues, state.values);
    const loaded = new Map<string, LayerStats>();
    try {
      for (const [name, v] of Object.entries(layers)) {
        const utility = state.tensors[`utility.${name}`];
        const mean = state.tensors[`mean.${name}`];
        const age = state.tensors[`age.${name}`];
        if (utility === undefined || mean === undefined || age === undefined) throw new Error(`CBP.loadState: layer '${name}' lacks its utility, mean or age tensor`);
        // The caller frees what it read: keep copies.
        loaded.set(name, {
          utility: keep(utility.detach().clone()),
          mean: keep(mean.detach().clone()),
          ages: Float64Array.from(age.toTypedArray() as ArrayLike<number>),
          accumulated: v.accumulated,
          replaced: v.replaced,
        });
      }
    } catch (error) {
      for (const s of loaded.values()) disposeStats(s);
      throw error;
    }
    this.dispose();
    for (const [name, s] of loaded) this.layers.set(name, s);
  }

  dispose(): void {
    for (const s of this.layers.values()) disposeStats(s);
    this.layers.clear();
    this.lastReplacedUnits.clear();
  }
}

function disposeStats(s: LayerStats): void {
  s.utility.dispose();
  s.mean.dispose();
}

/** The model's head layers: the outgoing weights of the feature. */
function headLayers(model: ContinualModel): readonly Linear[] {
  const heads = model.heads;
  if (heads instanceof HeadsTIL || heads instanceof HeadsCIL || heads instanceof HeadDIL) return heads.heads;
  throw new Error(`CBP: unsupported heads ${heads.constructor.name}; the feature's outgoing weights must be the columns of Linear heads (HeadsTIL, HeadsCIL or HeadDIL)`);
}

/**
 * The reduction of an activation-shaped tensor to one value per unit (mean
 * over the batch, and over a channel's positions) or, for `flatten`, per
 * unit and position: [n] or [n, P], the shape of the running mean.
 */
function unitReducer(s: LayerStep, h: Tensor): (x: Tensor) => Tensor {
  if (h.ndim === 2) return (x) => x.mean(0);
  if (s.outgoing.kind !== 'flatten') return (x) => x.mean([0, 2, 3]);
  const [, channels, height, width] = h.shape as [number, number, number, number];
  if (height * width !== s.outgoing.positions) {
    throw new Error(`CBP: layer '${s.name}' feeds ${s.outgoing.positions} columns per channel to the next layer, but its activation has ${height}×${width} positions per channel`);
  }
  return (x) => x.mean(0).view(channels, height * width);
}

/** A per-unit statistic ([n] or [n, P]) shaped to broadcast against activations `h` ([N, n] or [N, C, H, W]). */
function broadcastLike(stat: Tensor, h: Tensor): Tensor {
  if (h.ndim === 2) return stat;
  return stat.ndim === 1 ? stat.view(-1, 1, 1) : stat.view(h.shape.slice(1));
}

/** Σ_k |w_k,i| per unit (and position for `flatten`), shaped like the running mean `like`. */
function outgoingMagnitude(outgoing: Outgoing, like: Tensor): Tensor {
  switch (outgoing.kind) {
    case 'linear':
      return outgoing.layer.weight.abs().sum(0);
    case 'conv':
      return outgoing.layer.weight.abs().sum([0, 2, 3]);
    case 'flatten':
      return outgoing.layer.weight.abs().sum(0).view(like.shape);
    case 'heads': {
      // Every head reads the feature (the trainer sets up the task's head before its first step).
      const [first, ...rest] = outgoing.heads.map((head) => head.weight.abs().sum(0));
      return rest.reduce((total, m) => total.add(m), first ?? zerosLike(like));
    }
  }
}

/**
 * For the units `index` with bias-corrected mean activations `meanHat` ([k], or [k, P] for `flatten`):
 * next bias += Σ over each unit's outgoing weights × its mean, then those
 * weights are zeroed and their optimizer state reset.
 */
function compensateAndZero(outgoing: Outgoing, index: Tensor, meanHat: Tensor, units: number, optimizer: Optimizer): void {
  const mask = unitMask(index, units);
  switch (outgoing.kind) {
    case 'heads':
      for (const head of outgoing.heads) zeroColumns(head, index, meanHat, mask, optimizer);
      return;
    case 'linear':
      zeroColumns(outgoing.layer, index, meanHat, mask, optimizer);
      return;
    case 'conv': {
      // Channel i reaches output o through the kernel W[o, i, :, :] at every
      // position: its mean adds f̂_i Σ W[o, i, :, :] (exact away from the
      // zero-padded border, where fewer kernel taps read it).
      const w = outgoing.layer.weight;
      const bias = requireBias(outgoing.layer);
      bias.add_(w.indexSelect(1, index).mul(meanHat.view(1, -1, 1, 1)).sum([1, 2, 3]));
      w.transpose(0, 1).indexPut_(index, 0);
      resetOptimizerState(optimizer, w, mask.view(1, -1, 1, 1));
      return;
    }
    case 'flatten': {
      // Column i·P + p of the next Linear reads channel i at position p: each gets its own mean.
      const w = outgoing.layer.weight;
      const grouped = w.view(w.shape[0]!, units, outgoing.positions);
      requireBias(outgoing.layer).add_(grouped.indexSelect(1, index).mul(meanHat.unsqueeze(0)).sum([1, 2]));
      grouped.transpose(0, 1).indexPut_(index, 0);
      resetOptimizerState(optimizer, w, mask.view(-1, 1).expand(units, outgoing.positions).reshape(1, -1));
      return;
    }
  }
}

/** The Linear `next` reads unit i as column i: bias += W[:, i] f̂_i, then W[:, i] = 0. */
function zeroColumns(next: Linear, index: Tensor, meanHat: Tensor, mask: Tensor, optimizer: Optimizer): void {
  const w = next.weight;
  requireBias(next).add_(w.indexSelect(1, index).mv(meanHat.view(-1)));
  w.t().indexPut_(index, 0);
  resetOptimizerState(optimizer, w, mask.view(1, -1));
}

function requireBias(layer: Linear | Conv2d): Parameter {
  if (layer.bias === null) throw new Error(`CBP: the layer after a replaced unit has no bias, so its contribution cannot be compensated (${layer.constructor.name} without bias)`);
  return layer.bias;
}

/** A bool [n] mask, true at the units `index`. */
function unitMask(index: Tensor, n: number): Tensor {
  return zeros([n], { dtype: 'bool', device: index.device }).indexPut_(index, true);
}

/** Resets the masked elements' optimizer state; parameters the optimizer does not train are left alone. */
function resetOptimizerState(optimizer: Optimizer, param: Parameter, mask: Tensor): void {
  if (optimizer.paramGroups.some((g) => g.params.includes(param))) optimizer.resetState(param, mask);
}

/** The definition of `cbp` (`algorithms: [{name: cbp}]`): continual backpropagation: after every step, replaces a small fraction of mature low-utility units with fresh ones (plasticity). */
export const cbpDefinition = defineAlgorithm({
  name: 'cbp',
  summary: 'continual backpropagation: after every step, replaces a small fraction of mature low-utility units with fresh ones (plasticity)',
  options: cbpOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new CBP(options),
});
