// The retrain reference's view of the benchmark, and the unlearning files a
// run writes: unlearning.csv, the original reference's table, the plots and
// the summary.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TaskMatrix } from '../../../src/continual/metrics/matrix.js';
import type { UnlearningResults } from '../../../src/continual/metrics/unlearning.js';
import { subsequenceView } from '../../../src/continual/experiment/benchmark_views.js';
import { writeRunResults } from '../../../src/continual/results/index.js';
import type { ContinualBenchmark, TaskSplits } from '../../../src/continual/contracts/types.js';
import { xmlProblems } from '../metrics/xml.js';
import { tempDir } from '../../helpers.js';

describe('subsequenceView', () => {
  it("maps its task i to the kept task kept[i − 1], with class offsets over the kept tasks only", () => {
    const splits = [1, 2, 3, 4, 5].map(() => ({}) as TaskSplits);
    const benchmark: ContinualBenchmark = {
      name: 'split',
      numTasks: 5,
      inputShape: [1, 2, 2],
      numClasses: (t) => t + 1,
      classOffset: () => assert.fail('the view counts its own offsets'),
      task: (t) => splits[t - 1]!,
      dispose: () => assert.fail('the view does not own the data'),
    };
    const view = subsequenceView(benchmark, [2, 4, 5]);
    assert.equal(view.numTasks, 3);
    assert.equal(view.name, 'split[tasks 2, 4, 5]');
    assert.deepEqual([1, 2, 3].map((i) => view.numClasses(i)), [3, 5, 6]);
    assert.deepEqual([1, 2, 3].map((i) => view.classOffset(i)), [0, 3, 8]);
    assert.equal(view.task(2), splits[3]);
    view.dispose();
    assert.throws(() => view.task(4), /split\[tasks 2, 4, 5\]: no task 4 \(it has tasks 1\.\.3\)/);
    assert.equal(subsequenceView(benchmark, []).numTasks, 0);
  });
});

describe('unlearning results files', () => {
  const accuracy = new TaskMatrix('accuracy', [[0.75], [0.125, 0.5], [0.25, 0.625, 0.875]]);
  const distance = { euclidean: 1.5, cosine: 0.25, manhattan: 6, linearCka: 0.75 };

  it('writes unlearning.csv, its plots and the original reference, and puts the table in summary.json', () => {
    const dir = tempDir('unlearning-results-');
    const unlearning: UnlearningResults = {
      requests: [{ afterTask: 2, tasks: [1] }],
      beforeUnlearning: [{ task: 1, accuracy: 0.5 }],
      retrain: { tasks: [2, 3], accuracy: [0.5, 0.75], distances: [distance, { ...distance, linearCka: null }, distance] },
      original: [[0.75], [0.5, 0.5], [0.5, 0.5, 0.5]],
    };
    const { summary } = writeRunResults(dir, { accuracy, unlearning });
    assert.deepEqual(readdirSync(dir).sort(), [
      'acc.csv', 'acc_matrix.svg', 'acc_matrix_original.svg', 'acc_original.csv', 'average_accuracy.svg', 'summary.json', 'unlearning.csv', 'unlearning_accuracy.svg', 'unlearning_distance.svg',
    ]);
    assert.equal(
      readFileSync(join(dir, 'unlearning.csv'), 'utf8'),
      [
        'task,unlearned_after_task,accuracy,accuracy_retrain,accuracy_original,accuracy_gain,euclidean,cosine,manhattan,linear_cka,accuracy_before_unlearning,unlearned_drop',
        // Task 1: 0.5 just before the request after task 2, a_{2,1} = 0.125 just after.
        '1,2,0.25,,0.5,,1.5,0.25,6,0.75,0.5,0.375',
        '2,,0.625,0.5,0.5,0.125,1.5,0.25,6,,,',
        '3,,0.875,0.75,0.5,0.125,1.5,0.25,6,0.75,,',
        '',
      ].join('\n'),
    );
    assert.equal(readFileSync(join(dir, 'acc_original.csv'), 'utf8').split('\n')[3], '3,0.5,0.5,0.5,0.5');
    const json = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    assert.equal(json.unlearning.accuracyGain, 0.125);
    assert.deepEqual(json.unlearning.unlearnedTasks, [1]);
    assert.equal(json.unlearning.unlearnedDrop, 0.375);
    // BWT over the remaining task 2 only: a_{3,2} − a_{2,2}; task 1's fall is the drop.
    assert.equal(json.bwt, 0.625 - 0.5);
    assert.deepEqual(json.unlearning, JSON.parse(JSON.stringify(summary.unlearning)));
    for (const plot of ['unlearning_accuracy.svg', 'unlearning_distance.svg', 'acc_matrix_original.svg']) {
      assert.deepEqual(xmlProblems(readFileSync(join(dir, plot), 'utf8')), [], plot);
    }
    const accuracyPlot = readFileSync(join(dir, 'unlearning_accuracy.svg'), 'utf8');
    for (const series of ['unlearned model', 'retrain reference', 'original reference']) assert.ok(accuracyPlot.includes(`data-name="${series}"`), series);
    assert.ok(accuracyPlot.includes('AG 0.1250'));
  });

  it('before the references exist (during the run), writes the requests executed so far without reference columns or distance plot', () => {
    const dir = tempDir('unlearning-results-');
    writeRunResults(dir, { accuracy, unlearning: { requests: [{ afterTask: 2, tasks: [1] }] } });
    assert.ok(!readdirSync(dir).includes('unlearning_distance.svg'));
    assert.equal(readFileSync(join(dir, 'unlearning.csv'), 'utf8').split('\n')[1], '1,2,0.25,,,,,,,,,');
  });
});
