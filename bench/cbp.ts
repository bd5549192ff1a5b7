// CBP benchmark: one training epoch of one Permuted Fashion-MNIST task (60,000
// images), as the online plasticity experiment trains (MLP 784-W-W-W, W = 100
// by default, one shared 10-class head, batch 16, SGD lr 0.15, CBP with
// ρ = 1e-3, m = 100, η = 0.99), `perennial`'s trainer with the `cbp`
// algorithm against a plain PyTorch script doing the same algorithm
// (bench/cbp_torch.py), alternating, in fresh processes. The same epoch of
// plain backprop on both sides shows what CBP adds. Reports the median epoch
// wall and CPU times (the CPU time, user + system, is the steadier measure on a
// shared machine) and their ratios (PyTorch / ours: above 1 means we are faster).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import { createAlgorithms } from '../src/continual/algorithms/index.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { buildModel } from '../src/continual/experiment/sequence.js';
import { trainTask } from '../src/continual/training/trainer.js';
import { setNumThreads } from '../src/index.js';
import { manualSeed } from '../src/tensor/index.js';
import { disposeStateDict } from '../src/optim/optimizer.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';

const RHO = 1e-3;
type Which = 'cbp' | 'backprop';

function worker(which: Which, width: number): Sample {
  const config = loadExperiment(undefined, [
    'paradigm=dil', 'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, 'benchmark.numTasks=1', 'benchmark.validationFraction=0',
    `backbone.hiddenSizes=[${width},${width},${width}]`, 'training.epochs=1', 'training.batchSize=16', 'training.optimizer={name: sgd, lr: 0.15}', 'training.validateEveryEpoch=false',
    which === 'cbp' ? `algorithms=[{name: cbp, replacementRate: ${RHO}, maturityThreshold: 100, utilityDecay: 0.99}]` : 'algorithms=[{name: finetuning}]',
  ]);
  manualSeed(config.seed);
  const benchmark = createBenchmark({ ...config.benchmark, seed: config.seed });
  const model = buildModel(config, benchmark);
  const algorithms = createAlgorithms(config.algorithms);
  let start = 0;
  let end = 0;
  let cpuStart = process.cpuUsage();
  let cpu = { user: 0, system: 0 };
  let onlineAccuracy = 0;
  const result = trainTask(1, {
    model, benchmark, paradigm: 'dil', algorithms, training: config.training, seed: config.seed, globalStep: 0,
    observer: {
      epochStart: () => {
        start = performance.now();
        cpuStart = process.cpuUsage();
      },
      epochEnd: (_task, _epoch, summary) => {
        end = performance.now();
        cpu = process.cpuUsage(cpuStart);
        onlineAccuracy = summary.trainAccuracy;
      },
    },
  });
  disposeStateDict(result.optimizerState);
  for (const a of algorithms) a.dispose?.();
  model.dispose();
  benchmark.dispose();
  return { trainSeconds: (end - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, onlineAccuracy };
}

export function runCBPBenchmark(options: { repeats: number; threads: number; width: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'cbp_torch.py');
  const result: Record<string, unknown> = { benchmark: 'cbp', threads: options.threads, repeats: options.repeats, width: options.width, replacementRate: RHO };
  for (const which of ['cbp', 'backprop'] as const) {
    const ours: Sample[] = [];
    const theirs: Sample[] = [];
    for (let r = 0; r < options.repeats; r++) {
      ours.push(spawnJson(process.execPath, [self, '--worker', which, String(options.threads), String(options.width)], options.threads));
      theirs.push(spawnJson('/usr/bin/python3', [script, FASHION_MNIST_DIR, String(options.threads), String(options.width), which, String(RHO)], options.threads));
    }
    const pick = (s: Sample[], k: string): number => median(s.map((x) => x[k]!));
    const o = pick(ours, 'trainSeconds');
    const p = pick(theirs, 'trainSeconds');
    const oCpu = pick(ours, 'cpuSeconds');
    const pCpu = pick(theirs, 'cpuSeconds');
    result[which] = {
      wallSeconds: { ours: o, pytorch: p, ratio: p / o },
      cpuSeconds: { ours: oCpu, pytorch: pCpu, ratio: pCpu / oCpu },
      onlineAccuracy: { ours: pick(ours, 'onlineAccuracy'), pytorch: pick(theirs, 'onlineAccuracy') },
    };
  }
  return result;
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[4]));
  console.log(JSON.stringify(worker(process.argv[3] as Which, Number(process.argv[5]))));
}
