// Containers, as torch.nn.Sequential and torch.nn.ModuleList. Children are
// stored under the own properties '0', '1', ..., which is how Module finds
// them and why their parameters are named '0.weight', '1.bias', ... as in
// PyTorch.
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** A module whose forward maps one tensor to one tensor, as a Sequential needs. */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

function isIndexKey(key: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(key);
}

function countChildren(container: object): number {
  return Object.keys(container).filter(isIndexKey).length;
}

function normaliseIndex(fn: string, index: number, length: number, allowEnd = false): number {
  const i = index < 0 ? index + length : index;
  const limit = allowEnd ? length : length - 1;
  if (!Number.isInteger(i) || i < 0 || i > limit) throw new RangeError(`${fn}: index ${index} is out of range for ${length} modules`);
  return i;
}

abstract class IndexedContainer<T extends Module> extends Module {
  [index: number]: T;

  get length(): number {
    return countChildren(this);
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): T {
    return this[normaliseIndex(`${this.constructor.name}.at`, index, this.length)]!;
  }

  append(module: T): this {
    this[this.length] = module;
    return this;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this[i]!;
  }
}

/** Runs its modules one after another, each on the previous one's output. */
export class Sequential extends IndexedContainer<UnaryModule> implements UnaryModule {
  constructor(...modules: UnaryModule[]) {
    super();
    modules.forEach((m, i) => {
      this[i] = m;
    });
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (const m of this) out = m.forward(out);
    return out;
  }
}

/** A list of modules whose parameters are registered; it has no forward of its own. */
export class ModuleList<T extends Module = Module> extends IndexedContainer<T> {
  constructor(modules: Iterable<T> = []) {
    super();
    this.extend(modules);
  }

  extend(modules: Iterable<T>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Inserts before `index`, shifting later modules up by one. */
  insert(index: number, module: T): this {
    const n = this.length;
    const at = normaliseIndex('ModuleList.insert', index, n, true);
    for (let i = n; i > at; i--) this[i] = this[i - 1]!;
    this[at] = module;
    return this;
  }
}
