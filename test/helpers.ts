// Shared test utilities: PyTorch fixtures and numeric comparison.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type DType, Tensor, liveTensorCount, noGrad, tensor, tidy } from '../src/index.js';

/** A tensor as the fixture generators write it: flat row-major data. */
export interface FixtureTensor {
  shape: number[];
  dtype: DType;
  data: (number | string | boolean)[];
}

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');

export function loadFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(fixtureDir, `${name}.json`), 'utf8')) as T;
}

function decode(v: number | string | boolean): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return Number(v);
}

/** Builds our tensor from a fixture tensor (same dtype and shape). */
export function fromFixture(f: FixtureTensor, options: { requiresGrad?: boolean } = {}): Tensor {
  const values = f.data.map(decode);
  const t = tensor(f.dtype === 'bool' ? values.map((v) => v !== 0) : values, { dtype: f.dtype, shape: f.shape });
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * The root mean square of the finite values: the typical magnitude of a
 * tensor's elements, which float rounding in the sums that produced them is
 * proportional to.
 */
function rms(values: ArrayLike<number>): number {
  let sumSq = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    sumSq += v * v;
    n++;
  }
  return n === 0 ? 0 : Math.sqrt(sumSq / n);
}

/**
 * Asserts that `actual` matches a fixture: same shape and dtype, and every
 * element within atol + rtol * max(|expected element|, RMS of the expected
 * tensor); exact for integer and bool dtypes, and for { rtol: 0, atol: 0 }.
 * NaNs and infinities must match.
 *
 * Why the tensor's RMS: an element that is a sum of products (convolution,
 * matrix product, batch statistics) carries rounding error proportional to
 * the magnitude of its terms, not to the result, so an element that cancels
 * to near zero cannot be held to its own relative precision; which kernel
 * oneDNN or BLAS picks for the CPU's instruction set changes the summation
 * order and with it those low bits. The RMS measures that magnitude without
 * letting one large outlier loosen every element, as max-abs would; elements
 * above the RMS keep their own relative tolerance.
 */
export function assertMatches(actual: Tensor, expected: FixtureTensor, message: string, tol: { rtol?: number; atol?: number } = {}): void {
  assert.deepEqual([...actual.shape], expected.shape, `${message}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${message}: dtype`);
  const got = Array.from(actual.toTypedArray(), Number);
  assertValuesMatch(got, expected.data.map(decode), expected.dtype, message, tol);
}

/** Asserts that `actual` has exactly the fixture's names, each tensor matching its entry (assertMatches). */
export function assertMapsMatch(actual: ReadonlyMap<string, Tensor>, expected: Record<string, FixtureTensor>, what: string, tol: { rtol?: number; atol?: number }): void {
  assert.deepEqual([...actual.keys()].sort(), Object.keys(expected).sort(), `${what}: parameter names`);
  for (const [name, t] of actual) assertMatches(t, expected[name]!, `${what} ${name}`, tol);
}

/** Copies the fixture's values of the parameters `names` into `model` (a parity run's starting point). */
export function setParametersFromFixture(model: { namedParameters(): [string, Tensor][] }, values: Record<string, FixtureTensor>, names: readonly string[]): void {
  const parameters = new Map(model.namedParameters());
  tidy(() => noGrad(() => names.forEach((name) => parameters.get(name)!.copy_(fromFixture(values[name]!)))));
}

/**
 * Asserts that two tensors of the same shape and dtype agree elementwise,
 * with the tolerance rule of assertMatches (the scale is `expected`'s).
 */
export function assertTensorsMatch(actual: Tensor, expected: Tensor, message: string, tol: { rtol?: number; atol?: number } = {}): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${message}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${message}: dtype`);
  assertValuesMatch(Array.from(actual.toTypedArray(), Number), Array.from(expected.toTypedArray(), Number), expected.dtype, message, tol);
}

function assertValuesMatch(got: number[], want: number[], dtype: DType, message: string, tol: { rtol?: number; atol?: number }): void {
  const exact = dtype !== 'float32' && dtype !== 'float64';
  const rtol = exact ? 0 : tol.rtol ?? (dtype === 'float32' ? 1e-5 : 1e-10);
  const atol = exact ? 0 : tol.atol ?? (dtype === 'float32' ? 1e-6 : 1e-12);
  assert.equal(got.length, want.length, `${message}: element count`);
  const scale = rms(want);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${message}: element ${i} is ${g}, expected NaN`);
      continue;
    }
    if (!Number.isFinite(w)) {
      assert.equal(g, w, `${message}: element ${i}`);
      continue;
    }
    const err = Math.abs(g - w);
    const bound = atol + rtol * Math.max(Math.abs(w), scale);
    assert.ok(err <= bound, `${message}: element ${i} is ${g}, expected ${w} (error ${err}, bound ${bound} at RMS ${scale})`);
  }
}

/**
 * Asserts two plain numbers agree within atol + rtol * |expected|. For
 * elements of a tensor use assertMatches, whose tolerance follows the
 * tensor's scale.
 */
export function assertClose(actual: number, expected: number, message: string, rtol = 1e-5, atol = 1e-7): void {
  assert.ok(Math.abs(actual - expected) <= atol + rtol * Math.abs(expected), `${message}: ${actual} vs ${expected}`);
}

/**
 * The number of live tensors once garbage collection has run: tensors that
 * earlier tests left to the GC guard are freed first, so that a later count
 * differs only by what the code under test kept. (`--expose-gc` is switched on
 * at run time, so the test runner needs no flags.)
 */
export function settledTensorCount(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return liveTensorCount();
}

let tempRoot: string | undefined;

/**
 * A fresh directory for one test. Every directory a test file makes lives
 * under one root that is removed when the test file's process exits, however
 * the tests ended, so a full run leaves nothing in the system temp folder.
 */
export function tempDir(prefix: string): string {
  if (tempRoot === undefined) {
    const root = mkdtempSync(join(tmpdir(), 'perennial-test-'));
    tempRoot = root;
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return mkdtempSync(join(tempRoot, prefix));
}

/**
 * Debian's Fashion-MNIST directory. Tests that read it fail, never skip, when
 * it is missing: `npm test` installs it, so a missing copy is a set-up defect.
 */
export function fashionMnistDir(): string {
  const dir = '/usr/share/datasets/fashion-mnist';
  assert.ok(
    existsSync(join(dir, 'train-images-idx3-ubyte.gz')),
    `Debian's dataset-fashion-mnist is not installed (${dir}); npm test installs it, or run: bash scripts/setup.sh --test`,
  );
  return dir;
}
