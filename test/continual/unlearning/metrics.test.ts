// The unlearning metrics: distances and linear CKA on hand-made inputs and
// against PyTorch (fixture from tools/fixtures/unlearning.py), accuracy gain,
// the per-task table built from a run's results with each unlearned task's
// drop, and BWT and forgetting over the remaining tasks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accuracyGain,
  cosineDistance,
  euclideanDistance,
  linearCka,
  manhattanDistance,
  meanDistances,
  remainingBwtCurve,
  remainingForgettingCurve,
  summarizeUnlearning,
} from '../../../src/continual/metrics/unlearning.js';
import { AccuracyMatrix, bwt, bwtCurve, forgetting, forgettingCurve } from '../../../src/continual/metrics/matrix.js';
import { buildSummary } from '../../../src/continual/results/summary.js';
import { randn, tensor, tidy } from '../../../src/index.js';
import { type FixtureTensor, assertClose, fromFixture, loadFixture } from '../../helpers.js';

describe('feature distances', () => {
  it('euclidean, manhattan and cosine are per-sample means; a zero vector has cosine distance 1 to a non-zero one, 0 to a zero one', () => {
    tidy(() => {
      const x = tensor([[3, 4], [0, 0]]);
      const y = tensor([[0, 0], [1, 0]]);
      assert.equal(euclideanDistance(x, y), (5 + 1) / 2);
      assert.equal(manhattanDistance(x, y), (7 + 1) / 2);
      assert.equal(cosineDistance(x, y), 1);
      // Identical features are at distance 0, zero rows included (ReLU features often are).
      const withZeroRows = tensor([[3, 4], [0, 0], [0, 0], [1e-9, 0]]);
      assert.equal(cosineDistance(withZeroRows, tensor([[6, 8], [0, 0], [0, 1e-9], [0, 0]])), 0);
      assert.equal(cosineDistance(tensor([[0, 0], [0, 0]]), tensor([[0, 0], [1, 1]])), 0.5);
      // Identical direction: 0; opposite: 2.
      assert.equal(cosineDistance(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, -3]])), 1);
      assertClose(cosineDistance(tensor([[1, 2]]), tensor([[2, 4]])), 0, 'same direction', 0, 1e-15);
    });
  });

  it('refuses feature matrices of different shapes', () => {
    tidy(() => {
      assert.throws(() => euclideanDistance(tensor([[1, 2]]), tensor([[1, 2, 3]])), /euclideanDistance: expected two feature matrices of the same shape \[N, D\], got \[1, 2\] and \[1, 3\]/);
      assert.throws(() => linearCka(tensor([[1], [2]]), tensor([[1], [2], [3]])), /linearCka: .* same samples/);
    });
  });
});

describe('linear CKA', () => {
  it('is 1 for a representation with itself, and for a rotated and scaled copy', () => {
    tidy(() => {
      const x = randn([50, 8]);
      assertClose(linearCka(x, x)!, 1, 'CKA(X, X)', 1e-12);
      const rotation = tensor([[0, -1], [1, 0]], { dtype: 'float32' });
      const x2 = randn([30, 2]);
      assertClose(linearCka(x2, x2.matmul(rotation).mul(3.5).add(7))!, 1, 'CKA(X, 3.5 X R + 7)', 1e-12);
    });
  });

  it('matches hand-computed values: 0 for orthogonal centred columns, 3 / (2√10) below', () => {
    tidy(() => {
      assertClose(linearCka(tensor([[0], [1], [2]]), tensor([[1], [-1], [1]]))!, 0, 'orthogonal', 0, 1e-15);
      // X̃ = (−1, 0, 1)ᵀ; Ỹᵀ X̃ = (0, 1), ‖X̃ᵀX̃‖ = 2, ‖ỸᵀỸ‖ = √10 / 3.
      assertClose(linearCka(tensor([[0], [1], [2]]), tensor([[0, 0], [1, 0], [0, 1]]))!, 3 / (2 * Math.sqrt(10)), 'hand example', 1e-12);
    });
  });

  it('is undefined (null) when a representation is constant over the samples', () => {
    tidy(() => assert.equal(linearCka(tensor([[1, 2], [1, 2]]), tensor([[0, 1], [2, 3]])), null));
  });
});

