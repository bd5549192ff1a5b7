// The accuracy and loss tables in CLArena's CSV layout, so that tools written
// for CLArena's results read ours:
//
//   after_training_task,average_accuracy,test_on_task_1,...,test_on_task_T
//
// one row per trained task, cells above the diagonal left blank. Numbers are
// written in full (JavaScript's shortest round-trip form), so reading the CSV
// back gives exactly the values computed.
import { type TaskMatrix, averageAccuracy } from '../metrics/matrix.js';
import type { UnlearningSummary } from '../metrics/unlearning.js';

/** A number as written to CSV; non-finite losses use the spellings pandas reads. */
export function csvNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

function matrixCsv(matrix: TaskMatrix, averageColumn: string): string {
  const T = matrix.numTasks;
  const header = ['after_training_task', averageColumn, ...Array.from({ length: T }, (_, j) => `test_on_task_${j + 1}`)];
  const lines = [header.join(',')];
  for (let t = 1; t <= T; t++) {
    const row = matrix.row(t);
    const blanks = new Array<string>(T - t).fill('');
    lines.push([String(t), csvNumber(averageAccuracy(matrix, t)), ...row.map(csvNumber), ...blanks].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** acc.csv: `after_training_task,average_accuracy,test_on_task_1..T`. */
export function accuracyCsv(acc: TaskMatrix): string {
  return matrixCsv(acc, 'average_accuracy');
}

/** loss.csv: `after_training_task,average_loss,test_on_task_1..T`. */
export function lossCsv(loss: TaskMatrix): string {
  return matrixCsv(loss, 'average_loss');
}

/**
 * unlearning.csv: one row per task with the unlearned model's final accuracy,
 * the references' and the feature distances to the retrain reference; blank
 * where a value does not apply (no retrain accuracy for an unlearned task).
 */
export function unlearningCsv(summary: UnlearningSummary): string {
  const cell = (v: number | null): string => (v === null ? '' : csvNumber(v));
  const header = 'task,unlearned_after_task,accuracy,accuracy_retrain,accuracy_original,accuracy_gain,euclidean,cosine,manhattan,linear_cka,accuracy_before_unlearning,unlearned_drop';
  const lines = summary.tasks.map((r) =>
    [
      String(r.task),
      r.unlearnedAfterTask === null ? '' : String(r.unlearnedAfterTask),
      csvNumber(r.accuracy),
      cell(r.retrainAccuracy),
      cell(r.originalAccuracy),
      cell(r.accuracyGain),
      cell(r.distance?.euclidean ?? null),
      cell(r.distance?.cosine ?? null),
      cell(r.distance?.manhattan ?? null),
      cell(r.distance?.linearCka ?? null),
      cell(r.accuracyBeforeUnlearning),
      cell(r.unlearnedDrop),
    ].join(','),
  );
  return `${[header, ...lines].join('\n')}\n`;
}
