// AmnesiacSI through the real runner: without unlearning it is SI bit for
// bit; unlearning the only task restores the model and empties Ω and θ*;
// unlearning a task leaves Ω equal to SI's fold of the kept tasks'
// increments and θ* equal to the model after unlearning; expired increments
// are folded without changing Ω; a resumed run ends as an uninterrupted one;
// the unlearning configuration checks read its role; nothing leaks.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ExperimentConfig, loadExperiment, parseExperiment } from '../../../src/config/experiment.js';
import { ConfigError } from '../../../src/config/loader.js';
import type { Algorithm, UnlearningContext } from '../../../src/continual/algorithms/algorithm.js';
import { amnesiacSiDefinition } from '../../../src/continual/algorithms/amnesiac_si.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { regularizedParameters } from '../../../src/continual/algorithms/fisher_tracker.js';
import { accumulate, siDefinition } from '../../../src/continual/algorithms/si.js';
import { runExperiment } from '../../../src/continual/experiment/run.js';
import type { ContinualModel } from '../../../src/continual/model/model.js';
import { liveTensorCount } from '../../../src/tensor/index.js';
import { keep, tidy } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { tempDir } from '../../helpers.js';

const tmp = (): string => join(tempDir('amnesiac-si-'), 'run');
const TINY = [
  'benchmark.trainLimit=128', 'backbone.hiddenSizes=[32]', 'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9}', 'training.validateEveryEpoch=false',
];
type Maps = Map<string, Tensor>;

/** A configuration with requests executed by a plugin (config checks are bypassed) and no reference runs. */
function withRequests(overrides: string[], requests: { afterTask: number; tasks: number[] }[], unlearnableAge?: number): ExperimentConfig {
  const config = loadExperiment(undefined, [...TINY, ...overrides]);
  config.unlearning = { requests, ...(unlearnableAge === undefined ? {} : { unlearnableAge }) };
  config.reference = { ...config.reference, retrain: false, original: false };
  return config;
}

const copy = (m: ReadonlyMap<string, Tensor>): Maps => tidy(() => new Map([...m].map(([k, t]) => [k, keep(t.clone())] as [string, Tensor])));
const free = (...maps: ReadonlyMap<string, Tensor>[]): void => maps.forEach((m) => m.forEach((t) => t.dispose()));
// Inside tidy: the handles stateDict() and namedParameters() create are freed at once, not left to the garbage collector.
const snapshot = (model: ContinualModel): Maps => tidy(() => copy(new Map(Object.entries(model.stateDict()))));
const parametersOf = (ctx: UnlearningContext): Maps => tidy(() => copy(new Map(regularizedParameters(ctx.model, ctx.paradigm))));

function assertEqualMaps(actual: ReadonlyMap<string, Tensor>, expected: ReadonlyMap<string, Tensor>, what: string): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], `${what}: parameters`);
  for (const [name, t] of actual) assert.ok(t.equal(expected.get(name)!), `${what}: ${name}`);
}

function maxDifference(a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>): number {
  assert.deepEqual([...a.keys()], [...b.keys()], 'state entries');
  let worst = 0;
  tidy(() => {
    for (const [name, x] of a) worst = Math.max(worst, x.sub(b.get(name)!).abs().max().item());
  });
  return worst;
}

/** Ω as SI accumulates it from these increments, in order. */
function siFold(increments: ReadonlyMap<string, Tensor>[], clampNegative: boolean): Maps {
  let importance: Maps = new Map();
  for (const increment of increments) {
    const next = accumulate(importance, increment, clampNegative);
    free(importance);
    importance = next;
  }
  return importance;
}