describe('feature distances against PyTorch', () => {
  it('equal torch.norm / F.cosine_similarity means and the float64 CKA formula', () => {
    const fx = loadFixture<{ x: FixtureTensor; y: FixtureTensor; z: FixtureTensor; xy: Record<string, number>; xz: { linearCka: number } }>('unlearning');
    tidy(() => {
      const x = fromFixture(fx.x);
      const y = fromFixture(fx.y);
      assertClose(euclideanDistance(x, y), fx.xy['euclidean']!, 'euclidean', 1e-12);
      assertClose(cosineDistance(x, y), fx.xy['cosine']!, 'cosine', 1e-12);
      assertClose(manhattanDistance(x, y), fx.xy['manhattan']!, 'manhattan', 1e-12);
      assertClose(linearCka(x, y)!, fx.xy['linearCka']!, 'CKA(X, Y)', 1e-12);
      assertClose(linearCka(x, fromFixture(fx.z))!, fx.xz.linearCka, 'CKA(X, Z) of another width', 1e-12);
    });
  });
});

describe('accuracy gain and the unlearning table', () => {
  it('AG is the mean difference over the remaining tasks; null with none', () => {
    assertClose(accuracyGain([0.9, 0.7], [0.8, 0.8])!, 0, 'AG', 0, 1e-15);
    assertClose(accuracyGain([0.9, 0.75], [0.8, 0.7])!, 0.075, 'AG', 1e-12);
    assert.equal(accuracyGain([], []), null);
  });

  it('means distances over tasks, CKA over those where it is defined', () => {
    const d = meanDistances([
      { euclidean: 1, cosine: 0.5, manhattan: 4, linearCka: null },
      { euclidean: 3, cosine: 0.1, manhattan: 2, linearCka: 0.8 },
    ]);
    assert.deepEqual(d, { euclidean: 2, cosine: 0.3, manhattan: 3, linearCka: 0.8 });
    assert.equal(meanDistances([]), null);
  });

  it('builds one row per task from the final accuracies and the references', () => {
    const dist = (v: number): { euclidean: number; cosine: number; manhattan: number; linearCka: number } => ({ euclidean: v, cosine: v / 10, manhattan: 2 * v, linearCka: 1 - v / 10 });
    // Task 1 is unlearned after task 2 (0.7 just before, 0.05 after), task 4 after task 4 (0.9 before, 0.2 after).
    const acc = new AccuracyMatrix([[0.9], [0.05, 0.85], [0.08, 0.8, 0.9], [0.1, 0.8, 0.9, 0.2]]);
    const summary = summarizeUnlearning(acc, {
      requests: [{ afterTask: 2, tasks: [1] }, { afterTask: 4, tasks: [4] }],
      beforeUnlearning: [{ task: 1, accuracy: 0.7 }, { task: 4, accuracy: 0.9 }],
      retrain: { tasks: [2, 3], accuracy: [0.75, 0.95], distances: [dist(1), dist(2), dist(3), dist(4)] },
      original: [[0.9], [0.8, 0.85], [0.7, 0.8, 0.9], [0.6, 0.7, 0.8, 0.9]],
    });
    assert.deepEqual(summary.unlearnedTasks, [1, 4]);
    assert.deepEqual(summary.remainingTasks, [2, 3]);
    assertClose(summary.accuracyGain!, (0.05 - 0.05) / 2, 'AG', 0, 1e-15);
    assertClose(summary.remainingAverageAccuracy!, 0.85, 'remaining AA', 1e-12);
    assertClose(summary.originalAverageAccuracy!, 0.75, 'original AA', 1e-12);
    assert.deepEqual(summary.distance, { unlearned: meanDistances([dist(1), dist(4)]), remaining: meanDistances([dist(2), dist(3)]) });
    assert.deepEqual(summary.tasks[0], {
      task: 1, unlearnedAfterTask: 2, accuracy: 0.1, retrainAccuracy: null, originalAccuracy: 0.6, accuracyGain: null, distance: dist(1),
      accuracyBeforeUnlearning: 0.7, unlearnedDrop: 0.7 - 0.05,
    });
    assert.deepEqual([summary.tasks[1]!.accuracyBeforeUnlearning, summary.tasks[1]!.unlearnedDrop], [null, null], 'a remaining task has no drop');
    assert.equal(summary.tasks[3]!.unlearnedDrop, 0.9 - 0.2);
    assert.equal(summary.unlearnedDrop, (0.7 - 0.05 + (0.9 - 0.2)) / 2);
    assert.equal(summary.tasks[1]!.retrainAccuracy, 0.75);
    assertClose(summary.tasks[1]!.accuracyGain!, 0.05, 'gain on task 2', 1e-12);
    assert.throws(
      () => summarizeUnlearning(new AccuracyMatrix([[0.9], [0.1, 0.8]]), { requests: [{ afterTask: 2, tasks: [1] }], retrain: { tasks: [1, 2], accuracy: [0.5, 0.5], distances: [dist(1), dist(2)] } }),
      /the retrain reference was trained on tasks \[1, 2\], but the remaining tasks are \[2\]/,
    );
  });

  it('a run without the accuracies before unlearning (a checkpoint of an older version) reports no drop', () => {
    const summary = summarizeUnlearning(new AccuracyMatrix([[0.9], [0.1, 0.8]]), { requests: [{ afterTask: 2, tasks: [1] }] });
    assert.equal(summary.tasks[0]!.unlearnedDrop, null);
    assert.equal(summary.unlearnedDrop, null);
  });
});

