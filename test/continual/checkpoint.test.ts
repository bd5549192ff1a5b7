// Loading a checkpoint that is not what this version wrote: bad metadata
// (not JSON, a key missing, a wrong type) and tensors of the wrong dtype or
// shape are refused with an error that names the file and the problem,
// before anything is loaded, instead of a raw JavaScript error or a cast.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadExperiment } from '../../src/config/experiment.js';
import { createAlgorithms } from '../../src/continual/algorithms/index.js';
import { createBenchmark } from '../../src/continual/benchmarks/index.js';
import { CheckpointError, checkpointPath, loadCheckpoint } from '../../src/continual/experiment/checkpoint.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import { buildModel } from '../../src/continual/experiment/sequence.js';
import type { ContinualBenchmark } from '../../src/continual/contracts/types.js';
import { loadSafetensors, saveSafetensors } from '../../src/serialization/safetensors.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { tempDir } from '../helpers.js';

const config = loadExperiment(undefined, [
  'benchmark.numTasks=2', 'benchmark.trainLimit=200', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'algorithms=[{name: ewc, lambda: 10}]',
]);
const WEIGHT = 'backbone.fc1.weight';

describe('loading a checkpoint', () => {
  const root = tempDir('checkpoint-');
  const source = join(root, 'run');
  let benchmark: ContinualBenchmark;
  before(() => {
    runExperiment({ config, runDir: source });
    benchmark = createBenchmark({ ...config.benchmark, seed: config.seed });
  });
  after(() => benchmark.dispose());

  /** Loads the checkpoint of task 2 after `edit` changed its tensors and metadata. */
  function load(name: string, edit: (tensors: Record<string, Tensor>, meta: Record<string, unknown>, metadata: Record<string, string>) => void): { path: string; run: () => unknown } {
    const runDir = join(root, name);
    mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
    const { tensors, metadata } = loadSafetensors(checkpointPath(source, 2));
    const meta = JSON.parse(metadata['perennial']!) as Record<string, unknown>;
    const fields = { ...metadata };
    edit(tensors, meta, fields);
    if (fields['perennial'] === metadata['perennial']) fields['perennial'] = JSON.stringify(meta);
    const path = checkpointPath(runDir, 2);
    saveSafetensors(path, tensors, fields);
    for (const t of Object.values(tensors)) t.dispose();
    return {
      path,
      run: () => {
        const model = buildModel(config, benchmark);
        const algorithms = createAlgorithms(config.algorithms);
        try {
          for (const t of [1, 2]) model.heads.setupTask(t, benchmark.numClasses(t));
          return loadCheckpoint(runDir, 2, model, algorithms);
        } finally {
          for (const a of algorithms) a.dispose?.();
          model.dispose();
        }
      },
    };
  }

  function assertRefused(name: string, edit: Parameters<typeof load>[1], problem: string | RegExp): void {
    const { path, run } = load(name, edit);
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof CheckpointError, `a CheckpointError, not ${String(error)}`);
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      if (typeof problem === 'string') assert.equal(error.message, `${path}: ${problem}`);
      else assert.match(error.message, problem);
      return true;
    });
  }

  it('loads the checkpoint as it was written', () => {
    const { run } = load('valid', () => undefined);
    const progress = run() as { task: number; globalStep: number; accuracy: number[][] };
    assert.equal(progress.task, 2);
    assert.equal(progress.accuracy.length, 2);
    assert.ok(progress.globalStep > 0);
  });

  it('refuses metadata that is missing or not JSON', () => {
    assertRefused('no-metadata', (_t, _m, fields) => delete fields['perennial'], "not a Perennial checkpoint: it has no 'perennial' metadata");
    assertRefused('not-json', (_t, _m, fields) => (fields['perennial'] = '{"format": "perennial-checkpoint-1",'), /^.*: the 'perennial' metadata is not valid JSON \(/);
    assertRefused('not-object', (_t, _m, fields) => (fields['perennial'] = '[1, 2]'), "the 'perennial' metadata is not a JSON object");
  });

  it('refuses metadata that lacks a key or has one of the wrong type, naming the key', () => {
    assertRefused('no-step', (_t, m) => delete m['globalStep'], "metadata 'globalStep' must be a non-negative integer, got undefined");
    assertRefused('step-string', (_t, m) => (m['globalStep'] = '12'), `metadata 'globalStep' must be a non-negative integer, got "12"`);
    assertRefused('accuracy-object', (_t, m) => (m['accuracy'] = {}), "metadata 'accuracy' must hold 2 rows of accuracies in [0, 1], row t with t entries");
    assertRefused('loss-short-row', (_t, m) => (m['loss'] = [[1], [1]]), "metadata 'loss' must hold 2 rows of numbers, row t with t entries");
    assertRefused('no-algorithms', (_t, m) => delete m['algorithms'], "metadata 'algorithms' must be a list of {name, values} entries");
    assertRefused('other-algorithm', (_t, m) => (m['algorithms'] = [{ name: 'si', values: {} }]), 'saved with algorithms [si], but the run has [ewc]');
    assertRefused('other-task', (_t, m) => (m['task'] = 3), "metadata 'task' is 3, but the file is the checkpoint of task 2");
    assertRefused('other-format', (_t, m) => (m['format'] = 'x'), `metadata 'format' is "x", expected 'perennial-checkpoint-1'`);
  });

  it('refuses a model tensor of another dtype or shape, a missing one and an unexpected one', () => {
    const replace = (key: string, make: (t: Tensor) => Tensor) => (tensors: Record<string, Tensor>) => {
      const old = tensors[key]!;
      tensors[key] = make(old);
      old.dispose();
    };
    assertRefused('int32-weight', replace(`model.${WEIGHT}`, (t) => t.int()), `the model state: tensor '${WEIGHT}' is int32 [16, 784], expected float32 [16, 784]`);
    assertRefused('short-weight', replace(`model.${WEIGHT}`, (t) => t.narrow(0, 0, 8).clone()), `the model state: tensor '${WEIGHT}' is float32 [8, 784], expected float32 [16, 784]`);
    assertRefused('no-weight', (tensors) => {
      tensors[`model.${WEIGHT}`]!.dispose();
      delete tensors[`model.${WEIGHT}`];
    }, `the model state lacks tensor '${WEIGHT}'`);
    assertRefused('extra-tensor', (tensors) => (tensors['model.extra'] = tensors['rng']!.clone()), "the model state has unexpected tensor 'extra'");
    assertRefused('stray-tensor', (tensors) => (tensors['stray'] = tensors['rng']!.clone()), "unexpected tensor 'stray'");
    assertRefused('float-rng', replace('rng', (t) => t.float()), /^.*: tensor 'rng' is float32 \[\d+\], expected uint8 \[\d+\]$/);
  });

  it("refuses an algorithm's tensor of another dtype or shape than the parameter it belongs to", () => {
    const key = `algorithm.0.task.1.fisher.${WEIGHT}`;
    assertRefused('int32-fisher', (tensors) => {
      const old = tensors[key]!;
      tensors[key] = old.int();
      old.dispose();
    }, `the state of algorithm ewc: tensor 'task.1.fisher.${WEIGHT}' is int32 [16, 784], but the parameter ${WEIGHT} is float32 [16, 784]`);
  });

  it('refuses an algorithm tensor that the algorithm does not restore', () => {
    // EWC reads only its tasks' entries: one it would silently drop must not pass.
    assertRefused('ignored-tensor', (tensors) => (tensors['algorithm.0.stray'] = tensors['rng']!.clone()), "the state of algorithm ewc has unexpected tensor 'stray'");
  });
});
