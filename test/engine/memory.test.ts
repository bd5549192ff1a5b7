// Native memory is freed deterministically by scopes, and by the garbage
// collector as a safety net: a long training run must not grow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveTensorCount, manualSeed, nn, optim, randint, randn, tidy, zeros } from '../../src/index.js';

const MB = 1024 * 1024;

describe('memory', () => {
  it('trains for thousands of steps without growing live tensors or resident memory', () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(64, 128), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(128, 10));
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = randn([32, 64]);
    const y = randint(0, 10, [32]);
    const step = (): number =>
      tidy(() => {
        opt.zeroGrad();
        const loss = nn.functional.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      });
    for (let i = 0; i < 300; i++) step();
    const liveBefore = liveTensorCount();
    const rssBefore = process.memoryUsage().rss;
    let lastLoss = Infinity;
    for (let i = 0; i < 5000; i++) lastLoss = step();
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    assert.equal(liveTensorCount(), liveBefore, 'every tensor created by a step is freed when the step ends');
    assert.ok(rssGrowth < 24 * MB, `resident memory grew by ${(rssGrowth / MB).toFixed(1)} MB over 5000 steps`);
    assert.ok(lastLoss < 0.5, `the run really trained (final loss ${lastLoss})`);
  });

  it('frees tensors that were never disposed once the garbage collector runs (external memory accounting)', () => {
    const rssBefore = process.memoryUsage().rss;
    // 3 GB allocated in total, 1 MB at a time, nothing disposed explicitly:
    // V8 only collects in time if it knows about the native memory.
    for (let i = 0; i < 3000; i++) zeros([256, 1024]);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    assert.ok(rssGrowth < 1024 * MB, `resident memory grew by ${(rssGrowth / MB).toFixed(0)} MB for 3000 MB allocated`);
  });
});
