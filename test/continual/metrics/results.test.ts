import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AccuracyMatrix, LossMatrix } from '../../../src/continual/metrics/matrix.js';
import {
  RESULT_FILES,
  RunLogger,
  accuracyCsv,
  accuracyHeatmapSvg,
  averageAccuracyCurveSvg,
  buildSummary,
  formatJson,
  formatLogLines,
  lineChart,
  lossCsv,
  matrixHeatmapSvg,
  niceTicks,
  summaryJson,
  writeRunResults,
} from '../../../src/continual/results/index.js';
import { count, xmlProblems } from './xml.js';
import { tempDir } from '../../helpers.js';

// The worked example of matrix.test.ts (multiples of 1/8, exact sums).
function accuracy(): AccuracyMatrix {
  return new AccuracyMatrix([[0.75], [0.875, 1], [0.25, 0.75, 1]]);
}

function loss(): LossMatrix {
  return new LossMatrix([[0.5], [0.25, 0.125], [2, 1.5, 0.25]]);
}

describe('CSV', () => {
  it('writes the accuracy matrix in the CLArena layout with blank upper cells', () => {
    assert.equal(
      accuracyCsv(accuracy()),
      [
        'after_training_task,average_accuracy,test_on_task_1,test_on_task_2,test_on_task_3',
        '1,0.75,0.75,,',
        '2,0.9375,0.875,1,',
        '3,0.6666666666666666,0.25,0.75,1',
        '',
      ].join('\n'),
    );
  });

  it('writes the loss matrix with average_loss', () => {
    // Averages: 0.5; (0.25 + 0.125) / 2 = 0.1875; (2 + 1.5 + 0.25) / 3 = 1.25.
    assert.equal(
      lossCsv(loss()),
      [
        'after_training_task,average_loss,test_on_task_1,test_on_task_2,test_on_task_3',
        '1,0.5,0.5,,',
        '2,0.1875,0.25,0.125,',
        '3,1.25,2,1.5,0.25',
        '',
      ].join('\n'),
    );
  });

  it('spells non-finite losses as pandas reads them', () => {
    assert.equal(lossCsv(new LossMatrix([[Infinity], [NaN, 1]])), 'after_training_task,average_loss,test_on_task_1,test_on_task_2\n1,inf,inf,\n2,nan,nan,1\n');
  });

  it('refuses an incomplete matrix', () => {
    const acc = new AccuracyMatrix([[0.5]]);
    acc.set(2, 2, 0.5);
    assert.throws(() => accuracyCsv(acc), /a_\{2,1\} \(task 1 after training task 2\) has not been recorded/);
  });
});

