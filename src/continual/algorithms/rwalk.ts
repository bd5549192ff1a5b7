// RWalk (Chaudhry et al. 2018, "Riemannian Walk for Incremental Learning"),
// as defined in docs/algorithms/rwalk.md. Every training iteration it takes
// the gradient g of the plain classification loss (the trainer's own forward,
// so the model's mode and dropout mask are the ones of the real step), keeps
// an EWC++ running importance F, and after the optimizer step accumulates the
// first-order loss change -g·Δθ. Every Δt iterations (global clock) that
// change, divided by the importance-weighted squared distance travelled,
// is added to a per-parameter score. At a task end importance and scores
// become the penalty weights of a quadratic pull towards the parameters of
// that moment, applied from the next task on.
//
// All per-parameter tensors are kept (they outlive the trainer's per-batch
// scope) and updated in place; parameters are identified by their name in
// model.namedParameters(), so heads created later get entries when they
// appear and are penalised only once they existed at a task end.
import type { ContinualModel } from '../model/model.js';
import { type Infer, integer, number, object } from '../../config/schema.js';
import type { Parameter } from '../../nn/parameter.js';
import { grad, noGrad } from '../../tensor/autograd.js';
import { zerosLike } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { readStateValues } from './state.js';

// Defaults are Avalanche's RWalkPlugin's (ewc_lambda 0.1, ewc_alpha 0.9, delta_t 10).
const rwalkOptions = object({
  lambda: number({ min: 0, minExclusive: true }).default(0.1).describe('rwalk: weight of the penalty'),
  alpha: number({ min: 0, max: 1 }).default(0.9).describe('rwalk: EWC++ moving-average factor of the importance, in [0, 1]'),
  deltaT: integer({ min: 1 }).default(10).describe('rwalk: iterations between score updates (global clock)'),
});
/** The options of `rwalk`, validated and defaulted: an `algorithms` entry `{name: rwalk, ...}` without its name. */
export type RWalkOptions = Infer<typeof rwalkOptions>;

/** The JSON part of the checkpointed state (the options are saved for inspection only). */
const savedValues = object({ tasksFinished: integer({ min: 0 }), lambda: number(), alpha: number(), deltaT: integer({ min: 1 }) });

/** float32 machine epsilon (torch.finfo(torch.float32).eps): keeps the score's denominator positive. */
export const RWALK_EPSILON = 1.1920928955078125e-7;

/** Per-parameter tensors of the last finished task, by parameter name (for inspection and tests). */
export interface RWalkTaskState {
  /** F^task: the running importance at the task end. */
  importance: ReadonlyMap<string, Tensor>;
  /** S: the accumulated scores. */
  scores: ReadonlyMap<string, Tensor>;
  /** p: the penalty weights. */
  penalties: ReadonlyMap<string, Tensor>;
  /** θ^prev: the parameters at the task end. */
  params: ReadonlyMap<string, Tensor>;
}

// The kinds of tensors saved in state(), as `${kind}.${parameter name}`.
const SAVED = ['importance', 'taskImportance', 'scores', 'penalties', 'params'] as const;
type SavedKind = (typeof SAVED)[number];

/** The `rwalk` algorithm. RWalk: EWC++ importance plus path-integral scores weight a pull towards the previous task's parameters. */
export class RWalk implements Algorithm {
  readonly name = 'rwalk';
  readonly lambda: number;
  readonly alpha: number;
  readonly deltaT: number;
  private readonly warn: (message: string) => void;

  /** F: the EWC++ running importance, carried across tasks. */
  private readonly importance = new Map<string, Tensor>();
  // Per-iteration: g and θ(t), written in trainingLoss, read in onBatchEnd.
  private readonly iterGrad = new Map<string, Tensor>();
  private readonly iterParams = new Map<string, Tensor>();
  // Per score window: ℓ (first-order loss change) and θ^ck.
  private readonly windowLoss = new Map<string, Tensor>();
  private readonly checkpointParams = new Map<string, Tensor>();
  /** s: scores accumulated over the current task. */
  private readonly taskScores = new Map<string, Tensor>();
  // At the last task end: F^task, S, p, θ^prev.
  private readonly taskImportance = new Map<string, Tensor>();
  private readonly scores = new Map<string, Tensor>();
  private readonly penalties = new Map<string, Tensor>();
  private readonly previousParams = new Map<string, Tensor>();
  private tasksFinished = 0;
  private checkpointsInTask = 0;

