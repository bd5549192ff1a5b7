// Writing a run's results directory. Every file is written atomically
// (temporary file, fsync, rename), and the files are rewritten whole after
// each task, so a run that crashes leaves the complete results of the tasks
// it finished and never a half-written file.
import { join } from 'node:path';
import { writeFileAtomic } from '../../serialization/atomic.js';
import { accuracyCsv, lossCsv } from './csv.js';
import { type RunResults, type RunSummary, buildSummary, summaryJson } from './summary.js';
import { accuracyHeatmapSvg, averageAccuracyCurveSvg } from './svg.js';

export { accuracyCsv, csvNumber, lossCsv } from './csv.js';
export { type RunReferences, type RunResults, type RunSummary, buildSummary, formatJson, summaryJson } from './summary.js';
export {
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
} from './svg.js';
export { type LogLevel, RunLogger, formatLogLines } from './log.js';

/** File names inside a run directory. */
export const RESULT_FILES = Object.freeze({
  accuracyCsv: 'acc.csv',
  lossCsv: 'loss.csv',
  summary: 'summary.json',
  accuracyMatrixPlot: 'acc_matrix.svg',
  averageAccuracyPlot: 'average_accuracy.svg',
  log: 'run.log',
});

export interface WrittenResults {
  summary: RunSummary;
  /** Paths of the files written, in the order written. */
  files: string[];
}

/**
 * Writes acc.csv, loss.csv (when losses are given), summary.json and the two
 * plots into `dir` (created if needed).
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
  const files: string[] = [];
  for (const [name, content] of outputs) {
    const path = join(dir, name);
    writeFileAtomic(path, content);
    files.push(path);
  }
  return { summary, files };
}
