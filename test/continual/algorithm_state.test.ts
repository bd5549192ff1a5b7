// Every algorithm reads the JSON part of its checkpointed state through a
// schema: a value that was edited, truncated or written by another version is
// refused with the key at fault, before anything is loaded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Algorithm, cbpDefinition, instantiate, replayDefinition, rwalkDefinition } from '../../src/continual/algorithms/index.js';

function refuses(algorithm: Algorithm, values: Record<string, unknown>, pattern: RegExp): void {
  try {
    assert.throws(() => algorithm.loadState!({ tensors: {}, values }), pattern);
  } finally {
    algorithm.dispose?.();
  }
}

describe('checkpointed algorithm values', () => {
  it('replay: the number of examples offered is a non-negative integer', () => {
    refuses(instantiate(replayDefinition), { seen: -1 }, /its saved values do not fit: seen: expected an integer >= 0, got -1/);
    refuses(instantiate(replayDefinition), {}, /seen: missing required key/);
  });

  it('rwalk: the count of finished tasks is an integer', () => {
    refuses(instantiate(rwalkDefinition), { tasksFinished: '2', lambda: 0.1, alpha: 0.9, deltaT: 10 }, /tasksFinished: expected an integer >= 0, got the string '2'/);
  });

  it("cbp: each layer's carried replacement and count", () => {
    refuses(instantiate(cbpDefinition), { layers: { 'backbone.fc1': { accumulated: 0.5 } } }, /layers\.backbone\.fc1\.replaced: missing required key/);
    refuses(instantiate(cbpDefinition), { layers: [] }, /layers: expected a mapping of names to/);
  });
});
