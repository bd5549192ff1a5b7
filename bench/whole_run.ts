// Whole-run benchmark (issue 15, goal 1): the whole protocol of a continual-
// learning run, per algorithm, against a plain PyTorch script of the same
// protocol and algorithm (bench/whole_run_torch.py), alternating in fresh
// processes. The protocol: 10 tasks of Permuted Fashion-MNIST (TIL, one head
// per task), MLP 784-256-256, one epoch per task, batch 64, SGD lr 0.01, and
// after every task the testing of every task seen. Our side is `perennial
// run`'s runner, so it also writes results, plots and a checkpoint after
// every task; the PyTorch side writes nothing.
//
// The PyTorch script prepares each batch from the uint8 images as our
// benchmark layer does (`batch`), the strongest baseline; with --plain=1 it
// also runs as most scripts are written (`copy`: a permuted, normalised float
// copy of each task), whose data preparation alone costs seconds per task.
// Ratios are PyTorch / ours (above 1: we are faster), of medians.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../src/config/experiment.js';
import { runExperiment } from '../src/continual/experiment/run.js';
import { setNumThreads } from '../src/index.js';
import { FASHION_MNIST_DIR, type Sample, median, spawnJson } from './harness.js';

/** Each algorithm's settings on both sides: options beyond its defaults, and epochs per task. */
export const WHOLE_RUN_ALGORITHMS: Record<string, { options?: string; epochs?: number }> = {
  finetuning: {},
  fix: {},

  // regularization (bench/whole_run_regularization.py)
  ewc: {},
  onlineEwc: {},
  rwalk: {},
  si: {},
  mas: {},
  lwf: {},
  amnesiacFinetuning: {},
  amnesiacEwc: {},
  amnesiacLwf: {},
  amnesiacSi: {},

  // rehearsal (bench/whole_run_rehearsal.py)
  replay: {},
  er: {},
  erAce: {},
  der: {},
  derpp: {},
  icarl: {},
  agem: {},
  gdumb: {},

  // parameter isolation and plasticity (bench/whole_run_isolation.py)
  // maskPercentage has no default; 0.1 as in docs/algorithms/wsn.md (WSN_FRACTION on the PyTorch side).
  wsn: { options: 'maskPercentage: 0.1' },
  hat: {},
  adahat: {},
  packnet: { epochs: 2 },
  cbp: {},
};

function worker(algorithm: string, tasks: number, threads: number): Sample {
  setNumThreads(threads);
  const dir = mkdtempSync(join(tmpdir(), 'bench-whole-run-'));
  try {
    const start = performance.now();
    const settings = WHOLE_RUN_ALGORITHMS[algorithm]!;
    const config = loadExperiment(undefined, [
      'paradigm=til', 'benchmark.dataset=fashion-mnist', `benchmark.dataDir=${FASHION_MNIST_DIR}`, `benchmark.numTasks=${tasks}`, 'benchmark.validationFraction=0',
      'backbone.hiddenSizes=[256,256]', `training.epochs=${settings.epochs ?? 1}`, 'training.batchSize=64', 'training.optimizer={name: sgd, lr: 0.01}', 'training.validateEveryEpoch=false',
      `algorithms=[{name: ${algorithm}${settings.options === undefined ? '' : `, ${settings.options}`}}]`,
    ]);
    let train = 0;
    let epochStart = 0;
    const result = runExperiment({
      config,
      runDir: join(dir, 'run'),
      observer: { epochStart: () => (epochStart = performance.now()), epochEnd: () => (train += performance.now() - epochStart) },
    });
    const last = result.accuracy[tasks - 1]!;
    return {
      totalSeconds: (performance.now() - start) / 1000,
      trainSeconds: train / 1000,
      averageAccuracy: last.reduce((a, b) => a + b, 0) / tasks,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Side = 'ours' | 'batch' | 'copy';

/** spawnJson, with the process's own wall time from spawn to exit added as processSeconds. */
function timed(cmd: string, args: string[], threads: number): Sample {
  const start = performance.now();
  const sample = spawnJson(cmd, args, threads);
  return { ...sample, processSeconds: (performance.now() - start) / 1000 };
}

export function runWholeRunBenchmark(options: { repeats: number; threads: number; tasks: number; plain: boolean; only: string[] | undefined }): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), '..', '..', 'bench', 'whole_run_torch.py');
  const names = options.only ?? Object.keys(WHOLE_RUN_ALGORITHMS);
  for (const name of names) {
    if (WHOLE_RUN_ALGORITHMS[name] === undefined) throw new Error(`whole-run: unknown algorithm '${name}' (known: ${Object.keys(WHOLE_RUN_ALGORITHMS).join(', ')})`);
  }
  const rows = names.map((name) => {
    const epochs = String(WHOLE_RUN_ALGORITHMS[name]!.epochs ?? 1);
    const samples: Record<Side, Sample[]> = { ours: [], copy: [], batch: [] };
    for (let r = 0; r < options.repeats; r++) {
      console.error(`whole-run: ${name}, repeat ${r + 1} of ${options.repeats}`);
      samples.ours.push(timed(process.execPath, [self, '--worker', name, String(options.tasks), String(options.threads)], options.threads));
      for (const data of options.plain ? (['batch', 'copy'] as const) : (['batch'] as const)) {
        samples[data].push(timed('/usr/bin/python3', [script, name, FASHION_MNIST_DIR, String(options.threads), String(options.tasks), epochs, data], options.threads));
      }
    }
    const pick = (side: Side, key: string): number => median(samples[side].map((s) => s[key]!));
    const summary = (side: Side) => {
      const totals = samples[side].map((s) => s['totalSeconds']!);
      return {
        totalSeconds: pick(side, 'totalSeconds'), totalRange: [Math.min(...totals), Math.max(...totals)], processSeconds: pick(side, 'processSeconds'),
        trainSeconds: pick(side, 'trainSeconds'), averageAccuracy: pick(side, 'averageAccuracy'), peakRssMb: pick(side, 'peakRssMb'),
      };
    };
    const ratios = (side: Side) => ({
      whole: pick(side, 'totalSeconds') / pick('ours', 'totalSeconds'),
      process: pick(side, 'processSeconds') / pick('ours', 'processSeconds'),
      training: pick(side, 'trainSeconds') / pick('ours', 'trainSeconds'),
    });
    const row = {
      algorithm: name,
      epochs: Number(epochs),
      ours: summary('ours'),
      pytorch: summary('batch'),
      ratio: ratios('batch'),
      ...(options.plain ? { pytorchPlain: summary('copy'), ratioPlain: ratios('copy') } : {}),
    };
    // Each row as it is done: a long run that fails later keeps what it measured.
    console.error(`whole-run row: ${JSON.stringify(row)}`);
    return row;
  });
  for (const row of rows) {
    const plain = row.ratioPlain === undefined ? '' : `, ${row.ratioPlain.whole.toFixed(2)}x the plain loop`;
    console.error(`whole-run: ${row.algorithm}: ${row.ratio.whole.toFixed(2)}x PyTorch (training ${row.ratio.training.toFixed(2)}x)${plain}`);
  }
  return { benchmark: 'whole-run', threads: options.threads, tasks: options.tasks, repeats: options.repeats, rows };
}

if (process.argv[2] === '--worker') console.log(JSON.stringify(worker(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]))));
