// WSN's mask machinery: the top-c gate against a PyTorch stable sort
// (tools/fixtures/wsn.py), ties, the kept count, the straight-through
// gradient, 1-bit packing and the Huffman coder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { huffmanCodeLengths, huffmanDecode, huffmanEncode } from '../../../src/continual/algorithms/huffman.js';
import { ThresholdSearch, keptCount, packBits, straightThroughMask, topFractionMask, unpackBits } from '../../../src/continual/algorithms/wsn_masks.js';
import { grad } from '../../../src/tensor/autograd.js';
import { full, randn, tensor } from '../../../src/tensor/creation.js';
import { manualSeed } from '../../../src/tensor/random.js';
import { tidy } from '../../../src/tensor/scope.js';
import { Rng } from '../../../src/continual/benchmarks/rng.js';
import { type FixtureTensor, assertMatches, fromFixture, loadFixture } from '../../helpers.js';

interface GateCase {
  scores: FixtureTensor;
  fraction: number;
  mask: FixtureTensor;
}

function randomBytes(n: number, seed: number, density: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => (rng.uniform() < density ? 1 : 0));
}

describe('WSN gate', () => {
  it('keeps the same elements as a stable descending sort in PyTorch, ties included', () => {
    const cases = loadFixture<{ gate: GateCase[] }>('wsn').gate;
    assert.equal(cases.length, 6);
    tidy(() => {
      for (const [i, c] of cases.entries()) {
        const scores = fromFixture(c.scores);
        const mask = topFractionMask(scores, c.fraction);
        assertMatches(mask, c.mask, `case ${i} (c = ${c.fraction}, shape [${c.scores.shape.join(', ')}])`);
        assert.equal(mask.sum().item(), keptCount(scores.numel(), c.fraction), `case ${i}: exactly k elements`);
      }
    });
  });

  it('breaks ties by flat index: the lower index is kept', () => {
    tidy(() => {
      assert.deepEqual(topFractionMask(full([10], 0.5), 0.3).toArray(), [true, true, true, false, false, false, false, false, false, false]);
      // Two above the threshold, the ties at the threshold (2.0) filled in index order.
      const s = tensor([2, 1, 3, 2, 2, 5, 2, 0], { dtype: 'float32' });
      assert.deepEqual(topFractionMask(s, 0.5).toArray(), [true, false, true, true, false, true, false, false]);
      assert.deepEqual(topFractionMask(s.reshape(2, 4), 0.5).toArray(), [[true, false, true, true], [false, true, false, false]]);
    });
  });

  it('finds the same mask from step to step with a threshold search as with a whole-tensor selection', () => {
    manualSeed(11);
    const search = new ThresholdSearch();
    let scores = randn([300, 40]);
    let steps = 0;
    const step = (update: (s: typeof scores) => typeof scores): void => {
      const next = tidy(() => update(scores));
      scores.dispose();
      scores = next;
      tidy(() => {
        const flat = scores.reshape(-1);
        const k = keptCount(flat.numel(), 0.1);
        assert.equal(search.kthLargest(flat, k).item(), flat.topk(k).values.min().item(), `step ${steps}: the k-th largest score`);
        for (const fraction of [0.1, 0.9]) {
          const own = new ThresholdSearch();
          // A search keeps one tensor's history; the 0.9 gate gets its own, primed on this step's scores.
          own.kthLargest(scores.reshape(-1), keptCount(scores.numel(), fraction));
          const bySearch = topFractionMask(scores, fraction, fraction === 0.1 ? search : own);
          assert.ok(bySearch.equal(topFractionMask(scores, fraction)), `step ${steps}, c = ${fraction}: the searched mask equals the whole-tensor one`);
        }
      });
      steps++;
    };
    // Small steps (the search's case), a large jump up and one down (a miss each), scores with
    // ties at the threshold (rounded to a coarse grid), and all scores equal.
    for (let i = 0; i < 20; i++) step((s) => s.add(randn(s.shape).mul(0.01)));
    step((s) => s.add(5));
    step((s) => s.sub(randn(s.shape).abs().mul(3)));
    for (let i = 0; i < 5; i++) step((s) => s.add(randn(s.shape).mul(0.01)).mul(4).round().div(4));
    step((s) => s.mul(0));
    for (let i = 0; i < 5; i++) step((s) => s.add(randn(s.shape).mul(0.001)));
    scores.dispose();
    assert.ok(search.shortcuts >= 50, `most steps found the threshold among the candidates (${search.shortcuts} of ${2 * steps} searches)`);
    assert.ok(search.shortcuts < 2 * steps, 'the jumps made the search fall back to the whole tensor');
  });

  it('keeps the count nearest to c·n, at least one, and rejects c outside (0, 1]', () => {
    assert.equal(keptCount(200704, 0.03), 6021);
    assert.equal(keptCount(256, 0.1), 26);
    assert.equal(keptCount(10, 0.25), 3);
    assert.equal(keptCount(10, 0.01), 1);
    assert.equal(keptCount(7, 1), 7);
    for (const bad of [0, -0.1, 1.5, Number.NaN]) assert.throws(() => keptCount(10, bad), /must be in \(0, 1\]/);
  });

  it('is exactly 0 or 1 in its straight-through form, whatever the scale of the scores', () => {
    manualSeed(5);
    tidy(() => {
      for (const scale of [1e-6, 1, 1e3, 1e7]) {
        const s = randn([40, 30]).mul(scale).requiresGrad_();
        const st = straightThroughMask(s, 0.2);
        assert.ok(st.equal(topFractionMask(s, 0.2).float()), `scale ${scale}: the value is exactly the hard mask`);
        assert.ok(st.eq(0).logicalOr(st.eq(1)).all().item(), `scale ${scale}: only 0 and 1`);
      }
    });
  });

  it('passes the gradient of θ ⊙ m to the scores as ∂L/∂(θ ⊙ m) ⊙ θ, and to θ as ∂L/∂(θ ⊙ m) ⊙ m', () => {
    manualSeed(6);
    tidy(() => {
      const theta = randn([6, 8]).requiresGrad_();
      const s = randn([6, 8]).requiresGrad_();
      const x = randn([5, 8]);
      const masked = theta.mul(straightThroughMask(s, 0.25));
      const loss = x.matmul(masked.t()).tanh().square().sum();
      const [gMasked, gScores, gTheta] = grad(loss, [masked, s, theta]);
      const hard = topFractionMask(s, 0.25).float();
      assert.ok(gScores!.equal(gMasked!.mul(theta)), 'score gradient');
      assert.ok(gTheta!.equal(gMasked!.mul(hard)), 'weight gradient');
      assert.ok(gScores!.ne(0).logicalAnd(hard.eq(0)).any().item(), 'unselected scores get gradient too');
    });
  });
});

