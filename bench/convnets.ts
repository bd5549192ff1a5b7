// Conv-net benchmark: training steps of our CNN backbone and ResNet-18 (3x32x32
// inputs, batch 32, a 10-class linear head, cross-entropy, SGD lr 0.01 with
// momentum 0.9) against the same architectures in plain PyTorch
// (bench/convnets_torch.py), steps per second, fresh processes, ours and
// PyTorch's alternating, medians reported. The ratios are ours / PyTorch's
// steps per second (= PyTorch's time per step / ours), by the clock and by the
// CPU time of the process (steadier on a shared machine).
//
// Both sides seed 0 before building the model and drawing the batch, and our
// backbones initialise as PyTorch's modules do, so the two first-step losses
// agree: with the parameter counts, the check that both sides train the same
// network. Each worker also reports where a step's time goes (forward with the
// loss, backward, optimizer; what is left is freeing the step's tensors) and
// its minor page faults per step (pages touched for the first time: memory
// the allocator handed back to the kernel and then asked for again).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, nn, optim, randint, randn, setNumThreads, tidy } from '../src/index.js';
import { cnnDefinition, instantiateBackbone, resnet18Definition } from '../src/continual/index.js';
import type { BackboneBase } from '../src/continual/backbones/common.js';
import { type Sample, median, spawnJson } from './harness.js';

const BATCH = 32;
const CLASSES = 10;
const INPUT_SHAPE = [3, 32, 32] as const;

type ModelName = 'cnn' | 'resnet18';
const MODELS: readonly ModelName[] = ['cnn', 'resnet18'];

function buildBackbone(name: ModelName): BackboneBase {
  return name === 'cnn' ? instantiateBackbone(cnnDefinition, INPUT_SHAPE) : instantiateBackbone(resnet18Definition, INPUT_SHAPE);
}

const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;

function worker(name: ModelName, steps: number, warmup: number, threads: number): Sample {
  setNumThreads(threads);
  manualSeed(0);
  const backbone = buildBackbone(name);
  const head = new nn.Linear(backbone.outputDim, CLASSES);
  const params = [...backbone.parameters(), ...head.parameters()];
  const opt = new optim.SGD(params, { lr: 0.01, momentum: 0.9 });
  const x = randn([BATCH, ...INPUT_SHAPE]);
  const y = randint(0, CLASSES, [BATCH]);
  const phases = { forward: 0, backward: 0, optimizer: 0 };
  const step = (): number =>
    tidy(() => {
      let t = process.hrtime.bigint();
      opt.zeroGrad(true);
      const loss = nn.functional.crossEntropy(head.forward(backbone.forward(x).feature), y);
      phases.forward += seconds(t);
      t = process.hrtime.bigint();
      loss.backward();
      phases.backward += seconds(t);
      t = process.hrtime.bigint();
      opt.step();
      phases.optimizer += seconds(t);
      return loss.item();
    });
  const firstLoss = step();
  for (let i = 1; i < warmup; i++) step();
  phases.forward = phases.backward = phases.optimizer = 0;
  const faults = process.resourceUsage().minorPageFault;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) step();
  const total = seconds(start);
  const cpu = process.cpuUsage(cpuStart);
  return {
    stepsPerSec: steps / total,
    stepsPerCpuSec: steps / ((cpu.user + cpu.system) / 1e6),
    seconds: total,
    pageFaultsPerStep: (process.resourceUsage().minorPageFault - faults) / steps,
    forwardMs: (phases.forward / steps) * 1e3,
    backwardMs: (phases.backward / steps) * 1e3,
    optimizerMs: (phases.optimizer / steps) * 1e3,
    otherMs: ((total - phases.forward - phases.backward - phases.optimizer) / steps) * 1e3,
    parameters: params.reduce((n, p) => n + p.numel(), 0),
    firstLoss,
  };
}

export function runConvnetsBenchmark(options: { repeats: number; cnnSteps: number; resnetSteps: number; warmup: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const torchScript = join(dirname(self), '..', '..', 'bench', 'convnets_torch.py');
  const result: Record<string, unknown> = { benchmark: 'convnets', batch: BATCH, threads: options.threads, repeats: options.repeats };
  for (const name of MODELS) {
    const steps = String(name === 'cnn' ? options.cnnSteps : options.resnetSteps);
    const args = [name, steps, String(options.warmup), String(options.threads)];
    const ours: Sample[] = [];
    const theirs: Sample[] = [];
    for (let r = 0; r < options.repeats; r++) {
      ours.push(spawnJson(process.execPath, [self, '--worker', ...args], options.threads));
      theirs.push(spawnJson('/usr/bin/python3', [torchScript, ...args], options.threads));
      console.error(`${name} ${r + 1}/${options.repeats}: ours ${ours[r]!['stepsPerSec']!.toFixed(2)} steps/s, PyTorch ${theirs[r]!['stepsPerSec']!.toFixed(2)} steps/s`);
    }
    const [oursParams, theirParams] = [ours[0]!['parameters']!, theirs[0]!['parameters']!];
    if (oursParams !== theirParams) throw new Error(`${name}: the parameter counts differ: ours ${oursParams}, PyTorch ${theirParams}`);
    const [oursLoss, theirLoss] = [ours[0]!['firstLoss']!, theirs[0]!['firstLoss']!];
    // Same kernels on both sides: only rounding may separate the two losses.
    if (!(Math.abs(oursLoss - theirLoss) <= 1e-4 * Math.abs(theirLoss))) throw new Error(`${name}: the first-step losses differ: ours ${oursLoss}, PyTorch ${theirLoss}`);
    const pick = (samples: Sample[], key: string): number => median(samples.map((s) => s[key]!));
    const side = (samples: Sample[]): Record<string, number> => ({
      stepsPerSec: pick(samples, 'stepsPerSec'),
      stepsPerCpuSec: pick(samples, 'stepsPerCpuSec'),
      pageFaultsPerStep: pick(samples, 'pageFaultsPerStep'),
      forwardMs: pick(samples, 'forwardMs'),
      backwardMs: pick(samples, 'backwardMs'),
      optimizerMs: pick(samples, 'optimizerMs'),
      otherMs: pick(samples, 'otherMs'),
    });
    const [o, t] = [side(ours), side(theirs)];
    result[name] = { parameters: oursParams, firstLoss: { ours: oursLoss, pytorch: theirLoss }, steps: Number(steps), ours: o, pytorch: t, ratio: o['stepsPerSec']! / t['stepsPerSec']!, cpuRatio: o['stepsPerCpuSec']! / t['stepsPerCpuSec']! };
  }
  return result;
}

if (process.argv[2] === '--worker') {
  const [name, steps, warmup, threads] = process.argv.slice(3);
  if (!MODELS.includes(name as ModelName)) throw new Error(`unknown model '${name}' (expected ${MODELS.join(' or ')})`);
  console.log(JSON.stringify(worker(name as ModelName, Number(steps), Number(warmup), Number(threads))));
}
