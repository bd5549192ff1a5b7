// The sum of per-task quadratic penalties Σ_t Σ_i F_t,i (θ_i − θ*_t,i)² in a
// form whose cost does not grow with the number of tasks:
//   Σ_t F_t (θ − θ*_t)² = A (θ − μ)² + c,  A = Σ_t F_t,  μ = Σ_t F_t θ*_t / A,
//   c = Σ_t F_t θ*_t² − A μ²   (per element; c does not depend on θ).
// A and μ are rebuilt in float64 whenever a task is added or removed; the
// per-task Fishers and anchors are kept, since unlearning must be able to drop
// one task's term.
import { noGrad } from '../../tensor/autograd.js';
import { keep, tidy } from '../../tensor/scope.js';
import { Tensor } from '../../tensor/tensor.js';
import { zerosLike } from '../../tensor/creation.js';
import { where } from '../../tensor/functions.js';
import type { TaskId } from '../contracts/types.js';

export type ParameterMap = Map<string, Tensor>;

export interface TaskTerm {
  fisher: ParameterMap;
  anchor: ParameterMap;
}

/** Per-task quadratic penalties Σ_t F_t (θ − θ*_t)², kept as one quadratic so that a step's cost does not grow with the tasks (EWC and its kin). */
export class QuadraticAnchors {
  readonly #terms = new Map<TaskId, TaskTerm>();
  #precision = new Map<string, Tensor>();
  #centre = new Map<string, Tensor>();
  #constant = 0;

