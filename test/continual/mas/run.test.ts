// MAS in whole experiments: every paradigm runs from a configuration, a run
// stopped after a task and resumed ends byte-identical to an uninterrupted
// one, and a run whose penalty makes SGD diverge stops with an error that
// names the cause.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { NonFiniteLossError } from '../../../src/continual/training/trainer.js';
import { tempDir } from '../../helpers.js';

const base = [
  'benchmark.numTasks=3', 'benchmark.trainLimit=200', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=32',
  'training.validateEveryEpoch=false', 'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9}',
];
const compared = ['acc.csv', 'loss.csv', join('checkpoints', 'task_3.safetensors')];

describe('MAS in experiments', () => {
  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm.toUpperCase()}: a run stopped after task 1 and resumed ends byte-identical to an uninterrupted one`, () => {
      const overrides = [...base, `paradigm=${paradigm}`, ...(paradigm === 'dil' ? ['benchmark.name=rotated'] : paradigm === 'cil' ? ['benchmark.name=split', 'benchmark.classSplit=[[0,1],[2,3],[4,5]]'] : []), 'algorithms=[{name: mas, lambda: 0.1}]'];
      const root = tempDir(`mas-${paradigm}-`);
      const whole = join(root, 'whole');
      const stopped = join(root, 'stopped');
      const full = runExperiment({ config: loadExperiment(undefined, overrides), runDir: whole });
      assert.ok(full.accuracy.flat().every(Number.isFinite));
      assert.throws(
        () => runExperiment({ config: loadExperiment(undefined, overrides), runDir: stopped, onTaskEnd: (task) => { if (task === 1) throw new Error('stop'); } }),
        /stop/,
      );
      runExperiment({ config: loadExperiment(undefined, overrides), runDir: stopped, resume: true });
      for (const file of compared) assert.ok(readFileSync(join(stopped, file)).equals(readFileSync(join(whole, file))), `${file} is byte-identical`);
    });
  }

  it('stops a diverging run with an error that names λ × Ω against the learning rate', () => {
    const overrides = [...base, 'training.epochs=3', 'algorithms=[{name: mas, lambda: 1000}]'];
    assert.throws(
      () => runExperiment({ config: loadExperiment(undefined, overrides), runDir: join(tempDir('mas-nan-'), 'run') }),
      (e: Error) => e instanceof NonFiniteLossError && e.task === 2 && /mas: λ × Ω is too large for the learning rate \(λ = 1000, max Ω = \S+, lr 0.05, momentum 0.9: lr · 2λΩ = \S+ against SGD's stability limit 2 \(1 \+ momentum\) = 3.80\); SGD diverges on the penalty λ Σ Ω \(θ − θ\*\)² alone. Use a mas lambda below/.test(e.message),
    );
    // Finetuning on the same run stays finite: the penalty is the cause.
    const plain = runExperiment({ config: loadExperiment(undefined, [...base, 'training.epochs=3']), runDir: join(tempDir('mas-nan-'), 'run') });
    assert.ok(plain.accuracy.flat().every(Number.isFinite));
  });
});
