// Module: the base class of layers and models, as torch.nn.Module.
//
// Parameters, buffers and submodules are discovered from the instance's own
// properties in the order they were assigned, as PyTorch's __setattr__ does:
// `this.fc = new Linear(...)` registers `fc`, and its weight is `fc.weight`.
// Arrays of modules register their elements as `name.0`, `name.1`, ...
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import type { Device } from '../tensor/tensor.js';
import { Buffer, Parameter } from './parameter.js';

/** A module's parameters and buffers by dotted name, as stateDict() returns them. */
export type StateDict = Record<string, Tensor>;

/** How loadStateDict matches names. */
export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). */
  strict?: boolean;
}

/** The base class of layers and models, as torch.nn.Module: parameters, buffers and submodules assigned to its properties are found by name, in assignment order. */
export abstract class Module {
  /** Training mode (dropout active, batch norm updating statistics). */
  training = true;

  /** Own entries whose values are modules, parameters or buffers, in assignment order. */
  private ownEntries(): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module || value instanceof Parameter || value instanceof Buffer) out.push([key, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((v, i) => out.push([`${key}.${i}`, v]));
      }
    }
    return out;
  }

  namedChildren(): [string, Module][] {
    return this.ownEntries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }
  /**
   * This module and all below it, depth first, with dotted names ('' for this
   * one). A module reachable by several paths is listed once, under the first.
   */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (name: string, module: Module): void => {
      if (seen.has(module)) return;
      seen.add(module);
      out.push([name, module]);
      for (const [key, child] of module.namedChildren()) visit(name === '' ? key : `${name}.${key}`, child);
    };
    visit(prefix, this);
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    return this.namedOf(Parameter, prefix, recurse);
  }
  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }
  namedBuffers(prefix = '', recurse = true): [string, Buffer][] {
    return this.namedOf(Buffer, prefix, recurse);
  }
  buffers(recurse = true): Buffer[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  private namedOf<T extends Parameter | Buffer>(kind: abstract new (...args: never[]) => T, prefix: string, recurse: boolean): [string, T][] {
    const out: [string, T][] = [];
    const seen = new Set<Tensor>();
    const modules: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [moduleName, module] of modules) {
      for (const [key, value] of module.ownEntries()) {
        if (value instanceof kind && !seen.has(value)) {
          seen.add(value);
          out.push([moduleName === '' ? key : `${moduleName}.${key}`, value]);
        }
      }
    }
    return out;
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every submodule and then on this one (children first, as PyTorch), e.g. for custom initialisation. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Turns gradient tracking of every parameter on or off (freezing a part of a model). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Clears the gradients of all parameters (to null by default, as PyTorch 2 does). */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone) p.grad = null;
      else {
        const g = p.grad;
        if (g !== null) {
          g.zero_();
          g.dispose();
        }
      }
    }
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's state_dict order
   * (module by module, each one's parameters before its buffers); a tensor
   * shared by several modules appears once, under its first name.
   */
  private namedState(): [string, Parameter | Buffer][] {
    const out: [string, Parameter | Buffer][] = [];
    const seen = new Set<Tensor>();
    for (const [moduleName, module] of this.namedModules()) {
      const own = module.ownEntries();
      for (const kind of [Parameter, Buffer]) {
        for (const [key, value] of own) {
          if (value instanceof kind && !seen.has(value)) {
            seen.add(value);
            out.push([moduleName === '' ? key : `${moduleName}.${key}`, value]);
          }
        }
      }
    }
    return out;
  }

  /** Parameters and buffers by dotted name, as detached aliases (no copy). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, t] of this.namedState()) out[name] = t.detach();
    return out;
  }

  /** Copies values into this module's parameters and buffers, checking names and shapes. */
  loadStateDict(state: StateDict, options: LoadStateDictOptions = {}): void {
    const strict = options.strict ?? true;
    const targets = new Map<string, Tensor>(this.namedState());
    const missing = [...targets.keys()].filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !targets.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing keys: ${missing.join(', ')}`);
      if (unexpected.length > 0) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
      throw new Error(`loadStateDict: the state dict does not match ${this.constructor.name} (${parts.join('; ')})`);
    }
    for (const [name, target] of targets) {
      const source = state[name];
      if (source === undefined) continue;
      if (source.shape.join() !== target.shape.join()) {
        throw new Error(`loadStateDict: shape mismatch for ${name}: the module has [${target.shape.join(', ')}], the state dict [${source.shape.join(', ')}]`);
      }
    }
    noGrad(() => {
      for (const [name, target] of targets) {
        const source = state[name];
        if (source !== undefined) target.copy_(source);
      }
    });
  }

  /** Moves or casts all parameters and buffers in place (floating ones only, for a dtype). */
  to(target: DType | Device): this {
    const isDevice = target === 'cpu' || target.startsWith('cuda');
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        if (!isDevice && t.dtype !== 'float32' && t.dtype !== 'float64') continue;
        const moved = t.to(target as DType & Device);
        t.setData_(moved);
        moved.dispose();
      }
    });
    return this;
  }

  /** A deep copy: same structure and values, no shared storage. */
  clone(): this {
    return deepCopy(this) as this;
  }

  /** Frees every parameter and buffer now. The module is unusable afterwards. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }
}

function deepCopy(value: unknown, memo = new Map<unknown, unknown>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (memo.has(value)) return memo.get(value);
  if (value instanceof Parameter) {
    const copy = noGrad(() => {
      const data = value.clone();
      const p = new Parameter(data, value.requiresGrad);
      data.dispose();
      return p;
    });
    memo.set(value, copy);
    return copy;
  }
  if (value instanceof Buffer) {
    const data = value.clone();
    const copy = new Buffer(data);
    data.dispose();
    memo.set(value, copy);
    return copy;
  }
  if (value instanceof Tensor) {
    throw new TypeError('Module.clone: a module holds a plain Tensor; register it as a Parameter or Buffer so it can be copied');
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    for (const v of value) copy.push(deepCopy(v, memo));
    return copy;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (value instanceof Module || proto === Object.prototype) {
    const copy = Object.create(proto) as Record<string, unknown>;
    memo.set(value, copy);
    for (const [k, v] of Object.entries(value)) copy[k] = deepCopy(v, memo);
    return copy;
  }
  // Anything else (functions, maps, class instances that are not modules) is shared.
  return value;
}
