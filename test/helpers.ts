// Shared test utilities: PyTorch fixtures and numeric comparison.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type DType, Tensor, liveTensorCount, tensor } from '../src/index.js';

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
 * Asserts that `actual` matches a fixture: same shape and dtype, values within
 * atol + rtol * |expected| (exact for integer and bool dtypes). NaNs must match.
 */
export function assertMatches(actual: Tensor, expected: FixtureTensor, message: string, tol: { rtol?: number; atol?: number } = {}): void {
  assert.deepEqual([...actual.shape], expected.shape, `${message}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${message}: dtype`);
  const exact = expected.dtype !== 'float32' && expected.dtype !== 'float64';
  const rtol = exact ? 0 : tol.rtol ?? (expected.dtype === 'float32' ? 1e-5 : 1e-10);
  const atol = exact ? 0 : tol.atol ?? (expected.dtype === 'float32' ? 1e-6 : 1e-12);
  const got = Array.from(actual.toTypedArray(), Number);
  const want = expected.data.map(decode);
  assert.equal(got.length, want.length, `${message}: element count`);
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
    assert.ok(err <= atol + rtol * Math.abs(w), `${message}: element ${i} is ${g}, expected ${w} (error ${err})`);
  }
}

/** Asserts two plain numbers agree within a relative tolerance. */
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
