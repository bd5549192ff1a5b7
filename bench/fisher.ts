// Fisher benchmark: the exact empirical Fisher of an MLP 784-256-256-10 over
// seeded random data, our batched closed-form path against PyTorch's
// one-sample-at-a-time loop (hypnettorch's method). Fresh processes, ours and
// PyTorch's alternating, medians reported; the two Fishers are compared
// through raw float32 files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, nn, randint, randn, setNumThreads, tensor, tidy } from '../src/index.js';
import { computeFisher } from '../src/continual/fisher/index.js';
import { median, spawnJson } from './harness.js';

const BATCH = 500;
/** Samples run once before timing, on both sides (fisher_torch.py uses the same count). */
const WARMUP = 500;

function buildModel(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
}

/** Writes the shared inputs (data and initial parameters) for both sides. */
function prepare(dir: string, n: number): string {
  manualSeed(0);
  const model = buildModel();
  const x = randn([n, 784]);
  const y = randint(0, 10, [n]);
  const base = join(dir, 'fisher');
  writeFileSync(`${base}.x`, Buffer.from((x.toTypedArray() as Float32Array).buffer));
  writeFileSync(`${base}.y`, Buffer.from((y.toTypedArray() as BigInt64Array).buffer));
  const flat = model.parameters().flatMap((p) => Array.from(p.toTypedArray() as Float32Array));
  writeFileSync(`${base}.params`, Buffer.from(new Float32Array(flat).buffer));
  return base;
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function runWorker(base: string, n: number, threads: number, out: string): void {
  setNumThreads(threads);
  const model = buildModel();
  const state = readF32(`${base}.params`);
  let offset = 0;
  const dict: Record<string, ReturnType<typeof tensor>> = {};
  // Straight from typed arrays: copying the inputs through JavaScript arrays
  // left some 300 MB of garbage whose collection fell inside the timed call.
  for (const [name, p] of model.namedParameters()) {
    dict[name] = tensor(state.subarray(offset, offset + p.numel()), { shape: p.shape });
    offset += p.numel();
  }
  model.loadStateDict(dict);
  const x = tensor(readF32(`${base}.x`), { shape: [n, 784] });
  const yb = readFileSync(`${base}.y`);
  const y = tensor(new BigInt64Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + 8 * n)));
  // One batch first, untimed (PyTorch's side warms up on as many samples):
  // the first pass of a process pays for fresh memory (page faults, very
  // costly on a virtual machine) and for the processor's own warm-up, which
  // the ten-second loop absorbs but would be a fifth of our timed call.
  for (const t of computeFisher({ model, data: { x: x.narrow(0, 0, Math.min(n, WARMUP)), y: y.narrow(0, 0, Math.min(n, WARMUP)) }, batchSize: BATCH }).values()) t.dispose();
  const start = process.hrtime.bigint();
  const fisher = computeFisher({ model, data: { x, y }, batchSize: BATCH });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const flat = tidy(() => [...fisher.values()].flatMap((t) => Array.from(t.toTypedArray() as Float32Array)));
  writeFileSync(out, Buffer.from(new Float32Array(flat).buffer));
  console.log(JSON.stringify({ seconds }));
}

export function runFisherBenchmark(options: { repeats: number; samples: number; threads: number }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const torchScript = join(dirname(self), '..', '..', 'bench', 'fisher_torch.py');
  const dir = mkdtempSync(join(tmpdir(), 'fisher-bench-'));
  try {
    const base = prepare(dir, options.samples);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      ours.push(spawnJson(process.execPath, [self, '--worker', base, String(options.samples), String(options.threads), `${base}.ours`], options.threads)['seconds']!);
      theirs.push(spawnJson('/usr/bin/python3', [torchScript, String(options.samples), String(options.threads), base, `${base}.torch`], options.threads)['seconds']!);
    }
    const a = readF32(`${base}.ours`);
    const b = readF32(`${base}.torch`);
    if (a.length !== b.length) throw new Error(`Fisher sizes differ: ${a.length} vs ${b.length}`);
    // Relative to the largest entry: entries near zero carry only float32 rounding.
    let maxAbs = 0;
    let maxDiff = 0;
    let maxRel = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
    for (let i = 0; i < a.length; i++) if (Math.abs(b[i]!) > 1e-3 * maxAbs) maxRel = Math.max(maxRel, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
    const oursSeconds = median(ours);
    const torchSeconds = median(theirs);
    return {
      benchmark: 'fisher',
      samples: options.samples,
      threads: options.threads,
      repeats: options.repeats,
      seconds: { ours: oursSeconds, pytorchPerSample: torchSeconds },
      speedup: torchSeconds / oursSeconds,
      maxAbsDiffOverMax: maxDiff / maxAbs,
      maxRelDiff: maxRel,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--worker') runWorker(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), process.argv[6]!);
