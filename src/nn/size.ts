// Spatial sizes given as one number or [height, width], as PyTorch accepts them.

/** A size given once for both spatial dims, or as [height, width]. */
export type Size2 = number | readonly [number, number];

/**
 * Expands a Size2 to [h, w], checking for integers >= `min`; `fn` and `name`
 * say where the value came from in the error.
 */
export function pair(fn: string, name: string, value: Size2, min: number): [number, number] {
  if (typeof value !== 'number' && (!Array.isArray(value) || value.length !== 2)) {
    throw new TypeError(`${fn}: ${name} must be a number or [height, width], got ${JSON.stringify(value)}`);
  }
  const out: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  for (const v of out) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${name} must be integers >= ${min}, got ${JSON.stringify(value)}`);
  }
  return out;
}
