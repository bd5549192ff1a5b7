import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AccuracyMatrix,
  LossMatrix,
  averageAccuracies,
  averageAccuracy,
  bwt,
  bwtCurve,
  forgetting,
  forgettingCurve,
  forgettingPerTask,
  forgettingRatio,
  fwt,
} from '../../../src/continual/metrics/matrix.js';

// The worked example used throughout. Values are multiples of 1/8, so every
// sum below is exact in binary floating point and the expectations can be
// compared exactly.
//
//   after task 1:  a11 = 0.75
//   after task 2:  a21 = 0.875  a22 = 1       (task 1 improved while training task 2)
//   after task 3:  a31 = 0.25   a32 = 0.75   a33 = 1
function example(): AccuracyMatrix {
  return new AccuracyMatrix([[0.75], [0.875, 1], [0.25, 0.75, 1]]);
}

describe('AccuracyMatrix', () => {
  it('stores rows with 1-based (after task, test task) indices', () => {
    const acc = example();
    assert.equal(acc.numTasks, 3);
    assert.equal(acc.get(1, 1), 0.75);
    assert.equal(acc.get(2, 1), 0.875);
    assert.equal(acc.get(3, 2), 0.75);
    assert.deepEqual(acc.row(2), [0.875, 1]);
    assert.deepEqual(acc.toRows(), [[0.75], [0.875, 1], [0.25, 0.75, 1]]);
    assert.equal(acc.isComplete(), true);
  });

  it('fills cell by cell, a row at a time', () => {
    const acc = new AccuracyMatrix();
    acc.set(1, 1, 0.5);
    acc.set(2, 2, 0.25);
    assert.equal(acc.numTasks, 2);
    assert.equal(acc.has(2, 1), false);
    assert.equal(acc.isComplete(), false);
    assert.throws(() => acc.get(2, 1), { name: 'RangeError', message: 'accuracy matrix: a_{2,1} (task 1 after training task 2) has not been recorded' });
    assert.throws(() => averageAccuracy(acc, 2), { message: 'accuracy matrix: a_{2,1} (task 1 after training task 2) has not been recorded' });
    acc.set(2, 1, 0.125);
    assert.deepEqual(acc.row(2), [0.125, 0.25]);
  });

  it('rejects cells outside the lower triangle', () => {
    const acc = new AccuracyMatrix();
    const message = 'accuracy matrix: (1, 2) is not a cell of the lower triangle (tasks count from 1, test task <= trained task)';
    assert.throws(() => acc.set(1, 2, 0.5), { name: 'RangeError', message });
    assert.throws(() => acc.set(0, 0, 0.5), /\(0, 0\) is not a cell/);
    assert.throws(() => acc.set(1.5, 1, 0.5), /\(1\.5, 1\) is not a cell/);
    assert.throws(() => acc.row(1), { message: 'accuracy matrix: no row for task 1 (rows: 1..0)' });
  });

  it('rejects accuracies that are not fractions', () => {
    const acc = new AccuracyMatrix();
    assert.throws(() => acc.set(1, 1, 97.5), { message: 'accuracy matrix: a_{1,1} must be a fraction in [0, 1], got 97.5' });
    assert.throws(() => acc.set(1, 1, -0.1), /must be a fraction in \[0, 1\], got -0\.1/);
    assert.throws(() => acc.set(1, 1, NaN), /got NaN/);
  });

  it('rejects rows of the wrong length', () => {
    assert.throws(() => new AccuracyMatrix([[0.5], [0.5]]), {
      message: 'accuracy matrix: row 2 (after training task 2) has 1 value; expected 2',
    });
  });

  it('loss matrices accept any non-negative value, NaN and Infinity included', () => {
    const loss = new LossMatrix([[2.5], [Infinity, NaN]]);
    assert.equal(loss.get(2, 1), Infinity);
    assert.ok(Number.isNaN(loss.get(2, 2)));
    assert.throws(() => loss.set(1, 1, -1), { message: 'loss matrix: l_{1,1} must be >= 0 (or NaN/Infinity for a diverged model), got -1' });
  });
});

describe('average accuracy', () => {
  it('is the mean of a row', () => {
    const acc = example();
    // AA_1 = 0.75; AA_2 = (0.875 + 1) / 2 = 0.9375; AA_3 = (0.25 + 0.75 + 1) / 3 = 2/3.
    assert.equal(averageAccuracy(acc, 1), 0.75);
    assert.equal(averageAccuracy(acc, 2), 0.9375);
    assert.equal(averageAccuracy(acc, 3), 2 / 3);
    assert.equal(averageAccuracy(acc), 2 / 3);
    assert.deepEqual(averageAccuracies(acc), [0.75, 0.9375, 2 / 3]);
  });

  it('rejects tasks out of range and empty matrices', () => {
    assert.throws(() => averageAccuracy(example(), 4), { message: 'averageAccuracy: task 4 is out of range 1..3' });
    assert.throws(() => averageAccuracy(new AccuracyMatrix()), { message: 'averageAccuracy: the accuracy matrix has no rows' });
  });

  it('averages losses too', () => {
    // (1.5 + 0.5) / 2 = 1.
    assert.equal(averageAccuracy(new LossMatrix([[0.25], [1.5, 0.5]])), 1);
  });
});

