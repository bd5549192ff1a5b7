// Writing a run's results directory. Every file is written atomically
// (temporary file, fsync, rename), and the files are rewritten whole after
// each task, so a run that crashes leaves the complete results of the tasks
// it finished and never a half-written file.
import { join } from 'node:path';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { TaskMatrix } from '../metrics/matrix.js';
import { accuracyCsv, lossCsv, unlearningCsv } from './csv.js';
import { type RunResults, type RunSummary, buildSummary, summaryJson } from './summary.js';
import { accuracyHeatmapSvg, averageAccuracyCurveSvg, unlearningAccuracySvg, unlearningDistanceSvg } from './svg.js';

export { accuracyCsv, csvNumber, lossCsv, unlearningCsv } from './csv.js';
export { type RunReferences, type RunResults, type RunSummary, buildSummary, formatJson, summaryJson } from './summary.js';
export {
  type BandPoint,
  type HeatmapOptions,
  type LineChartOptions,
  type LinePoint,
  type LineSeries,
  accuracyHeatmapSvg,
  averageAccuracyCurveSvg,
  escapeXml,
  lineChart,
  matrixHeatmapSvg,
  niceTicks,
  unlearningAccuracySvg,
  unlearningDistanceSvg,
} from './svg.js';
export { type LogLevel, RunLogger, formatLogLines } from './log.js';
export { withResumeHint } from './stopped.js';

/** File names inside a run directory. */
export const RESULT_FILES = Object.freeze({
  accuracyCsv: 'acc.csv',
  lossCsv: 'loss.csv',
  summary: 'summary.json',
  accuracyMatrixPlot: 'acc_matrix.svg',
  averageAccuracyPlot: 'average_accuracy.svg',
  log: 'run.log',
  unlearningCsv: 'unlearning.csv',
  unlearningAccuracyPlot: 'unlearning_accuracy.svg',
  unlearningDistancePlot: 'unlearning_distance.svg',
  originalAccuracyCsv: 'acc_original.csv',
  originalAccuracyMatrixPlot: 'acc_matrix_original.svg',
  /** The run's HTML report (src/report/), written by the runner after the files above. */
  report: 'report.html',
});

/** What writeRunResults wrote. */
export interface WrittenResults {
  summary: RunSummary;
  /** Paths of the files written, in the order written. */
  files: string[];
}

/**
 * Writes acc.csv, loss.csv (when losses are given), summary.json and the two
 * plots into `dir` (created if needed); with unlearning, also unlearning.csv
 * and its accuracy plot, the distance plot (with the retrain reference) and
 * the original reference's accuracy table and heatmap.
 */
export function writeRunResults(dir: string, results: RunResults): WrittenResults {
  const summary = buildSummary(results);
  const outputs: [string, string][] = [[RESULT_FILES.accuracyCsv, accuracyCsv(results.accuracy)]];
  if (results.loss !== undefined) outputs.push([RESULT_FILES.lossCsv, lossCsv(results.loss)]);
  outputs.push(
    [RESULT_FILES.summary, summaryJson(summary)],
    [RESULT_FILES.accuracyMatrixPlot, accuracyHeatmapSvg(results.accuracy)],
    [RESULT_FILES.averageAccuracyPlot, averageAccuracyCurveSvg(results.accuracy)],
  );
  if (summary.unlearning !== undefined) {
    outputs.push([RESULT_FILES.unlearningCsv, unlearningCsv(summary.unlearning)], [RESULT_FILES.unlearningAccuracyPlot, unlearningAccuracySvg(summary.unlearning)]);
    if (summary.unlearning.distance !== null) outputs.push([RESULT_FILES.unlearningDistancePlot, unlearningDistanceSvg(summary.unlearning)]);
    const original = results.unlearning?.original;
    if (original !== undefined) {
      const matrix = new TaskMatrix('accuracy', original);
      outputs.push([RESULT_FILES.originalAccuracyCsv, accuracyCsv(matrix)], [RESULT_FILES.originalAccuracyMatrixPlot, accuracyHeatmapSvg(matrix, { title: 'Accuracy matrix of the original reference (no unlearning)' })]);
    }
  }
  const files: string[] = [];
  for (const [name, content] of outputs) {
    const path = join(dir, name);
    writeFileAtomic(path, content);
    files.push(path);
  }
  return { summary, files };
}
