// `perennial run` writes report.html into the run directory after each task,
// and a report that cannot be written costs the run nothing else.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../src/config/index.js';
import '../../src/continual/index.js';
import { RunInterruptedError, runExperiment } from '../../src/continual/experiment/run.js';
import { RESULT_FILES, type RunSummary } from '../../src/continual/results/index.js';
import type { ReportData } from '../../src/report/data.js';
import { tempDir } from '../helpers.js';
import { reportDataOf } from './fixtures.js';

const QUICK = ['benchmark.numTasks=3', 'benchmark.trainLimit=200', 'backbone.hiddenSizes=[16]', 'training.epochs=1'];

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

describe('the report of a run', () => {
  it('is written after each task: a run stopped after task 1 leaves a report of that task', () => {
    const runDir = join(tempDir('run-report-'), 'run');
    const stop = { aborted: false, reason: 'the test' };
    const seen: ReportData[] = [];
    assert.throws(
      () =>
        runExperiment({
          config: loadExperiment(undefined, QUICK),
          runDir,
          signal: stop,
          onTaskEnd: () => {
            seen.push(reportDataOf(readFileSync(join(runDir, RESULT_FILES.report), 'utf8')));
            stop.aborted = true;
          },
        }),
      RunInterruptedError,
    );
    assert.equal(seen.length, 1, 'the report was there when task 1 ended');
    const data = reportDataOf(readFileSync(join(runDir, RESULT_FILES.report), 'utf8'));
    const summary = readJson<RunSummary>(join(runDir, RESULT_FILES.summary));
    assert.equal(data.runs.length, 1);
    const [run] = data.runs;
    assert.deepEqual(run!.accuracy, summary.accuracy, "the report's matrix is summary.json's");
    assert.equal(run!.accuracy.length, 1, 'one task');
    assert.equal(run!.unfinished, '1 of 3 tasks finished');
    assert.equal(run!.metrics.averageAccuracy, summary.finalAverageAccuracy);
    assert.deepEqual(run!.config, readJson(join(runDir, 'config.json')), 'the configuration is config.json');
    assert.equal(run!.dir, '.', 'the run directory is where the report is');
    assert.equal(data.title, 'run');
    assert.deepEqual(data.groups, [], 'an unfinished run is not aggregated');
  });

  it('a report that cannot be written is logged, and the run and its other results go on', () => {
    const runDir = join(tempDir('run-report-blocked-'), 'run');
    // A directory where the report should go: writing it fails after each task.
    mkdirSync(join(runDir, RESULT_FILES.report), { recursive: true });
    const result = runExperiment({ config: loadExperiment(undefined, QUICK), runDir });
    assert.equal(result.summary.numTasks, 3, 'every task was trained');
    assert.deepEqual(readJson<RunSummary>(join(runDir, RESULT_FILES.summary)).accuracy, result.accuracy, 'summary.json is complete');
    assert.equal(readFileSync(join(runDir, RESULT_FILES.accuracyCsv), 'utf8').trimEnd().split('\n').length, 4, 'acc.csv: a header and a row per task');
    const warnings = readFileSync(join(runDir, RESULT_FILES.log), 'utf8')
      .split('\n')
      .filter((line) => line.includes('report.html was not written'));
    // After each of the three tasks and once more with the final results.
    assert.equal(warnings.length, 4, warnings.join('\n'));
    assert.match(warnings[0]!, / WARN  report.html was not written .*a directory is in the way.*`perennial report .*run` makes the page from them/);
    assert.ok(existsSync(join(runDir, 'checkpoints', 'task_3.safetensors')), 'the checkpoints were written');
  });
});
