// Creating tensors and reading them back: factories against PyTorch, and
// round trips through tensor() / toArray() / toTypedArray() for every dtype.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DType,
  type Tensor,
  arange,
  empty,
  eye,
  full,
  fullLike,
  linspace,
  ones,
  onesLike,
  scalar,
  tensor,
  tidy,
  zeros,
  zerosLike,
} from '../../src/index.js';
import { runFamily } from './cases.js';

const opts = (a: { dtype?: DType | null }) => (a.dtype == null ? {} : { dtype: a.dtype });

runFamily('creation', {
  arange: (_, a) => (a.start === null ? arange(a.end, opts(a)) : arange(a.start, a.end, a.step, opts(a))),
  linspace: (_, a) => linspace(a.start, a.end, a.steps, opts(a)),
  eye: (_, a) => eye(a.n, a.m ?? a.n, opts(a)),
  full: (_, a) => full(a.shape, a.value, opts(a)),
  zeros: (_, a) => zeros(a.shape, opts(a)),
  ones: (_, a) => ones(a.shape, opts(a)),
  scalar: (_, a) => scalar(a.value, opts(a)),
  tensor: (_, a) => tensor(a.data),
});

function check(t: Tensor, dtype: DType, shape: number[], array: unknown, typed: ArrayLike<number | bigint>, typedClass: abstract new (...args: never[]) => unknown): void {
  assert.equal(t.dtype, dtype);
  assert.deepEqual([...t.shape], shape);
  assert.deepEqual(t.toArray(), array);
  const out = t.toTypedArray();
  assert.ok(out instanceof typedClass, `${dtype} reads back as ${out.constructor.name}`);
  assert.deepEqual(Array.from(out as ArrayLike<number | bigint>), Array.from(typed));
}

