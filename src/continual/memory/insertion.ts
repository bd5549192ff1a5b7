// Where the next example of a stream goes in a memory of fixed capacity
// (algorithms-next.md sections 15 and 20). A policy sees the memory's class
// labels slot by slot and answers with a slot: an empty one to append to, a
// filled one to overwrite, or none (the example is not kept).
//
//   reservoir      Vitter's algorithm R: the n-th example is kept with
//                  probability min(1, K/n), in a uniformly chosen slot, so
//                  the memory is a uniform sample of the stream.
//   classBalanced  a quota of floor(K / classes seen) per class, the
//                  remainder going to the classes seen first; a class under
//                  its quota takes a random slot of the class furthest over
//                  its own, and a class at its quota keeps a reservoir of its
//                  own examples (Avalanche's ClassBalancedBuffer, updated
//                  online). Classes that recur (DIL) keep a uniform sample of
//                  all their examples.
//   greedy         GDumb's sampler: while the memory is full, a class with
//                  fewer than K / classes seen examples takes a random slot
//                  of the largest class; any other example is skipped.
import type { Rng } from '../benchmarks/rng.js';

export type InsertionPolicyName = 'reservoir' | 'classBalanced' | 'greedy';
export const INSERTION_POLICIES: readonly InsertionPolicyName[] = ['reservoir', 'classBalanced', 'greedy'];

/** What a policy reads of the memory: its capacity and the class label of each filled slot. */
export interface MemoryView {
  readonly capacity: number;
  /** The class of slot i, for the filled slots 0 .. size - 1. */
  readonly classes: readonly number[];
}

/** The counters a policy keeps about the stream, checkpointed with the memory. */
export interface StreamCounts {
  /** Examples offered so far. */
  seen: number;
  /** Examples offered per class, in the order the classes first appeared. */
  seenPerClass: Map<number, number>;
}

/**
 * The slot for the next example of class `label` (its count is already in
 * `counts`): `size` to append, a filled slot to overwrite, or -1 to skip.
 */
export type InsertionPolicy = (memory: MemoryView, label: number, counts: StreamCounts, rng: Rng) => number;

export const insertionPolicies: Readonly<Record<InsertionPolicyName, InsertionPolicy>> = {
  reservoir(memory, _label, counts, rng) {
    const size = memory.classes.length;
    if (size < memory.capacity) return size;
    const j = rng.int(counts.seen);
    return j < memory.capacity ? j : -1;
  },

  classBalanced(memory, label, counts, rng) {
    const size = memory.classes.length;
    if (size < memory.capacity) return size;
    const perClass = slotsByClass(memory.classes);
    const own = perClass.get(label) ?? [];
    if (own.length < quota(memory.capacity, counts, label)) return randomSlotOf(largestOverQuota(perClass, memory.capacity, counts), rng);
    const j = rng.int(counts.seenPerClass.get(label)!);
    return j < own.length ? own[j]! : -1;
  },

  greedy(memory, label, counts, rng) {
    const size = memory.classes.length;
    if (size < memory.capacity) return size;
    const perClass = slotsByClass(memory.classes);
    const own = perClass.get(label)?.length ?? 0;
    if (own >= memory.capacity / counts.seenPerClass.size) return -1;
    let largest: number[] = [];
    for (const slots of perClass.values()) if (slots.length > largest.length) largest = slots;
    return randomSlotOf(largest, rng);
  },
};

/** floor(K / classes seen), plus one for the first K mod classes seen classes (in first-seen order). */
export function quota(capacity: number, counts: StreamCounts, label: number): number {
  const classes = counts.seenPerClass.size;
  const rank = [...counts.seenPerClass.keys()].indexOf(label);
  return Math.floor(capacity / classes) + (rank < capacity % classes ? 1 : 0);
}

/** The filled slots of each class, in slot order, classes in order of first slot. */
function slotsByClass(classes: readonly number[]): Map<number, number[]> {
  const perClass = new Map<number, number[]>();
  classes.forEach((c, slot) => {
    const slots = perClass.get(c);
    if (slots === undefined) perClass.set(c, [slot]);
    else slots.push(slot);
  });
  return perClass;
}

/** The slots of the class with the largest excess over its quota (the first such class in slot order on ties). */
function largestOverQuota(perClass: Map<number, number[]>, capacity: number, counts: StreamCounts): number[] {
  let best: number[] = [];
  let bestExcess = -Infinity;
  for (const [c, slots] of perClass) {
    const excess = slots.length - quota(capacity, counts, c);
    if (excess > bestExcess) {
      best = slots;
      bestExcess = excess;
    }
  }
  return best;
}

function randomSlotOf(slots: readonly number[], rng: Rng): number {
  return slots[rng.int(slots.length)]!;
}
