// The data-side random generator: xoshiro128** against an independent
// Python transcription, distribution sanity, derived seeds, and its
// independence from libtorch's global generator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng, deriveSeed } from '../../../src/continual/benchmarks/rng.js';
import { manualSeed, randn, tidy } from '../../../src/index.js';
import { loadFixture } from '../../helpers.js';

const reference = loadFixture<{ rng: Record<string, number[]> }>('benchmarks').rng;

describe('Rng', () => {
  it('draws the reference xoshiro128** stream for each seed', () => {
    for (const [seed, values] of Object.entries(reference)) {
      const rng = new Rng(Number(seed));
      assert.deepEqual(values.map(() => rng.nextUint32()), values, `seed ${seed}`);
    }
  });

  it('the same seed repeats, different seeds differ', () => {
    const a = new Rng(7).permutation(50);
    assert.deepEqual(new Rng(7).permutation(50), a);
    assert.notDeepEqual(new Rng(8).permutation(50), a);
  });

  it('uniform() is in [0, 1) with mean near 1/2; int(n) covers 0..n-1 evenly', () => {
    const rng = new Rng(3);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = rng.uniform();
      assert.ok(u >= 0 && u < 1);
      sum += u;
    }
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01, `mean ${sum / 20000}`);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[rng.int(7)]!++;
    // Each count is Binomial(70000, 1/7): sd ~ 93; 6 sd is never reached by chance here (fixed seed).
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 560, `count ${c}`);
    assert.ok(rng.int(2 ** 40) < 2 ** 40);
    assert.throws(() => rng.int(0), /positive integer/);
    assert.throws(() => new Rng(-1), /non-negative integer/);
    assert.throws(() => new Rng(1.5), /non-negative integer/);
  });

  it('permutation(n) holds each of 0..n-1 once; shuffle keeps the elements', () => {
    const p = new Rng(11).permutation(1000);
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    assert.ok(p.some((v, i) => v !== i));
    const items = ['a', 'b', 'c', 'd', 'e'];
    const shuffled = new Rng(2).shuffle([...items]);
    assert.deepEqual([...shuffled].sort(), items);
    assert.equal(new Rng(0).permutation(0).length, 0);
  });

  it('choose(n, k) draws k distinct values, each ordered choice equally often, as the Python transcription does', () => {
    const rng = new Rng(11);
    // 4 values chosen 2 at a time: 12 ordered pairs, each Binomial(24000, 1/12): sd ~ 43, bound 6 sd.
    const counts = new Map<string, number>();
    for (let i = 0; i < 24000; i++) {
      const pair = rng.choose(4, 2);
      assert.notEqual(pair[0], pair[1]);
      counts.set(`${pair[0]}${pair[1]}`, (counts.get(`${pair[0]}${pair[1]}`) ?? 0) + 1);
    }
    assert.equal(counts.size, 12);
    for (const [pair, c] of counts) assert.ok(Math.abs(c - 2000) < 260, `pair ${pair}: ${c}`);
    assert.deepEqual([...new Rng(5).choose(3, 10)].sort(), [0, 1, 2], 'k > n gives all n');
    assert.equal(new Rng(5).choose(0, 3).length, 0);
    assert.throws(() => rng.choose(5, -1), /k must be a non-negative integer/);
    for (const [seed, n, k, expected] of loadFixture<{ choose: [number, number, number, number[]][] }>('benchmarks').choose) {
      assert.deepEqual([...new Rng(seed).choose(n, k)], expected, `choose(${n}, ${k}) with seed ${seed}`);
    }
  });

  it('deriveSeed is fixed, depends on every part and its order, and stays a safe integer', () => {
    const a = deriveSeed(5, 'permutation', 1);
    assert.equal(deriveSeed(5, 'permutation', 1), a);
    const others = [deriveSeed(5, 'permutation', 2), deriveSeed(6, 'permutation', 1), deriveSeed(5, 'validation', 1), deriveSeed(5, 1, 'permutation'), deriveSeed(5)];
    for (const o of others) assert.notEqual(o, a);
    for (const s of [a, ...others, deriveSeed(2 ** 52, 'x')]) assert.ok(Number.isSafeInteger(s) && s >= 0);
    assert.throws(() => deriveSeed(1, 0.5), /integers or strings/);
  });

  it("does not touch libtorch's global generator", () => {
    const draw = (): number[] => tidy(() => Array.from(randn([4]).toTypedArray(), Number));
    manualSeed(123);
    const expected = draw();
    manualSeed(123);
    new Rng(9).permutation(10000);
    assert.deepEqual(draw(), expected);
  });
});
