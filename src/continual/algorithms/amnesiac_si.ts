// AmnesiacSI: SI whose tasks can be unlearned (algorithms-next.md section 25:
// "Amnesiac if per-task Ω terms are kept"). Training is SI's, bit for bit;
// besides SI's state it keeps each task's raw importance increment
//   I_t = ω_t / ((θ_t^end − θ_t^start)² + ξ)
// and the Amnesiac bookkeeping (amnesiac.ts). SI's Ω is the fold
//   Ω ← relu(Ω + I_t)  over the tasks in training order
// (no relu with clampNegative false), so a term cannot be subtracted once
// the relu has cut it; it is recomputed instead. Unlearning tasks U after task k:
//   θ ← θ − Σ_{u∈U} Δθ_u                            (the bookkeeping)
//   Ω ← the same fold over the kept tasks' increments (a task never learnt protects nothing)
//   θ* ← θ* − Σ_{u∈U} Δθ_u
// θ* is θ at the end of task k, which holds every Δθ_u; subtracting them
// makes it the model after unlearning, so the pull no longer leads back to
// what was unlearnt. With no task left, Ω and θ* are emptied (SI before its
// first task end). The kept tasks' increments stay as estimated, although
// their path ran through the unlearned tasks' change (as AmnesiacEWC keeps
// the later Fishers).
//
// Memory: one Ω-sized increment per task that can still be unlearned. When a
// task expires (unlearnableAge), its increment is folded into a base Ω; the
// tasks that expire are always the oldest kept ones, so the fold order, and
// with it Ω, is unchanged.
import { type Infer, array, integer, object, string } from '../../config/schema.js';
import { noGrad } from '../../tensor/autograd.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import { AmnesiacBookkeeping, disableUnlearning } from './amnesiac.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import type { ParameterMap } from './quadratic_anchors.js';
import { SI, accumulate, c, clampNegative, gradient, upperClamp, xi } from './si.js';
import { readStateTensor, readStateValues } from './state.js';
import type { TaskId } from '../contracts/types.js';

const amnesiacSiOptions = object({ c, xi, gradient, clampNegative, upperClamp, disableUnlearning });
export type AmnesiacSIOptions = Infer<typeof amnesiacSiOptions>;

/**
 * The saved values: SI's parameter names, the tasks whose increment and Δθ
 * are kept, and the parameters of the base Ω (empty when no task expired).
 */
const savedValues = object({
  parameters: array(string()),
  incrementTasks: array(integer({ min: 1 })),
  baseParameters: array(string()),
  deltaTasks: array(integer({ min: 1 })),
});

export class AmnesiacSI extends SI {
  override readonly name = 'amnesiacSi';
  readonly bookkeeping: AmnesiacBookkeeping;
  /** I_t of each task that can still be unlearned, in training order. */
  readonly #increments = new Map<TaskId, ParameterMap>();
  /** The fold of the increments of the tasks that can no longer be unlearned. */
  #base: ParameterMap = new Map();

  constructor(options: AmnesiacSIOptions) {
    super(options);
    this.bookkeeping = new AmnesiacBookkeeping('amnesiacSi', options);
  }

  /** I_t by parameter name for each task that can still be unlearned. */
  get increments(): ReadonlyMap<TaskId, ReadonlyMap<string, Tensor>> {
    return this.#increments;
  }

  override onTaskStart(ctx: TaskContext): void {
    super.onTaskStart(ctx);
    this.bookkeeping.onTaskStart(ctx);
  }

  override onTaskEnd(ctx: TaskContext): void {
    super.onTaskEnd(ctx);
    this.bookkeeping.onTaskEnd(ctx);
  }

  /** SI's Ω ← relu(Ω + I_t), keeping I_t when unlearning is enabled. */
  protected override addImportance(task: TaskId, increments: ParameterMap): void {
    if (this.bookkeeping.deltas === null) {
      super.addImportance(task, increments);
      return;
    }
    this.setImportance(accumulate(this.importance, increments, this.clampNegative));
    this.#increments.set(task, increments);
  }

