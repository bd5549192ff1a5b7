// The `unlearning` section and the Amnesiac algorithms' options: defaults,
// and a clear error for every request that cannot be executed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeSchema, parseExperiment } from '../../../src/config/experiment.js';
import { ConfigError } from '../../../src/config/loader.js';

/** The problems listed by the ConfigError for `yaml`, one per line (without the file position). */
function problems(yaml: string): string[] {
  try {
    parseExperiment(yaml, 'exp.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split('\n').slice(1).map((line) => line.replace(/^\s*exp\.yaml:\d+:\d+: /, '').trim());
  }
  return assert.fail('expected a ConfigError');
}

const AMNESIAC = 'benchmark: { numTasks: 5 }\nalgorithms: [{ name: amnesiacFinetuning }]\n';

describe('unlearning configuration', () => {
  it('parses requests and fills the Amnesiac algorithms\' defaults; no section means no unlearning', () => {
    const config = parseExperiment(
      'benchmark: { numTasks: 5 }\nalgorithms: [{ name: amnesiacEwc, lambda: 100 }]\nunlearning:\n  requests:\n    - { afterTask: 3, tasks: [2] }\n    - { afterTask: 5, tasks: [1, 4] }\n  unlearnableAge: 5\n',
      'exp.yaml',
    );
    assert.deepEqual(config.unlearning, { requests: [{ afterTask: 3, tasks: [2] }, { afterTask: 5, tasks: [1, 4] }], unlearnableAge: 5 });
    assert.deepEqual(config.algorithms, [{ name: 'amnesiacEwc', lambda: 100, fisherTiming: 'train_end', estimator: 'minibatch', disableUnlearning: false, subtractDeltaFromLaterAnchors: false }]);
    assert.equal(config.reference.retrain, undefined, 'absent: on when there are requests');
    assert.equal(parseExperiment('', 'empty.yaml').unlearning, undefined);
    assert.deepEqual(parseExperiment('algorithms: [{ name: amnesiacFinetuning }]', 'x.yaml').algorithms, [{ name: 'amnesiacFinetuning', disableUnlearning: false }]);
  });

  it('rejects tasks not trained yet, listed twice, already unlearned or too old, naming the request and the fix', () => {
    const lines = problems(
      `${AMNESIAC}unlearning:\n  unlearnableAge: 2\n  requests:\n    - { afterTask: 2, tasks: [3, 1, 1] }\n    - { afterTask: 5, tasks: [1, 2, 4] }\n`,
    );
    assert.deepEqual(lines, [
      'unlearning.requests[0].tasks[0]: task 3 is not trained yet after task 2; a request after task 2 can unlearn tasks 1..2',
      'unlearning.requests[0].tasks[2]: task 1 is listed twice in this request',
      'unlearning.requests[1].tasks[0]: task 1 is already unlearned by the request after task 2 (unlearning.requests[0])',
      'unlearning.requests[1].tasks[1]: task 2 is too old to unlearn after task 5: with unlearning.unlearnableAge 2 a request after task 5 can unlearn tasks 4..5; raise unlearnableAge or request it after an earlier task',
    ]);
  });

  it('rejects a request after a task that is never trained, and two requests after the same task', () => {
    assert.deepEqual(problems(`${AMNESIAC}unlearning:\n  requests:\n    - { afterTask: 6, tasks: [1] }\n    - { afterTask: 2, tasks: [1] }\n    - { afterTask: 2, tasks: [2] }\n`), [
      'unlearning.requests[2].afterTask: there is already a request after task 2 (unlearning.requests[1]); merge their tasks into one request',
      'unlearning.requests[0].afterTask: task 6 is never trained: benchmark.numTasks is 5; use a task in 1..5',
    ]);
    assert.match(problems(`${AMNESIAC}unlearning: { requests: [{ afterTask: 2, tasks: [] }] }\n`)[0]!, /unlearning\.requests\[0\]\.tasks: expected a list of integers >= 1 \(at least one\), got 0 items/);
  });

  it('rejects requests that no algorithm can execute, or that an algorithm keeping task state would survive', () => {
    const request = 'unlearning: { requests: [{ afterTask: 2, tasks: [1] }] }\n';
    assert.deepEqual(problems(request), [
      'unlearning.requests: unlearning is requested, but no configured algorithm can unlearn (finetuning); use amnesiacFinetuning, amnesiacEwc, amnesiacLwf or amnesiacSi',
    ]);
    assert.deepEqual(problems(`algorithms: [{ name: amnesiacEwc, disableUnlearning: true }]\n${request}`), [
      "algorithms[0].disableUnlearning: is true, but unlearning.requests asks 'amnesiacEwc' to unlearn; set it to false or remove the requests",
    ]);
    assert.deepEqual(problems(`algorithms: [{ name: amnesiacFinetuning }, { name: amnesiacEwc }, { name: replay }]\n${request}`), [
      "algorithms[1].name: 'amnesiacEwc' would undo the unlearned tasks a second time after algorithms[0] ('amnesiacFinetuning'); configure one Amnesiac algorithm",
      "algorithms[2].name: 'replay' keeps state of every task that unlearning cannot undo, so unlearned tasks would live on in it; remove it or the unlearning requests",
    ]);
    // Finetuning keeps nothing across tasks and may run alongside.
    parseExperiment(`algorithms: [{ name: amnesiacFinetuning }, { name: finetuning }]\n${request}`, 'ok.yaml');
  });

  it('rejects the unlearning references without requests', () => {
    assert.deepEqual(problems('reference: { retrain: true, original: false }\n'), [
      'reference.retrain: is a reference for unlearning, but unlearning.requests is empty; add requests or remove the key',
    ]);
  });

  it('lists the unlearning keys and the Amnesiac algorithms', () => {
    const text = describeSchema();
    for (const key of ['unlearning.requests', 'unlearning.unlearnableAge', 'reference.retrain', 'reference.original', 'amnesiacFinetuning', 'amnesiacEwc']) {
      assert.ok(text.includes(key), key);
    }
  });
});
