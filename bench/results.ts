// The comparison tables of docs/algorithms/results.md: every algorithm on the
// two protocols (10-task Permuted Fashion-MNIST in TIL; 5-task Split
// Fashion-MNIST in TIL, DIL and CIL), and the rehearsal algorithms with
// memories of 200 and 500 examples on the rehearsal protocol (5-task Split
// Fashion-MNIST and Split MNIST from the bundled digits, CIL, batch 10),
// over several seeds, each run a fresh
// `perennial run` process with one thread. Finished runs are kept in
// docs/algorithms/results.json (one record per protocol, algorithm and seed),
// so that an interrupted collection resumes and the table is rebuilt from
// the records alone. The parameter-isolation methods (WSN, HAT, AdaHAT,
// PackNet) also get a section of their own with the capacity they report
// after each task (`capacityUsedAfterTask` in summary.json); a record of one
// of them without it (collected before the algorithms reported it) is run
// again and replaced.
//
//   npm run results [-- --only=<label prefix>,...] [--protocols=<id>,...] [--seeds=1,2,3] [--workers=2]
//                   [--redo=<label prefix>,...] [--dry]
//
// --redo counts the records of the matching methods (among those chosen, on
// the chosen protocols and seeds) as not collected: they are run again and
// replaced as the new runs finish (a resumed collection needs --redo no
// more). --dry lists the runs it would make and rewrites the tables from the
// records, running nothing.
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
  /** Config overrides of this method on top of the protocol's (e.g. PackNet's extra epoch), shown under the tables. */
  overrides?: readonly string[];
  /** Why the overrides, for the note under the tables. */
  overridesWhy?: string;
  /** A parameter-isolation method: its records need the capacity report, and it has a row in the isolation section. */
  isolation?: boolean;
}

const ALL = ['til', 'dil', 'cil'] as const;
const REHEARSAL = ['rehearsal-fmnist-cil', 'rehearsal-mnist-cil'];
/** The protocols of the parameter-isolation section. */
const ISOLATION = ['permuted-til', 'split-til'];
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
  { label: 'WSN (c 0.5)', algorithms: '[{name: wsn, maskPercentage: 0.5}]', paradigms: ['til'], isolation: true },
  { label: 'HAT', algorithms: '[{name: hat}]', paradigms: ['til'], protocols: ISOLATION, isolation: true },
  { label: 'AdaHAT', algorithms: '[{name: adahat}]', paradigms: ['til'], protocols: ISOLATION, isolation: true },
  {
    label: 'PackNet (p 0.5)',
    algorithms: '[{name: packnet, pruneFraction: 0.5}]',
    paradigms: ['til'],
    protocols: ISOLATION,
    isolation: true,
    overrides: ['training.epochs=2'],
    overridesWhy: '1 epoch of training, then 1 of retraining after the prune',
  },
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
  /** The method's config overrides, when it has any. */
  overrides?: string[];
  /** Parameter isolation: the fraction of the capacity in use after each task (index 0 = task 1), as the algorithm reports it. */
  capacityUsedAfterTask?: number[];
  capacityUnit?: CapacityUnit;
  seconds: number;
}

type CapacityUnit = 'weights' | 'units';

/** The record belongs to this row (same protocol, label, algorithms and overrides). */
function recordOf(r: RunRecord, protocol: Protocol, method: Method): boolean {
  return (
    r.protocol === protocol.id &&
    r.method === method.label &&
    r.algorithms === method.algorithms &&
    JSON.stringify(r.overrides ?? []) === JSON.stringify(method.overrides ?? [])
  );
}

/** The record has what the tables need: a parameter-isolation run that finished must carry its capacity report. */
function complete(r: RunRecord, method: Method): boolean {
  return method.isolation !== true || r.finalAverageAccuracy === undefined || r.capacityUsedAfterTask !== undefined;
}