  get tasks(): TaskId[] {
    return [...this.#terms.keys()];
  }
  term(task: TaskId): TaskTerm | undefined {
    return this.#terms.get(task);
  }
  get isEmpty(): boolean {
    return this.#terms.size === 0;
  }

  /** Adds task `task`'s term; takes ownership of the tensors. */
  add(task: TaskId, term: TaskTerm): void {
    if (this.#terms.has(task)) throw new Error(`QuadraticAnchors: task ${task} already has a term`);
    this.#terms.set(task, term);
    this.#rebuild();
  }

  /** Removes and frees task `task`'s term (unlearning). */
  remove(task: TaskId): void {
    const term = this.#terms.get(task);
    if (term === undefined) throw new Error(`QuadraticAnchors: task ${task} has no term to remove`);
    this.#terms.delete(task);
    for (const t of [...term.fisher.values(), ...term.anchor.values()]) t.dispose();
    this.#rebuild();
  }

  /**
   * θ*_t ← θ*_t − δ for each task t of `tasks`, on the entries δ names
   * (unlearning: an anchor taken after an unlearned task's training carried
   * that task's change). Rebuilds the aggregates once.
   */
  subtractFromAnchors(tasks: readonly TaskId[], delta: ReadonlyMap<string, Tensor>): void {
    const terms = tasks.map((task) => {
      const term = this.#terms.get(task);
      if (term === undefined) throw new Error(`QuadraticAnchors: task ${task} has no anchor to adjust`);
      return term;
    });
    noGrad(() => {
      for (const term of terms) {
        for (const [name, anchor] of term.anchor) {
          const d = delta.get(name);
          if (d !== undefined) anchor.sub_(d);
        }
      }
    });
    this.#rebuild();
  }

  /** Σ_i A_i (θ_i − μ_i)² + c over the given parameters, differentiable in θ. */
  penalty(parameters: Iterable<[string, Tensor]>): Tensor | null {
    if (this.#terms.size === 0) return null;
    return weightedSquaredDistance(parameters, this.#precision, this.#centre)?.add(this.#constant) ?? null;
  }

  #rebuild(): void {
    for (const t of [...this.#precision.values(), ...this.#centre.values()]) t.dispose();
    this.#precision = new Map();
    this.#centre = new Map();
    this.#constant = 0;
    const names = new Set<string>();
    for (const term of this.#terms.values()) for (const name of term.fisher.keys()) names.add(name);
    noGrad(() => {
      for (const name of names) {
        tidy(() => {
          let a: Tensor | null = null;
          let weighted: Tensor | null = null;
          let weightedSquares: Tensor | null = null;
          for (const term of this.#terms.values()) {
            const f = term.fisher.get(name);
            const anchor = term.anchor.get(name);
            if (f === undefined || anchor === undefined) continue;
            const f64 = f.double();
            const x64 = anchor.double();
            const fx = f64.mul(x64);
            a = a === null ? f64 : a.add(f64);
            weighted = weighted === null ? fx : weighted.add(fx);
            weightedSquares = weightedSquares === null ? fx.mul(x64) : weightedSquares.add(fx.mul(x64));
          }
          if (a === null || weighted === null || weightedSquares === null) return;
          // Where no task gives an element any importance, A = 0 and the term vanishes; μ is then irrelevant.
          const safe = where(a.gt(0), a, 1);
          const mu = where(a.gt(0), weighted.div(safe), zerosLike(a));
          this.#constant += weightedSquares.sub(a.mul(mu.square())).sum().item();
          this.#precision.set(name, keep(a.float()));
          this.#centre.set(name, keep(mu.float()));
        });
      }
    });
  }

  /** Tensors and values for a checkpoint: the per-task terms (the aggregates are rebuilt on load). */
  state(prefix: string): { tensors: Record<string, Tensor>; tasks: TaskId[] } {
    const tensors: Record<string, Tensor> = {};
    for (const [task, term] of this.#terms) {
      for (const [name, t] of term.fisher) tensors[`${prefix}${task}.fisher.${name}`] = t;
      for (const [name, t] of term.anchor) tensors[`${prefix}${task}.anchor.${name}`] = t;
    }
    return { tensors, tasks: this.tasks };
  }

  loadState(prefix: string, tensors: Record<string, Tensor>, tasks: readonly TaskId[]): void {
    this.dispose();
    for (const task of tasks) {
      const term: TaskTerm = { fisher: new Map(), anchor: new Map() };
      for (const [key, t] of Object.entries(tensors)) {
        const head = `${prefix}${task}.`;
        if (!key.startsWith(head)) continue;
        const rest = key.slice(head.length);
        const kind = rest.startsWith('fisher.') ? term.fisher : rest.startsWith('anchor.') ? term.anchor : undefined;
        if (kind === undefined) throw new Error(`QuadraticAnchors: unexpected checkpoint key '${key}'`);
        kind.set(rest.slice(rest.indexOf('.') + 1), keep(t.clone()));
      }
      this.#terms.set(task, term);
    }
    this.#rebuild();
  }

  dispose(): void {
    for (const term of this.#terms.values()) for (const t of [...term.fisher.values(), ...term.anchor.values()]) t.dispose();
    this.#terms.clear();
    this.#rebuild();
  }
}

/** A detached copy of each parameter, kept past every scope (an anchor θ*); the detached aliases are freed at once. */
/**
 * Σ_i w_i (θ_i − a_i)² summed over the given parameters that have both a
 * weight and an anchor, differentiable in θ; null when none has. The pull of
 * every quadratic penalty (EWC, online EWC, SI).
 */
export function weightedSquaredDistance(parameters: Iterable<[string, Tensor]>, weights: ReadonlyMap<string, Tensor>, anchors: ReadonlyMap<string, Tensor>): Tensor | null {
  let total: Tensor | null = null;
  for (const [name, theta] of parameters) {
    const weight = weights.get(name);
    const anchor = anchors.get(name);
    if (weight === undefined || anchor === undefined) continue;
    const term = theta.sub(anchor).square().mul(weight).sum();
    total = total === null ? term : total.add(term);
  }
  return total;
}

export function snapshot(parameters: Iterable<[string, Tensor]>): ParameterMap {
  return tidy(() => noGrad(() => new Map([...parameters].map(([name, p]) => [name, keep(p.detach().clone())] as [string, Tensor]))));
}
