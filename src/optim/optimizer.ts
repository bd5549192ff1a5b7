// The Optimizer base class, as torch.optim.Optimizer (PyTorch 1.13), plus the
// per-parameter state resets that continual-learning algorithms need.
//
// Memory: state tensors are kept (see scope.ts), so they outlive any scope the
// user has open, and are freed by resetState(), loadStateDict() or dispose().
// Every step runs each parameter's update inside its own tidy(), so a step
// leaves nothing behind but the state it meant to create.
import { enableGrad, noGrad } from '../tensor/autograd.js';
import { zerosLike } from '../tensor/creation.js';
import { type DType, isFloating } from '../tensor/dtype.js';
import { keep, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from '../nn/parameter.js';

/** Hyperparameters every optimizer has. */
export interface BaseHyperparameters {
  lr: number;
}

/** One parameter group: its parameters and the hyperparameters in force for them. */
export type ParamGroup<H extends BaseHyperparameters> = H & {
  params: Parameter[];
  /** The lr before any scheduler changed it; set by the first scheduler attached. */
  initialLr?: number;
};

/** A group as given to a constructor: parameters plus overrides of the optimizer's defaults. */
export type ParamGroupSpec<H extends BaseHyperparameters> = Partial<H> & { params: readonly Parameter[] };

/** What an optimizer constructor accepts: parameters, or groups of them with per-group overrides. */
export type ParamsArg<H extends BaseHyperparameters> = readonly Parameter[] | readonly ParamGroupSpec<H>[];

/** The optimizer's memory for one parameter. */
export interface ParamState {
  /** Steps taken for this parameter (steps where it had no gradient do not count). */
  step: number;
  /** Named state tensors (momentumBuffer, expAvg, ...), each shaped like the parameter. */
  tensors: Record<string, Tensor>;
}

/** A group in a state dict: its hyperparameters and the indices of its parameters. */
export type SavedParamGroup<H extends BaseHyperparameters> = H & { params: number[]; initialLr?: number };

/**
 * The state of an optimizer as plain data: per-parameter state keyed by the
 * parameter's index (counting through the groups in order, as PyTorch does)
 * and the groups' hyperparameters.
 */
export interface OptimizerStateDict<H extends BaseHyperparameters = BaseHyperparameters> {
  state: Record<number, Record<string, Tensor | number>>;
  paramGroups: SavedParamGroup<H>[];
}

/** The base of the optimizers, as torch.optim.Optimizer: parameter groups with their hyperparameters, and per-parameter state that can be read, reset, saved and loaded. */
export abstract class Optimizer<H extends BaseHyperparameters = BaseHyperparameters> {
  readonly defaults: Readonly<H>;
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly #state = new Map<Parameter, ParamState>();

  constructor(params: ParamsArg<H>, defaults: H) {
    this.defaults = Object.freeze({ ...defaults });
    if (params.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const specs: readonly ParamGroupSpec<H>[] = params.every((p) => p instanceof Tensor)
      ? [{ params: params as readonly Parameter[] } as ParamGroupSpec<H>]
      : (params as readonly ParamGroupSpec<H>[]);
    for (const spec of specs) this.addParamGroup(spec);
  }

  /** Adds a group (fine-tuning a layer that was frozen, growing a network); unset hyperparameters take the defaults. */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const name = this.constructor.name;
    if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.params)) {
      throw new TypeError(`${name}: a parameter group must be an object with a params array`);
    }
    const params = [...spec.params];
    for (const p of params) {
      if (!(p instanceof Parameter)) throw new TypeError(`${name}: can only optimize Parameters, got ${describe(p)}`);
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf tensor`);
    }
    if (new Set(params).size !== params.length) throw new Error(`${name}: a parameter group contains the same parameter twice`);
    for (const group of this.paramGroups) {
      if (group.params.some((p) => params.includes(p))) throw new Error(`${name}: some parameters appear in more than one parameter group`);
    }
    const overrides = Object.fromEntries(Object.entries(spec).filter(([key, value]) => key !== 'params' && value !== undefined));
    const group = { ...this.defaults, ...overrides, params } as ParamGroup<H>;
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** Throws if a group's hyperparameters are invalid, naming the option and its value. */
  protected abstract validate(group: Readonly<H>): void;

  /**
   * Updates one parameter in place. Runs under noGrad inside a tidy() that
   * frees `grad` and every temporary; state tensors must be created with
   * `this.newStateTensor` (or kept) so that they survive.
   */
  protected abstract update(param: Parameter, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /**
   * Performs one optimization step for every parameter that has a gradient.
   * `closure`, if given, re-evaluates the model (with grad enabled) and its
   * result is returned.
   */
  step<T = undefined>(closure?: () => T): T | undefined {
    const result = closure === undefined ? undefined : enableGrad(closure);
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const param of group.params) {
          tidy(() => {
            const grad = param.grad;
            if (grad === null) return;
            let state = this.#state.get(param);
            if (state === undefined) {
              state = { step: 0, tensors: {} };
              this.#state.set(param, state);
            }
            this.update(param, grad, group, state);
          });
        }
      }
    });
    return result;
  }

  /** Clears the gradients of every optimized parameter (to null by default, as PyTorch 2 does). */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) {
          p.grad = null;
          continue;
        }
        const g = p.grad;
        if (g !== null) {
          g.zero_();
          g.dispose();
        }
      }
    }
  }

  /** The parameter's state, or undefined before its first step (and after a full reset). Do not dispose its tensors. */
  getState(param: Parameter): Readonly<ParamState> | undefined {
    return this.#state.get(param);
  }

  /**
   * Forgets a parameter's state, so that its next step is a first step
   * (momentum restarts from the gradient, Adam's bias correction from step 1).
   *
   * With a boolean `mask` (shaped like the parameter, or broadcastable to it,
   * such as a [rows, 1] mask selecting whole units), only the elements where
   * the mask is true are reset, and each optimizer makes those elements behave
   * exactly as if they had fresh state: see SGD.resetState and Adam.resetState.
   * The parameter's step count is the optimizer's, so it is not changed by a
   * masked reset.
   */
  resetState(param: Parameter, mask?: Tensor): void {
    this.assertOptimized(param, 'resetState');
    const state = this.#state.get(param);
    if (state === undefined) return;
    if (mask === undefined) {
      for (const t of Object.values(state.tensors)) t.dispose();
      this.#state.delete(param);
      return;
    }
    if (mask.dtype !== 'bool') throw new TypeError(`${this.constructor.name}.resetState: mask must be a bool tensor, got ${mask.dtype}`);
    noGrad(() => tidy(() => this.resetElements(param, state, mask)));
  }

  /** Makes the masked elements' state fresh; by default zeroes every state tensor there. */
  protected resetElements(_param: Parameter, state: ParamState, mask: Tensor): void {
    for (const t of Object.values(state.tensors)) t.maskedFill_(mask, 0);
  }

  /** A zero tensor shaped like `param` that survives the step's scope. */
  protected newStateTensor(param: Parameter, options: { dtype?: DType } = {}): Tensor {
    return keep(zerosLike(param, { dtype: options.dtype ?? param.dtype }));
  }

  /** Stores `t` (kept) under `name`, freeing what was there. */
  protected setStateTensor(state: ParamState, name: string, t: Tensor): Tensor {
    const old = state.tensors[name];
    keep(t);
    state.tensors[name] = t;
    if (old !== undefined && old !== t) old.dispose();
    return t;
  }

  /** Removes and frees a state tensor. */
  protected deleteStateTensor(state: ParamState, name: string): void {
    const old = state.tensors[name];
    if (old === undefined) return;
    delete state.tensors[name];
    old.dispose();
  }

  /** Whether a floating state tensor keeps its saved dtype on load instead of taking the parameter's. */
  protected keepsSavedDType(_name: string): boolean {
    return false;
  }

  /**
   * The state as plain data: state tensors are detached aliases (no copy),
   * recorded in the current scope like any new tensor; everything else is
   * numbers, booleans and arrays, ready for JSON.
   */
  stateDict(): OptimizerStateDict<H> {
    const index = new Map<Parameter, number>();
    const paramGroups: SavedParamGroup<H>[] = this.paramGroups.map((group) => {
      const { params, ...hyper } = group;
      const indices = params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...structuredClone(hyper), params: indices } as unknown as SavedParamGroup<H>;
    });
    const state: Record<number, Record<string, Tensor | number>> = {};
    for (const [param, s] of this.#state) {
      const i = index.get(param);
      if (i === undefined) continue;
      const entry: Record<string, Tensor | number> = { step: s.step };
      for (const [name, t] of Object.entries(s.tensors)) entry[name] = t.detach();
      state[i] = entry;
    }
    return { state, paramGroups };
  }

  /**
   * Replaces the state and hyperparameters with a state dict's (from this
   * optimizer class, with the same group structure). Tensors are copied,
   * floating ones cast to their parameter's dtype, all moved to its device.
   */
  loadStateDict(stateDict: OptimizerStateDict<H>): void {
    const name = `${this.constructor.name}.loadStateDict`;
    const saved = stateDict.paramGroups;
    if (!Array.isArray(saved) || saved.length !== this.paramGroups.length) {
      throw new Error(`${name}: the state dict has ${Array.isArray(saved) ? saved.length : 'no'} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Parameter>();
    saved.forEach((g, gi) => {
      const group = this.paramGroups[gi]!;
      if (!Array.isArray(g.params) || g.params.length !== group.params.length) {
        throw new Error(`${name}: parameter group ${gi} has ${Array.isArray(g.params) ? g.params.length : 'no'} parameters in the state dict, ${group.params.length} in the optimizer`);
      }
      g.params.forEach((id, k) => byIndex.set(id, group.params[k]!));
    });
    const entries: [Parameter, Record<string, Tensor | number>][] = [];
    for (const [key, value] of Object.entries(stateDict.state)) {
      const param = byIndex.get(Number(key));
      if (param === undefined) throw new Error(`${name}: state for parameter ${key}, which no group holds`);
      for (const [k, v] of Object.entries(value)) {
        if (v instanceof Tensor) {
          if (v.shape.join() !== param.shape.join()) {
            throw new Error(`${name}: state '${k}' of parameter ${key} has shape [${v.shape.join(', ')}], the parameter [${param.shape.join(', ')}]`);
          }
        } else if (typeof v !== 'number') throw new TypeError(`${name}: state '${k}' of parameter ${key} is neither a tensor nor a number`);
      }
      entries.push([param, value]);
    }
    const groups = saved.map((g, gi) => {
      const { params: _ids, ...hyper } = g;
      const group = { ...structuredClone(hyper), params: this.paramGroups[gi]!.params } as unknown as ParamGroup<H>;
      this.validate(group);
      return group;
    });

    const loaded = new Map<Parameter, ParamState>();
    noGrad(() => {
      for (const [param, value] of entries) {
        const s: ParamState = { step: 0, tensors: {} };
        for (const [k, v] of Object.entries(value)) {
          if (typeof v === 'number') {
            if (k === 'step') s.step = v;
            continue;
          }
          const dtype = isFloating(v.dtype) && !this.keepsSavedDType(k) ? param.dtype : v.dtype;
          s.tensors[k] = keep(tidy(() => v.to({ dtype, device: param.device }).clone()));
        }
        loaded.set(param, s);
      }
    });
    this.disposeState();
    for (const [p, s] of loaded) this.#state.set(p, s);
    this.paramGroups.splice(0, this.paramGroups.length, ...groups);
  }

  /** Frees all state tensors. The optimizer can go on, starting afresh. */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.#state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.#state.clear();
  }

  private assertOptimized(param: Parameter, method: string): void {
    if (!this.paramGroups.some((g) => g.params.includes(param))) {
      throw new Error(`${this.constructor.name}.${method}: the parameter is not optimized by this optimizer`);
    }
  }
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return 'a plain Tensor (wrap it in a Parameter)';
  if (v === null) return 'null';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