/** The capacity report of the first algorithm in summary.json's `algorithms` that gives one. */
function capacityOf(algorithms: Record<string, Record<string, unknown>> | undefined): Pick<RunRecord, 'capacityUsedAfterTask' | 'capacityUnit'> {
  for (const values of Object.values(algorithms ?? {})) {
    const used: unknown = values['capacityUsedAfterTask'];
    const unit = values['capacityUnit'];
    const fractions = Array.isArray(used) ? used.filter((x): x is number => typeof x === 'number') : [];
    if (Array.isArray(used) && fractions.length === used.length && (unit === 'weights' || unit === 'units')) {
      return { capacityUsedAfterTask: fractions, capacityUnit: unit };
    }
  }
  return {};
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
  const args = ['dist/src/cli/main.js', 'run', protocol.config, ...protocol.overrides, ...(method.overrides ?? []), `seed=${seed}`, `algorithms=${method.algorithms}`, `output.dir=${dir}`, 'output.name=run'];
  if (method.joint === true) args.push('reference.joint=true');
  const overrides = method.overrides === undefined ? {} : { overrides: [...method.overrides] };
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
        return resolve({ protocol: protocol.id, method: method.label, algorithms: method.algorithms, seed, ...overrides, divergedAtTask: Number(diverged[1]), seconds });
      }
      if (status !== 0) return reject(new Error(`${method.label} on ${protocol.id}, seed ${seed} failed (${status}):\n${stderr}`));
      const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as Pick<RunRecord, 'finalAverageAccuracy' | 'bwt' | 'finalForgetting'> & {
        references?: { joint?: number[] };
        algorithms?: Record<string, Record<string, unknown>>;
      };
      rmSync(dir, { recursive: true, force: true });
      const joint = summary.references?.joint;
      resolve({
        protocol: protocol.id,
        method: method.label,
        algorithms: method.algorithms,
        seed,
        ...overrides,
        // The joint reference has no sequence: its AA is its mean accuracy over the tasks, and BWT and forgetting do not apply.
        ...(method.joint === true && joint !== undefined
          ? { finalAverageAccuracy: joint.reduce((a, b) => a + b, 0) / joint.length, bwt: null, finalForgetting: null }
          : { finalAverageAccuracy: summary.finalAverageAccuracy, bwt: summary.bwt, finalForgetting: summary.finalForgetting }),
        ...capacityOf(summary.algorithms),
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

/** The seeds of a row (finished ones, then the diverged ones with their task) and its finished runs. */
function rowRuns(runs: RunRecord[]): { seeds: string; finished: RunRecord[] } {
  const finished = runs.filter((r) => r.finalAverageAccuracy !== undefined).sort((a, b) => a.seed - b.seed);
  const diverged = runs.filter((r) => r.divergedAtTask !== undefined).sort((a, b) => a.seed - b.seed);
  return { seeds: [...finished.map((r) => `${r.seed}`), ...diverged.map((r) => `${r.seed}: NaN at task ${r.divergedAtTask}`)].join(', '), finished };
}

/** The rows of `protocol` among `methods` that have records. */
function rowsOf(protocol: Protocol, methods: readonly Method[], records: RunRecord[]): { m: Method; runs: RunRecord[] }[] {
  return methods
    .filter((m) => runsOn(m, protocol))
    .map((m) => ({ m, runs: records.filter((r) => recordOf(r, protocol, m)) }))
    .filter((row) => row.runs.length > 0);
}

/** A row's label, marked when the method changes the protocol's settings. */
const labelOf = (m: Method): string => (m.overrides === undefined ? m.label : `${m.label} †`);

/** The note under a table for its rows that change the protocol's settings. */
function overrideNotes(methods: readonly Method[]): string[] {
  return methods
    .filter((m) => m.overrides !== undefined)
    .map((m) => `† ${m.label}: run with ${m.overrides!.map((o) => `\`${o}\``).join(', ')}${m.overridesWhy === undefined ? '' : ` (${m.overridesWhy})`}.`)
    .flatMap((note) => [note, '']);
}

function table(records: RunRecord[]): string {
  const lines: string[] = [];
  for (const protocol of PROTOCOLS) {
    const rows = rowsOf(protocol, METHODS, records);
    if (rows.length === 0) continue;
    lines.push(`## ${protocol.title}`, '', '| algorithm | seeds | AA | BWT | forgetting |', '| --- | ---: | ---: | ---: | ---: |');
    for (const { m, runs } of rows) {
      const { seeds, finished } = rowRuns(runs);
      const label = labelOf(m);
      if (finished.length === 0) lines.push(`| ${label} | ${seeds} | — | — | — |`);
      else if (m.joint === true) lines.push(`| ${label} | ${seeds} | ${meanStd(finished.map((r) => r.finalAverageAccuracy!))} | — | — |`);
      else lines.push(`| ${label} | ${seeds} | ${meanStd(finished.map((r) => r.finalAverageAccuracy!))} | ${meanStd(finished.map((r) => r.bwt ?? 0))} | ${meanStd(finished.map((r) => r.finalForgetting ?? 0))} |`);
    }
    lines.push('', ...overrideNotes(rows.map((row) => row.m)));
  }
  lines.push(...isolationTable(records));
  return lines.join('\n');
}