describe('WSN mask packing', () => {
  it('packs 8 elements per byte, the first in the most significant bit, and unpacks them', () => {
    assert.deepEqual([...packBits(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 1]))], [0x81, 0x80]);
    assert.deepEqual([...packBits(new Uint8Array(0))], []);
    for (const n of [1, 7, 8, 9, 1000, 4099]) {
      const bits = randomBytes(n, n, 0.3);
      const packed = packBits(bits);
      assert.equal(packed.length, Math.ceil(n / 8));
      assert.deepEqual(unpackBits(packed, n), bits, `${n} bits`);
    }
    assert.throws(() => unpackBits(new Uint8Array(2), 17), /17 bits need 3 bytes, got 2/);
  });
});

describe('Huffman coder', () => {
  it('gives optimal code lengths (the textbook example) that fill the code space', () => {
    // CLRS's example: a:45 b:13 c:12 d:16 e:9 f:5 -> 1, 3, 3, 3, 4, 4 (cost 224).
    const lengths = huffmanCodeLengths([45, 13, 12, 16, 9, 5]);
    assert.deepEqual([...lengths], [1, 3, 3, 3, 4, 4]);
    assert.deepEqual([...huffmanCodeLengths([0, 7, 0])], [0, 1, 0], 'a lone symbol gets one bit');
    const rng = new Rng(11);
    const freq = Array.from({ length: 256 }, () => 1 + rng.int(1000));
    const kraft = [...huffmanCodeLengths(freq)].reduce((sum, l) => sum + 2 ** -l, 0);
    assert.equal(kraft, 1);
  });

  it('round-trips empty, constant, uniform and sparse data', () => {
    const rng = new Rng(12);
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['constant', new Uint8Array(500).fill(7)],
      ['uniform', Uint8Array.from({ length: 5000 }, () => rng.int(256))],
      ['sparse mask', packBits(randomBytes(80000, 3, 0.03))],
      ['every value once', Uint8Array.from({ length: 256 }, (_, i) => i)],
    ];
    for (const [name, data] of cases) assert.deepEqual(huffmanDecode(huffmanEncode(data)), data, name);
  });

  it('codes a sparse mask near its entropy, and no shorter', () => {
    const n = 80000;
    const p = 0.03;
    const packed = packBits(randomBytes(n, 3, p));
    const payloadBits = (huffmanEncode(packed).length - 260) * 8;
    // Bytes are coded one at a time: at least the byte entropy, at most one bit per byte more.
    const counts = new Array<number>(256).fill(0);
    for (const b of packed) counts[b]!++;
    const entropy = counts.reduce((h, c) => (c === 0 ? h : h - c * Math.log2(c / packed.length)), 0);
    assert.ok(payloadBits >= entropy && payloadBits <= entropy + packed.length + 8, `${payloadBits} bits vs entropy ${entropy.toFixed(0)}`);
    assert.ok(payloadBits < n / 4, `a 3% mask takes ${payloadBits} bits for ${n} weights`);
  });

  it('rejects a truncated stream and an impossible code table', () => {
    const encoded = huffmanEncode(Uint8Array.from({ length: 300 }, (_, i) => i % 5));
    assert.throws(() => huffmanDecode(encoded.subarray(0, encoded.length - 20)), /truncated/);
    assert.throws(() => huffmanDecode(encoded.subarray(0, 100)), /shorter than the 260-byte header/);
    const bad = encoded.slice();
    bad.fill(1, 4, 260);
    assert.throws(() => huffmanDecode(bad), /does not describe a prefix code/);
  });
});