describe('AmnesiacSI', () => {
  it("is SI bit for bit (Ω, θ*, accuracies) with unlearning disabled, and while nothing is unlearned", () => {
    const config = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=3']);
    const si = instantiate(siDefinition, { c: 1, xi: 0.01 });
    const disabled = instantiate(amnesiacSiDefinition, { c: 1, xi: 0.01, disableUnlearning: true });
    const enabled = instantiate(amnesiacSiDefinition, { c: 1, xi: 0.01 });
    try {
      const reference = runExperiment({ config, runDir: tmp(), plugins: [si] });
      for (const amnesiac of [disabled, enabled]) {
        const result = runExperiment({ config, runDir: tmp(), plugins: [amnesiac] });
        assert.deepEqual(result.accuracy, reference.accuracy);
        assert.deepEqual(result.loss, reference.loss);
        assertEqualMaps(amnesiac.importances, si.importances, 'Ω');
        assertEqualMaps(amnesiac.anchors, si.anchors, 'θ*');
      }
      assert.equal(disabled.bookkeeping.deltas, null);
      assert.equal(disabled.increments.size, 0, 'records nothing when disabled');
      assert.deepEqual([...enabled.increments.keys()], [1, 2, 3]);
    } finally {
      [si, disabled, enabled].forEach((a) => a.dispose());
    }
  });

  it('unlearning the only task restores every state entry within 1e-6 and empties Ω and θ*', () => {
    const config = withRequests(['benchmark.numTasks=1', 'backbone.batchNorm=true', 'training.epochs=2'], [{ afterTask: 1, tasks: [1] }]);
    const amnesiac = instantiate(amnesiacSiDefinition, { c: 1, xi: 0.01 });
    let start: Maps = new Map();
    let end: Maps = new Map();
    let after: Maps = new Map();
    let anchorAtEnd = 0;
    // Runs after AmnesiacSI: sees the model before training, after it, and after the unlearning step.
    const probe: Algorithm = {
      name: 'probe',
      onTaskStart: (ctx) => (start = snapshot(ctx.model)),
      onTaskEnd: (ctx) => {
        end = snapshot(ctx.model);
        anchorAtEnd = amnesiac.anchors.size;
      },
      unlearn: (ctx: UnlearningContext) => (after = snapshot(ctx.model)),
    };
    try {
      runExperiment({ config, runDir: tmp(), plugins: [amnesiac, probe] });
      assert.ok(maxDifference(start, end) > 0.01, 'training changed the model');
      assert.ok(maxDifference(start, after) <= 1e-6, 'unlearning restored every entry, BatchNorm buffers and the head included');
      assert.ok(anchorAtEnd > 0, 'the task end set θ*');
      const state = amnesiac.state();
      assert.deepEqual(state.tensors, {}, 'Ω, θ*, increments and records are all gone, as before the first task end');
      assert.deepEqual(state.values, { parameters: [], incrementTasks: [], baseParameters: [], deltaTasks: [] });
    } finally {
      free(start, end, after);
      amnesiac.dispose();
    }
  });

  for (const clampNegative of [true, false]) {
    it(`unlearning task 2 of 3 leaves Ω = SI's fold of I_1, I_3${clampNegative ? ' (relu)' : ' (plain sum)'} and θ* = the model after unlearning`, () => {
      const config = withRequests(['benchmark.numTasks=3'], [{ afterTask: 3, tasks: [2] }]);
      const amnesiac = instantiate(amnesiacSiDefinition, { c: 1, xi: 0.01, clampNegative });
      let increments: Maps[] = [];
      let importanceBefore: Maps = new Map();
      let parametersAfter: Maps = new Map();
      const probe: Algorithm = {
        name: 'probe',
        onTaskEnd: (ctx) => {
          if (ctx.task !== 3) return;
          increments = [1, 2, 3].map((t) => copy(amnesiac.increments.get(t)!));
          importanceBefore = copy(amnesiac.importances);
        },
        unlearn: (ctx) => (parametersAfter = parametersOf(ctx)),
      };
      const all = (): Maps => siFold(increments, clampNegative);
      const kept = (): Maps => siFold([increments[0]!, increments[2]!], clampNegative);
      try {
        runExperiment({ config, runDir: tmp(), plugins: [amnesiac, probe] });
        const [everyTask, keptTasks] = [all(), kept()];
        assertEqualMaps(importanceBefore, everyTask, 'Ω before unlearning is the fold of all three increments');
        assertEqualMaps(amnesiac.importances, keptTasks, 'Ω after unlearning task 2');
        assert.ok(maxDifference(importanceBefore, keptTasks) > 0, 'dropping I_2 changed Ω');
        if (clampNegative) {
          // Subtracting I_2 from the relu'd Ω would not give the fold: the relu cut entries that I_2 made negative.
          const subtracted = tidy(() => new Map([...importanceBefore].map(([n, t]) => [n, keep(t.sub(increments[1]!.get(n)!).relu())] as [string, Tensor])));
          assert.ok(maxDifference(subtracted, keptTasks) > 0, 'the fold is not relu(Ω − I_2)');
          free(subtracted);
        }
        assertEqualMaps(amnesiac.anchors, parametersAfter, 'θ* is shifted by Δθ_2 exactly as the model');
        assert.deepEqual([...amnesiac.increments.keys()], [1, 3]);
        assert.deepEqual(amnesiac.bookkeeping.deltas!.tasks, [1, 3]);
        free(everyTask, keptTasks);
      } finally {
        free(importanceBefore, parametersAfter, ...increments);
        amnesiac.dispose();
      }
    });
  }

  it("expired tasks' increments are folded into a base Ω: Ω after unlearning is still SI's fold of the kept tasks' increments", () => {
    // unlearnableAge 3: task 1 expires after task 3 (its increment goes into the base), task 2 after task 4, when task 3 is unlearned.
    const config = withRequests(['benchmark.numTasks=4'], [{ afterTask: 4, tasks: [3] }], 3);
    const amnesiac = instantiate(amnesiacSiDefinition, { c: 1, xi: 0.01 });
    const increments = new Map<number, Maps>();
    let baseAfterTask3: unknown;
    const probe: Algorithm = {
      name: 'probe',
      onTaskEnd: (ctx) => increments.set(ctx.task, copy(amnesiac.increments.get(ctx.task)!)),
      unlearn: (ctx) => {
        if (ctx.afterTask === 3) baseAfterTask3 = amnesiac.state().values['baseParameters'];
      },
    };
    try {
      runExperiment({ config, runDir: tmp(), plugins: [amnesiac, probe] });
      assert.deepEqual(baseAfterTask3, [...increments.get(1)!.keys()], 'task 1 went into the base after task 3');
      assert.deepEqual([...amnesiac.increments.keys()], [4]);
      const expected = siFold([1, 2, 4].map((t) => increments.get(t)!), true);
      assertEqualMaps(amnesiac.importances, expected, 'Ω = fold(I_1, I_2, I_4)');
      free(expected);
    } finally {
      free(...increments.values());
      amnesiac.dispose();
    }
  });

  it('a resumed run (increments, base and records from the checkpoint) ends with the results of an uninterrupted run', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=4', 'algorithms=[{name: amnesiacSi, c: 1, xi: 0.01}]',
      'unlearning.requests=[{afterTask: 2, tasks: [1]}, {afterTask: 4, tasks: [3]}]', 'unlearning.unlearnableAge=2', 'reference.original=false',
    ]);
    const whole = tmp();
    runExperiment({ config, runDir: whole });
    // As if killed after task 3: the base (task 2 expired), the increment and record of task 3 exist only in the checkpoint.
    const resumed = `${whole}-resumed`;
    cpSync(whole, resumed, { recursive: true });
    rmSync(join(resumed, 'checkpoints', 'task_4.safetensors'));
    runExperiment({ config, runDir: resumed, resume: true });
    for (const file of ['acc.csv', 'loss.csv', 'unlearning.csv', 'summary.json']) {
      assert.equal(readFileSync(join(resumed, file), 'utf8'), readFileSync(join(whole, file), 'utf8'), file);
    }
    assert.ok(readFileSync(join(resumed, 'checkpoints', 'task_4.safetensors')).equals(readFileSync(join(whole, 'checkpoints', 'task_4.safetensors'))), 'the final checkpoints are byte-identical');
  });

  it('refuses a checkpoint whose increment is missing or of another shape', () => {
    const config = loadExperiment(undefined, [...TINY, 'benchmark.numTasks=2']);
    const amnesiac = instantiate(amnesiacSiDefinition);
    const fresh = instantiate(amnesiacSiDefinition);
    try {
      runExperiment({ config, runDir: tmp(), plugins: [amnesiac] });
      const { tensors, values } = amnesiac.state();
      const key = Object.keys(tensors).find((k) => k.startsWith('increment.2.backbone.'))!;
      const { [key]: _dropped, ...rest } = tensors;
      assert.throws(() => fresh.loadState({ tensors: rest, values }), new RegExp(`saved tensor '${key.replaceAll('.', '\\.')}' is missing`));
      tidy(() => assert.throws(() => fresh.loadState({ tensors: { ...tensors, [key]: tensors[key]!.reshape([-1]) }, values }), /has shape/));
      assert.throws(() => fresh.loadState({ tensors, values: { ...values, incrementTasks: [0] } }), /incrementTasks/);
      fresh.loadState({ tensors, values });
      assertEqualMaps(fresh.increments.get(2)!, amnesiac.increments.get(2)!, 'I_2 read back');
    } finally {
      amnesiac.dispose();
      fresh.dispose();
    }
  });

  it('frees every tensor it held once the run ends', () => {
    const config = loadExperiment(undefined, [
      ...TINY, 'benchmark.numTasks=3', 'algorithms=[{name: amnesiacSi}]', 'unlearning.requests=[{afterTask: 3, tasks: [2]}]', 'unlearning.unlearnableAge=2',
    ]);
    const before = liveTensorCount();
    runExperiment({ config, runDir: tmp() });
    assert.equal(liveTensorCount(), before);
  });

  it('the unlearning configuration checks read its role: unlearns, or retains with disableUnlearning', () => {
    const request = 'benchmark: { numTasks: 3 }\nunlearning: { requests: [{ afterTask: 2, tasks: [1] }] }\n';
    const config = parseExperiment(`algorithms: [{ name: amnesiacSi }]\n${request}`, 'ok.yaml');
    assert.deepEqual(config.algorithms, [{ name: 'amnesiacSi', c: 1, xi: 0.1, gradient: 'unregularized', clampNegative: true, disableUnlearning: false }]);
    const problems = (yaml: string): string => {
      try {
        parseExperiment(yaml, 'exp.yaml');
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.message;
      }
      return assert.fail('expected a ConfigError');
    };
    assert.match(problems(`algorithms: [{ name: amnesiacSi, disableUnlearning: true }]\n${request}`), /algorithms\[0\]\.disableUnlearning: is true, but unlearning\.requests asks 'amnesiacSi' to unlearn/);
    assert.match(problems(`algorithms: [{ name: amnesiacSi }, { name: si }]\n${request}`), /algorithms\[1\]\.name: 'si' keeps state of every task that unlearning cannot undo/);
    assert.match(problems(`algorithms: [{ name: amnesiacEwc }, { name: amnesiacSi }]\n${request}`), /algorithms\[1\]\.name: 'amnesiacSi' would undo the unlearned tasks a second time/);
    assert.match(problems('algorithms: [{ name: amnesiacSi, xi: 0 }]\n'), /algorithms\[0\]\.xi/);
  });
});
