// SI, Synaptic Intelligence (Zenke, Poole & Ganguli, ICML 2017), as defined in
// docs/algorithms/si.md. At each step k of a task, with g(k) the gradient of
// the unregularised task loss at θ(k) and Δθ(k) = θ(k+1) − θ(k) the
// optimizer's actual update (whatever the optimizer: SGD, momentum, Adam),
// the path integral of the loss change is accumulated:
//   ω_i ← ω_i − g_i(k) Δθ_i(k)
// At the end of the task it becomes an importance, damped by ξ:
//   Ω_i ← relu(Ω_i + ω_i / ((θ_i^end − θ_i^start)² + ξ)),   θ* ← θ^end
// (the relu on the accumulated Ω is the authors' code, pathint/protocols.py),
// and from the next task on the loss is
//   L + c Σ_i Ω_i (θ_i − θ*_i)²        (no ½, as in the paper).
//
// The parameters covered are those of EWC (regularizedParameters: the
// backbone, and the shared head in DIL). Per-parameter tensors are kept by
// parameter name and updated in place; ω, θ^start and the per-step g(k),
// θ(k) live only while a task trains, so between tasks (where checkpoints
// are written) the state is Ω and θ*.
import { type Infer, array, boolean, enumOf, number, object, string } from '../../config/schema.js';
import { grad, noGrad } from '../../tensor/autograd.js';
import { zerosLike } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { regularizedParameters } from './fisher_tracker.js';
import { type ParameterMap, weightedSquaredDistance } from './quadratic_anchors.js';
import { readStateTensor, readStateValues } from './state.js';

// Options shared with AmnesiacSI.
export const c = number({ min: 0, minExclusive: true })
  .default(1)
  .describe('c, the penalty strength (paper: 0.1 on Permuted MNIST, 1 on Split MNIST)');
export const xi = number({ min: 0, minExclusive: true })
  .default(0.1)
  .describe('ξ, the damping of the importance denominator (paper: 0.1 on Permuted MNIST, 1e-3 on Split MNIST; small ξ can make c·Ω exceed the step size\'s stability bound)');
export const gradient = enumOf(['unregularized', 'total'])
  .default('unregularized')
  .describe("g in ω's update: the gradient of the plain task loss (the paper's), or p.grad of the whole loss, penalty included (Avalanche, van de Ven)");
export const clampNegative = boolean().default(true).describe('relu on the accumulated Ω, as the authors\' code: a negative importance would reward moving away');
export const upperClamp = number({ min: 0, minExclusive: true })
  .optional()
  .describe("caps the penalty weights at this value (Avalanche's clip_to, 0.001 there); Ω itself accumulates uncapped");

const siOptions = object({ c, xi, gradient, clampNegative, upperClamp });
export type SIOptions = Infer<typeof siOptions>;

/** The saved values: the names of the parameters that have Ω and θ*. */
const savedState = object({ parameters: array(string()) });

export class SI implements Algorithm {
  readonly name: string = 'si';
  readonly c: number;
  readonly xi: number;
  readonly gradient: SIOptions['gradient'];
  readonly clampNegative: boolean;
  readonly upperClamp: number | undefined;

  /** Ω: the accumulated importance, by parameter name. */
  protected readonly importance: ParameterMap = new Map();
  /** θ*: the parameters at the last task end. */
  protected readonly anchor: ParameterMap = new Map();
  /** The penalty weights min(Ω, upperClamp), only when upperClamp is set. */
  readonly #capped: ParameterMap = new Map();
  // While a task trains: ω and θ^start, and g(k) (the gradients grad() returned), θ(k) from trainingLoss to onBatchEnd.
  readonly #pathIntegral: ParameterMap = new Map();
  readonly #taskStart: ParameterMap = new Map();
  readonly #stepGradient: ParameterMap = new Map();
  readonly #stepParameters: ParameterMap = new Map();

  constructor(options: SIOptions) {
    this.c = options.c;
    this.xi = options.xi;
    this.gradient = options.gradient;
    this.clampNegative = options.clampNegative;
    this.upperClamp = options.upperClamp;
  }

  /** Ω by parameter name (empty before the first task end). */
  get importances(): ReadonlyMap<string, Tensor> {
    return this.importance;
  }

  /** θ* by parameter name (empty before the first task end). */
  get anchors(): ReadonlyMap<string, Tensor> {
    return this.anchor;
  }

  /** ω of the task in training, by parameter name. */
  get pathIntegral(): ReadonlyMap<string, Tensor> {
    return this.#pathIntegral;
  }

  onTaskStart(ctx: TaskContext): void {
    this.#freeTaskState();
    // tidy frees the detach() views now rather than when they are collected.
    tidy(() =>
      noGrad(() => {
        for (const [name, p] of regularizedParameters(ctx.model, ctx.paradigm)) {
          this.#pathIntegral.set(name, keep(zerosLike(p)));
          this.#taskStart.set(name, keep(p.detach().clone()));
          this.#stepParameters.set(name, keep(zerosLike(p)));
        }
      }),
    );
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    const parameters = regularizedParameters(ctx.model, ctx.paradigm);
    tidy(() => {
      if (this.gradient === 'unregularized') this.#recordGradient(ctx.classificationLoss, parameters);
      noGrad(() => {
        for (const [name, p] of parameters) this.#stepParameters.get(name)?.copy_(p);
      });
    });
    return this.penaltyAt(parameters);
  }

