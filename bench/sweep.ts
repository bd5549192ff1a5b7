// The local executor's speed-up: a sweep of 4 default runs
// (experiments/default.yaml, seeds 1..4) with 2 workers against the same
// sweep with 1 worker (the runs one after another), each with the executor's
// default threads (cores / workers). Alternating, median of `repeats`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** Seconds that `perennial sweep` takes for the 4 runs with `workers` workers, in a fresh sweep directory. */
function timeSweep(workers: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'perennial-bench-sweep-'));
  try {
    const start = performance.now();
    const out = spawnSync(process.execPath, [cli, 'sweep', join(root, 'experiments', 'default.yaml'), 'seed=1..4', '--dir', join(dir, 'sweep'), '--workers', String(workers)], { encoding: 'utf8' });
    const seconds = (performance.now() - start) / 1000;
    if (out.status !== 0) throw new Error(`the sweep with ${workers} workers failed:\n${out.stderr}`);
    return seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runSweepBenchmark(options: { repeats: number }): Record<string, unknown> {
  const parallel: number[] = [];
  const sequential: number[] = [];
  for (let i = 0; i < options.repeats; i++) {
    sequential.push(timeSweep(1));
    parallel.push(timeSweep(2));
    console.error(`repeat ${i + 1}: 1 worker ${sequential[i]!.toFixed(1)} s, 2 workers ${parallel[i]!.toFixed(1)} s`);
  }
  return {
    benchmark: 'sweep',
    cores: availableParallelism(),
    runs: 4,
    sequentialSeconds: sequential,
    parallelSeconds: parallel,
    ratio: median(parallel) / median(sequential),
  };
}