/** A state dict split for storage: tensors for safetensors, everything else for JSON. */
export interface PackedOptimizerState<H extends BaseHyperparameters = BaseHyperparameters> {
  /** Keyed `state.<paramIndex>.<name>`. */
  tensors: Record<string, Tensor>;
  /** JSON-safe: numeric state and the param groups. */
  json: { state: Record<number, Record<string, number>>; paramGroups: SavedParamGroup<H>[] };
}

/** Splits a state dict into tensors (for safetensors) and JSON data. The tensors are the state dict's own. */
export function packStateDict<H extends BaseHyperparameters>(stateDict: OptimizerStateDict<H>): PackedOptimizerState<H> {
  const tensors: Record<string, Tensor> = {};
  const state: Record<number, Record<string, number>> = {};
  for (const [i, entry] of Object.entries(stateDict.state)) {
    const numbers: Record<string, number> = {};
    for (const [name, v] of Object.entries(entry)) {
      if (name.includes('.')) throw new Error(`packStateDict: state name '${name}' contains a '.'`);
      if (v instanceof Tensor) tensors[`state.${i}.${name}`] = v;
      else numbers[name] = v;
    }
    state[Number(i)] = numbers;
  }
  return { tensors, json: { state, paramGroups: stateDict.paramGroups } };
}

