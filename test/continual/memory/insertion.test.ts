// The insertion policies of the rehearsal memory (src/continual/memory/
// insertion.ts), run on a simulated memory (slot labels only) so that long
// streams and many repetitions are cheap: reservoir keeps a uniform sample of
// the stream (a chi-square bound that a biased reservoir fails), class
// balance holds at the quota with the remainder to the first classes seen
// (new and recurring classes), GDumb's greedy rule, and the size never
// exceeds the capacity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/continual/benchmarks/rng.js';
import { type InsertionPolicy, type InsertionPolicyName, type StreamCounts, insertionPolicies, quota } from '../../../src/continual/memory/insertion.js';

/** A memory of `capacity` slots holding (item, label); offers each item of the stream through `policy`. */
class Simulated {
  readonly items: number[] = [];
  readonly labels: number[] = [];
  readonly counts: StreamCounts = { seen: 0, seenPerClass: new Map() };
  constructor(
    readonly capacity: number,
    readonly policy: InsertionPolicy,
  ) {}

  offer(item: number, label: number, rng: Rng): number {
    this.counts.seen++;
    this.counts.seenPerClass.set(label, (this.counts.seenPerClass.get(label) ?? 0) + 1);
    const slot = this.policy({ capacity: this.capacity, classes: this.labels }, label, this.counts, rng);
    if (slot >= 0) {
      assert.ok(slot <= this.labels.length && slot < this.capacity, `slot ${slot} of a memory of ${this.labels.length}/${this.capacity}`);
      this.items[slot] = item;
      this.labels[slot] = label;
    }
    return slot;
  }

  classCounts(): Map<number, number> {
    const m = new Map<number, number>();
    for (const c of this.labels) m.set(c, (m.get(c) ?? 0) + 1);
    return m;
  }
}

/** How often each of `n` items ends in a memory of `capacity` over `runs` streams. */
function inclusion(policy: InsertionPolicy, n: number, capacity: number, runs: number, seed: number): number[] {
  const counts = new Array<number>(n).fill(0);
  const rng = new Rng(seed);
  for (let r = 0; r < runs; r++) {
    const memory = new Simulated(capacity, policy);
    for (let i = 0; i < n; i++) memory.offer(i, 0, rng);
    for (const item of memory.items) counts[item]!++;
  }
  return counts;
}

