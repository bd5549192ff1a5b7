// The Slurm executor: the array script it writes (its directives parsed, its
// run selection and quoting run by bash with a stand-in for perennial), the
// options it refuses, and a sweep submitted to a real one-node Slurm cluster
// (scripts/slurm.sh), with one run requeued from outside and one stopped by
// the time-limit signal, each ending bit-identical to the same run done here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../../src/config/experiment.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import { type SlurmManifest, type SlurmOptions, SlurmError, completedStates, launchSlurm, readSlurmJob, sbatchScript, slurmStatus, validateSlurmOptions } from '../../src/sweep/slurm.js';
import { readManifest, updateRun, writeManifest } from '../../src/sweep/manifest.js';
import { planSweep } from '../../src/sweep/plan.js';
import { getNumThreads, setNumThreads } from '../../src/index.js';
import { tempDir } from '../helpers.js';

const repo = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

/** The #SBATCH options of a script, by name ('array' → '0-4%3'; a flag → ''), and whether any follows a command. */
function directives(script: string): { options: Map<string, string>; afterCommand: boolean } {
  const options = new Map<string, string>();
  let commandSeen = false;
  let afterCommand = false;
  for (const line of script.split('\n').slice(1)) {
    const match = /^#SBATCH --([a-z-]+)(?:=(.*))?$/.exec(line);
    if (match) {
      assert.ok(!options.has(match[1]!), `--${match[1]} is set once`);
      options.set(match[1]!, match[2] ?? '');
      afterCommand ||= commandSeen;
    } else if (line !== '' && !line.startsWith('#')) commandSeen = true;
  }
  return { options, afterCommand };
}

function manifestOf(runs: { id: string; overrides: string[]; status?: string }[], config: string | null = null): SlurmManifest {
  return { base: { config }, runs: runs.map((r) => ({ status: 'queued', ...r })) };
}

const baseOptions: SlurmOptions = { cpusPerTask: 1, extraDirectives: [] };

describe('the sbatch array script', () => {
  it('sets the array, %K, cores, partition, time, memory, account, requeue, append, log and signal, and extra lines', () => {
    const ids = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc', 'dddddddddddd', 'eeeeeeeeeeee'];
    const options: SlurmOptions = {
      partition: 'short',
      time: '01:30:00',
      memory: '2G',
      account: 'lab-1',
      concurrency: 3,
      cpusPerTask: 2,
      extraDirectives: ['--qos=low', '#SBATCH --constraint=avx2'],
    };
    const { options: d, afterCommand } = directives(sbatchScript('/sweeps/s1', ids, options));
    assert.equal(afterCommand, false, 'sbatch reads #SBATCH lines only before the first command');
    assert.equal(d.get('array'), '0-4%3');
    assert.equal(d.get('cpus-per-task'), '2');
    assert.equal(d.get('partition'), 'short');
    assert.equal(d.get('time'), '01:30:00');
    assert.equal(d.get('mem'), '2G');
    assert.equal(d.get('account'), 'lab-1');
    assert.equal(d.get('requeue'), '');
    assert.equal(d.get('open-mode'), 'append');
    assert.equal(d.get('output'), '/sweeps/s1/logs/slurm-%A_%a.out');
    assert.equal(d.get('signal'), 'B:USR1@120');
    assert.equal(d.get('qos'), 'low');
    assert.equal(d.get('constraint'), 'avx2');

    const plain = directives(sbatchScript('/sweeps/with space', ids.slice(0, 2), baseOptions)).options;
    assert.equal(plain.get('array'), '0-1', 'no %K without a concurrency limit');
    assert.equal(plain.get('output'), '"/sweeps/with space/logs/slurm-%A_%a.out"', 'a path with a blank is double-quoted');
    for (const key of ['partition', 'time', 'mem', 'account']) assert.equal(plain.has(key), false, `no --${key} unless given`);
  });

  it('runs the run of its array index through sweep run-one, the directory quoted', () => {
    const dir = join(tempDir('slurm-script-'), "it's a sweep");
    const runs = [
      { id: '000000000000', overrides: ['seed=0'] },
      { id: '111111111111', overrides: ['algorithms=[{name: ewc, lambda: 10}]', "output.note=it's"] },
    ];
    const ids = runs.map((r) => r.id);
    mkdirSync(join(dir, 'slurm'), { recursive: true });
    writeFileSync(join(dir, 'slurm', 'runs.txt'), `${ids.join('\n')}\n`);
    // echo stands in for node: the task prints the arguments perennial would get, one a line.
    const script = sbatchScript(dir, ids, { ...baseOptions, cpusPerTask: 2 }, { node: '/usr/bin/printf', main: '%s\\n' });
    writeFileSync(join(dir, 'task.sh'), script);
    const task = (index: number) => {
      const result = spawnSync('bash', [join(dir, 'task.sh')], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'], SLURM_ARRAY_JOB_ID: '7', SLURM_ARRAY_TASK_ID: String(index), SLURM_CPUS_PER_TASK: '2', SLURM_RESTART_COUNT: '1' },
      });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.split('\n');
    };
    const lines = task(1);
    assert.match(lines[0]!, /^perennial: run 111111111111, array task 7_1 on .*, start 2 at /);
    assert.deepEqual(lines.slice(1, -1), ['sweep', 'run-one', dir, '111111111111'], 'each task runs its id through sweep run-one');
    assert.deepEqual(task(0).slice(1, -1), ['sweep', 'run-one', dir, '000000000000']);
  });

  it('refuses bad options, naming each one and the fix', () => {
    assert.throws(
      () =>
        validateSlurmOptions({ cpusPerTask: 0, concurrency: 1.5, time: '90min', memory: '2GB', partition: 'a b', extraDirectives: ['--array=0-9', 'qos=low'] }),
      (error: unknown) => {
        assert.ok(error instanceof SlurmError);
        for (const part of ['cpus per task must be a whole number', 'concurrency', "time '90min'", "memory '2GB'", "partition 'a b'"]) assert.ok(error.message.includes(part), `${part} in:\n${error.message}`);
        return true;
      },
    );
    for (const time of ['90', '30:00', '01:30:00', '2-12', '1-00:00:00', 'UNLIMITED']) validateSlurmOptions({ ...baseOptions, time, memory: '4000M' });
    assert.throws(() => validateSlurmOptions({ ...baseOptions, extraDirectives: ['--output=x.log'] }), /sets --output, which the Slurm executor sets itself/);
    assert.throws(() => validateSlurmOptions({ ...baseOptions, extraDirectives: ['qos=low'] }), /is not an sbatch option: write it as '--option=value'/);
    assert.throws(() => sbatchScript('/sweeps/50%', ['a'], baseOptions), /'%'.*choose another directory/);
  });

  it('submits nothing when every run is done', () => {
    const dir = tempDir('slurm-done-');
    const launch = launchSlurm(dir, manifestOf([{ id: 'a', overrides: [], status: 'done' }]), baseOptions);
    assert.equal(launch.jobId, null);
    assert.equal(existsSync(join(dir, 'slurm')), false);
  });
});

