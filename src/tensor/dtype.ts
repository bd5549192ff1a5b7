// Element types and their JavaScript typed-array counterparts.

/** The element types a tensor can have. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';
/** Every DType, for validation and messages. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int64', 'int32', 'uint8', 'bool'];

/** The typed array that holds a dtype's elements (bool is stored as bytes). */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
/** The typed array of any dtype's elements, as toTypedArray() returns them. */
export type AnyTypedArray = TypedArrayOf[DType];

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function assertDType(value: string): DType {
  if (!isDType(value)) throw new TypeError(`unsupported dtype '${value}' (expected one of ${DTYPES.join(', ')})`);
  return value;
}

/** Whether `dtype` holds floating-point numbers (the ones gradients flow through). */
export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Views a buffer of raw elements as the typed array for `dtype`. */
export function typedArrayFrom(buffer: ArrayBuffer, dtype: DType): AnyTypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'uint8': return new Uint8Array(buffer);
    case 'bool': return new Uint8Array(buffer);
  }
}

/** The dtype PyTorch infers for a typed array. */
export function dtypeOfTypedArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError(`unsupported typed array ${data.constructor.name} (use Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array)`);
}

/** Converts plain numbers, booleans or bigints into the typed array for `dtype`. */
export function typedArrayOfValues(values: ArrayLike<number | boolean | bigint>, dtype: DType): AnyTypedArray {
  const n = values.length;
  switch (dtype) {
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(toInteger(values[i]!, dtype));
      return out;
    }
    case 'int32':
    case 'uint8': {
      const out = dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(toInteger(values[i]!, dtype));
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    default: {
      const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(values[i]);
      return out;
    }
  }
}

// Integer typed arrays store values modulo 2^bits, and fractions truncated,
// without a word; PyTorch refuses values outside the dtype ("Overflow when
// unpacking long", "value cannot be converted to type uint8_t without
// overflow"), and so do we, and fractions too. Bounds are [min, max + 1): as
// numbers, 2^63 - 1 is not representable but 2^63 is.
const INTEGER_RANGES = {
  int64: { min: -(2 ** 63), end: 2 ** 63, minBig: -(2n ** 63n), endBig: 2n ** 63n },
  int32: { min: -(2 ** 31), end: 2 ** 31, minBig: -(2n ** 31n), endBig: 2n ** 31n },
  uint8: { min: 0, end: 256, minBig: 0n, endBig: 256n },
} as const;

function toInteger(v: number | boolean | bigint, dtype: keyof typeof INTEGER_RANGES): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const where = `in ${dtype === 'uint8' ? 'a' : 'an'} ${dtype} tensor`;
  if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`cannot store ${v} ${where}`);
  const range = INTEGER_RANGES[dtype];
  if (typeof v === 'bigint' ? v < range.minBig || v >= range.endBig : v < range.min || v >= range.end) {
    throw new RangeError(`cannot store ${v} ${where}: out of range`);
  }
  return v;
}
