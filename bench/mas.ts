// MAS benchmark, two measurements against plain PyTorch (bench/mas_torch.py),
// alternating in fresh processes, medians and spread reported:
//
// epoch       one training epoch of task 2 of Permuted Fashion-MNIST (60,000
//             images, MLP 784-256-256-10 with task-incremental heads, batch 64,
//             SGD lr 0.01) with the MAS penalty λ Σ Ω (θ − θ*)² active. Ω and θ*
//             (backbone and head 1) are random positive values and values near
//             the initial parameters, on both sides: the timed work per step is
//             the same as after a real first task.
// importance  the importance pass Ω^t = (1/N) Σ_n |∇‖F(x_n)‖²| of the same
//             network over N seeded random inputs (default 10,000) in batches of
//             64: ours (MAS's own pass: one batched backward per batch, closed
//             forms) against PyTorch's one-sample-at-a-time loop. The two Ω are
//             compared through raw float32 files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import { instantiate } from '../src/continual/algorithms/definition.js';
import { masDefinition } from '../src/continual/algorithms/mas.js';
import { createBenchmark } from '../src/continual/benchmarks/index.js';
import { instantiateBackbone, mlpDefinition } from '../src/continual/backbones/index.js';
import { buildModel } from '../src/continual/experiment/sequence.js';
import { createHeads } from '../src/continual/model/heads.js';
import { ContinualModel } from '../src/continual/model/model.js';
import { type TrainingObserver, trainTask } from '../src/continual/training/trainer.js';
import type { ContinualBenchmark } from '../src/continual/contracts/types.js';
import { setNumThreads } from '../src/index.js';
import { SGD } from '../src/optim/sgd.js';
import { disposeStateDict } from '../src/optim/optimizer.js';
import { noGrad } from '../src/tensor/autograd.js';
import { rand, randint, randn, tensor } from '../src/tensor/creation.js';
import { manualSeed } from '../src/tensor/index.js';
import { tidy } from '../src/tensor/scope.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';

const LAMBDA = 0.1;
const BATCH = 64;

function config() {
  return loadExperiment(undefined, [
    'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, 'benchmark.numTasks=2', 'benchmark.validationFraction=0',
    'paradigm=til', 'backbone.hiddenSizes=[256,256]', 'training.epochs=1', `training.batchSize=${BATCH}`, 'training.optimizer={name: sgd, lr: 0.01}', 'training.validateEveryEpoch=false',
  ]);
}

function epochWorker(): Sample {
  const cfg = config();
  manualSeed(cfg.seed);
  const benchmark = createBenchmark({ ...cfg.benchmark, seed: cfg.seed });
  const model = buildModel(cfg, benchmark);
  model.heads.setupTask(1, benchmark.numClasses(1));
  const mas = instantiate(masDefinition, { lambda: LAMBDA });
  // Ω and θ* as after task 1, through the checkpoint path.
  const tensors: Record<string, Tensor> = {};
  const named = model.namedParameters();
  noGrad(() => {
    for (const [name, p] of named) {
      tensors[`importance.${name}`] = rand(p.shape).mul(1e-3);
      tensors[`anchor.${name}`] = p.add(randn(p.shape).mul(0.01));
    }
  });
  mas.loadState({ tensors, values: { parameters: named.map(([name]) => name) } });
  for (const t of Object.values(tensors)) t.dispose();
  let start = 0;
  let end = 0;
  const observer: TrainingObserver = { epochStart: () => (start = performance.now()), epochEnd: () => (end = performance.now()) };
  const result = trainTask(2, { model, benchmark, paradigm: 'til', algorithms: [mas], training: cfg.training, seed: cfg.seed, globalStep: 0, observer });
  disposeStateDict(result.optimizerState);
  mas.dispose();
  model.dispose();
  benchmark.dispose();
  return { trainSeconds: (end - start) / 1000 };
}

/** MLP 784-256-256 with one 10-class task-incremental head. */
function importanceModel(): ContinualModel {
  const model = new ContinualModel(instantiateBackbone(mlpDefinition, [784], { hiddenSizes: [256, 256] }), createHeads('til', 256));
  model.heads.setupTask(1, 10);
  return model;
}

