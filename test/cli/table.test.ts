import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAccuracyMatrix, formatRunSummary, formatSummary, formatTable } from '../../src/cli/table.js';
import { AccuracyMatrix, LossMatrix } from '../../src/continual/metrics/matrix.js';
import { buildSummary } from '../../src/continual/results/summary.js';

// The worked example of test/continual/metrics/matrix.test.ts.
function accuracy(): AccuracyMatrix {
  return new AccuracyMatrix([[0.75], [0.875, 1], [0.25, 0.75, 1]]);
}

describe('formatTable', () => {
  it('aligns columns under a rule', () => {
    assert.equal(formatTable(['a', 'long header'], [['xyz', '1'], ['w', '22']], ['left', 'right']), ['a    long header', '---  -----------', 'xyz            1', 'w             22'].join('\n'));
  });
});

describe('formatAccuracyMatrix', () => {
  it('shows rows after each task with the average and blank upper cells', () => {
    assert.equal(
      formatAccuracyMatrix(accuracy()),
      [
        'after task  average  task 1  task 2  task 3',
        '----------  -------  ------  ------  ------',
        '         1   0.7500  0.7500',
        '         2   0.9375  0.8750  1.0000',
        '         3   0.6667  0.2500  0.7500  1.0000',
      ].join('\n'),
    );
  });

  it('can show percentages, and marks missing cells', () => {
    const acc = new AccuracyMatrix([[0.5]]);
    acc.set(2, 2, 0.25);
    assert.equal(
      formatAccuracyMatrix(acc, { percent: true, digits: 1 }),
      ['after task  average  task 1  task 2', '----------  -------  ------  ------', '         1     50.0    50.0', '         2        ?       ?    25.0'].join('\n'),
    );
  });

  it('labels the average of a loss matrix', () => {
    assert.equal(formatAccuracyMatrix(new LossMatrix([[2.5]]), { digits: 2 }), ['after task  avg loss  task 1', '----------  --------  ------', '         1      2.50    2.50'].join('\n'));
  });
});

describe('formatSummary', () => {
  it('lists the headline metrics with signs on transfers', () => {
    const summary = buildSummary({ accuracy: accuracy(), references: { independent: [0.5, 0.875, 0.75], random: [0.25, 0.5, 0.5], joint: [1, 1, 1] } });
    assert.equal(
      formatSummary(summary),
      [
        'tasks                                  3',
        'average accuracy (AA)                  0.6667',
        'backward transfer (BWT)                -0.3750',
        'forgetting (F)                         0.4375',
        'forward transfer (FWT) vs independent  +0.1875',
        'forward transfer (FWT) vs random       +0.5000',
        'forgetting ratio (FR)                  -0.5000',
      ].join('\n'),
    );
  });

  it('says n/a for metrics undefined with one task', () => {
    assert.equal(
      formatSummary(buildSummary({ accuracy: new AccuracyMatrix([[0.5]]) })),
      ['tasks                    1', 'average accuracy (AA)    0.5000', 'backward transfer (BWT)  n/a (needs 2 or more tasks)', 'forgetting (F)           n/a (needs 2 or more tasks)'].join('\n'),
    );
  });

  it('puts the matrix and the metrics together', () => {
    const summary = buildSummary({ accuracy: new AccuracyMatrix([[1], [0.5, 1]]) });
    assert.equal(
      formatRunSummary(summary, { digits: 2 }),
      [
        'accuracy matrix (rows: after training task t; columns: test on task j)',
        'after task  average  task 1  task 2',
        '----------  -------  ------  ------',
        '         1     1.00    1.00',
        '         2     0.75    0.50    1.00',
        '',
        'tasks                    2',
        'average accuracy (AA)    0.75',
        'backward transfer (BWT)  -0.50',
        'forgetting (F)           0.50',
      ].join('\n'),
    );
  });
});