describe('backward transfer', () => {
  it('uses the last row against the diagonal', () => {
    // BWT_3 = ((a31 − a11) + (a32 − a22)) / 2 = ((0.25 − 0.75) + (0.75 − 1)) / 2 = −0.375.
    assert.equal(bwt(example()), -0.375);
  });

  it('is defined from two tasks on (CLArena reports it only from three)', () => {
    // BWT_2 = a21 − a11 = 0.875 − 0.75 = 0.125: positive, task 1 improved.
    assert.equal(bwt(example(), 2), 0.125);
    assert.deepEqual(bwtCurve(example()), [null, 0.125, -0.375]);
  });

  it('is null, not NaN, with one task', () => {
    assert.equal(bwt(new AccuracyMatrix([[0.9]])), null);
    assert.equal(bwt(example(), 1), null);
  });
});

describe('forgetting', () => {
  it('measures each task against its best earlier accuracy', () => {
    // f_1^3 = max(a11, a21) − a31 = 0.875 − 0.25 = 0.625
    // f_2^3 = a22 − a32 = 1 − 0.75 = 0.25
    assert.deepEqual(forgettingPerTask(example()), [0.625, 0.25]);
    // F_3 = (0.625 + 0.25) / 2 = 0.4375, unlike −BWT_3 = 0.375, because task 1 peaked after task 2.
    assert.equal(forgetting(example()), 0.4375);
  });

  it('can be negative when a task improved', () => {
    // f_1^2 = a11 − a21 = 0.75 − 0.875 = −0.125.
    assert.equal(forgetting(example(), 2), -0.125);
    assert.deepEqual(forgettingCurve(example()), [null, -0.125, 0.4375]);
  });

  it('is null with one task', () => {
    assert.equal(forgetting(new AccuracyMatrix([[0.9]])), null);
    assert.deepEqual(forgettingPerTask(new AccuracyMatrix([[0.9]])), []);
  });
});

describe('forward transfer', () => {
  it('compares the diagonal with a per-task reference', () => {
    // FWT = ((a22 − ã22) + (a33 − ã33)) / 2 = ((1 − 0.875) + (1 − 0.75)) / 2 = 0.1875; ã11 is not used.
    assert.equal(fwt(example(), [0.5, 0.875, 0.75]), 0.1875);
  });

  it('reads the diagonal of a reference matrix', () => {
    const reference = new AccuracyMatrix([[0.5], [0, 0.875], [0, 0, 0.75]]);
    assert.equal(fwt(example(), reference), 0.1875);
  });

  it('can be evaluated after an earlier task', () => {
    // FWT_2 = a22 − ã22 = 1 − 0.875.
    assert.equal(fwt(example(), [0.5, 0.875, 0.75], 2), 0.125);
  });

  it('is null with one task and rejects a short reference', () => {
    assert.equal(fwt(new AccuracyMatrix([[0.9]]), [0.1]), null);
    assert.throws(() => fwt(example(), [0.5, 0.875]), { message: 'fwt: the reference has 2 tasks; task 3 is needed' });
    assert.throws(() => fwt(example(), new AccuracyMatrix([[0.5], [0.5, 0.5]])), { message: 'fwt: the reference matrix has 2 tasks; task 3 is needed' });
  });
});

describe('forgetting ratio (CLArena full evaluation)', () => {
  it('normalises the last row between random and joint accuracies', () => {
    // terms (a3t − r_t) / (J_t − r_t) with J = [1, 1, 1], r = [0.25, 0.5, 0.5]:
    //   (0.25 − 0.25) / 0.75 = 0,  (0.75 − 0.5) / 0.5 = 0.5,  (1 − 0.5) / 0.5 = 1
    // FR = (0 + 0.5 + 1) / 3 − 1 = −0.5.
    assert.equal(forgettingRatio(example(), [1, 1, 1], [0.25, 0.5, 0.5]), -0.5);
  });

  it('is 0 when the model matches joint training', () => {
    assert.equal(forgettingRatio(example(), [0.25, 0.75, 1], [0, 0, 0]), 0);
  });

  it('reads the last row of reference matrices', () => {
    const joint = new AccuracyMatrix([[0.5], [0.5, 0.5], [1, 1, 1]]);
    const random = new AccuracyMatrix([[0.9], [0.9, 0.9], [0.25, 0.5, 0.5]]);
    assert.equal(forgettingRatio(example(), joint, random), -0.5);
  });

  it('is defined with one task', () => {
    // (0.75 − 0.5) / (1 − 0.5) − 1 = −0.5.
    assert.equal(forgettingRatio(new AccuracyMatrix([[0.75]]), [1], [0.5]), -0.5);
  });

  it('is null when a joint accuracy equals the random one', () => {
    assert.equal(forgettingRatio(example(), [1, 0.5, 1], [0.25, 0.5, 0.5]), null);
  });

  it('rejects references that do not cover every task', () => {
    assert.throws(() => forgettingRatio(example(), [1, 1], [0, 0, 0]), { message: 'forgettingRatio (joint): the reference has 2 tasks; 3 are needed' });
  });
});
