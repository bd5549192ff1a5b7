// `perennial run` with unlearning requests: the references are made from the
// same configuration and the unlearning metrics are printed and written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../helpers.js';

const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'src', 'cli', 'main.js');

describe('perennial run with unlearning requests', () => {
  it('makes the retrain and original references and reports the unlearning metrics', () => {
    const dir = tempDir('unlearning-cli-');
    const out = spawnSync(
      process.execPath,
      [cli, 'run', 'benchmark.numTasks=3', 'benchmark.trainLimit=256', 'backbone.hiddenSizes=[32]', 'algorithms=[{name: amnesiacFinetuning}]', 'unlearning.requests=[{afterTask: 3, tasks: [2]}]', `output.dir=${dir}`, 'output.name=run'],
      { encoding: 'utf8' },
    );
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /after task 3: unlearned task 2/);
    assert.match(out.stderr, /reference: retrained on the tasks never unlearned \(1, 3\)/);
    assert.match(out.stdout, /unlearned: task 2 after task 3/);
    assert.match(out.stdout, /accuracy gain on the remaining tasks \(vs retrain\)\s+-?\d\.\d{4}/);
    assert.match(out.stdout, /features vs retrain, unlearned tasks: euclidean \d+\.\d{4}, cosine \d\.\d{4}, manhattan \d+\.\d{4}, linear CKA \d\.\d{4}/);
    const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8'));
    assert.deepEqual(summary.unlearning.remainingTasks, [1, 3]);
    for (const file of ['unlearning.csv', 'unlearning_accuracy.svg', 'unlearning_distance.svg', 'acc_original.csv']) assert.ok(existsSync(join(dir, 'run', file)), file);
  });
});
