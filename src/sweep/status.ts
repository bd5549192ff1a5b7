// `perennial sweep status DIR`: each run's state from the manifest, its
// progress (tasks finished of the total) from its run directory, and, for a
// sweep submitted to Slurm, its array task's state from squeue or the
// cluster's job-completion log.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/loader.js';
import { latestCheckpointTask } from '../continual/experiment/checkpoint.js';
import { readRunConfig } from '../continual/experiment/resume.js';
import { RunDirectoryError } from '../continual/experiment/run_lock.js';
import { requireManifest, runDirectory } from './manifest.js';
import { loadSweepExperiment } from './plan.js';
import { readSlurmJob, slurmStatus } from './slurm.js';

/** The status report of the sweep in `dir`, as lines of text. */
export function sweepStatus(dir: string): string {
  const manifest = requireManifest(dir);
  const counts = { done: 0, running: 0, failed: 0, queued: 0 };
  const slurm = readSlurmJob(dir) === null ? null : slurmStatus(dir);
  const rows = manifest.runs.map((run) => {
    counts[run.status]++;
    const runDir = runDirectory(dir, run.id);
    let total: string;
    try {
      const config = existsSync(join(runDir, 'config.json')) ? readRunConfig(runDir) : loadSweepExperiment(manifest.base.config, run.overrides);
      total = String(config.benchmark.numTasks);
    } catch (error) {
      // A config file edited or removed since the sweep started: the rest of the report still holds.
      if (!(error instanceof ConfigError) && !(error instanceof RunDirectoryError) && !(error instanceof Error && 'code' in error)) throw error;
      total = '?';
    }
    const row = [run.id, run.status, `${latestCheckpointTask(runDir)}/${total}`, String(run.attempts), run.exitStatus === null ? '-' : String(run.exitStatus)];
    if (slurm !== null) {
      const task = slurm.get(run.id);
      row.push(task === undefined ? '-' : `${task.state}${task.reason === '' ? '' : ` (${task.reason})`}`);
    }
    return [...row, run.label];
  });
  const header = ['id', 'status', 'tasks', 'attempts', 'exit', ...(slurm === null ? [] : ['slurm']), 'label'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [`sweep ${dir}: ${manifest.runs.length} runs, ${counts.done} done, ${counts.running} running, ${counts.failed} failed, ${counts.queued} queued`, line(header), ...rows.map(line)];
  for (const run of manifest.runs.filter((r) => r.error !== null)) lines.push(`${run.id} (${run.label}): ${run.error!.split('\n')[0]}; log ${join(dir, run.log)}`);
  return lines.join('\n');
}
