// Engine benchmark: our tensor engine against PyTorch on the same machine,
// in the same run, as ratios (ours / PyTorch, higher is better for rates).
//   - MLP 784-256-256-10, batch 64, SGD with cross-entropy: samples per second
//   - per-operation overhead: c = a + b on 4-element tensors, ops per second
//   - peak resident memory of the MLP run
// Each measurement runs in a fresh process, ours and PyTorch's alternating,
// and the median of the repetitions is reported.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { nn, optim, randint, randn, manualSeed, setNumThreads, getNumThreads, tidy, type Tensor } from '../src/index.js';
import { type Sample, median, spawnJson } from './harness.js';

function mlpWorker(steps: number, batches = 16, batch = 64, warmup = 50): Sample {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
  const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
  const xs = Array.from({ length: batches }, () => randn([batch, 784]));
  const ys = Array.from({ length: batches }, () => randint(0, 10, [batch]));
  const step = (i: number): number | undefined =>
    tidy(() => {
      opt.zeroGrad(process.env['ZERO_GRAD_TO_NONE'] !== '0');
      const loss: Tensor = nn.functional.crossEntropy(model.forward(xs[i % batches]!), ys[i % batches]!);
      loss.backward();
      opt.step();
      return i === steps - 1 ? loss.item() : undefined;
    });
  for (let i = 0; i < warmup; i++) step(i);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let finalLoss = NaN;
  for (let i = 0; i < steps; i++) finalLoss = step(i) ?? finalLoss;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { samplesPerSec: (steps * batch) / seconds, samplesPerCpuSec: (steps * batch) / cpuSeconds, seconds, finalLoss };
}

// Each result is freed at once, as Python's reference counting frees `c`.
// Inside a scope (how training code runs) a result needs no garbage-collection
// guard; outside any scope it gets one: both are reported.
// The first few thousand iterations run before V8 has optimised the loop, at
// half the steady rate or less, so each path is warmed up first (and
// PyTorch's loop as long) to measure the rate rather than the compiler.
const ADD_WARMUP = 20000;

function addWorker(iters: number): Sample {
  const a = randn([4]);
  const b = randn([4]);
  const loop = (n: number): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) a.add(b).dispose();
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  tidy(() => loop(ADD_WARMUP));
  loop(ADD_WARMUP);
  const seconds = tidy(() => loop(iters));
  const unscopedSeconds = loop(iters);
  return { opsPerSec: iters / seconds, seconds, unscopedOpsPerSec: iters / unscopedSeconds };
}

function runWorker(mode: string, n: number, threads: number): void {
  setNumThreads(threads);
  const result = mode === 'mlp' ? mlpWorker(n) : addWorker(n);
  result['peakRssMb'] = process.resourceUsage().maxRSS / 1024;
  result['threads'] = getNumThreads();
  console.log(JSON.stringify(result));
}

export function runEngineBenchmark(options: { repeats: number; mlpSteps: number; addIters: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const torchScript = join(dirname(self), '..', '..', 'bench', 'engine_torch.py');
  const ours: Record<string, Sample[]> = { mlp: [], add: [] };
  const theirs: Record<string, Sample[]> = { mlp: [], add: [] };
  for (let r = 0; r < options.repeats; r++) {
    for (const [mode, n] of [['mlp', options.mlpSteps], ['add', options.addIters]] as const) {
      ours[mode]!.push(spawnJson(process.execPath, [self, '--worker', mode, String(n), String(options.threads)], options.threads));
      theirs[mode]!.push(spawnJson('/usr/bin/python3', [torchScript, mode, String(n), String(options.threads)], options.threads));
    }
  }
  const pick = (samples: Sample[], key: string): number => median(samples.map((s) => s[key]!));
  const summary = {
    benchmark: 'engine',
    threads: options.threads,
    repeats: options.repeats,
    mlpSamplesPerSec: { ours: pick(ours['mlp']!, 'samplesPerSec'), pytorch: pick(theirs['mlp']!, 'samplesPerSec') },
    addOpsPerSec: { ours: pick(ours['add']!, 'opsPerSec'), oursOutsideScopes: pick(ours['add']!, 'unscopedOpsPerSec'), pytorch: pick(theirs['add']!, 'opsPerSec') },
    mlpPeakRssMb: { ours: pick(ours['mlp']!, 'peakRssMb'), pytorch: pick(theirs['mlp']!, 'peakRssMb') },
  };
  return {
    ...summary,
    mlpThroughputRatio: summary.mlpSamplesPerSec.ours / summary.mlpSamplesPerSec.pytorch,
    addRateRatio: summary.addOpsPerSec.ours / summary.addOpsPerSec.pytorch,
    peakRssRatio: summary.mlpPeakRssMb.ours / summary.mlpPeakRssMb.pytorch,
  };
}

if (process.argv[2] === '--worker') runWorker(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
