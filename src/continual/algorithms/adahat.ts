// AdaHAT (Wang et al. 2024), as defined in docs/algorithms/adahat.md: HAT
// (hat.ts) with its gradient factor 1 − min(a^{<t}_i, a^{<t}_j) replaced by
// an adaptive rate from the summative mask m = Σ_{τ<t} (task τ's test mask):
//   I_ij = min(m_i, m_j)   (first layer and biases: m_i)
//   R_l  = Σ_i a^t_i(1 − a^{<t}_i) / Σ_i (1 − a^{<t}_i)   (this step's gates)
//   r_l  = α / (ε + R_l),   g ← r_l / (I + r_l) · g
// The ablations: 'noSum' puts the number of earlier tasks t − 1 in place of
// I, 'noReg' sets R_l = 0. There is no exact protection: earlier tasks'
// weights move by the rate, which is the method's point. With adjust
// 'update' the rate scales the optimizer's update (w ← w_old + rate·Δw)
// instead of the gradient, so that Adam, which cancels a constant factor on
// the gradient, and weight decay are scaled too.
import { type Infer, enumOf, number, object } from '../../config/schema.js';
import { noGrad } from '../../tensor/autograd.js';
import { scalar } from '../../tensor/creation.js';
import { minimum } from '../../tensor/functions.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { TaskId } from '../contracts/types.js';
import type { StepContext } from './algorithm.js';
import { defineAlgorithm } from './definition.js';
import { HAT, HAT_PARADIGM_NOTE, type HATTaskReport, hatOptionFields, pairwise } from './hat.js';

const adahatOptions = object({
  ...hatOptionFields({ c: 0.1 }),
  alpha: number({ min: 0, minExclusive: true }).default(1e-6).describe('adahat: α, the scale of the adjustment rate r = α / (ε + R_l)'),
  epsilon: number({ min: 0, minExclusive: true }).default(0.1).describe('adahat: ε in r = α / (ε + R_l)'),
  variant: enumOf(['full', 'noSum', 'noReg'])
    .default('full')
    .describe("adahat: 'full', 'noSum' (the number of earlier tasks in place of the importance) or 'noReg' (R_l = 0): CLArena's adahat_no_sum and adahat_no_reg"),
  adjust: enumOf(['gradient', 'update'])
    .default('gradient')
    .describe("adahat: scale the gradient by the rate (the paper), or the optimizer's update (w ← w_old + rate·(w_new − w_old): works under Adam and with weight decay)"),
});
/** The options of `adahat`, validated and defaulted: an `algorithms` entry `{name: adahat, ...}` without its name. */
export type AdaHATOptions = Infer<typeof adahatOptions>;

/** The adjustment rate r / (I + r) with r = α / (ε + R): `importance` a tensor or a number, R a 0-d tensor. */
export function adjustmentRate(importance: Tensor | number, sparsity: Tensor, alpha: number, epsilon: number): Tensor {
  const r = sparsity.add(epsilon).reciprocal().mul(alpha);
  return r.div(r.add(importance));
}

/** The `adahat` algorithm. AdaHAT: HAT with an adaptive rate on the gradients of units earlier tasks use, from their summed masks and the mask sparsity (TIL only). */
export class AdaHAT extends HAT {
  override readonly name: string = 'adahat';
  protected override readonly label: string = 'AdaHAT';
  readonly alpha: number;
  readonly epsilon: number;
  readonly variant: AdaHATOptions['variant'];
  readonly adjust: AdaHATOptions['adjust'];

  /** m: the sum of the finished tasks' test masks, by layer. */
  private readonly summative = new Map<string, Tensor>();
  /** I for the task being trained by `${layer}.weight` / `${layer}.bias` (variant noSum: the number of earlier tasks, the same for all). */
  private readonly importance = new Map<string, Tensor | number>();
  /** Σ_i (1 − a^{<t}_i) by layer: the denominator of R_l. */
  private readonly freeSums = new Map<string, number>();
  /** adjust 'update': this step's rates and the weights before the optimizer's step. */
  private pending: { target: Tensor; rate: Tensor; before: Tensor }[] = [];
  /** The mean rate over the backbone's weights and biases at the last step of an epoch. */
  private networkCapacity = 1;

  constructor(options: AdaHATOptions) {
    super(options);
    this.alpha = options.alpha;
    this.epsilon = options.epsilon;
    this.variant = options.variant;
    this.adjust = options.adjust;
  }

  protected override weightDecayProblem(): string | null {
    return this.adjust === 'update' ? null : "set training.optimizer.weightDecay: 0, or adjust: update, which scales the optimizer's whole update, decay included";
  }

