// Rotations: exact quarter turns, identity, and PyTorch's grid_sample at other angles.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RotatedBenchmark } from '../../../src/continual/benchmarks/rotated.js';
import { rotateImages, rotationSampler } from '../../../src/continual/benchmarks/transforms.js';
import { loadEmbeddedMnist } from '../../../src/data/embedded.js';
import { type Tensor, tensor, tidy } from '../../../src/index.js';
import { loadFixture } from '../../helpers.js';

const fixture = loadFixture<{ rotation: { sources: [number, number][]; angles: Record<string, number[]> } }>('benchmarks').rotation;
const train = loadEmbeddedMnist('train');

/** The fixture's source digits ([class, index within the class in the package]) as [N, 1, 28, 28] in [0, 1]. */
function sourceImages(): Tensor {
  // The training split keeps each class's first digits in package order, classes one after another.
  const starts: number[] = [];
  for (let i = 0; i < train.labels.length; i++) if (i === 0 || train.labels[i] !== train.labels[i - 1]) starts[train.labels[i]!] = i;
  const out = new Float32Array(fixture.sources.length * 784);
  fixture.sources.forEach(([digit, k], n) => {
    const at = (starts[digit]! + k) * 784;
    for (let p = 0; p < 784; p++) out[n * 784 + p] = train.images[at + p]! / 255;
  });
  return tensor(out, { shape: [fixture.sources.length, 1, 28, 28] });
}

describe('rotation', () => {
  it('matches PyTorch grid_sample (bilinear, zero fill) at 30, 45, -60 and 137.5 degrees', () => {
    tidy(() => {
      const x = sourceImages();
      for (const [angle, expected] of Object.entries(fixture.angles)) {
        const got = rotateImages(x, Number(angle)).toTypedArray() as Float32Array;
        assert.equal(got.length, expected.length);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
        assert.ok(worst < 2e-6, `${angle} degrees: max difference ${worst}`);
      }
    });
  });

  it('90 degrees is exactly a transpose and a flip; 0 and 360 are the identity', () => {
    tidy(() => {
      const x = sourceImages();
      assert.ok(rotateImages(x, 90).equal(x.transpose(2, 3).flip(2)));
      assert.ok(rotateImages(x, -270).equal(x.transpose(2, 3).flip(2)));
      assert.ok(rotateImages(x, 180).equal(x.flip(2, 3)));
      assert.ok(rotateImages(rotateImages(x, 90), 270).equal(x));
      assert.ok(rotateImages(x, 0).equal(x));
      assert.ok(rotateImages(x, 360).equal(x));
      assert.ok(!rotateImages(x, 45).equal(x));
    });
  });

  it('weights sum to 1 inside the image and fall off outside (zero fill)', () => {
    const s = rotationSampler(28, 28, 45);
    const total = (p: number): number => s.weights.reduce((sum, w) => sum + w[p]!, 0);
    assert.ok(Math.abs(total(14 * 28 + 14) - 1) < 1e-12);
    assert.equal(total(0), 0); // the corner comes from outside the image
    assert.throws(() => rotationSampler(28, 28, Number.NaN), /finite number of degrees/);
  });
});

describe('rotated benchmark', () => {
  const bench = new RotatedBenchmark({ numTasks: 2, seed: 4, angles: [0, 90], trainLimit: 64 });
  after(() => bench.dispose());

  it('spreads default angles over a half turn, task 1 unrotated', () => {
    const b = new RotatedBenchmark({ numTasks: 4, seed: 0 });
    assert.deepEqual(b.angles, [0, 45, 90, 135]);
    assert.equal(b.angle(3), 90);
    assert.equal(b.name, 'rotated-mnist-embedded');
    assert.deepEqual([1, 2, 3, 4].map((t) => b.classOffset(t)), [0, 10, 20, 30]);
    b.dispose();
    assert.throws(() => new RotatedBenchmark({ numTasks: 3, seed: 0, angles: [0, 10] }), /2 angles given for 3 tasks/);
  });

  it('task at 0 degrees is the normalised images; the 90-degree task is it turned exactly', () => {
    const plain = bench.task(1).train.x;
    const turned = bench.task(2).train.x;
    assert.deepEqual(bench.taskIndices(1).train, bench.taskIndices(2).train);
    tidy(() => assert.ok(turned.equal(plain.transpose(2, 3).flip(2))));
    const src = bench.taskIndices(1).train[5]!;
    const x = plain.toTypedArray() as Float32Array;
    for (const p of [0, 200, 406, 783]) assert.ok(Math.abs(x[5 * 784 + p]! - (train.images[src * 784 + p]! / 255 - 0.1307) / 0.3081) < 1e-6);
    // Labels are unchanged by rotation.
    tidy(() => assert.ok(bench.task(1).train.y.equal(bench.task(2).train.y)));
  });
});
