// The comparison tables of docs/algorithms/results.md: every algorithm on the
// two protocols (10-task Permuted Fashion-MNIST in TIL; 5-task Split
// Fashion-MNIST in TIL, DIL and CIL), and the rehearsal algorithms with
// memories of 200 and 500 examples on the rehearsal protocol (5-task Split
// Fashion-MNIST and Split MNIST from the bundled digits, CIL, batch 10),
// over several seeds, each run a fresh
// `perennial run` process with one thread. Finished runs are kept in
// docs/algorithms/results.json (one record per protocol, algorithm and seed),
// so that an interrupted collection resumes and the table is rebuilt from
// the records alone:
//
//   npm run results [-- --only=<label prefix>,...] [--protocols=<id>,...] [--seeds=1,2,3] [--workers=2]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/serialization/atomic.js';

interface Protocol {
  id: string;
  title: string;
  config: string;
  overrides: string[];
  paradigm: 'til' | 'dil' | 'cil';
  /** Only the methods that name it run on it (the rehearsal protocols). */
  exclusive?: boolean;
}

const PROTOCOLS: Protocol[] = [
  { id: 'permuted-til', title: '10-task Permuted Fashion-MNIST, TIL', config: 'experiments/permuted_fashion_mnist_finetuning.yaml', overrides: [], paradigm: 'til' },
  ...(['til', 'dil', 'cil'] as const).map((paradigm) => ({
    id: `split-${paradigm}`,
    title: `5-task Split Fashion-MNIST, ${paradigm.toUpperCase()}`,
    config: 'experiments/split_fashion_mnist_protocol.yaml',
    overrides: [`paradigm=${paradigm}`],
    paradigm,
  })),
  ...[
    { id: 'rehearsal-fmnist-cil', title: '5-task Split Fashion-MNIST, CIL, rehearsal protocol', config: 'experiments/rehearsal_split_fashion_mnist_cil.yaml' },
    { id: 'rehearsal-mnist-cil', title: '5-task Split MNIST (bundled digits), CIL, rehearsal protocol', config: 'experiments/rehearsal_split_mnist_cil.yaml' },
  ].map((p) => ({ ...p, overrides: [], paradigm: 'cil' as const, exclusive: true })),
];

/** One row of the table: an algorithm (or a combination) with its settings. */
interface Method {
  label: string;
  algorithms: string;
  paradigms: readonly ('til' | 'dil' | 'cil')[];
  /** The protocols it is run on, when not all of its paradigms' (a setting tuned per protocol). */
  protocols?: readonly string[];
  /** The row is the joint reference: the accuracy of one model trained on all tasks at once. */
  joint?: boolean;
}

const ALL = ['til', 'dil', 'cil'] as const;
const REHEARSAL = ['rehearsal-fmnist-cil', 'rehearsal-mnist-cil'];
/** Rows of a rehearsal algorithm with memories of 200 and 500 examples, on the rehearsal protocols only. */
const rehearsal = (label: string, algorithms: (capacity: number) => string): Method[] =>
  [200, 500].map((capacity) => ({ label: `${label} (${capacity} examples)`, algorithms: algorithms(capacity), paradigms: ['cil'], protocols: REHEARSAL }));

