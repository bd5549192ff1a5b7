// The references of a run with unlearning requests: the same run without
// requests (original), and the tasks never unlearned trained from the same
// seed (retrain), compared with the unlearned model by feature distances.
import type { AlgorithmConfig, ExperimentConfig } from '../../config/experiment.js';
import { noGrad } from '../../tensor/autograd.js';
import { manualSeed } from '../../tensor/random.js';
import { cat } from '../../tensor/functions.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { createAlgorithms } from '../algorithms/index.js';
import { batches } from '../benchmarks/data.js';
import { ContinualModel } from '../model/model.js';
import { subsequenceView } from './benchmark_views.js';
import type { StopSignal } from '../training/trainer.js';
import { type UnlearningRequestRecord, type UnlearningResults, featureDistances } from '../metrics/unlearning.js';
import type { ContinualBenchmark, TensorDataset } from '../contracts/types.js';
import { buildModel, trainSequence } from './sequence.js';

function withoutUnlearning(configs: readonly AlgorithmConfig[]): AlgorithmConfig[] {
  return configs.map((c) => ('disableUnlearning' in c ? { ...c, disableUnlearning: true } : c));
}

/** The backbone's features of `data`, [N, D], in eval mode (the mode is restored). */
function backboneFeatures(model: ContinualModel, data: TensorDataset, batchSize: number): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() =>
      tidy(() => {
        const parts: Tensor[] = [];
        for (const batch of batches(data, batchSize, { shuffle: false })) {
          parts.push(tidy(() => model.backbone.forward(batch.x).feature));
          batch.x.dispose();
          batch.y.dispose();
        }
        return cat(parts);
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

/**
 * The references of a run with unlearning requests (each on unless the
 * configuration turns it off): `original`, the same configuration without
 * requests; `retrain`, the same configuration trained on the tasks that are
 * never unlearned, in order, from the same seed, compared with the unlearned
 * model `unlearned` on every task's test data.
 */
export function runUnlearningReferences(
  config: ExperimentConfig,
  benchmark: ContinualBenchmark,
  unlearned: ContinualModel,
  requests: readonly UnlearningRequestRecord[],
  log: (line: string) => void,
  signal?: StopSignal,
): UnlearningResults {
  const out: UnlearningResults = { requests };
  const fresh = { firstTask: 1, globalStep: 0, accuracy: [], loss: [] };
  const referenceRun = <T>(view: ContinualBenchmark, use: (model: ContinualModel, accuracy: number[][]) => T): T => {
    manualSeed(config.seed);
    const model = buildModel(config, view);
    const algorithms = createAlgorithms(withoutUnlearning(config.algorithms));
    try {
      return use(model, trainSequence(config, view, model, algorithms, fresh, { signal }).accuracy);
    } finally {
      for (const a of algorithms) a.dispose?.();
      model.dispose();
    }
  };
  if (config.reference.original ?? true) {
    log('reference: the same run without unlearning (original)');
    out.original = referenceRun(benchmark, (_, accuracy) => accuracy);
  }
  if (config.reference.retrain ?? true) {
    const gone = new Set(requests.flatMap((r) => r.tasks));
    const kept = Array.from({ length: benchmark.numTasks }, (_, i) => i + 1).filter((t) => !gone.has(t));
    log(`reference: retrained on the tasks never unlearned (${kept.length === 0 ? 'none: the untrained model' : kept.join(', ')})`);
    out.retrain = referenceRun(subsequenceView(benchmark, kept), (model, accuracy) => ({
      tasks: kept,
      accuracy: kept.length === 0 ? [] : accuracy[kept.length - 1]!,
      distances: Array.from({ length: benchmark.numTasks }, (_, j) =>
        tidy(() => {
          const data = benchmark.task(j + 1).test;
          return featureDistances(backboneFeatures(unlearned, data, config.training.evalBatchSize), backboneFeatures(model, data, config.training.evalBatchSize));
        }),
      ),
    }));
  }
  return out;
}