  unlearn(ctx: UnlearningContext): void {
    const deltas = this.bookkeeping.enabledFor(ctx);
    if (deltas === null) return;
    deltas.undo(ctx.model, ctx.tasks);
    this.#foldIntoBase(ctx.expired.filter((t) => !ctx.tasks.includes(t)));
    if (ctx.tasks.length > 0) {
      this.#forgetIncrements(ctx.tasks);
      if (this.#increments.size === 0 && this.#base.size === 0) this.#clearImportanceAndAnchor();
      else {
        this.#shiftAnchor(ctx.tasks.map((u) => deltas.delta(u)!));
        this.setImportance(this.#fold());
      }
    }
    deltas.forget([...ctx.tasks, ...ctx.expired]);
  }

  /** The base, then relu(· + I_t) for each kept task in training order, as new kept tensors. */
  #fold(): ParameterMap {
    let importance = accumulate(new Map(), this.#base, false);
    for (const increment of this.#increments.values()) {
      const next = accumulate(importance, increment, this.clampNegative);
      for (const t of importance.values()) t.dispose();
      importance = next;
    }
    return importance;
  }

  /** Folds the increments of `tasks` (the oldest kept ones) into the base and frees them. */
  #foldIntoBase(tasks: readonly TaskId[]): void {
    for (const task of this.#increments.keys()) {
      if (!tasks.includes(task)) continue;
      const base = accumulate(this.#base, this.#increments.get(task)!, this.clampNegative);
      for (const t of this.#base.values()) t.dispose();
      this.#base = base;
    }
    this.#forgetIncrements(tasks);
  }

  #forgetIncrements(tasks: readonly TaskId[]): void {
    for (const task of tasks) {
      for (const t of this.#increments.get(task)?.values() ?? []) t.dispose();
      this.#increments.delete(task);
    }
  }

  /** θ* ← θ* − Σ Δθ_u, in the order the bookkeeping subtracts them from θ. */
  #shiftAnchor(deltas: ReadonlyMap<string, Tensor>[]): void {
    tidy(() =>
      noGrad(() => {
        for (const delta of deltas) {
          for (const [name, anchor] of this.anchor) {
            const d = delta.get(name);
            if (d !== undefined) anchor.sub_(d);
          }
        }
      }),
    );
  }

  #clearImportanceAndAnchor(): void {
    this.setImportance(new Map());
    for (const t of this.anchor.values()) t.dispose();
    this.anchor.clear();
  }

  override state(): AlgorithmState {
    const si = super.state();
    const tensors = { ...si.tensors };
    for (const [task, increment] of this.#increments) for (const [name, t] of increment) tensors[`increment.${task}.${name}`] = t;
    for (const [name, t] of this.#base) tensors[`base.${name}`] = t;
    const { tensors: deltas, tasks } = this.bookkeeping.state();
    return {
      tensors: { ...tensors, ...deltas },
      values: { ...si.values, incrementTasks: [...this.#increments.keys()], baseParameters: [...this.#base.keys()], deltaTasks: tasks },
    };
  }

  override loadState(state: AlgorithmState): void {
    const saved = readStateValues(savedValues, state.values);
    super.loadState({ tensors: state.tensors, values: { parameters: saved.parameters } });
    const shapeOf = (name: string): readonly number[] => {
      const anchor = this.anchor.get(name);
      if (anchor === undefined) throw new Error(`its saved values name '${name}', which has no saved anchor`);
      return anchor.shape;
    };
    // The caller frees what it read: keep copies.
    const read = (prefix: string, names: readonly string[]): ParameterMap =>
      new Map(names.map((name) => [name, keep(readStateTensor(state, `${prefix}${name}`, shapeOf(name)).detach().clone())]));
    tidy(() => {
      this.#base = read('base.', saved.baseParameters);
      for (const task of saved.incrementTasks) this.#increments.set(task, read(`increment.${task}.`, saved.parameters));
    });
    this.bookkeeping.loadState(state.tensors, saved.deltaTasks);
  }

  override dispose(): void {
    super.dispose();
    this.#forgetIncrements([...this.#increments.keys()]);
    for (const t of this.#base.values()) t.dispose();
    this.#base = new Map();
    this.bookkeeping.dispose();
  }
}

export const amnesiacSiDefinition = defineAlgorithm({
  name: 'amnesiacSi',
  summary: "SI with Amnesiac unlearning: subtracts an unlearned task's change from the model and from θ*, and drops its importance term",
  options: amnesiacSiOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: (options) => (options.disableUnlearning ? 'retains' : 'unlearns'),
  create: (options) => new AmnesiacSI(options),
});