const METHODS: Method[] = [
  { label: 'Finetuning', algorithms: '[{name: finetuning}]', paradigms: ALL },
  { label: 'Fix', algorithms: '[{name: fix}]', paradigms: ALL },
  { label: 'EWC (λ 1000)', algorithms: '[{name: ewc, lambda: 1000}]', paradigms: ALL },
  { label: 'online EWC (λ 1000, γ 1)', algorithms: '[{name: onlineEwc, lambda: 1000, gamma: 1}]', paradigms: ALL },
  { label: 'RWalk (λ 1)', algorithms: '[{name: rwalk, lambda: 1}]', paradigms: ALL },
  { label: 'SI (c 1, ξ 0.1)', algorithms: '[{name: si, c: 1, xi: 0.1}]', paradigms: ALL },
  { label: 'MAS (λ 0.001)', algorithms: '[{name: mas, lambda: 0.001}]', paradigms: ALL, protocols: ['permuted-til'] },
  { label: 'MAS (λ 0.1)', algorithms: '[{name: mas, lambda: 0.1}]', paradigms: ALL, protocols: ['split-til', 'split-dil', 'split-cil'] },
  { label: 'LwF (λ 1, T 2)', algorithms: '[{name: lwf, lambda: 1, temperature: 2}]', paradigms: ALL },
  { label: 'Replay (1000 examples)', algorithms: '[{name: replay, capacity: 1000}]', paradigms: ALL },
  { label: 'WSN (c 0.5)', algorithms: '[{name: wsn, maskPercentage: 0.5}]', paradigms: ['til'] },
  { label: 'CBP', algorithms: '[{name: cbp}]', paradigms: ALL },
  { label: 'Finetuning (lower bound)', algorithms: '[{name: finetuning}]', paradigms: ['cil'], protocols: REHEARSAL },
  { label: 'Joint (upper bound)', algorithms: '[{name: finetuning}]', paradigms: ['cil'], protocols: REHEARSAL, joint: true },
  ...rehearsal('ER', (m) => `[{name: er, capacity: ${m}, batchSize: 10}]`),
  ...rehearsal('DER', (m) => `[{name: der, capacity: ${m}, batchSize: 10}]`),
  ...rehearsal('DER++', (m) => `[{name: derpp, capacity: ${m}, batchSize: 10}]`),
  ...rehearsal('A-GEM', (m) => `[{name: agem, capacity: ${m}}]`),
  ...rehearsal('ER-ACE', (m) => `[{name: erAce, capacity: ${m}, batchSize: 10}]`),
  ...rehearsal('iCaRL', (m) => `[{name: icarl, capacity: ${m}}]`),
  ...rehearsal('GDumb', (m) => `[{name: gdumb, capacity: ${m}}]`),
];

function runsOn(method: Method, protocol: Protocol): boolean {
  if (method.protocols !== undefined) return method.protocols.includes(protocol.id);
  return method.paradigms.includes(protocol.paradigm) && protocol.exclusive !== true;
}

interface RunRecord {
  protocol: string;
  method: string;
  algorithms: string;
  seed: number;
  /** Absent when the run diverged. */
  finalAverageAccuracy?: number;
  bwt?: number | null;
  finalForgetting?: number | null;
  /** The task at which the training loss became NaN or infinite (the run stopped there). */
  divergedAtTask?: number;
  seconds: number;
}

const RECORDS = 'docs/algorithms/results.json';
const TABLE = 'docs/algorithms/results.md';

function option(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function readRecords(): RunRecord[] {
  return existsSync(RECORDS) ? (JSON.parse(readFileSync(RECORDS, 'utf8')) as RunRecord[]) : [];
}

function runOne(protocol: Protocol, method: Method, seed: number, scratch: string): Promise<RunRecord> {
  const dir = join(scratch, `${protocol.id}-${method.label.replace(/[^A-Za-z0-9]+/g, '_')}-${seed}`);
  const args = ['dist/src/cli/main.js', 'run', protocol.config, ...protocol.overrides, `seed=${seed}`, `algorithms=${method.algorithms}`, `output.dir=${dir}`, 'output.name=run'];
  if (method.joint === true) args.push('reference.joint=true');
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, PERENNIAL_NUM_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const diverged = /the training loss became \S+ at task (\d+)/.exec(stderr);
      if (status !== 0 && diverged !== null) {
        rmSync(dir, { recursive: true, force: true });
        return resolve({ protocol: protocol.id, method: method.label, algorithms: method.algorithms, seed, divergedAtTask: Number(diverged[1]), seconds });
      }
      if (status !== 0) return reject(new Error(`${method.label} on ${protocol.id}, seed ${seed} failed (${status}):\n${stderr}`));
      const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as Pick<RunRecord, 'finalAverageAccuracy' | 'bwt' | 'finalForgetting'> & { references?: { joint?: number[] } };
      rmSync(dir, { recursive: true, force: true });
      const joint = summary.references?.joint;
      resolve({
        protocol: protocol.id,
        method: method.label,
        algorithms: method.algorithms,
        seed,
        // The joint reference has no sequence: its AA is its mean accuracy over the tasks, and BWT and forgetting do not apply.
        ...(method.joint === true && joint !== undefined
          ? { finalAverageAccuracy: joint.reduce((a, b) => a + b, 0) / joint.length, bwt: null, finalForgetting: null }
          : { finalAverageAccuracy: summary.finalAverageAccuracy, bwt: summary.bwt, finalForgetting: summary.finalForgetting }),
        seconds,
      });
    });
  });
}

