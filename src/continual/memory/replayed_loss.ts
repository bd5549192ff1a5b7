// Scoring examples drawn from a memory with the current model. Each replayed
// example is scored by the head its paradigm gives it: TIL its own task's
// head, CIL the heads of every task seen so far (its target is a global
// class), DIL the one shared head.
import { crossEntropy } from '../../nn/functional.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { StepContext } from '../algorithms/algorithm.js';
import type { Paradigm, TaskId } from '../contracts/types.js';
import type { ContinualModel } from '../model/model.js';

/** Logits of some replayed rows, all scored by the head of `task`. */
export interface ReplayedGroup {
  readonly task: TaskId;
  /** The rows of the replayed batch in this group (int64), or null for all of them in order. */
  readonly rows: Tensor | null;
  readonly logits: Tensor;
}

/**
 * The replayed inputs `x` (of tasks `tasks`, one per row) through the backbone and the
 * heads that score them while `currentTask` is trained: one group per task
 * in TIL (in task order), one group of every row otherwise.
 */
export function replayedLogits(model: ContinualModel, paradigm: Paradigm, currentTask: TaskId, x: Tensor, tasks: readonly TaskId[]): ReplayedGroup[] {
  return replayedHeadLogits(model, paradigm, currentTask, model.backbone.forward(x).feature, tasks);
}

/**
 * The heads' part of replayedLogits, for a `feature` the caller computed
 * (ER's concatenated batch runs the backbone once over B ∪ B_M).
 */
export function replayedHeadLogits(model: ContinualModel, paradigm: Paradigm, currentTask: TaskId, feature: Tensor, tasks: readonly TaskId[]): ReplayedGroup[] {
  if (paradigm !== 'til') return [{ task: currentTask, rows: null, logits: model.heads.forward(feature, currentTask) }];
  const ids = [...new Set(tasks)].sort((a, b) => a - b);
  return ids.map((task) => {
    const rows = tensor(tasks.flatMap((t, row) => (t === task ? [row] : [])), { dtype: 'int64', device: feature.device });
    return { task, rows, logits: model.heads.forward(feature.indexSelect(0, rows), task) };
  });
}

/** The mean cross-entropy of a replayed batch under the current model. */
export function replayedCrossEntropy(ctx: Pick<StepContext, 'model' | 'paradigm' | 'task'>, replayed: { readonly x: Tensor; readonly targets: Tensor; readonly tasks: readonly TaskId[] }): Tensor {
  const groups = replayedLogits(ctx.model, ctx.paradigm, ctx.task, replayed.x, replayed.tasks);
  if (groups.length === 1 && groups[0]!.rows === null) return crossEntropy(groups[0]!.logits, replayed.targets);
  return summedCrossEntropy(groups, replayed.targets).div(replayed.x.shape[0]!);
}

/** The cross-entropy of replayed groups against `targets` (the replayed batch's), summed over the rows. */
export function summedCrossEntropy(groups: readonly ReplayedGroup[], targets: Tensor): Tensor {
  let total: Tensor | null = null;
  for (const { rows, logits } of groups) {
    const term = crossEntropy(logits, rows === null ? targets : targets.indexSelect(0, rows), { reduction: 'sum' });
    total = total === null ? term : total.add(term);
  }
  return total!;
}