/** Frees the tensors of a state dict taken with stateDict() (e.g. once it is checkpointed). */
export function disposeStateDict(stateDict: OptimizerStateDict): void {
  for (const entry of Object.values(stateDict.state)) for (const v of Object.values(entry)) if (v instanceof Tensor) v.dispose();
}

/** Rebuilds a state dict from packStateDict's parts (after a save and load). */
export function unpackStateDict<H extends BaseHyperparameters>(tensors: Record<string, Tensor>, json: PackedOptimizerState<H>['json']): OptimizerStateDict<H> {
  const state: Record<number, Record<string, Tensor | number>> = {};
  // Prototype-free, so that a state named '__proto__' in a file is kept as one, not made a prototype.
  const entry = (): Record<string, Tensor | number> => Object.create(null) as Record<string, Tensor | number>;
  for (const [i, numbers] of Object.entries(json.state)) state[Number(i)] = Object.assign(entry(), numbers);
  for (const [key, t] of Object.entries(tensors)) {
    const match = /^state\.(\d+)\.([^.]+)$/.exec(key);
    if (match === null) throw new Error(`unpackStateDict: unexpected tensor key '${key}'`);
    const i = Number(match[1]);
    (state[i] ??= entry())[match[2]!] = t;
  }
  return { state, paramGroups: json.paramGroups };
}