describe('summary', () => {
  it('holds the metrics, curves and matrices', () => {
    const summary = buildSummary({ accuracy: accuracy(), loss: loss(), metadata: { seed: 7, algorithm: 'finetuning' } });
    assert.deepEqual(summary, {
      numTasks: 3,
      finalAverageAccuracy: 2 / 3,
      bwt: -0.375,
      finalForgetting: 0.4375,
      averageAccuracy: [0.75, 0.9375, 2 / 3],
      bwtPerStep: [null, 0.125, -0.375],
      forgetting: [null, -0.125, 0.4375],
      averageLoss: [0.5, 0.1875, 1.25],
      accuracy: [[0.75], [0.875, 1], [0.25, 0.75, 1]],
      loss: [[0.5], [0.25, 0.125], [2, 1.5, 0.25]],
      metadata: { seed: 7, algorithm: 'finetuning' },
    });
  });

  it('adds FWT and the forgetting ratio when references are given', () => {
    const summary = buildSummary({
      accuracy: accuracy(),
      references: { independent: [0.5, 0.875, 0.75], random: [0.25, 0.5, 0.5], joint: [1, 1, 1] },
    });
    // FWT vs independent = ((1 − 0.875) + (1 − 0.75)) / 2 = 0.1875;
    // FWT vs random = ((1 − 0.5) + (1 − 0.5)) / 2 = 0.5; FR = −0.5 (see matrix.test.ts).
    assert.deepEqual(summary.fwt, { independent: 0.1875, random: 0.5 });
    assert.equal(summary.forgettingRatio, -0.5);
    assert.deepEqual(summary.references, { joint: [1, 1, 1], independent: [0.5, 0.875, 0.75], random: [0.25, 0.5, 0.5] });
  });

  it('leaves out the forgetting ratio without both joint and random references', () => {
    const summary = buildSummary({ accuracy: accuracy(), references: { joint: [1, 1, 1] } });
    assert.equal('forgettingRatio' in summary, false);
    assert.equal('fwt' in summary, false);
  });

  it('writes undefined metrics of a one-task run as null', () => {
    const text = summaryJson(buildSummary({ accuracy: new AccuracyMatrix([[0.5]]), references: { independent: [0.25] } }));
    assert.equal(
      text,
      [
        '{',
        '  "numTasks": 1,',
        '  "finalAverageAccuracy": 0.5,',
        '  "bwt": null,',
        '  "finalForgetting": null,',
        '  "fwt": {',
        '    "independent": null',
        '  },',
        '  "averageAccuracy": [0.5],',
        '  "bwtPerStep": [null],',
        '  "forgetting": [null],',
        '  "accuracy": [',
        '    [0.5]',
        '  ],',
        '  "references": {',
        '    "independent": [0.25]',
        '  },',
        '  "metadata": {}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('formats JSON with lists of plain values on one line and NaN as null', () => {
    assert.equal(formatJson({ a: [1, NaN, 'x'], b: { c: [[1], []] }, d: undefined }), '{\n  "a": [1, null, "x"],\n  "b": {\n    "c": [\n      [1],\n      []\n    ]\n  }\n}');
  });
});

describe('SVG plots', () => {
  it('draws the accuracy matrix: one cell per value, value printed, axes labelled', () => {
    const svg = accuracyHeatmapSvg(accuracy());
    assert.deepEqual(xmlProblems(svg), []);
    assert.ok(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.equal(count(svg, '<rect class="cell"'), 6);
    for (const [t, j] of [[1, 1], [2, 1], [2, 2], [3, 1], [3, 2], [3, 3]]) {
      assert.equal(count(svg, `data-after-task="${t}" data-test-task="${j}"`), 1, `cell (${t}, ${j})`);
    }
    for (const value of ['0.750', '0.875', '1.000', '0.250']) assert.ok(svg.includes(`>${value}</text>`), value);
    assert.equal(count(svg, '>1.000</text>'), 2);
    assert.ok(svg.includes('>after training task</text>'));
    assert.ok(svg.includes('>test on task</text>'));
    assert.ok(svg.includes('<title>Accuracy matrix</title>'));
    // Exact values in the tooltips.
    assert.ok(svg.includes('<title>after training task 3, test on task 1: 0.25</title>'));
  });

  it('colours cells by value: white-green at 0, dark green with white text at 1', () => {
    const svg = accuracyHeatmapSvg(new AccuracyMatrix([[0], [0.5, 1]]));
    assert.match(svg, /data-after-task="1" data-test-task="1" [^>]*fill="#f7fcf5"/);
    assert.match(svg, /data-after-task="2" data-test-task="1" [^>]*fill="#74c476"/);
    assert.match(svg, /data-after-task="2" data-test-task="2" [^>]*fill="#00441b"/);
    assert.match(svg, /fill="#000000">0\.000<\/text>/);
    assert.match(svg, /fill="#ffffff">1\.000<\/text>/);
  });

  it('draws loss matrices on the domain given', () => {
    const svg = matrixHeatmapSvg(loss(), { domain: [0, 2], digits: 2 });
    assert.deepEqual(xmlProblems(svg), []);
    assert.ok(svg.includes('<title>Loss matrix</title>'));
    assert.ok(svg.includes('>2.00</text>'));
    assert.match(svg, /data-after-task="3" data-test-task="1" [^>]*fill="#00441b"/);
  });

  it('draws the average-accuracy curve with a point per task', () => {
    const svg = averageAccuracyCurveSvg(accuracy());
    assert.deepEqual(xmlProblems(svg), []);
    assert.equal(count(svg, '<circle class="point"'), 3);
    assert.equal(count(svg, '<path class="line"'), 1);
    assert.ok(svg.includes('>after training task</text>'));
    assert.ok(svg.includes('>average accuracy</text>'));
    assert.ok(svg.includes('average accuracy: x = 2, y = 0.9375'));
    // Ticks: tasks 1..3 on x, 0..1 by 0.2 on y.
    for (const tick of ['>1</text>', '>2</text>', '>3</text>', '>0.0</text>', '>0.2</text>', '>1.0</text>']) assert.ok(svg.includes(tick), tick);
  });

  it('breaks lines at missing values and escapes text', () => {
    const svg = lineChart(
      [
        { name: 'a & b', points: [{ x: 1, y: 0.5 }, { x: 2, y: null }, { x: 3, y: 0.25 }, { x: 4, y: 0.75 }] },
        { name: '<forgetting>', points: [{ x: 1, y: null }, { x: 2, y: 0.125 }, { x: 3, y: 0.25 }, { x: 4, y: 0.5 }] },
      ],
      { title: 'Metrics "per" task', xLabel: 'task', yLabel: 'value' },
    );
    assert.deepEqual(xmlProblems(svg), []);
    assert.equal(count(svg, '<circle class="point"'), 6);
    // Series 1: a single point then a segment from 3 to 4; series 2: one segment of three points.
    assert.equal(count(svg, '<path class="line"'), 2);
    assert.ok(svg.includes('<title>Metrics &quot;per&quot; task</title>'));
    assert.ok(svg.includes('>a &amp; b</text>'));
    assert.ok(svg.includes('>&lt;forgetting&gt;</text>'));
    assert.equal(count(svg, 'class="legend"'), 1);
  });

  it('is deterministic', () => {
    assert.equal(averageAccuracyCurveSvg(accuracy()), averageAccuracyCurveSvg(accuracy()));
  });

  it('chooses round ticks', () => {
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    // raw step 0.074 rounds up to 0.1.
    assert.deepEqual(niceTicks(0, 0.37), [0, 0.1, 0.2, 0.3]);
    assert.deepEqual(niceTicks(-1, 1.5, 5), [-1, -0.5, 0, 0.5, 1, 1.5]);
    assert.deepEqual(niceTicks(3, 3), [3]);
  });
});

describe('writeRunResults', () => {
  it('writes every file atomically and leaves no temporary file', () => {
    const dir = join(tempDir('results-'), 'run');
    const { files, summary } = writeRunResults(dir, { accuracy: accuracy(), loss: loss(), metadata: { seed: 1 } });
    assert.deepEqual(files, ['acc.csv', 'loss.csv', 'summary.json', 'acc_matrix.svg', 'average_accuracy.svg'].map((f) => join(dir, f)));
    assert.deepEqual(readdirSync(dir).sort(), ['acc.csv', 'acc_matrix.svg', 'average_accuracy.svg', 'loss.csv', 'summary.json']);
    assert.equal(readFileSync(join(dir, RESULT_FILES.accuracyCsv), 'utf8'), accuracyCsv(accuracy()));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, RESULT_FILES.summary), 'utf8')), JSON.parse(JSON.stringify(summary)));
    assert.equal(summary.finalAverageAccuracy, 2 / 3);
  });

  it('rewrites the files after each task', () => {
    const dir = tempDir('results-');
    const acc = new AccuracyMatrix([[0.5]]);
    writeRunResults(dir, { accuracy: acc });
    acc.set(2, 1, 0.25);
    acc.set(2, 2, 0.75);
    writeRunResults(dir, { accuracy: acc });
    assert.equal(readFileSync(join(dir, 'acc.csv'), 'utf8'), 'after_training_task,average_accuracy,test_on_task_1,test_on_task_2\n1,0.5,0.5,\n2,0.5,0.25,0.75\n');
    assert.deepEqual(readdirSync(dir).sort(), ['acc.csv', 'acc_matrix.svg', 'average_accuracy.svg', 'summary.json']);
  });

  it('writes nothing when the results are invalid', () => {
    const dir = join(tempDir('results-'), 'never');
    const acc = new AccuracyMatrix();
    acc.set(2, 2, 0.5);
    assert.throws(() => writeRunResults(dir, { accuracy: acc }), /has not been recorded/);
    assert.throws(() => readdirSync(dir), { code: 'ENOENT' });
  });
});

describe('RunLogger', () => {
  it('appends timestamped lines', () => {
    const path = join(tempDir('results-'), 'sub', 'run.log');
    let ms = Date.UTC(2024, 4, 1, 12, 0, 0);
    const logger = new RunLogger(path, () => new Date(ms));
    logger.info('starting');
    ms += 1500;
    logger.warn('slow\ntwo lines');
    logger.error('stopped');
    assert.equal(
      readFileSync(path, 'utf8'),
      [
        '2024-05-01T12:00:00.000Z INFO  starting',
        '2024-05-01T12:00:01.500Z WARN  slow',
        '2024-05-01T12:00:01.500Z WARN  two lines',
        '2024-05-01T12:00:01.500Z ERROR stopped',
        '',
      ].join('\n'),
    );
    // A second logger on the same file continues it.
    new RunLogger(path, () => new Date(ms)).info('resumed');
    assert.equal(readFileSync(path, 'utf8').split('\n').length, 6);
  });

  it('formats one line per message line', () => {
    assert.equal(formatLogLines(new Date(0), 'info', 'a\n\nb'), '1970-01-01T00:00:00.000Z INFO  a\n1970-01-01T00:00:00.000Z INFO\n1970-01-01T00:00:00.000Z INFO  b\n');
  });
});
