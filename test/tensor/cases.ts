// Runs the PyTorch reference cases of test/fixtures/ops.json (written by
// tools/fixtures/ops.py): each case names an op that the test file implements
// with our API, and the outputs and the gradients of sum(output * weights)
// must match PyTorch's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tensor, type ValuesIndices, tidy } from '../../src/index.js';
import { type FixtureTensor, assertClose, assertMatches, fromFixture, loadFixture } from '../helpers.js';

type Expected = FixtureTensor | { value: number | boolean };

export interface FixtureCase {
  op: string;
  args: Record<string, any>;
  inputs: Record<string, FixtureTensor>;
  outputs: Expected[];
  weights?: (FixtureTensor | null)[];
  grads?: Record<string, FixtureTensor | null>;
}

export type Result = Tensor | ValuesIndices | number | boolean | readonly Result[];
export type Impl = (t: Record<string, Tensor>, a: Record<string, any>) => Result;
export interface Tolerance {
  rtol?: number;
  atol?: number;
}

let fixture: Record<string, Record<string, FixtureCase>> | undefined;

export function familyCases(family: string): Record<string, FixtureCase> {
  fixture ??= loadFixture<Record<string, Record<string, FixtureCase>>>('ops');
  const cases = fixture[family];
  assert.ok(cases !== undefined, `ops.json has no family '${family}'`);
  return cases;
}

/** Calls a method by the name a fixture gives (unary ops and in-place updates). */
export function call(t: Tensor, method: string, ...args: unknown[]): Tensor {
  const fn = (t as unknown as Record<string, unknown>)[method];
  assert.equal(typeof fn, 'function', `Tensor has no method '${method}'`);
  return (fn as (...a: unknown[]) => Tensor).apply(t, args);
}

/** A JSON number that may have been written as "inf" / "-inf" / "nan". */
export function num(v: number | string): number {
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'nan') return NaN;
  return v as number;
}

function flatten(r: Result, out: (Tensor | number | boolean)[] = []): (Tensor | number | boolean)[] {
  if (r instanceof Tensor || typeof r === 'number' || typeof r === 'boolean') out.push(r);
  else if (Array.isArray(r)) for (const x of r) flatten(x, out);
  else {
    const vi = r as ValuesIndices;
    out.push(vi.values, vi.indices);
  }
  return out;
}

/**
 * ops.py writes float32 values in their shortest form (0.1, not
 * 0.10000000149011612); rounding them back to float32 lets exact comparisons
 * (random draws) work.
 */
export function rounded(f: FixtureTensor): FixtureTensor {
  if (f.dtype !== 'float32') return f;
  return { ...f, data: f.data.map((v) => (typeof v === 'number' ? Math.fround(v) : v)) };
}

/** Checks one case; every tensor it creates is freed at the end. */
export function checkCase(name: string, c: FixtureCase, impl: Impl, tol: Tolerance = {}): void {
  tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) inputs[k] = fromFixture(v, { requiresGrad: c.grads !== undefined && k in c.grads });
    const outputs = flatten(impl(inputs, c.args));
    assert.equal(outputs.length, c.outputs.length, `${name}: number of outputs`);
    outputs.forEach((out, i) => {
      const want = c.outputs[i]!;
      if ('value' in want) {
        assert.ok(!(out instanceof Tensor), `${name}: output ${i} should be a plain value`);
        if (typeof want.value === 'number') assertClose(out as number, want.value, `${name}: output ${i}`);
        else assert.equal(out, want.value, `${name}: output ${i}`);
      } else {
        assert.ok(out instanceof Tensor, `${name}: output ${i} should be a tensor`);
        assertMatches(out, rounded(want), `${name}: output ${i}`, tol);
      }
    });
    if (c.grads === undefined) return;
    let loss: Tensor | undefined;
    c.weights!.forEach((w, i) => {
      if (w === null) return;
      const term = (outputs[i] as Tensor).mul(fromFixture(w)).sum();
      loss = loss === undefined ? term : loss.add(term);
    });
    assert.ok(loss !== undefined, `${name}: the fixture weights no output`);
    loss.backward();
    for (const [k, want] of Object.entries(c.grads)) {
      const got = inputs[k]!.grad;
      if (want === null) assert.equal(got, null, `${name}: d/d${k} should be null`);
      else {
        assert.ok(got !== null, `${name}: d/d${k} is missing`);
        assertMatches(got, rounded(want), `${name}: d/d${k}`, tol);
      }
    }
  });
}

/**
 * One test per fixture case of `family` (tolerances by case name, op, or '*'
 * for all), plus one that fails when the fixture
 * and the implementations disagree on which ops exist (so that no case can be
 * silently left out).
 */
export function runFamily(family: string, impls: Record<string, Impl>, tolerances: Record<string, Tolerance> = {}): void {
  const cases = familyCases(family);
  describe(`${family} (PyTorch reference)`, () => {
    it('implements every op of the fixture, and only those', () => {
      const ops = new Set(Object.values(cases).map((c) => c.op));
      assert.deepEqual([...ops].filter((op) => !(op in impls)), [], 'ops without an implementation');
      assert.deepEqual(Object.keys(impls).filter((op) => !ops.has(op)), [], 'implementations without a case');
    });
    for (const [name, c] of Object.entries(cases)) {
      it(name, () => {
        const impl = impls[c.op];
        assert.ok(impl !== undefined, `no implementation of '${c.op}'`);
        checkCase(name, c, impl, tolerances[name] ?? tolerances[c.op] ?? tolerances['*']);
      });
    }
  });
}