function slurm(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.error?.message ?? result.stderr}`);
  return result.stdout;
}

/** The Slurm state of array task `task` ('12_3'), '' once squeue has forgotten it. */
function taskState(task: string): string {
  const result = spawnSync('squeue', ['--noheader', '--states=all', `--jobs=${task}`, '--format=%T'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Set when one of the waits run side by side failed, so that the others stop too.
let abandoned = false;

/** Polls `ready` every 50 ms until it holds; fails after `seconds` with `what`. */
async function waitFor(what: string, seconds: number, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!ready()) {
    if (abandoned) assert.fail(`stopped waiting for ${what}: another wait failed`);
    if (Date.now() > deadline) assert.fail(`waited ${seconds} s for ${what}`);
    await sleep(50);
  }
}

/**
 * Releases a requeued task, which Slurm holds for about two minutes (a begin
 * time), and waits until its script has started again (its log says so). Not
 * at once: slurmd refuses a task started again within the second its last
 * start was killed in ("Job credential revoked"; the task then fails).
 */
async function release(task: string, log: string): Promise<void> {
  await waitFor(`${task} to wait for its begin time after its requeue`, 60, () => taskState(task) === 'PENDING');
  await sleep(2000);
  await waitFor(`${task} to start again after its requeue`, 60, () => {
    if (taskState(task) === 'PENDING') spawnSync('scontrol', ['update', `jobid=${task}`, 'StartTime=now']);
    return existsSync(log) && / start 2 at /.test(readFileSync(log, 'utf8'));
  });
}

describe('a sweep on a one-node Slurm cluster', () => {
  let jobId: string | null = null;
  after(() => {
    if (jobId !== null) spawnSync('scancel', [jobId]);
  });

  it('runs every run, resumes a requeued run and a run stopped before its time limit, and ends bit-identical to local runs', async () => {
    const started = spawnSync('bash', [join(repo, 'scripts', 'slurm.sh'), 'start'], { encoding: 'utf8' });
    assert.equal(started.status, 0, `scripts/slurm.sh start could not bring the cluster up:\n${started.stdout}${started.stderr}`);

    const dir = join(tempDir('slurm-sweep-'), 'sweep');
    // A sweep of five seeds, planned and written as `perennial sweep` does.
    // A run's first task takes about 1.5 s on one core (loading the data), an
    // epoch of a later one 0.03 s: at 30 epochs a task there are about 2 s to
    // signal a run between its first task's checkpoint and its end.
    const common = ['benchmark.numTasks=3', 'benchmark.trainLimit=2000', 'backbone.hiddenSizes=[16]', 'training.epochs=30'];
    const plan = planSweep(undefined, [...common, 'seed=0..4']);
    mkdirSync(dir, { recursive: true });
    writeManifest(dir, plan.manifest);
    // A run the manifest has as done is not submitted again.
    const done = plan.manifest.runs[4]!.id;
    updateRun(dir, done, (r) => (r.status = 'done'));
    const manifest = readManifest(dir)!;
    const runs = manifest.runs.filter((r) => r.id !== done);
    const launch = launchSlurm(dir, manifest, { cpusPerTask: 1, concurrency: 2, extraDirectives: [] });
    jobId = launch.jobId;
    assert.ok(jobId !== null && /^\d+$/.test(jobId), `a job id, got ${jobId}`);
    assert.deepEqual(readSlurmJob(dir)?.runs, runs.map((r) => r.id));
    assert.equal(directives(readFileSync(launch.script, 'utf8')).options.get('array'), '0-3%2');
    assert.deepEqual(readFileSync(join(dir, 'slurm', 'runs.txt'), 'utf8').trim().split('\n'), launch.runs);

    const runDir = (i: number) => join(dir, 'runs', runs[i]!.id);
    const afterFirstTask = (i: number) => existsSync(join(runDir(i), 'checkpoints', 'task_1.safetensors'));
    assert.throws(() => launchSlurm(dir, manifest, baseOptions), new RegExp(`job ${jobId} of this sweep still has \\d run\\(s\\) queued or running: .* scancel ${jobId}`));

    // %2: runs 0 and 1 start, runs 2 and 3 wait for them.
    let first = slurmStatus(dir);
    await waitFor('runs 0 and 1 to start', 60, () => {
      first = slurmStatus(dir);
      return [0, 1].every((i) => first.get(runs[i]!.id)?.state === 'RUNNING');
    });
    for (const i of [2, 3]) assert.deepEqual(first.get(runs[i]!.id), { state: 'PENDING', reason: 'JobArrayTaskLimit', task: `${jobId}_${i}` });

    // Both at once, since each run lasts a few seconds. Run 1 is requeued from
    // outside (preemption, as an administrator would); run 2 gets the signal
    // Slurm sends the batch shell before the time limit.
    const interrupt = async (i: number, how: string[]) => {
      try {
        await waitFor(`run ${i} to finish its first task`, 90, () => afterFirstTask(i));
        assert.ok(!existsSync(join(runDir(i), 'checkpoints', 'task_3.safetensors')), `run ${i} is still training when interrupted; make its tasks longer`);
        slurm(how[0]!, [...how.slice(1), `${jobId}_${i}`]);
        await release(`${jobId}_${i}`, join(dir, 'logs', `slurm-${jobId}_${i}.out`));
      } catch (error) {
        abandoned = true;
        throw error;
      }
    };
    await Promise.all([interrupt(1, ['scontrol', 'requeue']), interrupt(2, ['scancel', '--batch', '--signal=USR1'])]);

    await waitFor('every run to end', 180, () => launch.runs.every((_, i) => !['PENDING', 'RUNNING', 'COMPLETING'].includes(taskState(`${jobId}_${i}`))));
    const status = slurmStatus(dir);
    for (const r of runs) assert.equal(status.get(r.id)?.state, 'COMPLETED', `run ${r.id}: ${JSON.stringify(status.get(r.id))}`);
    // sweep run-one recorded each outcome in the manifest.
    assert.deepEqual(readManifest(dir)!.runs.map((r) => r.status), ['done', 'done', 'done', 'done', 'done']);
    // The job-completion log (jobcomp/filetxt, which scripts/slurm.sh enables), which status reads once squeue forgets the job.
    assert.deepEqual([...completedStates(readSlurmJob(dir)!).entries()].sort(), [0, 1, 2, 3].map((i) => [i, 'COMPLETED']));

    for (const i of [1, 2]) {
      const log = readFileSync(join(dir, 'logs', `slurm-${jobId}_${i}.out`), 'utf8');
      assert.match(log, new RegExp(`perennial: run ${runs[i]!.id}, array task ${jobId}_${i} on .*, start 1 at `));
      assert.match(log, new RegExp(`perennial: run ${runs[i]!.id}, array task ${jobId}_${i} on .*, start 2 at `), `run ${i} was started again (SLURM_RESTART_COUNT 1):\n${log}`);
      const runLog = readFileSync(join(runDir(i), 'run.log'), 'utf8');
      assert.match(runLog, /resumed from the checkpoint of task [12]\n/, `run ${i} resumed from its checkpoint:\n${runLog}\n${log}`);
    }
    assert.match(readFileSync(join(dir, 'logs', `slurm-${jobId}_2.out`), 'utf8'), new RegExp(`run ${runs[2]!.id} stopped before the time limit; requeueing ${jobId}_2`));
    for (const i of [0, 3]) assert.doesNotMatch(readFileSync(join(dir, 'logs', `slurm-${jobId}_${i}.out`), 'utf8'), /start 2 at/);

    // The same runs here, on one thread as in Slurm (--cpus-per-task 1).
    const threads = getNumThreads();
    setNumThreads(1);
    try {
      const local = tempDir('slurm-local-');
      for (const r of runs) {
        const result = runExperiment({ config: loadExperiment(undefined, r.overrides), runDir: join(local, r.id), log: () => {} });
        assert.equal(readFileSync(join(dir, 'runs', r.id, 'acc.csv'), 'utf8'), readFileSync(join(result.runDir, 'acc.csv'), 'utf8'), `run ${r.id}: acc.csv as a local run's`);
      }
    } finally {
      setNumThreads(threads);
    }
  });
});