describe('BWT and forgetting over the remaining tasks', () => {
  // Task 2 is unlearned after task 3; task 1 and 3 remain.
  const acc = new AccuracyMatrix([[0.9], [0.8, 0.95], [0.7, 0.1, 0.85], [0.6, 0.2, 0.75, 0.9]]);
  const requests = [{ afterTask: 3, tasks: [2] }];

  it("leave an unlearned task's intended drop out from the step of its request on", () => {
    const b = remainingBwtCurve(acc, requests);
    assert.equal(b[0], null);
    assert.equal(b[1], 0.8 - 0.9, 'before the request task 2 counts like any other: only task 1 is earlier');
    assert.equal(b[2], 0.7 - 0.9, 'after task 3: task 2 is unlearned, task 1 alone');
    assert.equal(b[3], (0.6 - 0.9 + (0.75 - 0.85)) / 2, 'tasks 1 and 3');
    const f = remainingForgettingCurve(acc, requests);
    assert.deepEqual(f.slice(0, 2), [null, 0.9 - 0.8]);
    assert.equal(f[2], 0.9 - 0.7);
    assert.equal(f[3], (0.9 - 0.6 + (0.85 - 0.75)) / 2);
    // With every earlier task unlearned there is nothing to average.
    const alone = [{ afterTask: 2, tasks: [1] }];
    assert.deepEqual(remainingBwtCurve(new AccuracyMatrix([[0.9], [0.1, 0.8]]), alone), [null, null]);
    assert.deepEqual(remainingForgettingCurve(new AccuracyMatrix([[0.9], [0.1, 0.8]]), alone), [null, null]);
  });

  it('equal bwtCurve and forgettingCurve bit for bit without requests', () => {
    for (let trial = 0; trial < 20; trial++) {
      const size = 1 + (trial % 6);
      const rows = Array.from({ length: size }, (_, t) => Array.from({ length: t + 1 }, () => Math.random()));
      const m = new AccuracyMatrix(rows);
      assert.deepEqual(remainingBwtCurve(m, []), bwtCurve(m));
      assert.deepEqual(remainingForgettingCurve(m, []), forgettingCurve(m));
    }
  });

  it("summary.json: the run's BWT and forgetting cover the remaining tasks with unlearning, and are unchanged without", () => {
    const withUnlearning = buildSummary({ accuracy: acc, unlearning: { requests } });
    assert.equal(withUnlearning.bwt, (0.6 - 0.9 + (0.75 - 0.85)) / 2);
    assert.equal(withUnlearning.finalForgetting, (0.9 - 0.6 + (0.85 - 0.75)) / 2);
    assert.deepEqual(withUnlearning.bwtPerStep, remainingBwtCurve(acc, requests));
    assert.deepEqual(withUnlearning.forgetting, remainingForgettingCurve(acc, requests));
    const plain = buildSummary({ accuracy: acc });
    assert.equal(plain.bwt, bwt(acc));
    assert.equal(plain.finalForgetting, forgetting(acc));
    assert.deepEqual(plain.bwtPerStep, bwtCurve(acc));
    assert.deepEqual(plain.forgetting, forgettingCurve(acc));
    assert.notEqual(plain.bwt, withUnlearning.bwt);
  });
});