  /**
   * `warn` receives a warning when a task's penalties had to drop a term (no
   * score checkpoint fired in the task, or all importances are zero).
   */
  constructor(options: RWalkOptions, warn: (message: string) => void = (message) => process.emitWarning(message, { code: 'PERENNIAL_RWALK' })) {
    this.lambda = options.lambda;
    this.alpha = options.alpha;
    this.deltaT = options.deltaT;
    this.warn = warn;
  }

  onTaskStart(ctx: TaskContext): void {
    // A score window never spans two tasks (as in Avalanche, whose
    // before_training restarts ℓ and θ^ck for every experience): the first
    // window of a task starts at its first iteration.
    this.checkpointsInTask = 0;
    noGrad(() => {
      for (const [name, p] of ctx.model.namedParameters()) {
        slot(this.windowLoss, name, p).zero_();
        slot(this.checkpointParams, name, p).copy_(p);
        slot(this.taskScores, name, p);
      }
    });
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    const named = ctx.model.namedParameters();
    this.recordIteration(ctx.classificationLoss, named);
    return this.penalty(named);
  }

  /** g at θ(t), the EWC++ importance update and θ(t); the trainer's later backward still has the graph. */
  private recordIteration(loss: Tensor, named: [string, Parameter][]): void {
    tidy(() => {
      const trainable = named.filter(([, p]) => p.requiresGrad);
      // allowUnused: parameters off the loss's path (other tasks' heads) have g = 0.
      const grads = trainable.length === 0 ? [] : grad(loss, trainable.map(([, p]) => p), { retainGraph: true, allowUnused: true });
      const byName = new Map(trainable.map(([name], i) => [name, grads[i] ?? null]));
      noGrad(() => {
        for (const [name, p] of named) {
          const gi = byName.get(name) ?? null;
          let g: Tensor;
          if (gi === null) g = slot(this.iterGrad, name, p).zero_();
          else {
            // The gradient itself is kept (no copy); the one it replaces is freed.
            this.iterGrad.get(name)?.dispose();
            this.iterGrad.set(name, (g = keep(gi)));
          }
          // F ← α g² + (1 − α) F, in place.
          const f = this.importance.get(name);
          if (f === undefined) this.importance.set(name, keep(g.square()));
          else f.mul_(1 - this.alpha).add_(g.square().mul_(this.alpha));
          slot(this.iterParams, name, p).copy_(p);
        }
      });
    });
  }

  /** λ Σ_i p_i (θ_i − θ^prev_i)² over the parameters that existed at the previous task end. */
  private penalty(named: [string, Parameter][]): Tensor | null {
    if (this.previousParams.size === 0) return null;
    return tidy(() => {
      let total: Tensor | null = null;
      for (const [name, p] of named) {
        const prev = this.previousParams.get(name);
        const weight = this.penalties.get(name);
        if (prev === undefined || weight === undefined) continue;
        const term = weight.mul(p.sub(prev).square()).sum();
        total = total === null ? term : total.add(term);
      }
      return total === null ? null : total.mul(this.lambda);
    });
  }

  onBatchEnd(ctx: StepContext): void {
    const checkpoint = (ctx.globalStep + 1) % this.deltaT === 0;
    tidy(() =>
      noGrad(() => {
        for (const [name, p] of ctx.model.namedParameters()) {
          const g = this.iterGrad.get(name);
          const before = this.iterParams.get(name);
          const loss = slot(this.windowLoss, name, p);
          if (g !== undefined && before !== undefined) loss.sub_(g.mul(p.sub(before)));
          if (!checkpoint) continue;
          const f = this.importance.get(name);
          const ck = this.checkpointParams.get(name);
          const s = slot(this.taskScores, name, p);
          if (f !== undefined && ck !== undefined) s.add_(loss.div(f.mul(0.5).mul(p.sub(ck).square()).add(RWALK_EPSILON)));
          loss.zero_();
          slot(this.checkpointParams, name, p).copy_(p);
        }
      }),
    );
    if (checkpoint) this.checkpointsInTask++;
  }

