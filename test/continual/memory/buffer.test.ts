// The rehearsal memory (src/continual/memory/buffer.ts) with its tensors:
// parity of its contents with the Python transcription (tools/fixtures/
// memory_fixture.py → test/fixtures/memory.json) for each policy on a split
// and a recurring stream, deletion by task (tensor contents in order), logits
// padded to the widest with their widths, draws without replacement,
// checkpoint round trip (bit-identical tensors and counters, and the same
// future), hostile saved states refused with a message, and no leaked tensors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlgorithmState } from '../../../src/continual/algorithms/algorithm.js';
import { Rng, deriveSeed } from '../../../src/continual/benchmarks/rng.js';
import { MemoryBuffer } from '../../../src/continual/memory/buffer.js';
import type { InsertionPolicyName } from '../../../src/continual/memory/insertion.js';
import { tensor, zeros } from '../../../src/tensor/creation.js';
import { tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { loadFixture, settledTensorCount } from '../../helpers.js';

interface Contents {
  index: number[];
  targets: number[];
  tasks: number[];
  seen: number;
  seenPerClass: [number, number][];
}
interface MemoryFixture {
  config: { seed: number; capacity: number; batch: number };
  streams: Record<string, [number, number[][]][]>;
  runs: Record<string, { afterTask: Contents[]; drawn: number[]; afterDeletingTask2: Contents }>;
}
const fx = loadFixture<MemoryFixture>('memory');
const POLICIES: InsertionPolicyName[] = ['reservoir', 'classBalanced', 'greedy'];

/** What the memory holds, read from its tensors (x = [index, task]) and its counters. */
function contents(memory: MemoryBuffer): Contents {
  const { values } = memory.state();
  const saved = values['memory'] as { seen: number; seenPerClass: [number, number][] };
  if (memory.size === 0) return { index: [], targets: [], tasks: [], seen: saved.seen, seenPerClass: saved.seenPerClass };
  return tidy(() => {
    const all = memory.gather();
    const x = Array.from(all.x.toTypedArray(), Number);
    const tasks = [...all.tasks];
    // The tensors agree with the mirrors, and each row's x holds its own task.
    assert.deepEqual(Array.from(all.targets.toTypedArray(), Number), [...memory.storedTargets]);
    assert.deepEqual(tasks, [...memory.storedTasks]);
    assert.deepEqual(x.filter((_, i) => i % 2 === 1), tasks, 'x[:, 1] is the task of the row');
    return { index: x.filter((_, i) => i % 2 === 0), targets: [...memory.storedTargets], tasks, seen: saved.seen, seenPerClass: saved.seenPerClass };
  });
}

/** Feeds a fixture stream into `memory` as memory_fixture.py does; returns the contents after each task. */
function feed(memory: MemoryBuffer, name: string): Contents[] {
  const after: Contents[] = [];
  let i = 0;
  for (const [task, batches] of fx.streams[name]!) {
    const rng = new Rng(deriveSeed(fx.config.seed, 'memory', name, task));
    for (const labels of batches) {
      tidy(() => {
        const x = tensor(labels.flatMap((_, r) => [i + r, task]), { dtype: 'float64', shape: [labels.length, 2] });
        memory.insert({ x, targets: tensor(labels, { dtype: 'int64' }), task }, rng);
      });
      i += labels.length;
      assert.ok(memory.size <= memory.capacity);
    }
    after.push(contents(memory));
  }
  return after;
}

function x2(rows: number[][]): Tensor {
  return tensor(rows.flat(), { dtype: 'float32', shape: [rows.length, rows[0]!.length] });
}

describe('MemoryBuffer', () => {
  for (const name of ['split', 'recurring']) {
    for (const policy of POLICIES) {
      it(`${name}/${policy}: contents by slot after each task, a draw and the memory after deleting task 2 match memory.py`, () => {
        const want = fx.runs[`${name}-${policy}`]!;
        const memory = new MemoryBuffer({ capacity: fx.config.capacity, policy });
        try {
          assert.deepEqual(feed(memory, name), want.afterTask);
          const drawn = tidy(() => Array.from(memory.sample(4, new Rng(deriveSeed(fx.config.seed, 'memory', name, 'draw')))!.slots));
          assert.deepEqual(drawn, want.drawn);
          const before = contents(memory);
          const removed = memory.deleteTask(2);
          const after = contents(memory);
          assert.deepEqual(after, want.afterDeletingTask2);
          // Exactly task 2's rows went; the rest kept their order (their inputs checked through x).
          assert.equal(removed, before.tasks.filter((t) => t === 2).length);
          assert.deepEqual(after.index, before.index.filter((_, slot) => before.tasks[slot] !== 2));
          assert.equal(memory.deleteTask(2), 0, 'nothing left to delete');
        } finally {
          memory.dispose();
        }
      });
    }
  }

  it('the fixture streams fill and overflow the memory and differ by policy', () => {
    const last = (key: string) => fx.runs[key]!.afterTask.at(-1)!;
    for (const name of ['split', 'recurring']) {
      assert.ok(last(`${name}-reservoir`).seen > 5 * fx.config.capacity);
      assert.notDeepEqual(last(`${name}-reservoir`).targets, last(`${name}-classBalanced`).targets);
      assert.notDeepEqual(last(`${name}-greedy`).targets, last(`${name}-classBalanced`).targets);
    }
  });

  it('freed slots fill first after a deletion, and new rows land there', () => {
    const memory = new MemoryBuffer({ capacity: 4, policy: 'reservoir' });
    const rng = new Rng(1);
    try {
      tidy(() => memory.insert({ x: x2([[1], [2], [3], [4]]), targets: tensor([0, 1, 0, 1]), task: 1 }, rng));
      tidy(() => memory.insert({ x: x2([[5], [6]]), targets: tensor([2, 3]), task: 2 }, new Rng(2)));
      const tasksBefore = [...memory.storedTasks];
      memory.deleteTask(1);
      assert.equal(memory.size, tasksBefore.filter((t) => t !== 1).length);
      const size = memory.size;
      tidy(() => memory.insert({ x: x2([[7]]), targets: tensor([4]), task: 3 }, rng));
      assert.equal(memory.size, size + 1, 'appended while not full, whatever was seen before');
      assert.equal(memory.storedTasks[size], 3);
      tidy(() => assert.deepEqual(Array.from(memory.gather().x.toTypedArray(), Number).at(-1), 7));
    } finally {
      memory.dispose();
    }
  });

  it('logits: padded with zeros to the widest seen, each row with its own width', () => {
    const memory = new MemoryBuffer({ capacity: 4, policy: 'reservoir', storesLogits: true });
    const rng = new Rng(1);
    try {
      tidy(() => memory.insert({ x: x2([[1], [2]]), targets: tensor([0, 1]), task: 1, logits: x2([[1, 2], [3, 4]]) }, rng));
      tidy(() => memory.insert({ x: x2([[3]]), targets: tensor([2]), task: 2, logits: x2([[5, 6, 7, 8]]) }, rng));
      tidy(() => memory.insert({ x: x2([[4]]), targets: tensor([1]), task: 3, logits: x2([[9, 10, 11]]) }, rng));
      tidy(() => {
        const all = memory.gather();
        assert.deepEqual(all.logitWidths, [2, 2, 4, 3]);
        assert.deepEqual(all.logits!.shape, [4, 4]);
        assert.deepEqual(Array.from(all.logits!.toTypedArray(), Number), [1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10, 11, 0]);
        const some = memory.gather([3, 0]);
        assert.deepEqual(some.logitWidths, [3, 2]);
        assert.deepEqual(Array.from(some.logits!.toTypedArray(), Number), [9, 10, 11, 0, 1, 2, 0, 0]);
      });
      assert.throws(() => tidy(() => memory.insert({ x: x2([[5]]), targets: tensor([1]), task: 3 }, rng)), /stores logits, and none were given/);
      assert.throws(() => tidy(() => memory.insert({ x: x2([[5, 6]]), targets: tensor([1]), task: 3, logits: x2([[0]]) }, rng)), /inputs of shape \[2\] cannot join a memory of \[1\]/);
      assert.throws(() => tidy(() => memory.insert({ x: tensor([5], { dtype: 'float64', shape: [1, 1] }), targets: tensor([1]), task: 3, logits: x2([[0]]) }, rng)), /inputs of dtype float64 cannot join a memory of float32/);
      assert.deepEqual([memory.size, memory.seen, memory.storedTargets, memory.storedTasks], [4, 4, [0, 1, 2, 1], [1, 1, 2, 3]], 'a refused batch changes nothing');
    } finally {
      memory.dispose();
    }
  });

  it('draws distinct filled slots (all of them when fewer are stored), null when empty', () => {
    const memory = new MemoryBuffer({ capacity: 30, policy: 'reservoir' });
    const rng = new Rng(4);
    try {
      assert.equal(memory.sample(3, rng), null);
      tidy(() => memory.insert({ x: zeros([20, 2]), targets: tensor(Array.from({ length: 20 }, (_, i) => i)), task: 1 }, rng));
      for (let k = 1; k <= 25; k++) {
        tidy(() => {
          const drawn = memory.sample(k, rng)!;
          assert.equal(drawn.slots.length, Math.min(k, 20));
          assert.equal(new Set(drawn.slots).size, drawn.slots.length, `draw of ${k}: no slot twice`);
          assert.deepEqual(Array.from(drawn.targets.toTypedArray(), Number), Array.from(drawn.slots), 'the rows of the drawn slots');
        });
      }
      // Over many draws of 5 from 20, each slot comes up a quarter of the time (1000 draws: 250 ± 5 sd).
      const hits = new Array<number>(20).fill(0);
      for (let r = 0; r < 1000; r++) tidy(() => memory.sample(5, rng)!.slots.forEach((s) => hits[s]!++));
      const sd = Math.sqrt(1000 * 0.25 * 0.75);
      hits.forEach((h, s) => assert.ok(Math.abs(h - 250) < 5 * sd, `slot ${s} drawn ${h} times`));
    } finally {
      memory.dispose();
    }
  });

  it('state() and loadState(): bit-identical tensors and counters, and the same future', () => {
    const a = new MemoryBuffer({ capacity: 6, policy: 'classBalanced', storesLogits: true });
    const b = new MemoryBuffer({ capacity: 6, policy: 'classBalanced', storesLogits: true });
    try {
      const rng = new Rng(9);
      for (let task = 1; task <= 3; task++) {
        tidy(() => a.insert({ x: tensor(Array.from({ length: 8 }, () => rng.uniform()), { shape: [4, 2] }), targets: tensor([0, 1, 2, 3].map((c) => c + task)), task, logits: tensor(Array.from({ length: 4 * (task + 1) }, () => rng.uniform()), { shape: [4, task + 1] }) }, rng));
      }
      a.deleteTask(1);
      const saved = a.state('m.');
      assert.deepEqual(Object.keys(saved.tensors).sort(), ['m.logits', 'm.targets', 'm.tasks', 'm.x']);
      b.loadState(saved, 'm.');
      const again = b.state('m.');
      for (const key of Object.keys(saved.tensors)) {
        tidy(() => assert.deepEqual(Array.from(again.tensors[key]!.toTypedArray(), Number), Array.from(saved.tensors[key]!.toTypedArray(), Number), key));
        assert.notEqual(again.tensors[key], saved.tensors[key], `${key} is a copy`);
      }
      assert.deepEqual(again.values, saved.values);
      assert.deepEqual([b.storedTargets, b.storedTasks, b.seen], [a.storedTargets, a.storedTasks, a.seen]);
      // The same insertions and draws from here on.
      const ra = new Rng(5);
      const rb = new Rng(5);
      for (let i = 0; i < 5; i++) {
        const labels = [i % 7, (i * 3) % 7];
        tidy(() => a.insert({ x: tensor([i, i, -i, -i], { dtype: 'float32', shape: [2, 2] }), targets: tensor(labels), task: 4, logits: zeros([2, 5]) }, ra));
        tidy(() => b.insert({ x: tensor([i, i, -i, -i], { dtype: 'float32', shape: [2, 2] }), targets: tensor(labels), task: 4, logits: zeros([2, 5]) }, rb));
        assert.deepEqual(Array.from(tidy(() => a.sample(3, ra)!.slots)), Array.from(tidy(() => b.sample(3, rb)!.slots)));
      }
      assert.deepEqual(b.state().values, a.state().values);
      // An empty memory saves counters only and loads back empty.
      const empty = new MemoryBuffer({ capacity: 6, policy: 'reservoir' });
      const s = empty.state();
      assert.deepEqual(s.tensors, {});
      b.loadState(s);
      assert.equal(b.size, 0);
      assert.equal(b.seen, 0);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('refuses saved states that do not fit, naming what is wrong, and keeps its own contents', () => {
    const source = new MemoryBuffer({ capacity: 4, policy: 'reservoir', storesLogits: true });
    const target = new MemoryBuffer({ capacity: 4, policy: 'reservoir', storesLogits: true });
    const made: Tensor[] = [];
    const t = (x: Tensor): Tensor => (made.push(x), x);
    try {
      tidy(() => source.insert({ x: x2([[1], [2], [3]]), targets: tensor([0, 1, 2]), task: 1, logits: x2([[1, 2], [3, 4], [5, 6]]) }, new Rng(1)));
      tidy(() => target.insert({ x: x2([[9]]), targets: tensor([5]), task: 7, logits: x2([[0, 0]]) }, new Rng(1)));
      const good = source.state();
      const values = good.values['memory'] as Record<string, unknown>;
      const withValues = (patch: Record<string, unknown>): AlgorithmState => ({ tensors: good.tensors, values: { memory: { ...values, ...patch } } });
      const withTensors = (patch: Record<string, Tensor | undefined>): AlgorithmState => {
        const tensors = { ...good.tensors, ...patch } as Record<string, Tensor>;
        for (const k of Object.keys(patch)) if (patch[k] === undefined) delete tensors[k];
        return { tensors, values: good.values };
      };
      const cases: [string, AlgorithmState, RegExp][] = [
        ['no values', { tensors: good.tensors, values: {} }, /saved values do not fit: memory/],
        ['negative seen', withValues({ seen: -1 }), /memory\.seen/],
        ['counters that disagree', withValues({ seen: 4 }), /counts 4 examples seen, but 3 over its classes/],
        ['more examples than the capacity', withValues({ logitWidths: [2, 2, 2, 2, 2] }), /holds 5 examples, but the capacity is 4/],
        ['more examples than seen', withValues({ logitWidths: [2, 2, 2, 2] }), /holds 4 examples, but counts only 3 seen/],
        ['a stored class never counted', withValues({ seenPerClass: [[0, 1], [1, 1], [7, 1]] }), /holds class 2, which its counts never saw/],
        ['more of a class than counted', withValues({ seenPerClass: [[0, 2], [1, 1], [2, 0]] }), /holds 1 examples of class 2, but counts only 0 seen/],
        ['x missing', withTensors({ x: undefined }), /saved tensor 'x' is missing/],
        ['logits missing', withTensors({ logits: undefined }), /saved tensor 'logits' is missing/],
        ['x of another capacity', withTensors({ x: t(zeros([5, 1])) }), /'x' holds 5 slots, but the capacity is 4/],
        ['targets of the wrong shape', withTensors({ targets: t(zeros([4, 1], { dtype: 'int64' })) }), /'targets' has shape \[4, 1\], expected \[4\]/],
        ['logits of the wrong shape', withTensors({ logits: t(zeros([4])) }), /'logits' has shape \[4\], expected \[4, width\]/],
      ];
      for (const [what, state, message] of cases) {
        assert.throws(() => target.loadState(state), message, what);
        assert.deepEqual([target.size, target.storedTargets[0], target.storedTasks[0], target.seen], [1, 5, 7, 1], `${what}: the memory is unchanged`);
      }
    } finally {
      for (const x of made) x.dispose();
      source.dispose();
      target.dispose();
    }
  });

  it('holds no tensors beyond its four, allocated once, and frees them all', () => {
    const baseline = settledTensorCount();
    const memory = new MemoryBuffer({ capacity: 8, policy: 'greedy', storesLogits: true });
    const rng = new Rng(2);
    for (let task = 1; task <= 20; task++) {
      tidy(() => memory.insert({ x: zeros([5, 3]), targets: tensor([0, 1, 2, 3, 4].map((c) => c + task)), task, logits: zeros([5, task]) }, rng));
      tidy(() => memory.sample(4, rng));
      if (task % 5 === 0) memory.deleteTask(task - 1);
      assert.equal(settledTensorCount() - baseline, 4, `after task ${task}: x, targets, tasks and logits`);
    }
    const saved = memory.state();
    const copy = new MemoryBuffer({ capacity: 8, policy: 'greedy', storesLogits: true });
    copy.loadState(saved);
    assert.equal(settledTensorCount() - baseline, 8);
    copy.loadState(saved);
    assert.equal(settledTensorCount() - baseline, 8, 'loading again replaces, not adds');
    copy.dispose();
    memory.dispose();
    assert.equal(settledTensorCount(), baseline);
  });
});
