// Deterministic freeing of native memory.
//
// Every tensor created while a scope is open is recorded in it. When the scope
// closes, each recorded tensor is disposed unless it is part of the scope's
// result (those move to the enclosing scope) or was kept. Parameters, buffers
// and kept tensors are never recorded. A tensor that no scope will free (made
// outside any scope, returned from the outermost one, or kept) lives until
// dispose() or, as a safety net, until the garbage collector finds it
// unreachable: only such tensors pay for a garbage-collection guard.

export interface Scoped {
  /** The scope that will free it, if any. */
  scope: Scope | undefined;
  /** Its position in that scope's list (meaningless without a scope). */
  scopeIndex: number;
  dispose(): void;
  /** Hands the object to the garbage collector's safety net. */
  guard(): void;
}

/**
 * The objects one open scope will free, in creation order. Most are disposed
 * soon after they are made, usually the newest first, so removal empties the
 * object's entry and drops empty entries from the end: a loop that creates
 * and disposes a tensor per iteration keeps the list at its length instead of
 * letting it grow. (A Set cost five times as much per tensor.)
 */
export class Scope {
  #items: (Scoped | undefined)[] = [];
  #live = 0;

  add(t: Scoped): void {
    t.scope = this;
    t.scopeIndex = this.#items.length;
    this.#items.push(t);
    this.#live++;
  }

  /** Forgets `t`, which must belong to this scope. */
  remove(t: Scoped): void {
    const items = this.#items;
    items[t.scopeIndex] = undefined;
    t.scope = undefined;
    this.#live--;
    while (items.length > 0 && items[items.length - 1] === undefined) items.pop();
    // Removals out of creation order leave holes; compacting once holes
    // outnumber live entries three to one keeps the list proportional to
    // what the scope holds, at a constant cost per removal.
    if (items.length > 64 && this.#live * 4 < items.length) this.#compact();
  }

  /** Empties the scope and returns what it held, each with its scope cleared. */
  drain(): Scoped[] {
    const held: Scoped[] = [];
    for (const t of this.#items) {
      if (t !== undefined) {
        t.scope = undefined;
        held.push(t);
      }
    }
    this.#items = [];
    this.#live = 0;
    return held;
  }

  #compact(): void {
    const live: Scoped[] = [];
    for (const t of this.#items) {
      if (t !== undefined) {
        t.scopeIndex = live.length;
        live.push(t);
      }
    }
    this.#items = live;
  }
}

const scopes: Scope[] = [];

/** Records a new object in the innermost open scope, or guards it when none is open. */
export function track(t: Scoped): void {
  const scope = scopes[scopes.length - 1];
  if (scope === undefined) t.guard();
  else scope.add(t);
}

/** Exempts a tensor from the scope that would free it; it then lives until dispose() or garbage collection. */
export function keep<T extends Scoped>(t: T): T {
  if (t.scope !== undefined) {
    t.scope.remove(t);
    t.guard();
  }
  return t;
}

/** A value made of tensors: a tensor, or arrays, Maps and plain objects of them. */
type Container = unknown;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function collect(value: Container, out: Set<Scoped>, isTensor: (v: unknown) => v is Scoped): void {
  if (isTensor(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out, isTensor);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, isTensor);
  // Prototype-free objects too: safetensors returns its tensors in one.
  else if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    for (const v of Object.values(value)) collect(v, out, isTensor);
  }
}

let isTensorPredicate: (v: unknown) => v is Scoped = (_v: unknown): _v is Scoped => false;
/** Set by tensor.ts, which owns the Tensor class (avoids an import cycle). */
export function setTensorPredicate(p: (v: unknown) => v is Scoped): void {
  isTensorPredicate = p;
}

/**
 * Runs `fn` and frees every tensor it created except those in its result
 * (a tensor, or arrays, Maps and plain objects holding tensors), which are handed to
 * the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of scope.drain()) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope.drain()) t.dispose();
    // The caller gets the TypeError below instead of the promise; without this
    // its later rejection would be unhandled, which ends a Node process.
    result.catch(() => undefined);
    throw new TypeError('tidy() got an async function; tensors would be freed before it finished. Use tidy() inside the async code instead.');
  }
  const survivors = new Set<Scoped>();
  collect(result, survivors, isTensorPredicate);
  const parent = scopes[scopes.length - 1];
  for (const t of scope.drain()) {
    if (!survivors.has(t)) t.dispose();
    else if (parent !== undefined) parent.add(t);
    else t.guard();
  }
  return result;
}

/**
 * Calls `fn` on each item of `items`, each drawn from the iterator inside
 * the same tidy that uses it, so that an item the iterable builds on the fly
 * (a batch of a task's rows) is freed as soon as it has been used.
 */
export function tidyEach<T>(items: Iterable<T>, fn: (item: T) => void): void {
  const iterator = items[Symbol.iterator]();
  for (let done = false; !done; ) {
    done = tidy(() => {
      const next = iterator.next();
      if (next.done !== true) fn(next.value);
      return next.done === true;
    });
  }
}

/** Number of scopes currently open (for diagnostics and tests). */
export function scopeDepth(): number {
  return scopes.length;
}