/** Writes the shared inputs of the importance pass (data and parameters, in named order) for both sides. */
function prepare(dir: string, n: number): string {
  manualSeed(0);
  const model = importanceModel();
  const base = join(dir, 'mas');
  tidy(() => {
    writeFileSync(`${base}.x`, Buffer.from((randn([n, 784]).toTypedArray() as Float32Array).buffer));
    const flat = model.parameters().flatMap((p) => Array.from(p.toTypedArray() as Float32Array));
    writeFileSync(`${base}.params`, Buffer.from(new Float32Array(flat).buffer));
  });
  model.dispose();
  return base;
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function importanceWorker(base: string, n: number, out: string): Sample {
  const model = importanceModel();
  const state = readF32(`${base}.params`);
  let offset = 0;
  tidy(() =>
    noGrad(() => {
      for (const p of model.parameters()) {
        p.copy_(tensor(state.subarray(offset, offset + p.numel()), { shape: p.shape }));
        offset += p.numel();
      }
    }),
  );
  const x = tensor(readF32(`${base}.x`).slice(), { shape: [n, 784] });
  const trainData = { x, y: randint(0, 10, [n]), size: n };
  const mas = instantiate(masDefinition, {});
  const optimizer = new SGD(model.parameters(), { lr: 0.01 });
  const ctx = { task: 1, paradigm: 'til' as const, model, optimizer, benchmark: {} as ContinualBenchmark, trainData, batchSize: BATCH, epochs: 1 };
  const start = process.hrtime.bigint();
  const omega = mas.taskImportance(ctx);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const flat = tidy(() => [...omega.values()].flatMap((t) => Array.from(t.toTypedArray() as Float32Array)));
  writeFileSync(out, Buffer.from(new Float32Array(flat).buffer));
  for (const t of omega.values()) t.dispose();
  optimizer.dispose();
  model.dispose();
  return { seconds };
}

interface Timing {
  ours: number;
  pytorch: number;
  ratio: number;
  oursRange: [number, number];
  pytorchRange: [number, number];
}

function timing(ours: number[], theirs: number[]): Timing {
  const o = median(ours);
  const p = median(theirs);
  return { ours: o, pytorch: p, ratio: p / o, oursRange: [Math.min(...ours), Math.max(...ours)], pytorchRange: [Math.min(...theirs), Math.max(...theirs)] };
}

export function runMASBenchmark(options: { repeats: number; samples: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const torchScript = join(dirname(self), '..', '..', 'bench', 'mas_torch.py');
  const result: Record<string, unknown> = { benchmark: 'mas', threads: options.threads, repeats: options.repeats, samples: options.samples };
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < options.repeats; r++) {
    ours.push(spawnJson(process.execPath, [self, '--worker', 'epoch', String(options.threads)], options.threads)['trainSeconds']!);
    theirs.push(spawnJson('/usr/bin/python3', [torchScript, 'epoch', String(options.threads), FASHION_MNIST_DIR, String(LAMBDA)], options.threads)['trainSeconds']!);
  }
  result['epoch'] = timing(ours, theirs);
  const dir = mkdtempSync(join(tmpdir(), 'mas-bench-'));
  try {
    const base = prepare(dir, options.samples);
    const oursPass: number[] = [];
    const theirsPass: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      oursPass.push(spawnJson(process.execPath, [self, '--worker', 'importance', String(options.threads), base, String(options.samples), `${base}.ours`], options.threads)['seconds']!);
      theirsPass.push(spawnJson('/usr/bin/python3', [torchScript, 'importance', String(options.threads), base, String(options.samples), `${base}.torch`], options.threads)['seconds']!);
    }
    const a = readF32(`${base}.ours`);
    const b = readF32(`${base}.torch`);
    if (a.length !== b.length) throw new Error(`Ω sizes differ: ${a.length} vs ${b.length}`);
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
    result['importance'] = { ...timing(oursPass, theirsPass), maxAbsDiffOverMax: maxDiff / maxAbs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

if (process.argv[2] === '--worker') {
  setNumThreads(Number(process.argv[4]));
  const [, , , which, , base, n, out] = process.argv;
  console.log(JSON.stringify(which === 'epoch' ? epochWorker() : importanceWorker(base!, Number(n), out!)));
}