/** Pearson's chi-square of observed counts against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const expected = counts.reduce((a, b) => a + b, 0) / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

describe('insertion policies', () => {
  const N = 1000;
  const K = 50;
  const RUNS = 400;
  // χ² with N − 1 = 999 degrees of freedom: mean 999, sd √1998 ≈ 44.7; five sd either side.
  const lowChi = 999 - 5 * Math.sqrt(2 * 999);
  const highChi = 999 + 5 * Math.sqrt(2 * 999);

  it('reservoir: every item of a stream of 1000 is kept with probability K/n (χ² over items within 5 sd; early and late items alike)', () => {
    const counts = inclusion(insertionPolicies.reservoir, N, K, RUNS, 11);
    assert.equal(counts.reduce((a, b) => a + b, 0), K * RUNS, 'the memory is full after every run');
    const chi = chiSquare(counts);
    assert.ok(chi > lowChi && chi < highChi, `χ² = ${chi.toFixed(1)}, expected within [${lowChi.toFixed(1)}, ${highChi.toFixed(1)}]`);
    // The first and last 100 items: each total is Binomial-like with mean 100·RUNS·K/N = 2000.
    const early = counts.slice(0, 100).reduce((a, b) => a + b, 0);
    const late = counts.slice(-100).reduce((a, b) => a + b, 0);
    const sd = Math.sqrt(100 * RUNS * (K / N) * (1 - K / N));
    for (const [what, total] of [['early', early], ['late', late]] as const) assert.ok(Math.abs(total - 2000) < 5 * sd, `${what} items kept ${total} times, expected 2000 ± ${(5 * sd).toFixed(0)}`);
  });

  it('the uniformity bound can fail: a reservoir that keeps the n-th item with probability K/(n + K) is rejected', () => {
    const biased: InsertionPolicy = (memory, _label, counts, rng) => {
      if (memory.classes.length < memory.capacity) return memory.classes.length;
      const j = rng.int(counts.seen + memory.capacity);
      return j < memory.capacity ? j : -1;
    };
    const chi = chiSquare(inclusion(biased, N, K, RUNS, 11));
    assert.ok(chi > highChi, `χ² = ${chi.toFixed(1)} should exceed ${highChi.toFixed(1)}`);
  });

  it('classBalanced: once every class streamed enough, each holds floor(K/classes), the remainder going to the first classes seen (new classes per task)', () => {
    const rng = new Rng(5);
    const memory = new Simulated(23, insertionPolicies.classBalanced);
    let item = 0;
    for (let task = 1; task <= 6; task++) {
      // Two new classes per task, drawn at random, 60 examples: each class streams more than its quota.
      for (let i = 0; i < 60; i++) memory.offer(item++, 2 * (task - 1) + rng.int(2), rng);
      const classes = [...memory.counts.seenPerClass.keys()];
      const want = classes.map((_, rank) => Math.floor(23 / classes.length) + (rank < 23 % classes.length ? 1 : 0));
      assert.deepEqual(classes.map((c) => memory.classCounts().get(c) ?? 0), want, `after task ${task} (classes in first-seen order ${classes})`);
      classes.forEach((c, rank) => assert.equal(quota(23, memory.counts, c), want[rank]));
      assert.equal(memory.labels.length, 23);
    }
  });

  it('classBalanced with recurring classes (DIL): quotas hold every task and each class keeps a uniform sample of all its examples', () => {
    const K2 = 18;
    const runs = 300;
    const perItem = new Map<number, number>();
    let lastTotals: number[] = [];
    for (let r = 0; r < runs; r++) {
      const rng = new Rng(100 + r);
      const memory = new Simulated(K2, insertionPolicies.classBalanced);
      let item = 0;
      for (let task = 1; task <= 4; task++) {
        // Classes 0..3 recur in every task: 30 examples of class 0 and 10 of each other, in a random
        // order after one of each (so the first-seen order is 0, 1, 2, 3).
        const rest = [...Array<number>(29).fill(0), ...[1, 2, 3].flatMap((c) => Array<number>(9).fill(c))];
        const order = rng.permutation(rest.length);
        for (const label of [0, 1, 2, 3, ...Array.from(order, (i) => rest[i]!)]) memory.offer(item++, label, rng);
        assert.deepEqual([0, 1, 2, 3].map((c) => memory.classCounts().get(c)), [5, 5, 4, 4], `run ${r} task ${task}: floor(18/4) = 4, remainder 2 to classes 0 and 1`);
      }
      // Which class-0 items are kept: by the task they came from.
      memory.items.forEach((it, slot) => {
        if (memory.labels[slot] === 0) perItem.set(Math.floor(it / 60), (perItem.get(Math.floor(it / 60)) ?? 0) + 1);
      });
      lastTotals = [...perItem.values()];
    }
    // Class 0 has ~equal numbers of examples in every task, so its 5 slots spread evenly over the 4 tasks: 375 ± 5 sd each.
    const total = lastTotals.reduce((a, b) => a + b, 0);
    assert.equal(total, 5 * runs);
    for (let task = 0; task < 4; task++) {
      const kept = perItem.get(task) ?? 0;
      const sd = Math.sqrt(total * 0.25 * 0.75);
      assert.ok(Math.abs(kept - total / 4) < 5 * sd, `class 0 examples of task ${task + 1} kept ${kept} times, expected ${total / 4} ± ${(5 * sd).toFixed(0)}`);
    }
  });

  it("greedy (GDumb): a class under K/classes takes a random slot of the largest class; any other example is skipped", () => {
    const K3 = 10;
    const rng = new Rng(3);
    const memory = new Simulated(K3, insertionPolicies.greedy);
    for (let i = 0; i < 10; i++) memory.offer(i, 0, rng);
    assert.deepEqual([...memory.classCounts()], [[0, 10]]);
    assert.equal(memory.offer(10, 0, rng), -1, 'class 0 holds 10 >= 10/1: skipped');
    // Class 1 arrives: 0 < 10/2, it takes a slot of class 0 until the two hold 5 each.
    for (let i = 0; i < 5; i++) {
      const slot = memory.offer(11 + i, 1, rng);
      assert.ok(slot >= 0 && memory.labels.filter((c) => c === 1).length === i + 1, `class 1 example ${i} kept`);
    }
    assert.equal(memory.offer(16, 1, rng), -1, 'class 1 holds 5 >= 10/2: skipped');
    assert.equal(memory.offer(17, 0, rng), -1, 'class 0 holds 5 >= 10/2: skipped');
    // Class 2: threshold 10/3 ≈ 3.33: it takes slots of a largest class until it holds 4.
    let taken = 0;
    for (let i = 0; i < 6; i++) {
      const before = memory.classCounts();
      const largest = Math.max(...before.values());
      const labels = [...memory.labels];
      const victim = labels[memory.offer(18 + i, 2, rng)];
      if (victim === undefined) continue;
      taken++;
      assert.ok(victim !== 2 && before.get(victim) === largest, `example ${i} of class 2 replaced one of class ${victim}, which held ${before.get(victim)} (the largest holds ${largest})`);
    }
    assert.equal(taken, 4, 'class 2 is kept until it holds 4 > 10/3, then skipped');
    assert.deepEqual([0, 1, 2].map((c) => memory.classCounts().get(c)), [3, 3, 4]);
  });

  it('no policy lets the memory exceed its capacity over a long stream of many tasks', () => {
    for (const name of ['reservoir', 'classBalanced', 'greedy'] as InsertionPolicyName[]) {
      const rng = new Rng(17);
      const memory = new Simulated(37, insertionPolicies[name]);
      let item = 0;
      for (let task = 1; task <= 50; task++) {
        for (let i = 0; i < 40; i++) {
          memory.offer(item++, 3 * (task - 1) + rng.int(3), rng);
          assert.ok(memory.labels.length <= 37, `${name}: ${memory.labels.length} examples after ${item}`);
        }
      }
      assert.equal(memory.labels.length, 37, `${name} is full`);
      assert.equal(memory.counts.seen, 2000);
    }
  });
});
