// Online EWC (Schwarz et al. 2018): one running Fisher and one anchor.
// After task t:  F* ← γ F* + F_t,  θ* ← θ*_t.
// Penalty on the next task: ½ λ γ Σ_i F*_i (θ_i − θ*_i)²  (the paper's Eq. 8;
// the γ inside is equivalent to rescaling λ). Computing the penalty never
// changes the stored Fisher (hypnettorch's regularizer multiplied it by γ in
// place on every call, so it decayed with the number of steps).
import { type Infer, integer, number, object } from '../../config/schema.js';
import { noGrad } from '../../tensor/autograd.js';
import { keep } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { checkFisherSettings, estimator, fisherTiming, lambda } from './ewc.js';
import { FisherTracker, regularizedParameters } from './fisher_tracker.js';
import { type ParameterMap, snapshot, weightedSquaredDistance } from './quadratic_anchors.js';

const onlineEwcOptions = object({
  lambda,
  gamma: number({ min: 0, max: 1 }).default(1).describe('decay γ of the running Fisher'),
  fisherTiming,
  estimator,
  nMax: integer({ min: 1 }).optional().describe("estimate each task's Fisher on the first nMax samples of its training set (hypnettorch's n_max; absent: all); needs fisherTiming train_end"),
}).refine((options, report) => {
  checkFisherSettings(options, report);
  // During training the Fisher comes from the steps' batches, in shuffled order: there is no "first n samples".
  if (options.nMax !== undefined && options.fisherTiming === 'train') report(['nMax'], "needs fisherTiming 'train_end' (with 'train' the Fisher is accumulated over every training step)");
});
/** The options of `onlineEwc`, validated and defaulted: an `algorithms` entry `{name: onlineEwc, ...}` without its name. */
export type OnlineEWCOptions = Infer<typeof onlineEwcOptions>;

/** The `onlineEwc` algorithm. Online EWC: one running Fisher decayed by γ and one anchor. */
export class OnlineEWC implements Algorithm {
  readonly name = 'onlineEwc';
  readonly lambda: number;
  readonly gamma: number;
  #fisher: ParameterMap | null = null;
  #anchor: ParameterMap | null = null;
  readonly #tracker: FisherTracker;

  constructor(options: OnlineEWCOptions) {
    this.lambda = options.lambda;
    this.gamma = options.gamma;
    this.#tracker = new FisherTracker(options.fisherTiming, options.estimator, options.nMax);
  }

  /** The running Fisher F* (read-only view for inspection and tests). */
  get runningFisher(): ReadonlyMap<string, Tensor> | null {
    return this.#fisher;
  }

  onTaskStart(ctx: TaskContext): void {
    this.#tracker.onTaskStart(ctx);
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    this.#tracker.onTrainingStep(ctx);
    if (this.#fisher === null || this.#anchor === null) return null;
    return weightedSquaredDistance(regularizedParameters(ctx.model, ctx.paradigm), this.#fisher, this.#anchor)?.mul(0.5 * this.lambda * this.gamma) ?? null;
  }

  onTaskEnd(ctx: TaskContext): void {
    const fresh = this.#tracker.finish(ctx);
    if (this.#fisher === null) this.#fisher = fresh;
    else {
      const previous = this.#fisher;
      this.#fisher = noGrad(() => new Map([...fresh].map(([name, f]) => [name, keep(previous.get(name)?.mul(this.gamma).add(f) ?? f.clone())] as [string, Tensor])));
      for (const t of [...previous.values(), ...fresh.values()]) t.dispose();
    }
    if (this.#anchor !== null) for (const t of this.#anchor.values()) t.dispose();
    this.#anchor = snapshot(regularizedParameters(ctx.model, ctx.paradigm));
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of this.#fisher ?? []) tensors[`fisher.${name}`] = t;
    for (const [name, t] of this.#anchor ?? []) tensors[`anchor.${name}`] = t;
    return { tensors, values: {} };
  }

  loadState(state: AlgorithmState): void {
    this.dispose();
    const pick = (prefix: string): ParameterMap | null => {
      const entries = Object.entries(state.tensors).filter(([k]) => k.startsWith(prefix));
      return entries.length === 0 ? null : new Map(entries.map(([k, t]) => [k.slice(prefix.length), keep(t.clone())] as [string, Tensor]));
    };
    this.#fisher = pick('fisher.');
    this.#anchor = pick('anchor.');
  }

  dispose(): void {
    for (const t of [...(this.#fisher?.values() ?? []), ...(this.#anchor?.values() ?? [])]) t.dispose();
    this.#fisher = null;
    this.#anchor = null;
    this.#tracker.dispose();
  }
}

/** The definition of `onlineEwc` (`algorithms: [{name: onlineEwc}]`): online EWC: one running Fisher decayed by γ and one anchor. */
export const onlineEwcDefinition = defineAlgorithm({
  name: 'onlineEwc',
  summary: 'online EWC: one running Fisher decayed by γ and one anchor',
  options: onlineEwcOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new OnlineEWC(options),
});
