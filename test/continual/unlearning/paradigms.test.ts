// Continual unlearning in class- and domain-incremental learning (the TIL
// cases are in amnesiac.test.ts): unlearning the only task restores every
// state entry, unlearning the last task equals the retrain reference, and a
// resumed run ends exactly as an uninterrupted one.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import { tempDir } from '../../helpers.js';
import { maxDifference, stateProbe } from './state_probe.js';

const tmp = (): string => join(tempDir('unlearning-paradigms-'), 'run');
const TINY = ['benchmark.trainLimit=256', 'backbone.hiddenSizes=[32]', 'training.optimizer.lr=0.05', 'training.optimizer.momentum=0.9'];
/** Split MNIST into 2-class tasks: CIL and DIL need tasks with their own classes (CIL) or one label space (DIL). */
const SPLIT = ['benchmark.name=split'];

for (const paradigm of ['cil', 'dil'] as const) {
  describe(`continual unlearning in ${paradigm.toUpperCase()}`, () => {
    for (const algorithm of ['{name: amnesiacFinetuning}', '{name: amnesiacEwc, lambda: 10}']) {
      it(`${algorithm}: unlearning the only task restores every state entry within 1e-6 (BatchNorm buffers and the head included)`, () => {
        const config = loadExperiment(undefined, [
          ...TINY, ...SPLIT, `paradigm=${paradigm}`, 'benchmark.numTasks=1', 'backbone.batchNorm=true', 'backbone.dropout=0.2', 'training.epochs=2',
          `algorithms=[${algorithm}]`, 'unlearning.requests=[{afterTask: 1, tasks: [1]}]', 'reference.random=true', 'reference.original=false',
        ]);
        const probe = stateProbe(1);
        try {
          const result = runExperiment({ config, runDir: tmp(), plugins: [probe] });
          assert.ok(maxDifference(probe.start!, probe.end!) > 0.01, 'training changed the model');
          assert.ok(maxDifference(probe.start!, probe.after!) <= 1e-6, 'unlearning restored it');
          assert.equal(result.accuracy[0]![0], result.references.random![0], 'the model scores as the untrained one');
        } finally {
          probe.free();
        }
      });
    }

    it('unlearning the last task trained equals the retrain reference: the same state, no accuracy gain, no feature distance', () => {
      const config = loadExperiment(undefined, [
        ...TINY, ...SPLIT, `paradigm=${paradigm}`, 'benchmark.numTasks=5', 'algorithms=[{name: amnesiacEwc, lambda: 10}]',
        'unlearning.requests=[{afterTask: 5, tasks: [5]}]', 'reference.original=false',
      ]);
      const probe = stateProbe(5);
      try {
        const { accuracy, unlearning } = runExperiment({ config, runDir: tmp(), plugins: [probe] });
        assert.ok(maxDifference(probe.start!, probe.after!) <= 1e-6, 'the model is back where it was before task 5');
        assert.deepEqual(unlearning!.tasks.slice(0, 4).map((r) => r.retrainAccuracy), accuracy[3], 'the retrain reference is the run after task 4');
        assert.ok(Math.abs(unlearning!.accuracyGain!) <= 1e-3, `AG ${unlearning!.accuracyGain}`);
        for (const d of [unlearning!.distance!.remaining!, unlearning!.distance!.unlearned!]) {
          assert.ok(d.euclidean < 1e-4 && d.cosine < 1e-6, JSON.stringify(d));
          assert.ok(Math.abs(d.linearCka! - 1) < 1e-6, `CKA ${d.linearCka}`);
        }
      } finally {
        probe.free();
      }
    });

    it('a resumed run unlearns from the records in its checkpoint and ends with the results of an uninterrupted run', () => {
      const config = loadExperiment(undefined, [
        ...TINY, ...SPLIT, `paradigm=${paradigm}`, 'benchmark.numTasks=5', 'benchmark.trainLimit=128', 'algorithms=[{name: amnesiacEwc, lambda: 10, subtractDeltaFromLaterAnchors: true}]',
        'unlearning.requests=[{afterTask: 2, tasks: [1]}, {afterTask: 4, tasks: [2]}]', 'reference.original=false',
      ]);
      const whole = tmp();
      runExperiment({ config, runDir: whole });
      const resumed = `${whole}-resumed`;
      cpSync(whole, resumed, { recursive: true });
      for (const t of [3, 4, 5]) rmSync(join(resumed, 'checkpoints', `task_${t}.safetensors`));
      runExperiment({ config, runDir: resumed, resume: true });
      for (const file of ['acc.csv', 'loss.csv', 'unlearning.csv', 'summary.json']) {
        assert.equal(readFileSync(join(resumed, file), 'utf8'), readFileSync(join(whole, file), 'utf8'), file);
      }
    });
  });
}
