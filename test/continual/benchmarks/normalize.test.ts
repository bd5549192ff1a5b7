// benchmark.normalize: the pixel scaling of each setting, on the embedded digits.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createBenchmark } from '../../../src/continual/benchmarks/index.js';
import { benchmarkSchema } from '../../../src/continual/benchmarks/options.js';
import { PermutedBenchmark } from '../../../src/continual/benchmarks/permuted.js';
import { SplitBenchmark } from '../../../src/continual/benchmarks/split.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import type { ImageBenchmark } from '../../../src/continual/benchmarks/base.js';

const raw = loadEmbeddedMnist('train');
const PIXELS = 784;

/** The float32 value the benchmark computes for raw pixel p: p * (1 / (255 std)) - mean / std, each step rounded to float32. */
function normalised(p: number, mean: number, std: number): number {
  return Math.fround(Math.fround(p * Math.fround(1 / (255 * std))) - Math.fround(mean / std));
}

/** The training inputs of task 1 and the raw pixel each of their values comes from. */
function firstTask(bench: ImageBenchmark, permutation: Int32Array | null): { x: Float32Array; pixels: Uint8Array } {
  const ids = bench.taskIndices(1).train;
  const x = bench.task(1).train.x.toTypedArray() as Float32Array;
  const pixels = new Uint8Array(ids.length * PIXELS);
  ids.forEach((src, k) => {
    for (let i = 0; i < PIXELS; i++) pixels[k * PIXELS + i] = raw.images[src * PIXELS + (permutation === null ? i : permutation[i]!)]!;
  });
  return { x, pixels };
}

describe('benchmark.normalize', () => {
  const made: ImageBenchmark[] = [];
  const split = (normalize?: 'dataset' | 'none' | 'symmetric'): SplitBenchmark => {
    const b = new SplitBenchmark({ numTasks: 5, seed: 3, trainLimit: 60, ...(normalize !== undefined ? { normalize } : {}) });
    made.push(b);
    return b;
  };
  after(() => made.forEach((b) => b.dispose()));

  it("defaults to 'dataset' in the schema and in the benchmark", () => {
    assert.equal(benchmarkSchema.parse({}).normalize, 'dataset');
    assert.equal(split().normalize, 'dataset');
    assert.throws(() => benchmarkSchema.parse({ normalize: 'minmax' }), /normalize/);
  });

  it("'dataset' subtracts the dataset's mean and divides by its std, bit for bit as before", () => {
    const { x, pixels } = firstTask(split(), null);
    assert.ok(x.length === 60 * PIXELS);
    x.forEach((v, i) => assert.equal(v, normalised(pixels[i]!, 0.1307, 0.3081), `value ${i}`));
    // Background pixels are -mean/std, ink about (1 - mean)/std.
    assert.ok(Math.abs(Math.min(...x) - -0.1307 / 0.3081) < 1e-6);
    assert.ok(Math.abs(Math.max(...x) - (1 - 0.1307) / 0.3081) < 1e-5);
  });

  it("'none' leaves pixels in [0, 1]: pixel / 255", () => {
    const b = split('none');
    assert.deepEqual(b.normalization, { mean: [0], std: [1] });
    const { x, pixels } = firstTask(b, null);
    x.forEach((v, i) => {
      assert.equal(v, normalised(pixels[i]!, 0, 1));
      assert.ok(Math.abs(v - pixels[i]! / 255) < 1e-7);
    });
    assert.equal(Math.min(...x), 0);
    assert.ok(Math.abs(Math.max(...x) - 1) < 1e-7);
  });

  it("'symmetric' maps pixels to [-1, 1]: 2 pixel / 255 - 1", () => {
    const b = split('symmetric');
    assert.deepEqual(b.normalization, { mean: [0.5], std: [0.5] });
    const { x, pixels } = firstTask(b, null);
    x.forEach((v, i) => {
      assert.equal(v, normalised(pixels[i]!, 0.5, 0.5));
      assert.ok(Math.abs(v - ((2 * pixels[i]!) / 255 - 1)) < 1e-6);
    });
    assert.equal(Math.min(...x), -1);
    assert.ok(Math.abs(Math.max(...x) - 1) < 1e-6);
  });

  it('applies after the permutation, and reaches the benchmark from the configuration', () => {
    const b = createBenchmark({ ...benchmarkSchema.parse({ normalize: 'symmetric', numTasks: 2, trainLimit: 30 }), seed: 4 });
    made.push(b);
    assert.ok(b instanceof PermutedBenchmark);
    const { x, pixels } = firstTask(b, b.permutation(1));
    x.forEach((v, i) => assert.equal(v, normalised(pixels[i]!, 0.5, 0.5)));
  });
});