describe('creation: round trips for every dtype', () => {
  it('float32 rounds to single precision and keeps -0, infinities and NaN', () => {
    tidy(() => {
      const data = [[1.5, -2.25, 0.1], [1e30, -0, Infinity], [-Infinity, NaN, 3]];
      const flat = data.flat().map(Math.fround);
      check(tensor(data, { dtype: 'float32' }), 'float32', [3, 3], [flat.slice(0, 3), flat.slice(3, 6), flat.slice(6)], flat, Float32Array);
      assert.ok(Object.is((tensor(data, { dtype: 'float32' }).toArray() as number[][])[1]![1], -0));
    });
  });

  it('float64 keeps every bit of a double', () => {
    tidy(() => {
      const data = [0.1, 1e300, -5e-324, Number.MAX_VALUE, 1 / 3];
      check(tensor(data, { dtype: 'float64' }), 'float64', [5], data, data, Float64Array);
    });
  });

  it('int64 reads back as BigInt64Array, exact up to 2^53', () => {
    tidy(() => {
      const data = [[1, -2], [2 ** 53 - 1, -(2 ** 53 - 1)]];
      check(tensor(data), 'int64', [2, 2], data, data.flat().map(BigInt), BigInt64Array);
      const extremes = [-(2 ** 63), 2 ** 62];
      check(tensor(extremes, { dtype: 'int64' }), 'int64', [2], extremes, [-(2n ** 63n), 2n ** 62n], BigInt64Array);
    });
  });

  it('int32, uint8 and bool', () => {
    tidy(() => {
      const ints = [2147483647, -2147483648, 0, -1];
      check(tensor(ints, { dtype: 'int32' }), 'int32', [4], ints, ints, Int32Array);
      const bytes = [[0, 255], [7, 128]];
      check(tensor(bytes, { dtype: 'uint8' }), 'uint8', [2, 2], bytes, bytes.flat(), Uint8Array);
      const bools = [[true, false, false], [false, true, true]];
      check(tensor(bools), 'bool', [2, 3], bools, bools.flat().map(Number), Uint8Array);
    });
  });

  it('deeply nested arrays keep their shape', () => {
    tidy(() => {
      const data = [[[[1], [2]], [[3], [4]], [[5], [6]]]];
      const t = tensor(data, { dtype: 'float64' });
      assert.deepEqual([...t.shape], [1, 3, 2, 1]);
      assert.deepEqual(t.toArray(), data);
      assert.equal(t.index(0, 2, 1, 0).item(), 6);
    });
  });

  it('a number gives a 0-dim tensor whose toArray() is that number', () => {
    tidy(() => {
      const t = tensor(3.5);
      assert.deepEqual([...t.shape], []);
      assert.equal(t.dtype, 'float32');
      assert.equal(t.toArray(), 3.5);
      assert.equal(t.item(), 3.5);
      assert.equal(tensor(true).item(), true);
      assert.equal(tensor(-7).dtype, 'int64');
    });
  });

  it('infers dtypes as PyTorch does', () => {
    tidy(() => {
      assert.equal(tensor([1, 2]).dtype, 'int64');
      assert.equal(tensor([1, 2.5]).dtype, 'float32');
      assert.equal(tensor([true, false]).dtype, 'bool');
      assert.equal(tensor([]).dtype, 'float32');
      assert.equal(tensor([NaN, 1]).dtype, 'float32');
      // Integer-valued but beyond 2^53: a float, as the arithmetic that made it.
      const big = tensor([1e20, 2]);
      assert.equal(big.dtype, 'float32');
      assert.deepEqual(big.toArray(), [Math.fround(1e20), 2]);
      assert.equal(tensor([2 ** 53 - 1]).dtype, 'int64');
    });
  });

  it('typed arrays give their own dtype, copy their data, and honour a shape', () => {
    tidy(() => {
      const f32 = new Float32Array([1, 2, 3, 4, 5, 6]);
      const t = tensor(f32, { shape: [2, 3] });
      f32[0] = 100;
      check(t, 'float32', [2, 3], [[1, 2, 3], [4, 5, 6]], [1, 2, 3, 4, 5, 6], Float32Array);
      check(tensor(new Float64Array([0.1, 0.2])), 'float64', [2], [0.1, 0.2], [0.1, 0.2], Float64Array);
      check(tensor(new BigInt64Array([5n, -6n])), 'int64', [2], [5, -6], [5n, -6n], BigInt64Array);
      check(tensor(new Int32Array([7, -8])), 'int32', [2], [7, -8], [7, -8], Int32Array);
      check(tensor(new Uint8Array([9, 250])), 'uint8', [2], [9, 250], [9, 250], Uint8Array);
      check(tensor(new Uint8Array([1, 0, 1]), { dtype: 'bool' }), 'bool', [3], [true, false, true], [1, 0, 1], Uint8Array);
      // A view into a larger buffer: only its own elements are copied.
      const big = new Int32Array([10, 11, 12, 13, 14]);
      check(tensor(big.subarray(1, 4)), 'int32', [3], [11, 12, 13], [11, 12, 13], Int32Array);
      check(tensor(new Int32Array([1, 2]), { dtype: 'float64' }), 'float64', [2], [1, 2], [1, 2], Float64Array);
    });
  });

  it('rejects ragged arrays, mixed booleans and numbers, and fractions for int64', () => {
    assert.throws(() => tensor([[1, 2], [3]]), { name: 'TypeError', message: /ragged/ });
    assert.throws(() => tensor([[1, 2], 3] as never), { name: 'TypeError', message: /ragged/ });
    assert.throws(() => tensor([1, [2]] as never), { name: 'TypeError', message: /ragged/ });
    assert.throws(() => tensor([[[1]], [[2, 3]]]), { name: 'TypeError', message: /ragged/ });
    assert.throws(() => tensor([true, 1]), { name: 'TypeError', message: /mix booleans and numbers/ });
    assert.throws(() => tensor([1.5], { dtype: 'int64' }), { name: 'TypeError', message: /int64/ });
    assert.throws(() => tensor([2 ** 63], { dtype: 'int64' }), { name: 'RangeError', message: /cannot store 9223372036854776000 in an int64 tensor: out of range/ });
    assert.throws(() => tensor(new Float32Array(3), { shape: [2, 2] }), { name: 'TypeError', message: /fromTypedArray: data holds 12 bytes but shape and dtype need 16/ });
  });

  it('refuses elements that are not numbers, booleans or bigints, naming their position, instead of coercing them', () => {
    const refuses = (data: unknown, message: string): void => {
      assert.throws(() => tensor(data as never), (e: unknown) => e instanceof TypeError && e.message === message);
    };
    refuses('abc', 'tensor: the data is a string ("abc"); expected a number, boolean, bigint, typed array or nested arrays of them');
    refuses(['1', '2'], 'tensor: element [0] is a string ("1"); expected a number, boolean or bigint');
    refuses([[1], ['2']], 'tensor: element [1][0] is a string ("2"); expected a number, boolean or bigint');
    refuses([null, 1], 'tensor: element [0] is null; expected a number, boolean or bigint');
    refuses([1, undefined], 'tensor: element [1] is undefined (a hole in the array?); expected a number, boolean or bigint');
    // eslint-disable-next-line no-sparse-arrays
    refuses([1, , 3], 'tensor: element [1] is undefined (a hole in the array?); expected a number, boolean or bigint');
    refuses([[1, 2], [3, {}]], 'tensor: element [1][1] is an object ([object Object]); expected a number, boolean or bigint');
    refuses(null, 'tensor: the data is null; expected a number, boolean, bigint, typed array or nested arrays of them');
    refuses([new Float32Array(2)], 'tensor: element [0] is a Float32Array (typed arrays cannot be nested: pass one typed array and the shape option); expected a number, boolean or bigint');
    refuses([Symbol('x')], 'tensor: element [0] is a symbol; expected a number, boolean or bigint');
  });

  it('refuses ragged arrays, naming where they differ', () => {
    const ragged = (data: unknown, message: string): void => {
      assert.throws(() => tensor(data as never), (e: unknown) => e instanceof TypeError && e.message === message);
    };
    ragged([[1, 2], [3]], 'tensor: nested arrays are ragged: element [1] is an array of length 1; expected an array of length 2, as at element [0]');
    ragged([[1, 2], 3], 'tensor: nested arrays are ragged: element [1] is a number; expected an array of length 2, as at element [0]');
    ragged([1, [2]], 'tensor: nested arrays are ragged: element [1] is an array of length 1 where a number was expected, as at element [0]');
    ragged([[[1], [2]], [[3], 'x']], 'tensor: nested arrays are ragged: element [1][1] is a string ("x"), not an array; expected an array of length 1, as at element [0][0]');
  });

  it('refuses arrays nested deeper than 64, such as an array inside itself, instead of looping', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.throws(() => tensor(cyclic as never), { name: 'RangeError', message: 'tensor: the arrays are nested more than 64 deep (is an array inside itself?)' });
    let deep: unknown = 1;
    for (let i = 0; i < 64; i++) deep = [deep];
    tidy(() => assert.equal(tensor(deep as never).ndim, 64));
  });

  it('bigints give int64, exactly beyond 2^53', () => {
    tidy(() => {
      const t = tensor([2n ** 60n + 1n, -3n]);
      assert.equal(t.dtype, 'int64');
      assert.deepEqual([...(t.toTypedArray() as BigInt64Array)], [2n ** 60n + 1n, -3n]);
      assert.deepEqual(tensor([1n, 2], { dtype: 'float32' }).toArray(), [1, 2]);
      assert.throws(() => tensor([2n ** 63n]), { name: 'RangeError', message: 'cannot store 9223372036854775808 in an int64 tensor: out of range' });
      assert.throws(() => tensor([1n, 1.5]), { name: 'TypeError', message: 'cannot store 1.5 in an int64 tensor' });
    });
  });

  it('refuses values that int32 and uint8 cannot hold instead of wrapping or truncating them', () => {
    assert.throws(() => tensor([300], { dtype: 'uint8' }), { name: 'RangeError', message: 'cannot store 300 in a uint8 tensor: out of range' });
    assert.throws(() => tensor([-1], { dtype: 'uint8' }), { name: 'RangeError', message: 'cannot store -1 in a uint8 tensor: out of range' });
    assert.throws(() => tensor([2 ** 31], { dtype: 'int32' }), { name: 'RangeError', message: 'cannot store 2147483648 in an int32 tensor: out of range' });
    assert.throws(() => tensor([1.5], { dtype: 'int32' }), { name: 'TypeError', message: 'cannot store 1.5 in an int32 tensor' });
    assert.throws(() => tensor([NaN], { dtype: 'uint8' }), { name: 'TypeError', message: 'cannot store NaN in a uint8 tensor' });
    tidy(() => assert.deepEqual(tensor([0, 255, true], { dtype: 'uint8' }).toArray(), [0, 255, 1]));
  });

  it('empty arrays give empty tensors', () => {
    tidy(() => {
      const t = tensor([[], []]);
      assert.deepEqual([...t.shape], [2, 0]);
      assert.deepEqual(t.toArray(), [[], []]);
      assert.equal(t.numel(), 0);
      assert.equal(empty([0, 3]).toTypedArray().length, 0);
    });
  });

  it('*Like factories keep the dtype and shape, and take overrides', () => {
    tidy(() => {
      const x = tensor([[1, 2, 3]], { dtype: 'int32' });
      check(zerosLike(x), 'int32', [1, 3], [[0, 0, 0]], [0, 0, 0], Int32Array);
      check(onesLike(x, { dtype: 'float64' }), 'float64', [1, 3], [[1, 1, 1]], [1, 1, 1], Float64Array);
      check(fullLike(x, 7), 'int32', [1, 3], [[7, 7, 7]], [7, 7, 7], Int32Array);
      assert.equal(zeros([2], { requiresGrad: true }).requiresGrad, true);
      assert.equal(zerosLike(tensor([1.5], { requiresGrad: true })).requiresGrad, false);
    });
  });

  it('size(), numel(), ndim and toString()', () => {
    tidy(() => {
      const x = zeros([2, 3, 4]);
      assert.equal(x.numel(), 24);
      assert.equal(x.ndim, 3);
      assert.equal(x.size(-1), 4);
      assert.throws(() => x.size(3), RangeError);
      assert.equal(tensor([[1, 2]]).toString(), 'tensor([[1,2]], shape=[1, 2], dtype=int64)');
    });
  });
});
