// The reference runs a configuration asks for (CLArena's full evaluation): an
// independent model per task, the untrained model, and one model trained on
// all tasks jointly, judged as the paradigm judges.
import type { ExperimentConfig } from '../../config/experiment.js';
import { noGrad } from '../../tensor/autograd.js';
import { manualSeed } from '../../tensor/random.js';
import { tidy } from '../../tensor/scope.js';
import { batches } from '../benchmarks/data.js';
import { evaluateTask } from '../training/evaluation.js';
import { ContinualModel } from '../model/model.js';
import { jointView, singleTaskView } from './benchmark_views.js';
import type { StopSignal } from '../training/trainer.js';
import type { ContinualBenchmark, Paradigm, TaskId } from '../contracts/types.js';
import { buildModel, trainSequence } from './sequence.js';

/** The results of the reference runs a configuration asked for, which FWT and the forgetting ratio compare against. */
export interface ReferenceResults {
  /** ã_{t,t} of a fresh model trained on task t alone. */
  independent?: number[];
  /** ã_{t,t} of the untrained model. */
  random?: number[];
  /** Accuracy on each task of one model trained on all tasks jointly. */
  joint?: number[];
}

/** Trains and tests the reference runs `config.reference` asks for (independent, random, joint) on `benchmark`. */
export function runReferences(config: ExperimentConfig, benchmark: ContinualBenchmark, log: (line: string) => void, signal?: StopSignal): ReferenceResults {
  const out: ReferenceResults = {};
  const tasks = Array.from({ length: benchmark.numTasks }, (_, i) => i + 1);
  if (config.reference.independent) {
    log('reference: an independent model per task');
    out.independent = tasks.map((t) => {
      manualSeed(config.seed + t);
      const view = singleTaskView(benchmark, t);
      const model = buildModel(config, view);
      try {
        return trainSequence(config, view, model, [], { firstTask: 1, globalStep: 0, accuracy: [], loss: [] }, { signal }).accuracy[0]![0]!;
      } finally {
        model.dispose();
      }
    });
  }
  if (config.reference.random) {
    log('reference: the untrained model');
    manualSeed(config.seed);
    const model = buildModel(config, benchmark);
    try {
      out.random = tasks.map((t) => {
        model.heads.setupTask(t, benchmark.numClasses(t));
        return evaluateTask(model, [], benchmark.task(t).test, t, config.training.evalBatchSize).accuracy;
      });
    } finally {
      model.dispose();
    }
  }
  if (config.reference.joint) {
    log('reference: one model trained on all tasks jointly');
    manualSeed(config.seed);
    const shared = config.paradigm === 'dil';
    const view = jointView(benchmark, shared);
    const model = buildModel(config, view, shared ? 'dil' : 'cil');
    try {
      trainSequence(config, view, model, [], { firstTask: 1, globalStep: 0, accuracy: [], loss: [] }, { signal });
      out.joint = tasks.map((t) => jointAccuracy(model, benchmark, t, config.paradigm, config.training.evalBatchSize));
    } finally {
      model.dispose();
      view.dispose();
    }
  }
  return out;
}

/**
 * Accuracy of the jointly trained model (one head over every class) on task
 * `task`, judged as the paradigm judges: TIL only among the task's own
 * classes, CIL among all classes, DIL on the shared labels.
 */
function jointAccuracy(model: ContinualModel, benchmark: ContinualBenchmark, task: TaskId, paradigm: Paradigm, batchSize: number): number {
  const data = benchmark.task(task).test;
  const offset = benchmark.classOffset(task);
  let correct = 0;
  model.eval();
  noGrad(() =>
    tidy(() => {
      for (const batch of batches(data, batchSize, { shuffle: false })) {
        tidy(() => {
          const logits = model.forward(batch.x, 1).logits;
          const predicted =
            paradigm === 'til' ? logits.narrow(1, offset, benchmark.numClasses(task)).argmax(1) : logits.argmax(1);
          const targets = paradigm === 'cil' ? batch.y.add(offset) : batch.y;
          correct += predicted.eq(targets).sum().item();
        });
        batch.x.dispose();
        batch.y.dispose();
      }
    }),
  );
  return correct / data.size;
}
