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
  it("replay: the memory's counters are non-negative integers that agree", () => {
    refuses(instantiate(replayDefinition), { memory: { seen: -1, seenPerClass: [], logitWidths: [] } }, /its saved values do not fit: memory\.seen: expected an integer >= 0, got -1/);
    refuses(instantiate(replayDefinition), {}, /memory: missing required key/);
    refuses(instantiate(replayDefinition), { memory: { seen: 3, seenPerClass: [[0, 2]], logitWidths: [] } }, /counts 3 examples seen, but 2 over its classes/);
    refuses(instantiate(replayDefinition, { capacity: 2 }), { memory: { seen: 3, seenPerClass: [[0, 3]], logitWidths: [0, 0, 0] } }, /holds 3 examples, but the capacity is 2/);
  });

  it('rwalk: the count of finished tasks is an integer', () => {
    refuses(instantiate(rwalkDefinition), { tasksFinished: '2', lambda: 0.1, alpha: 0.9, deltaT: 10 }, /tasksFinished: expected an integer >= 0, got the string '2'/);
  });

  it("cbp: each layer's carried replacement and count", () => {
    refuses(instantiate(cbpDefinition), { layers: { 'backbone.fc1': { accumulated: 0.5 } } }, /layers\.backbone\.fc1\.replaced: missing required key/);
    refuses(instantiate(cbpDefinition), { layers: [] }, /layers: expected a mapping of names to/);
  });
});
