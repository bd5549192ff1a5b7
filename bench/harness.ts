// What every side-by-side benchmark shares: running a measurement in a fresh
// process, reading its final JSON line, and the median over repetitions.
import { spawnSync } from 'node:child_process';

/** One measurement: named numbers. */
export type Sample = Record<string, number>;

/** Debian's dataset-fashion-mnist (installed by `scripts/setup.sh --dev`). */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Runs `cmd` in a fresh process with `threads` OpenBLAS threads and parses its last stdout line as JSON. */
export function spawnJson(cmd: string, args: string[], threads: number): Sample {
  // OpenBLAS reads this at start-up; our addon also sets it, PyTorch cannot.
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  const out = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, env });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as Sample;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
