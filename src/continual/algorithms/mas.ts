// MAS, Memory Aware Synapses (Aljundi et al., ECCV 2018), as defined in
// docs/algorithms/mas.md. After task t, on the task's training inputs (labels
// unused), with F the logits before the softmax (TIL: the task's own head;
// CIL: heads 1..t concatenated; DIL: the shared head):
//   Ω^t_i = (1/N) Σ_n | ∂‖F(x_n)‖²₂ / ∂θ_i |       (the abs per sample)
//   Ω ← Ω + Ω^t,   θ* ← θ
// and every step of a later task adds
//   λ Σ_i Ω_i (θ_i − θ*_i)²                          (no ½)
// over every parameter, heads included, that existed at the last task end.
// The anchors' variants are options: the abs per batch, the plain norm ‖F‖,
// an exponential average of Ω, the importance pass in training mode.
import { type Infer, array, enumOf, number, object, string } from '../../config/schema.js';
import { SGD } from '../../optim/sgd.js';
import { noGrad } from '../../tensor/autograd.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batches } from '../benchmarks/data.js';
import { meanAbsoluteGradients } from '../fisher/absolute_gradients.js';
import type { ContinualModel } from '../model/model.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { snapshot } from './quadratic_anchors.js';
import { readStateTensor, readStateValues } from './state.js';

const masOptions = object({
  // The paper's λ is 1; at SGD lr 0.05 in class-incremental runs that let the
  // penalty diverge by task 5 (λΩ outgrows 1/lr), 0.1 stays stable.
  lambda: number({ min: 0, minExclusive: true }).default(0.1).describe('λ, the penalty strength'),
  estimator: enumOf(['perSample', 'minibatch'])
    .default('perSample')
    .describe("Ω^t: the mean of per-sample |∇‖F‖²| (the paper), or |∇ of each batch's sum| over N (Avalanche, FACIL)"),
  accumulate: enumOf(['sum', 'ema']).default('sum').describe('Ω ← Ω + Ω^t (the paper), or Ω ← α Ω + (1 − α) Ω^t (Avalanche, FACIL)'),
  alpha: number({ min: 0, max: 1 }).default(0.5).describe("α of accumulate 'ema' (unused with 'sum')"),
  norm: enumOf(['squared', 'plain']).default('squared').describe('the output norm differentiated: ‖F‖² (the paper), or ‖F‖ (FACIL)'),
  mode: enumOf(['eval', 'train']).default('eval').describe('the model mode of the importance pass (Avalanche: train); the mode before is restored'),
});
export type MASOptions = Infer<typeof masOptions>;

/** The parameter names whose Ω and θ* the state holds. */
const savedValues = object({ parameters: array(string()) });

/** The share of SGD's stability limit above which the penalty is named as a cause of divergence (the rest is left to the loss). */
const MAS_HINT_SHARE = 0.25;

export class MAS implements Algorithm {
  readonly name = 'mas';
  readonly options: MASOptions;
  /** Ω, by parameter name. */
  readonly #importance = new Map<string, Tensor>();
  /** θ*, by parameter name. */
  readonly #anchor = new Map<string, Tensor>();
  /** max_i Ω_i, for the divergence diagnosis. */
  #largestImportance = 0;

  constructor(options: MASOptions) {
    this.options = options;
  }

  /** Ω (by parameter name; empty before the first task end). */
  get importance(): ReadonlyMap<string, Tensor> {
    return this.#importance;
  }

  /** θ* (by parameter name; empty before the first task end). */
  get anchor(): ReadonlyMap<string, Tensor> {
    return this.#anchor;
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    return this.penalty(ctx.model);
  }

