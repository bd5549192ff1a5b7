// Benchmark entry point: `npm run bench -- <name> [--key=value ...]`.
// Prints progress to stderr and, last, one JSON line with the results.
import { runCBPBenchmark } from './cbp.js';
import { runConvnetsBenchmark } from './convnets.js';
import { runEngineBenchmark } from './engine.js';
import { runFisherBenchmark } from './fisher.js';
import { runHATBenchmark } from './hat.js';
import { runLwFBenchmark } from './lwf.js';
import { runMASBenchmark } from './mas.js';
import { runMemoryBenchmark } from './memory.js';
import { runRegularizationBenchmark } from './regularization.js';
import { runRehearsalBenchmark } from './rehearsal.js';
import { runSIBenchmark } from './si.js';
import { runSweepBenchmark } from './sweep.js';
import { runWholeRunBenchmark } from './whole_run.js';
import { runWSNBenchmark } from './wsn.js';

/** Numeric options (--name=number), and the one list option, --only=a,b (which algorithms the whole-run benchmark runs). */
function options(args: string[]): { numbers: Record<string, number>; only: string[] | undefined } {
  const numbers: Record<string, number> = {};
  let only: string[] | undefined;
  for (const arg of args) {
    const list = /^--only=([a-zA-Z,]+)$/.exec(arg);
    if (list) {
      only = list[1]!.split(',');
      continue;
    }
    const m = /^--([a-zA-Z]+)=(\d+)$/.exec(arg);
    if (!m) throw new Error(`unknown benchmark option '${arg}' (expected --name=number or --only=name,name)`);
    numbers[m[1]!] = Number(m[2]);
  }
  return { numbers, only };
}

const benchmarks: Record<string, (o: Record<string, number>, only: string[] | undefined) => Record<string, unknown>> = {
  fisher: (o) => runFisherBenchmark({ repeats: o['repeats'] ?? 3, samples: o['samples'] ?? 10000, threads: o['threads'] ?? 1 }),
  regularization: (o) => runRegularizationBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1 }),
  memory: (o) => runMemoryBenchmark({ small: o['small'] ?? 10, large: o['large'] ?? 100, trainLimit: o['trainLimit'] ?? 1000, threads: o['threads'] ?? 1 }),
  mas: (o) => runMASBenchmark({ repeats: o['repeats'] ?? 3, samples: o['samples'] ?? 10000, threads: o['threads'] ?? 1 }),
  si: (o) => runSIBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1 }),
  wsn: (o) => runWSNBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1 }),
  hat: (o) => runHATBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1 }),
  cbp: (o) => runCBPBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1, width: o['width'] ?? 100 }),
  lwf: (o) => runLwFBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1 }),
  rehearsal: (o) => runRehearsalBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1 }),
  sweep: (o) => runSweepBenchmark({ repeats: o['repeats'] ?? 3 }),
  'whole-run': (o, only) => runWholeRunBenchmark({ repeats: o['repeats'] ?? 3, threads: o['threads'] ?? 1, tasks: o['tasks'] ?? 10, plain: o['plain'] === 1, only }),
  convnets: (o) =>
    runConvnetsBenchmark({ repeats: o['repeats'] ?? 3, cnnSteps: o['cnnSteps'] ?? 40, resnetSteps: o['resnetSteps'] ?? 4, warmup: o['warmup'] ?? 2, threads: o['threads'] ?? 1 }),
  engine: (o) => runEngineBenchmark({ repeats: o['repeats'] ?? 3, mlpSteps: o['mlpSteps'] ?? 2000, addIters: o['addIters'] ?? 200000, threads: o['threads'] ?? 1 }),
};

const [name, ...rest] = process.argv.slice(2);
const run = name === undefined ? undefined : benchmarks[name];
if (run === undefined) {
  console.error(`usage: npm run bench -- <${Object.keys(benchmarks).join('|')}> [--key=value ...]`);
  process.exit(2);
}
const parsed = options(rest);
console.log(JSON.stringify(run(parsed.numbers, parsed.only)));