  /** The importance I of the task being trained, fixed for the task. */
  protected override prepareConditioning(): void {
    this.networkCapacity = 1;
    const earlierTasks = this.stored.size;
    tidy(() => {
      for (const entry of this.layout!) {
        this.freeSums.set(entry.layer, this.free.get(entry.layer)!.sum().item());
        if (this.variant === 'noSum') {
          this.importance.set(`${entry.layer}.weight`, earlierTasks);
          this.importance.set(`${entry.layer}.bias`, earlierTasks);
          continue;
        }
        const m = this.summative.get(entry.layer)!;
        const previous = entry.preceding === null ? null : this.summative.get(entry.preceding)!;
        this.importance.set(`${entry.layer}.weight`, keep(pairwise(entry, m, previous, minimum)));
        if (entry.hasBias) this.importance.set(`${entry.layer}.bias`, keep(m.clone()));
      }
    });
  }

  /**
   * g ← r_l / (I + r_l) · g, or with adjust 'update' the rates are kept and
   * the weights snapshotted, to scale the step in onBatchEnd. Task 1 has no
   * earlier task: I = 0 and every rate is exactly 1.
   */
  protected override adjustGradients(ctx: StepContext): void {
    if (this.importance.size === 0) return;
    const backbone = this.gatedBackbone(ctx.model);
    const gates = this.stepGates();
    const lastOfEpoch = ctx.step === ctx.batchCount - 1;
    let rateSum = 0;
    let count = 0;
    tidy(() =>
      noGrad(() => {
        for (const entry of this.layout!) {
          const sparsity = this.layerSparsity(entry.layer, gates.get(entry.layer)!);
          const layer = backbone.layer(entry.layer);
          const targets: [Tensor, string][] = [[layer.weight, `${entry.layer}.weight`]];
          if (layer.bias !== null) targets.push([layer.bias, `${entry.layer}.bias`]);
          for (const [target, key] of targets) {
            const rate = adjustmentRate(this.importance.get(key)!, sparsity, this.alpha, this.epsilon).expand(target.shape);
            if (lastOfEpoch) {
              rateSum += rate.sum().item();
              count += target.numel();
            }
            if (this.adjust === 'gradient') target.grad?.mul_(rate);
            else this.pending.push({ target, rate: keep(rate.clone()), before: keep(target.detach().clone()) });
          }
        }
      }),
    );
    if (lastOfEpoch) this.networkCapacity = rateSum / count;
  }

  /** R_l from this step's gates (detached); 0 with no free unit in the layer, or with variant noReg. */
  private layerSparsity(layer: string, gate: Tensor): Tensor {
    const freeSum = this.freeSums.get(layer)!;
    if (this.variant === 'noReg' || freeSum === 0) return scalar(0, { dtype: gate.dtype, device: gate.device });
    return gate.detach().mul(this.free.get(layer)!).sum().div(freeSum);
  }

  /** adjust 'update': w ← w_old + rate·(w_new − w_old); then HAT's clamp. */
  override onBatchEnd(ctx: StepContext): void {
    tidy(() =>
      noGrad(() => {
        for (const { target, rate, before } of this.pending) target.copy_(target.sub(before).mul(rate).add(before));
      }),
    );
    this.disposePending();
    super.onBatchEnd(ctx);
  }

  protected override taskReportExtras(): Partial<HATTaskReport> {
    return { networkCapacity: this.networkCapacity };
  }

  /** m ← m + the finished task's test mask. */
  protected override store(task: TaskId, embeddings: Map<string, Tensor>): void {
    super.store(task, embeddings);
    tidy(() => {
      for (const [layer, e] of embeddings) {
        const mask = this.testGate(e);
        const previous = this.summative.get(layer);
        this.summative.set(layer, keep(previous === undefined ? mask : previous.add(mask)));
        previous?.dispose();
      }
    });
  }

  /** m by layer, for inspection. */
  summativeMask(): ReadonlyMap<string, Tensor> {
    return this.summative;
  }

  protected override clearTaskTensors(): void {
    super.clearTaskTensors();
    for (const i of this.importance.values()) if (typeof i !== 'number') i.dispose();
    this.importance.clear();
    this.freeSums.clear();
    this.disposePending();
  }

  private disposePending(): void {
    for (const p of this.pending) {
      p.rate.dispose();
      p.before.dispose();
    }
    this.pending = [];
  }

  protected override clear(): void {
    super.clear();
    for (const m of this.summative.values()) m.dispose();
    this.summative.clear();
    this.networkCapacity = 1;
  }
}

/** The definition of `adahat` (`algorithms: [{name: adahat}]`): AdaHAT: HAT with an adaptive rate on the gradients of units earlier tasks use, from their summed masks and the mask sparsity (TIL only). */
export const adahatDefinition = defineAlgorithm({
  name: 'adahat',
  summary: 'AdaHAT: HAT with an adaptive rate on the gradients of units earlier tasks use, from their summed masks and the mask sparsity (TIL only)',
  options: adahatOptions,
  paradigms: ['til'],
  paradigmNote: HAT_PARADIGM_NOTE,
  unlearning: () => 'retains',
  create: (options) => new AdaHAT(options),
});
