// A sweep directory's manifest, DIR/sweep.json: the sweep as given (base and
// grid) and each run's state. Every process of a sweep (the executor, each
// `sweep run-one`) changes it by read-modify-write under an exclusive lock on
// DIR/sweep.lock, and writes it atomically, so that no update is lost and a
// crash never leaves half a manifest.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../config/experiment.js';
import { writeFileAtomic } from '../serialization/atomic.js';
import { native } from '../tensor/native.js';
import type { Grid } from './grid.js';

export const MANIFEST_FILE = 'sweep.json';
const LOCK_FILE = 'sweep.lock';

export type RunStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ManifestRun {
  /** 12 hex characters: a hash of the run's resolved configuration without output.* (runId). */
  id: string;
  /** The grid keys' values, e.g. `algorithms=[{name: ewc}] seed=1`. */
  label: string;
  /** Every override of the run, the base's first. */
  overrides: string[];
  status: RunStatus;
  attempts: number;
  exitStatus: number | null;
  /** Relative to the sweep directory. */
  log: string;
  error: string | null;
}

export interface Manifest {
  version: 1;
  base: { config: string | null; overrides: string[] };
  grid: Grid;
  runs: ManifestRun[];
}

/** A sweep directory that cannot be used as asked; nothing was started. */
export class SweepDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepDirectoryError';
  }
}

/** JSON with every object's keys sorted, so that equal values hash equally whatever order their keys were written in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Configuration keys added after run ids were first issued, with the value
 * every run had before the key existed (its default). At that value a key is
 * left out of the id, so that a sweep directory made before the key existed
 * keeps its runs' ids: they are the same runs. A key added to the
 * configuration with a default belongs here.
 */
const KEYS_ADDED_SINCE_IDS: readonly { readonly section: 'benchmark'; readonly key: string; readonly value: unknown }[] = [
  { section: 'benchmark', key: 'normalize', value: 'dataset' },
];

/**
 * A run's id: the first 12 hex digits of the SHA-256 of its validated
 * configuration without `output` (where the run is written does not make it
 * another run) and without the keys added since ids were issued, where they
 * have the value runs had before.
 */
export function runId(config: ExperimentConfig): string {
  const { output: _output, ...rest } = config;
  const sections: Record<string, unknown> = { ...rest };
  for (const { section, key, value } of KEYS_ADDED_SINCE_IDS) {
    const kept = Object.entries(rest[section]).filter(([k, v]) => k !== key || canonicalJson(v) !== canonicalJson(value));
    sections[section] = Object.fromEntries(kept);
  }
  return createHash('sha256').update(canonicalJson(sections)).digest('hex').slice(0, 12);
}

export function runDirectory(dir: string, id: string): string {
  return join(dir, 'runs', id);
}

export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SweepDirectoryError(`cannot read the sweep manifest ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const m = value as Partial<Manifest> | null;
  if (m === null || typeof m !== 'object' || m.version !== 1 || !Array.isArray(m.runs) || m.base === undefined || m.grid === undefined) {
    throw new SweepDirectoryError(`${path} is not a sweep manifest of this version of perennial (expected "version": 1 with base, grid and runs)`);
  }
  return m as Manifest;
}

/** The manifest of `dir`, which must hold one. */
export function requireManifest(dir: string): Manifest {
  const manifest = readManifest(dir);
  if (manifest === undefined) throw new SweepDirectoryError(`${dir} is not a sweep directory: it has no ${MANIFEST_FILE}`);
  return manifest;
}

export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

// flock lives in the addon; typed here, where it is used.
const binding = native as unknown as { tryLockFile(fd: number): boolean };
const pause = new Int32Array(new SharedArrayBuffer(4));
// Updates take milliseconds; a lock held this long is held by a process that hangs.
const LOCK_TIMEOUT_MS = 60_000;

/** Runs `update` holding DIR/sweep.lock (waiting for it); the lock goes with the file descriptor, even if the process dies. */
export function withManifestLock<T>(dir: string, update: () => T): T {
  const path = join(dir, LOCK_FILE);
  mkdirSync(dir, { recursive: true });
  const fd = openSync(path, 'a');
  try {
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    while (!binding.tryLockFile(fd)) {
      if (Date.now() > deadline) throw new SweepDirectoryError(`the sweep manifest's lock ${path} has been held for ${LOCK_TIMEOUT_MS / 1000} s; is a perennial process of this sweep hanging?`);
      Atomics.wait(pause, 0, 0, 10);
    }
    return update();
  } finally {
    closeSync(fd);
  }
}

/** Changes one run's entry (read, changed and written under the lock); returns the entry as written. */
export function updateRun(dir: string, id: string, change: (run: ManifestRun) => void): ManifestRun {
  return withManifestLock(dir, () => {
    const manifest = requireManifest(dir);
    const run = manifest.runs.find((r) => r.id === id);
    if (run === undefined) throw new SweepDirectoryError(`the sweep in ${dir} has no run ${id}; \`perennial sweep status ${dir}\` lists its runs`);
    change(run);
    writeManifest(dir, manifest);
    return run;
  });
}

/** What differs between the sweep a directory holds and the one asked for, one line each; empty when they are the same. */
export function manifestDifferences(held: Manifest, asked: Manifest): string[] {
  const lines: string[] = [];
  if (held.base.config !== asked.base.config) lines.push(`config file: ${held.base.config ?? '(the default experiment)'} there, ${asked.base.config ?? '(the default experiment)'} now`);
  if (canonicalJson(held.base.overrides) !== canonicalJson(asked.base.overrides)) lines.push(`fixed overrides: [${held.base.overrides.join(' ')}] there, [${asked.base.overrides.join(' ')}] now`);
  const keys = [...new Set([...Object.keys(held.grid), ...Object.keys(asked.grid)])];
  for (const key of keys) {
    const [a, b] = [held.grid[key], asked.grid[key]];
    if (canonicalJson(a) !== canonicalJson(b)) lines.push(`grid ${key}: ${a === undefined ? '(not swept)' : a.join(',')} there, ${b === undefined ? '(not swept)' : b.join(',')} now`);
  }
  if (lines.length === 0) {
    const [a, b] = [held.runs.map((r) => r.id), asked.runs.map((r) => r.id)];
    if (canonicalJson(a) !== canonicalJson(b)) lines.push(`the runs' configurations (the config file changed since the sweep started): ids ${a.join(' ')} there, ${b.join(' ')} now`);
  }
  return lines;
}

/**
 * Holds DIR/executor.lock until the returned function is called: one executor
 * per sweep directory, so that two never start the same run. Throws when
 * another process holds it.
 */
export function holdExecutorLock(dir: string): () => void {
  const path = join(dir, 'executor.lock');
  const fd = openSync(path, 'a');
  if (!binding.tryLockFile(fd)) {
    closeSync(fd);
    throw new SweepDirectoryError(`another perennial sweep is running in ${dir}; wait for it to end (\`perennial sweep status ${dir}\` shows its progress), or stop it before starting this one`);
  }
  return () => closeSync(fd);
}
