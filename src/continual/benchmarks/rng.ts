// A small seedable generator for data order, validation splits and task
// permutations. It is deliberately separate from libtorch's global generator:
// drawing a permutation or shuffling a batch order must not shift the stream
// that initialises the model, so changing the data pipeline leaves the
// initial weights of a seeded run untouched.
//
// The generator is xoshiro128** (Blackman and Vigna), 32-bit words so that
// every step stays in exact integer arithmetic on JavaScript numbers. Its
// 128-bit state is filled from the seed by splitmix64, which spreads nearby
// seeds (0, 1, 2, ...) over unrelated states.

const MASK64 = (1n << 64n) - 1n;

function splitmix64Next(state: bigint): { state: bigint; value: bigint } {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { state: next, value: z ^ (z >> 31n) };
}

function checkSeed(seed: number, what: string): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${what}: seed must be a non-negative integer, got ${seed}`);
}

/** FNV-1a over the UTF-16 code units: a stable 64-bit key for a string label. */
function hashString(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) h = ((h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n) & MASK64;
  return h;
}

/**
 * A seed for one purpose, derived from a base seed and a path of labels
 * (`deriveSeed(seed, 'permutation', task)`): each purpose gets its own
 * stream, and the same inputs always give the same seed. The result is a
 * non-negative integer below 2^53, usable wherever a seed is expected.
 */
export function deriveSeed(seed: number, ...path: readonly (number | string)[]): number {
  checkSeed(seed, 'deriveSeed');
  let state = BigInt(seed);
  for (const part of path) {
    if (typeof part === 'number' && !Number.isSafeInteger(part)) throw new RangeError(`deriveSeed: path parts must be integers or strings, got ${part}`);
    const key = typeof part === 'number' ? BigInt.asUintN(64, BigInt(part)) : hashString(part);
    // Two splitmix steps around the key make (a, b) and (b, a) differ.
    state = splitmix64Next(state).value ^ key;
    state = splitmix64Next(state).value;
  }
  return Number(splitmix64Next(state).value >> 11n);
}

/** A mutable array-like: plain arrays and typed arrays. */
export interface MutableArrayLike<T> {
  length: number;
  [index: number]: T;
}

/** A seeded generator (xoshiro128**) of its own, so that data order and task definitions never draw from, or disturb, libtorch's global generator. */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number) {
    checkSeed(seed, 'Rng');
    let state = BigInt(seed);
    const words: number[] = [];
    while (words.length < 4) {
      const step = splitmix64Next(state);
      state = step.state;
      words.push(Number(step.value & 0xffffffffn), Number(step.value >> 32n));
    }
    [this.#s0, this.#s1, this.#s2, this.#s3] = words as [number, number, number, number];
    // xoshiro must not start from the all-zero state; splitmix64 never
    // yields four zero words in a row, but the guard costs nothing.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits (every double of the form k / 2^53). */
  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias; n is a positive integer up to 2^53. */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    if (n <= 0x100000000) {
      // Rejecting the top partial block of 2^32 makes every residue equally likely.
      const limit = 0x100000000 - (0x100000000 % n);
      for (;;) {
        const r = this.nextUint32();
        if (r < limit) return r % n;
      }
    }
    const limit = 9007199254740992 - (9007199254740992 % n);
    for (;;) {
      const r = this.uniform() * 9007199254740992;
      if (r < limit) return r % n;
    }
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<A extends MutableArrayLike<unknown>>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /**
   * `k` distinct integers of 0 .. n-1 (all n if k > n), every ordered choice
   * equally likely: the first k steps of a Fisher-Yates shuffle run from the
   * front (position i swaps with a uniform position in i .. n-1), so a draw
   * costs k generator calls, not n. A plain array, not a typed one: V8
   * allocates each typed array's memory outside its heap, which costs more
   * than the whole draw.
   */
  choose(n: number, k: number): number[] {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`Rng.choose: k must be a non-negative integer, got ${k}`);
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`Rng.choose: n must be a non-negative integer below 2^31, got ${n}`);
    const count = Math.min(k, n);
    // Only the positions a swap touched differ from the identity: keep those.
    const moved = new Map<number, number>();
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const j = i + this.int(n - i);
      out[i] = moved.get(j) ?? j;
      moved.set(j, moved.get(i) ?? i);
    }
    return out;
  }

  /** A uniformly random permutation of 0 .. n-1. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`Rng.permutation: n must be a non-negative integer below 2^31, got ${n}`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
