// Element types and their JavaScript typed-array counterparts.

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';
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
export type AnyTypedArray = TypedArrayOf[DType];

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

export function assertDType(value: string): DType {
  if (!isDType(value)) throw new TypeError(`unsupported dtype '${value}' (expected one of ${DTYPES.join(', ')})`);
  return value;
}

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

/** Converts plain numbers or booleans into the typed array for `dtype`. */
export function typedArrayOfValues(values: ArrayLike<number | boolean | bigint>, dtype: DType): AnyTypedArray {
  const n = values.length;
  switch (dtype) {
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(toInteger(values[i]!));
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    default: {
      const out = new (dtype === 'float32' ? Float32Array : dtype === 'float64' ? Float64Array : dtype === 'int32' ? Int32Array : Uint8Array)(n);
      for (let i = 0; i < n; i++) out[i] = Number(values[i]);
      return out;
    }
  }
}

// BigInt64Array stores values modulo 2^64 without a word; PyTorch refuses
// values outside int64 ("Overflow when unpacking long"), and so do we.
const INT64_LIMIT = 2 ** 63;

function toInteger(v: number | boolean | bigint): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint' ? v < -(2n ** 63n) || v >= 2n ** 63n : v < -INT64_LIMIT || v >= INT64_LIMIT) {
    throw new RangeError(`cannot store ${v} in an int64 tensor: out of range`);
  }
  if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`cannot store ${v} in an int64 tensor`);
  return v;
}