  /** λ Σ_i Ω_i (θ_i − θ*_i)² at the model's parameters, or null before the first task end. */
  penalty(model: ContinualModel): Tensor | null {
    if (this.#importance.size === 0) return null;
    return tidy(() => {
      let total: Tensor | null = null;
      for (const [name, theta] of model.namedParameters()) {
        const omega = this.#importance.get(name);
        if (omega === undefined) continue;
        const distance = theta.sub(this.#anchor.get(name)!);
        // Ω ⊙ d ⊙ d rather than Ω ⊙ d²: the same value, and a backward pass a quarter shorter here.
        const term = distance.mul(omega).mul(distance).sum();
        total = total === null ? term : total.add(term);
      }
      return total === null ? null : total.mul(this.options.lambda);
    });
  }

  onTaskEnd(ctx: TaskContext): void {
    const taskImportance = this.taskImportance(ctx);
    const parameters = ctx.model.namedParameters().filter(([, p]) => p.requiresGrad);
    noGrad(() =>
      tidy(() => {
        const { accumulate, alpha } = this.options;
        for (const [name, omegaT] of taskImportance) {
          const omega = this.#importance.get(name);
          // A parameter's first importance is its Ω^t, under either rule.
          if (omega === undefined) this.#importance.set(name, omegaT);
          else {
            if (accumulate === 'sum') omega.add_(omegaT);
            else omega.mul_(alpha).add_(omegaT, 1 - alpha);
            omegaT.dispose();
          }
        }
      }),
    );
    for (const t of this.#anchor.values()) t.dispose();
    this.#anchor.clear();
    for (const [name, t] of snapshot(parameters)) this.#anchor.set(name, t);
    this.#largestImportance = largest(this.#importance);
  }

  /** Ω^t: the task's importance pass, in the configured mode (every module's mode is restored afterwards). */
  taskImportance(ctx: TaskContext): Map<string, Tensor> {
    const { model, task } = ctx;
    const modes = model.modules().map((m) => [m, m.training] as const);
    model.train(this.options.mode === 'train');
    try {
      return meanAbsoluteGradients({
        model,
        parameters: model.namedParameters().filter(([, p]) => p.requiresGrad),
        // Batches built from the task's rows one at a time, not the whole split at once.
        inputs: (function* () {
          for (const batch of batches(ctx.trainData, ctx.batchSize)) {
            batch.y.dispose();
            yield batch.x;
          }
        })(),
        batchSize: ctx.batchSize,
        estimator: this.options.estimator,
        perSampleLoss: (x) => {
          const squares = model.forward(x, task).logits.square().sum(1);
          return this.options.norm === 'squared' ? squares : squares.sqrt();
        },
      });
    } finally {
      for (const [m, training] of modes) m.training = training;
    }
  }

  /**
   * Names the cause when the loss became non-finite because SGD diverged on
   * the penalty. Its curvature 2λΩ_i alone makes heavy-ball SGD unstable once
   * lr · 2λΩ_i > 2 (1 + momentum); the loss's own curvature adds to it, so a
   * penalty that takes more than a quarter of that limit is a likely cause too.
   */
  nonFiniteLossHint(ctx: StepContext): string | null {
    if (!(ctx.optimizer instanceof SGD) || this.#importance.size === 0) return null;
    const { lr, momentum } = ctx.optimizer.paramGroups[0]!;
    const { lambda } = this.options;
    if (!Number.isFinite(this.#largestImportance)) {
      return `mas: Ω is not finite: the weights had already diverged when the importance was last estimated, as they do when λ × Ω is too large for the learning rate; lower the mas lambda (${lambda}) or the learning rate.`;
    }
    const limit = 2 * (1 + momentum);
    const share = (lr * 2 * lambda * this.#largestImportance) / limit;
    if (!(share > MAS_HINT_SHARE)) return null;
    const figures =
      `λ = ${lambda}, max Ω = ${this.#largestImportance.toPrecision(3)}, lr ${lr}, momentum ${momentum}: ` +
      `lr · 2λΩ = ${(share * limit).toPrecision(3)} against SGD's stability limit 2 (1 + momentum) = ${limit.toPrecision(3)}`;
    const stableLambda = (MAS_HINT_SHARE * limit) / (lr * 2 * this.#largestImportance);
    const verdict = share > 1 ? 'SGD diverges on the penalty λ Σ Ω (θ − θ*)² alone' : `the penalty alone takes ${Math.round(share * 100)}% of that limit, and the loss's own curvature adds to it`;
    return `mas: λ × Ω is too large for the learning rate (${figures}); ${verdict}. Use a mas lambda below ${stableLambda.toPrecision(2)} or a lower learning rate.`;
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    for (const [name, omega] of this.#importance) {
      tensors[`importance.${name}`] = omega;
      tensors[`anchor.${name}`] = this.#anchor.get(name)!;
    }
    return { tensors, values: { parameters: [...this.#importance.keys()] } };
  }

  loadState(state: AlgorithmState): void {
    const { parameters } = readStateValues(savedValues, state.values);
    const expected = new Set(parameters.flatMap((name) => [`importance.${name}`, `anchor.${name}`]));
    const unexpected = Object.keys(state.tensors).find((key) => !expected.has(key));
    if (unexpected !== undefined) throw new Error(`its saved tensor '${unexpected}' belongs to no saved parameter`);
    const loaded = parameters.map((name) => {
      const omega = readStateTensor(state, `importance.${name}`);
      return [name, omega, readStateTensor(state, `anchor.${name}`, omega.shape)] as const;
    });
    this.dispose();
    // The caller frees what it read: keep copies.
    for (const [name, omega, anchor] of loaded) {
      this.#importance.set(name, keep(omega.detach().clone()));
      this.#anchor.set(name, keep(anchor.detach().clone()));
    }
    this.#largestImportance = largest(this.#importance);
  }

  dispose(): void {
    for (const t of [...this.#importance.values(), ...this.#anchor.values()]) t.dispose();
    this.#importance.clear();
    this.#anchor.clear();
    this.#largestImportance = 0;
  }
}

function largest(tensors: ReadonlyMap<string, Tensor>): number {
  return tidy(() => Math.max(0, ...[...tensors.values()].map((t) => (t.numel() === 0 ? 0 : t.max().item()))));
}

export const masDefinition = defineAlgorithm({
  name: 'mas',
  summary: 'MAS: a pull towards the last task\'s parameters, weighted by the accumulated sensitivity of the squared output norm',
  options: masOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new MAS(options),
});
