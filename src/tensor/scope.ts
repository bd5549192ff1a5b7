// Deterministic freeing of native memory.
//
// Every tensor created while a scope is open is recorded in it. When the scope
// closes, each recorded tensor is disposed unless it is part of the scope's
// result (those move to the enclosing scope) or was kept. Parameters, buffers
// and kept tensors are never recorded. Outside any scope, tensors live until
// dispose() or, as a safety net, until the garbage collector finalizes them.

export interface Disposable {
  dispose(): void;
}

const scopes: Set<Disposable>[] = [];

/** Records a new tensor in the innermost open scope, if any. */
export function track(t: Disposable): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes a tensor from every open scope so that no scope frees it. */
export function keep<T extends Disposable>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

/** A value made of tensors: a tensor, or arrays and plain objects of them. */
type Container = unknown;

function collect(value: Container, out: Set<Disposable>, isTensor: (v: unknown) => v is Disposable): void {
  if (isTensor(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out, isTensor);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, isTensor);
  }
}

let isTensorPredicate: (v: unknown) => v is Disposable = (_v: unknown): _v is Disposable => false;
/** Set by tensor.ts, which owns the Tensor class (avoids an import cycle). */
export function setTensorPredicate(p: (v: unknown) => v is Disposable): void {
  isTensorPredicate = p;
}

/**
 * Runs `fn` and frees every tensor it created except those in its result
 * (a tensor, or arrays and plain objects holding tensors), which are handed to
 * the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    // The caller gets the TypeError below instead of the promise; without this
    // its later rejection would be unhandled, which ends a Node process.
    result.catch(() => undefined);
    throw new TypeError('tidy() got an async function; tensors would be freed before it finished. Use tidy() inside the async code instead.');
  }
  const survivors = new Set<Disposable>();
  collect(result, survivors, isTensorPredicate);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Number of scopes currently open (for diagnostics and tests). */
export function scopeDepth(): number {
  return scopes.length;
}