  /** g(k) of the plain task loss; the trainer's later backward still has the graph. */
  #recordGradient(loss: Tensor, parameters: [string, Tensor][]): void {
    const trainable = parameters.filter(([, p]) => p.requiresGrad);
    // allowUnused: a parameter off the loss's path has g = 0.
    const grads = trainable.length === 0 ? [] : grad(loss, trainable.map(([, p]) => p), { retainGraph: true, allowUnused: true });
    // The gradients themselves are held until the next step (no copy); a parameter without one has none, and g = 0.
    for (const t of this.#stepGradient.values()) t.dispose();
    this.#stepGradient.clear();
    trainable.forEach(([name], i) => {
      const g = grads[i];
      if (g != null) this.#stepGradient.set(name, keep(g));
    });
  }

  /** c Σ_i Ω_i (θ_i − θ*_i)² over the given parameters that have an anchor, or null before the first task end. */
  penaltyAt(parameters: Iterable<[string, Tensor]>): Tensor | null {
    if (this.anchor.size === 0) return null;
    const weights = this.upperClamp === undefined ? this.importance : this.#capped;
    return tidy(() => weightedSquaredDistance(parameters, weights, this.anchor)?.mul(this.c) ?? null);
  }

  /** ω ← ω − g(k) Δθ(k), with Δθ(k) the step the optimizer just took. */
  onBatchEnd(ctx: StepContext): void {
    tidy(() =>
      noGrad(() => {
        for (const [name, p] of regularizedParameters(ctx.model, ctx.paradigm)) {
          const omega = this.#pathIntegral.get(name);
          const before = this.#stepParameters.get(name);
          const g = this.gradient === 'unregularized' ? this.#stepGradient.get(name) : p.grad;
          // No gradient reached the parameter (off the loss's path): g = 0, ω unchanged.
          if (omega === undefined || before === undefined || g == null) continue;
          // In place, without a temporary the size of the layer: θ(k) becomes θ(k) − θ(k+1) = −Δθ(k)
          // (trainingLoss overwrites it at the next step), and ω + g·(−Δθ) is bit for bit ω − g·Δθ.
          before.sub_(p);
          omega.addcmul_(g, before, 1);
        }
      }),
    );
  }

  onTaskEnd(ctx: TaskContext): void {
    const increments = tidy(() =>
      noGrad(() => {
        const out: ParameterMap = new Map();
        for (const [name, p] of regularizedParameters(ctx.model, ctx.paradigm)) {
          const omega = this.#pathIntegral.get(name);
          const start = this.#taskStart.get(name);
          if (omega === undefined || start === undefined) continue;
          out.set(name, keep(omega.div(p.sub(start).square().add(this.xi))));
          const anchor = this.anchor.get(name);
          if (anchor === undefined) this.anchor.set(name, keep(p.detach().clone()));
          else anchor.copy_(p);
        }
        return out;
      }),
    );
    this.#freeTaskState();
    this.addImportance(ctx.task, increments);
  }

  /** Ω ← Ω + increment (relu'd with clampNegative); takes ownership of `increments`. */
  protected addImportance(_task: number, increments: ParameterMap): void {
    this.setImportance(accumulate(this.importance, increments, this.clampNegative));
    for (const t of increments.values()) t.dispose();
  }

  /** Replaces Ω (taking ownership) and rebuilds the capped penalty weights. */
  protected setImportance(importance: ParameterMap): void {
    for (const t of [...this.importance.values(), ...this.#capped.values()]) t.dispose();
    this.importance.clear();
    this.#capped.clear();
    for (const [name, t] of importance) this.importance.set(name, t);
    const cap = this.upperClamp;
    if (cap !== undefined) noGrad(() => { for (const [name, t] of importance) this.#capped.set(name, keep(t.clamp(null, cap))); });
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of this.importance) tensors[`importance.${name}`] = t;
    for (const [name, t] of this.anchor) tensors[`anchor.${name}`] = t;
    return { tensors, values: { parameters: [...this.anchor.keys()] } };
  }

  loadState(state: AlgorithmState): void {
    const saved = readStateValues(savedState, state.values);
    this.dispose();
    const importance: ParameterMap = new Map();
    tidy(() => {
      for (const name of saved.parameters) {
        const anchor = readStateTensor(state, `anchor.${name}`);
        const weight = readStateTensor(state, `importance.${name}`, anchor.shape);
        // The caller frees what it read: keep copies.
        this.anchor.set(name, keep(anchor.detach().clone()));
        importance.set(name, keep(weight.detach().clone()));
      }
    });
    this.setImportance(importance);
  }

  #freeTaskState(): void {
    for (const m of [this.#pathIntegral, this.#taskStart, this.#stepGradient, this.#stepParameters]) {
      for (const t of m.values()) t.dispose();
      m.clear();
    }
  }

  dispose(): void {
    this.#freeTaskState();
    for (const m of [this.importance, this.anchor, this.#capped]) {
      for (const t of m.values()) t.dispose();
      m.clear();
    }
  }
}

/** Ω + increment per parameter (relu'd when `clampNegative`), as new kept tensors; a parameter new to Ω starts from 0. */
export function accumulate(importance: ReadonlyMap<string, Tensor>, increments: ReadonlyMap<string, Tensor>, clampNegative: boolean): ParameterMap {
  return tidy(() =>
    noGrad(() => {
      const out: ParameterMap = new Map();
      for (const [name, previous] of importance) if (!increments.has(name)) out.set(name, keep(previous.clone()));
      for (const [name, increment] of increments) {
        const previous = importance.get(name);
        const sum = previous === undefined ? increment : previous.add(increment);
        out.set(name, keep(clampNegative ? sum.relu() : sum.clone()));
      }
      return out;
    }),
  );
}

export const siDefinition = defineAlgorithm({
  name: 'si',
  summary: 'synaptic intelligence: a pull towards the last task end, weighted by each parameter\'s path integral of the loss change',
  options: siOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new SI(options),
});