  onTaskEnd(ctx: TaskContext): void {
    const named = ctx.model.namedParameters();
    noGrad(() =>
      tidy(() => {
        for (const [name, p] of named) {
          const f = this.importance.get(name);
          // A parameter never trained has no importance yet: zero.
          slot(this.taskImportance, name, p).copy_(f ?? zerosLike(p));
          const s = slot(this.taskScores, name, p);
          const previous = this.scores.get(name);
          // S = s on a parameter's first task (new heads too), else ½ (S + s).
          if (previous === undefined) this.scores.set(name, keep(s.clone()));
          else previous.copy_(previous.add(s).mul(0.5));
          slot(this.previousParams, name, p).copy_(p);
        }
        const maxOf = (m: Map<string, Tensor>): number => Math.max(...[...m.values()].map((t) => (t.numel() === 0 ? -Infinity : t.max().item())));
        const maxImportance = maxOf(this.taskImportance);
        const maxScore = maxOf(this.scores);
        const useImportance = maxImportance > 0 && Number.isFinite(maxImportance);
        const useScore = maxScore > 0 && Number.isFinite(maxScore);
        if (!useImportance) this.warn(`RWalk: every importance is zero after task ${ctx.task} (no gradient reached the parameters); the importance term of the penalties is set to zero`);
        if (!useScore) {
          const why =
            this.checkpointsInTask === 0
              ? `no score checkpoint fired during task ${ctx.task} (fewer than deltaT = ${this.deltaT} iterations on the global clock)`
              : `the largest score after task ${ctx.task} is ${maxScore}`;
          this.warn(`RWalk: ${why}; the score term of the penalties is set to zero instead of NaN`);
        }
        for (const [name, p] of named) {
          let weight = useImportance ? this.taskImportance.get(name)!.div(maxImportance) : zerosLike(p);
          if (useScore) weight = weight.add(this.scores.get(name)!.relu().div(maxScore));
          slot(this.penalties, name, p).copy_(weight);
          this.taskScores.get(name)!.zero_();
        }
      }),
    );
    this.tasksFinished++;
  }

  /** The penalty term λ Σ p (θ − θ^prev)² at the model's current parameters, or null before the first task end. */
  penaltyAt(model: ContinualModel): Tensor | null {
    return this.penalty(model.namedParameters());
  }

  /** F^task, S, p and θ^prev of the last finished task (empty before the first). */
  taskState(): RWalkTaskState {
    return { importance: this.taskImportance, scores: this.scores, penalties: this.penalties, params: this.previousParams };
  }

  /** The last gradient g of the plain loss, by parameter name (tests check it against the trainer's). */
  lastGradient(): ReadonlyMap<string, Tensor> {
    return this.iterGrad;
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    for (const kind of SAVED) for (const [name, t] of this.saved(kind)) tensors[`${kind}.${name}`] = t;
    return { tensors, values: { tasksFinished: this.tasksFinished, lambda: this.lambda, alpha: this.alpha, deltaT: this.deltaT } };
  }

  loadState(state: AlgorithmState): void {
    const finished = readStateValues(savedValues, state.values).tasksFinished;
    this.dispose();
    for (const [key, t] of Object.entries(state.tensors)) {
      const dot = key.indexOf('.');
      const kind = key.slice(0, dot);
      if (dot < 0 || !(SAVED as readonly string[]).includes(kind)) throw new Error(`RWalk.loadState: unexpected tensor '${key}'`);
      // The caller frees what it read: keep a copy.
      this.saved(kind as SavedKind).set(key.slice(dot + 1), keep(t.detach().clone()));
    }
    this.tasksFinished = finished;
  }

  private saved(kind: SavedKind): Map<string, Tensor> {
    switch (kind) {
      case 'importance':
        return this.importance;
      case 'taskImportance':
        return this.taskImportance;
      case 'scores':
        return this.scores;
      case 'penalties':
        return this.penalties;
      case 'params':
        return this.previousParams;
    }
  }

  dispose(): void {
    const all = [
      this.importance, this.iterGrad, this.iterParams, this.windowLoss, this.checkpointParams,
      this.taskScores, this.taskImportance, this.scores, this.penalties, this.previousParams,
    ];
    for (const m of all) {
      for (const t of m.values()) t.dispose();
      m.clear();
    }
    this.tasksFinished = 0;
    this.checkpointsInTask = 0;
  }
}

/** The kept tensor of `name` in `map`, created as zeros like `p` when missing. */
function slot(map: Map<string, Tensor>, name: string, p: Parameter): Tensor {
  let t = map.get(name);
  if (t === undefined) {
    t = keep(zerosLike(p));
    map.set(name, t);
  }
  return t;
}

/** The definition of `rwalk` (`algorithms: [{name: rwalk}]`): RWalk: EWC++ importance plus path-integral scores weight a pull towards the previous task's parameters. */
export const rwalkDefinition = defineAlgorithm({
  name: 'rwalk',
  summary: "RWalk: EWC++ importance plus path-integral scores weight a pull towards the previous task's parameters",
  options: rwalkOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new RWalk(options),
});