const meanStd = (xs: number[]): string => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return `${mean.toFixed(4)} ± ${std.toFixed(4)}`;
};

function table(records: RunRecord[]): string {
  const lines: string[] = [];
  for (const protocol of PROTOCOLS) {
    const rows = METHODS.filter((m) => runsOn(m, protocol))
      .map((m) => ({ m, runs: records.filter((r) => r.protocol === protocol.id && r.method === m.label && r.algorithms === m.algorithms) }))
      .filter((row) => row.runs.length > 0);
    if (rows.length === 0) continue;
    lines.push(`## ${protocol.title}`, '', '| algorithm | seeds | AA | BWT | forgetting |', '| --- | ---: | ---: | ---: | ---: |');
    for (const { m, runs } of rows) {
      const finished = runs.filter((r) => r.finalAverageAccuracy !== undefined).sort((a, b) => a.seed - b.seed);
      const diverged = runs.filter((r) => r.divergedAtTask !== undefined).sort((a, b) => a.seed - b.seed);
      const seeds = [...finished.map((r) => `${r.seed}`), ...diverged.map((r) => `${r.seed}: NaN at task ${r.divergedAtTask}`)].join(', ');
      if (finished.length === 0) lines.push(`| ${m.label} | ${seeds} | — | — | — |`);
      else if (m.joint === true) lines.push(`| ${m.label} | ${seeds} | ${meanStd(finished.map((r) => r.finalAverageAccuracy!))} | — | — |`);
      else lines.push(`| ${m.label} | ${seeds} | ${meanStd(finished.map((r) => r.finalAverageAccuracy!))} | ${meanStd(finished.map((r) => r.bwt ?? 0))} | ${meanStd(finished.map((r) => r.finalForgetting ?? 0))} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function writeTable(records: RunRecord[]): void {
  const text = readFileSync(TABLE, 'utf8');
  const begin = '<!-- results table: written by bench/results.ts -->';
  const end = '<!-- end of results table -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${TABLE} lacks the markers ${begin} … ${end}`);
  writeFileAtomic(TABLE, `${text.slice(0, i + begin.length)}\n\n${table(records)}\n${text.slice(j)}`);
}

async function main(): Promise<void> {
  const seeds = (option('seeds') ?? '1,2,3').split(',').map(Number);
  const workers = Number(option('workers') ?? '2');
  const only = option('only')?.split(',');
  const protocols = option('protocols')?.split(',');
  const records = readRecords();
  const done = (p: Protocol, m: Method, s: number) => records.some((r) => r.protocol === p.id && r.method === m.label && r.algorithms === m.algorithms && r.seed === s);
  const queue = PROTOCOLS.filter((p) => protocols === undefined || protocols.includes(p.id)).flatMap((p) =>
    METHODS.filter((m) => runsOn(m, p) && (only === undefined || only.some((o) => m.label.startsWith(o)))).flatMap((m) => seeds.filter((s) => !done(p, m, s)).map((s) => ({ p, m, s }))),
  );
  const scratch = mkdtempSync(join(tmpdir(), 'perennial-results-'));
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queue.length) {
        const { p, m, s } = queue[next++]!;
        const record = await runOne(p, m, s, scratch);
        records.push(record);
        writeFileAtomic(RECORDS, `${JSON.stringify(records, null, 1)}\n`);
        const outcome = record.divergedAtTask === undefined ? `AA ${record.finalAverageAccuracy!.toFixed(4)}` : `NaN at task ${record.divergedAtTask}`;
        console.error(`${p.id} ${m.label} seed ${s}: ${outcome} (${record.seconds.toFixed(0)} s)`);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    writeTable(records);
  }
}

await main();