/**
 * The parameter-isolation section: per protocol, AA and the capacity used
 * after each task (mean over the seeds that report it, in %), in the unit the
 * algorithm counts (weights: the masked weights and biases; units: the gated
 * units). A row without any report (records from before the algorithms gave
 * one) shows dashes.
 */
function isolationTable(records: RunRecord[]): string[] {
  const methods = METHODS.filter((m) => m.isolation === true);
  const lines: string[] = [];
  for (const protocol of PROTOCOLS) {
    const rows = rowsOf(protocol, methods, records);
    if (rows.length === 0) continue;
    const tasks = Math.max(0, ...rows.flatMap(({ runs }) => runs.map((r) => r.capacityUsedAfterTask?.length ?? 0)));
    const columns = tasks === 0 ? ['capacity used'] : Array.from({ length: tasks }, (_, k) => `${k + 1}`);
    if (lines.length === 0) {
      lines.push(
        '## Parameter isolation (TIL)',
        '',
        'AA (mean ± std over the seeds) and the capacity each algorithm reports in use after each task',
        '(columns 1, 2, …: the share of the network the tasks up to then hold, in %, mean over the seeds),',
        'in the unit the algorithm counts: weights (WSN: the weights and biases under its masks; PackNet:',
        'the weights tasks own, biases excluded) or units (HAT, AdaHAT: the hidden units a finished',
        "task's binary mask uses).",
        '',
      );
    }
    lines.push(`### ${protocol.title}`, '', `| algorithm | seeds | AA | unit | ${columns.join(' | ')} |`, `| --- | ---: | ---: | --- | ${columns.map(() => '---:').join(' | ')} |`);
    for (const { m, runs } of rows) {
      const { seeds, finished } = rowRuns(runs);
      const aa = finished.length === 0 ? '—' : meanStd(finished.map((r) => r.finalAverageAccuracy!));
      const reported = finished.filter((r) => r.capacityUsedAfterTask !== undefined);
      const unit = [...new Set(reported.map((r) => r.capacityUnit))].join(', ') || '—';
      const capacity = columns.map((_, k) => {
        const xs = reported.map((r) => r.capacityUsedAfterTask![k]).filter((x): x is number => x !== undefined);
        return xs.length === 0 ? '—' : ((100 * xs.reduce((a, b) => a + b, 0)) / xs.length).toFixed(1);
      });
      lines.push(`| ${labelOf(m)} | ${seeds} | ${aa} | ${unit} | ${capacity.join(' | ')} |`);
    }
    lines.push('', ...overrideNotes(rows.map((row) => row.m)));
  }
  return lines;
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
  const redo = option('redo')?.split(',');
  const dry = process.argv.includes('--dry');
  const records = readRecords();
  const selected = PROTOCOLS.filter((p) => protocols === undefined || protocols.includes(p.id)).flatMap((p) =>
    METHODS.filter((m) => runsOn(m, p) && (only === undefined || only.some((o) => m.label.startsWith(o)))).map((m) => ({ p, m })),
  );
  // --redo: the matching selected methods' records on the chosen seeds count as not collected (they are replaced as the new runs finish).
  const redone = (r: RunRecord) => redo !== undefined && seeds.includes(r.seed) && selected.some(({ p, m }) => redo.some((o) => m.label.startsWith(o)) && recordOf(r, p, m));
  const done = (p: Protocol, m: Method, s: number) => records.some((r) => recordOf(r, p, m) && r.seed === s && complete(r, m) && !redone(r));
  const queue = selected.flatMap(({ p, m }) => seeds.filter((s) => !done(p, m, s)).map((s) => ({ p, m, s })));
  if (dry) {
    for (const { p, m, s } of queue) console.error(`would run: ${p.id} ${m.label} seed ${s}`);
    writeTable(records);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'perennial-results-'));
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queue.length) {
        const { p, m, s } = queue[next++]!;
        const record = await runOne(p, m, s, scratch);
        // The new record replaces the row's earlier one for the seed (incomplete, or dropped by --redo).
        const stale = records.findIndex((r) => recordOf(r, p, m) && r.seed === s);
        if (stale >= 0) records.splice(stale, 1, record);
        else records.push(record);
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
