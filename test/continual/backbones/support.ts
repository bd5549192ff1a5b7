// Shared by the backbone and head tests: the fixture's types, PyTorch names
// as ours, and comparison of a tensor with a fixture summary (large tensors
// are recorded as sums and first elements).
import assert from 'node:assert/strict';
import type { Tensor } from '../../../src/index.js';
import { type FixtureTensor, loadFixture } from '../../helpers.js';

/** A large tensor in brief, as tools/fixtures/backbones.py records it. */
export interface Summary {
  shape: number[];
  sum: number;
  sumSq: number;
  first: number[];
}

interface Names {
  parameterNames: string[];
  stateDictKeys: string[];
}

export interface BackbonesFixture {
  torchVersion: string;
  mlp: Names & { params: [string, Summary][]; feature: FixtureTensor; fc1: FixtureTensor };
  mlpBatchNorm: Names & {
    params: [string, FixtureTensor][];
    train1: FixtureTensor;
    eval: FixtureTensor;
    evalFc1: FixtureTensor;
    runningMean1: FixtureTensor;
    runningVar2: FixtureTensor;
  };
  cnnSmall: Names & { params: [string, Summary][]; feature: FixtureTensor; activations: [string, FixtureTensor][] };
  cnnDefault: Names & { parameterCount: number; params: [string, Summary][]; feature: FixtureTensor; activations: [string, Summary][] };
  resnet18: Names & {
    parameterCountWithFc10: number;
    parameterCount: number;
    parameterShapes: number[][];
    params: [string, Summary][];
    train: Summary;
    eval: Summary;
    trainHead: FixtureTensor;
    evalHead: FixtureTensor;
    runningMean: Summary;
  };
}

export const fixture = loadFixture<BackbonesFixture>('backbones');

/** PyTorch's snake_case attribute names as ours (running_mean -> runningMean). */
export const camel = (name: string): string => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * Asserts that `t` matches a summary: shape, float64 sum and sum of squares,
 * and the first elements, all within rtol of the tensor's scale (its RMS,
 * sqrt(sumSq / n)), as assertMatches bounds elements: a value that cancels
 * to near zero (a sum, a running mean) carries rounding error proportional
 * to the magnitude of the terms it sums, not to itself.
 */
export function assertSummary(t: Tensor, expected: Summary, message: string, rtol = 1e-6): void {
  assert.deepEqual([...t.shape], expected.shape, `${message}: shape`);
  const data = t.toTypedArray();
  if (data instanceof BigInt64Array) throw new TypeError(`${message}: assertSummary needs a floating tensor`);
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    sum += v;
    sumSq += v * v;
  }
  const rms = Math.sqrt(expected.sumSq / data.length);
  // Each of the n elements may be off by rtol * RMS, so the sum by n times that.
  assert.ok(Math.abs(sum - expected.sum) <= rtol * data.length * rms, `${message}: sum ${sum}, expected ${expected.sum}`);
  assert.ok(Math.abs(sumSq - expected.sumSq) <= rtol * expected.sumSq, `${message}: sum of squares ${sumSq}, expected ${expected.sumSq}`);
  expected.first.forEach((w, i) => {
    const g = data[i]!;
    const bound = rtol * Math.max(Math.abs(w), rms);
    assert.ok(Math.abs(g - w) <= bound, `${message}: element ${i} is ${g}, expected ${w} (error ${Math.abs(g - w)}, bound ${bound} at RMS ${rms})`);
  });
}

/** The elements of a tensor as plain numbers. */
export function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}

/** Largest absolute elementwise difference of two same-shaped tensors. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual([...a.shape], [...b.shape], 'maxAbsDiff: shapes differ');
  const x = values(a);
  const y = values(b);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}
