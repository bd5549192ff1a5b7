// Testing a model on one task: accuracy and loss counted per sample (CLArena
// weighted each batch by a constant instead of its size; we count samples).
import { noGrad } from '../../tensor/autograd.js';
import { tidy } from '../../tensor/scope.js';
import { crossEntropy } from '../../nn/functional.js';
import type { Algorithm } from '../algorithms/algorithm.js';
import { batches } from '../benchmarks/data.js';
import { type ContinualModel, forwardWith } from '../model/model.js';
import type { TaskId, TensorDataset } from '../contracts/types.js';

/** A model's accuracy and mean loss on one task's data. */
export interface TaskScore {
  accuracy: number;
  loss: number;
}

/** Accuracy and mean cross-entropy of `model` on `data` of `task`, in eval mode; restores the mode. */
export function evaluateTask(model: ContinualModel, algorithms: readonly Algorithm[], data: TensorDataset, task: TaskId, batchSize: number): TaskScore {
  if (data.size === 0) throw new Error(`evaluateTask: task ${task} has no examples to test on`);
  const wasTraining = model.training;
  model.eval();
  let correct = 0;
  let lossSum = 0;
  try {
    // The outer scope owns the batches the generator makes; each batch is
    // freed as soon as it is scored.
    noGrad(() =>
      tidy(() => {
        for (const batch of batches(data, batchSize, { shuffle: false })) {
          tidy(() => {
            const { logits } = forwardWith(model, algorithms, batch.x, task);
            const targets = model.heads.targets(batch.y, task);
            correct += logits.argmax(1).eq(targets).sum().item();
            lossSum += crossEntropy(logits, targets, { reduction: 'sum' }).item();
          });
          batch.x.dispose();
          batch.y.dispose();
        }
      }),
    );
  } finally {
    model.train(wasTraining);
  }
  return { accuracy: correct / data.size, loss: lossSum / data.size };
}
