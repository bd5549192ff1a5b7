// Every example experiment in experiments/ is a valid configuration.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadExperiment } from '../../src/config/experiment.js';
import { createAlgorithms } from '../../src/continual/algorithms/index.js';

const dir = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'experiments');

describe('example experiments', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('exist for each benchmark kind', () => {
    for (const kind of ['permuted', 'split', 'rotated']) assert.ok(files.some((f) => f.includes(kind)), kind);
  });
  for (const file of files) {
    it(`${file} validates`, () => {
      const config = loadExperiment(join(dir, file));
      assert.ok(config.benchmark.numTasks >= 1);
      // Every algorithm it names can be built from its options.
      const algorithms = createAlgorithms(config.algorithms);
      assert.deepEqual(algorithms.map((a) => a.name), config.algorithms.map((a) => a.name));
      for (const a of algorithms) a.dispose?.();
    });
  }
});
