// SI in whole experiments: a run killed after task 2 and resumed ends
// bit-identical to an uninterrupted one, and SI combined with EWC adds both
// penalties to the loss, which is the sum of its terms.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../../src/config/experiment.js';
import type { Algorithm, StepContext } from '../../../src/continual/algorithms/algorithm.js';
import { instantiate } from '../../../src/continual/algorithms/definition.js';
import { ewcDefinition } from '../../../src/continual/algorithms/ewc.js';
import { siDefinition } from '../../../src/continual/algorithms/si.js';
import { createBenchmark } from '../../../src/continual/benchmarks/index.js';
import { checkpointPath } from '../../../src/continual/experiment/checkpoint.js';
import { buildModel } from '../../../src/continual/experiment/sequence.js';
import { trainTask } from '../../../src/continual/training/trainer.js';
import { disposeStateDict } from '../../../src/optim/optimizer.js';
import { grad, noGrad } from '../../../src/tensor/autograd.js';
import { keep } from '../../../src/tensor/scope.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { assertTensorsMatch, tempDir } from '../../helpers.js';
import { assertResumesBitIdentical } from '../resume_check.js';

const tmp = (): string => join(tempDir('si-'), 'run');
const small = [
  'benchmark.numTasks=3', 'benchmark.trainLimit=96', 'backbone.hiddenSizes=[16]', 'training.epochs=1', 'training.batchSize=16',
  'training.optimizer={name: sgd, lr: 0.05, momentum: 0.9}', 'training.validateEveryEpoch=false',
];

describe('SI in experiments', () => {
  for (const paradigm of ['til', 'dil'] as const) {
    it(`${paradigm.toUpperCase()}: killed after task 2 and resumed, ends bit-identical to an uninterrupted run`, () => {
      const { full, resumed } = assertResumesBitIdentical([...small, `paradigm=${paradigm}`, 'algorithms=[{name: si, c: 1, xi: 0.01}]'], tmp);
      assert.ok(readFileSync(checkpointPath(resumed.runDir, 3)).equals(readFileSync(checkpointPath(full.runDir, 3))), 'the final checkpoints (model, SI state) are byte-identical');
    });
  }

  it('with EWC: both penalties are present from task 2 on and the step follows the gradient of their sum with the task loss', () => {
    const cfg = loadExperiment(undefined, [...small, 'training.optimizer={name: sgd, lr: 0.05}']);
    const benchmark = createBenchmark({ ...cfg.benchmark, seed: cfg.seed });
    const model = buildModel(cfg, benchmark);
    const si = instantiate(siDefinition, { c: 1, xi: 0.01 });
    const ewc = instantiate(ewcDefinition, { lambda: 10 });
    const terms: { si: number | null; ewc: number | null }[] = [];
    let expected: Map<string, Tensor> | null = null;
    let checkedSteps = 0;
    // Runs last: from the step's own graph, θ − lr·∇(task loss + SI term + EWC term), compared after the step.
    const probe: Algorithm = {
      name: 'probe',
      trainingLoss: (ctx: StepContext) => {
        const siTerm = si.penaltyAt(ctx.model.namedParameters());
        const ewcTerm = ewc.anchors.penalty(ctx.model.namedParameters().filter(([n]) => n.startsWith('backbone.')));
        terms.push({ si: siTerm?.item() ?? null, ewc: ewcTerm === null ? null : ewcTerm.item() * 0.5 * ewc.lambda });
        if (siTerm === null || ewcTerm === null) return null;
        const total = ctx.classificationLoss.add(siTerm).add(ewcTerm.mul(0.5 * ewc.lambda));
        const named = ctx.model.namedParameters().filter(([, p]) => p.requiresGrad);
        const grads = grad(total, named.map(([, p]) => p), { retainGraph: true, allowUnused: true });
        expected = noGrad(() => new Map(named.map(([n, p], i) => [n, keep(grads[i] == null ? p.clone() : p.sub(grads[i]!.mul(0.05)))])));
        return null;
      },
      onBatchEnd: (ctx: StepContext) => {
        if (expected === null) return;
        for (const [name, p] of ctx.model.namedParameters()) assertTensorsMatch(p.detach(), expected.get(name)!, `${name} after the step`, { rtol: 1e-5, atol: 1e-7 });
        for (const t of expected.values()) t.dispose();
        expected = null;
        checkedSteps++;
      },
    };
    try {
      let globalStep = 0;
      for (const task of [1, 2]) {
        const result = trainTask(task, { model, benchmark, paradigm: 'til', algorithms: [si, ewc, probe], training: cfg.training, seed: cfg.seed, globalStep });
        disposeStateDict(result.optimizerState);
        globalStep = result.globalStep;
      }
      const steps = terms.length / 2;
      assert.ok(terms.slice(0, steps).every((t) => t.si === null && t.ewc === null), 'no penalty on task 1');
      assert.ok(terms.slice(steps).every((t) => t.si !== null && t.ewc !== null), 'both penalties on every step of task 2');
      // At the first step θ = θ* and both are 0; after it both pull.
      assert.ok(terms.slice(steps + 1).every((t) => t.si! > 0 && t.ewc! > 0), 'both penalties are positive once the model moved');
      assert.equal(checkedSteps, steps);
    } finally {
      si.dispose();
      ewc.dispose();
      model.dispose();
      benchmark.dispose();
    }
  });
});
