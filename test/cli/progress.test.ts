import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressBar, type ProgressStream, formatDuration, formatPostfixValue, taskEpochLabel } from '../../src/cli/progress.js';

/** A stream that records what is written, and a clock advanced by hand. */
function setup(tty: boolean, columns?: number): { stream: ProgressStream; chunks: string[]; clock: { ms: number } } {
  const chunks: string[] = [];
  const stream: ProgressStream = {
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    isTTY: tty,
    ...(columns === undefined ? {} : { columns }),
  };
  return { stream, chunks, clock: { ms: 0 } };
}

describe('ProgressBar without a terminal', () => {
  it('prints a line each time progress crosses a multiple of everyPercent', () => {
    const { stream, chunks, clock } = setup(false);
    const bar = new ProgressBar({ label: 'task 1/2 epoch 1/1', total: 8, stream, everyPercent: 25, barWidth: 8, now: () => clock.ms });
    for (let i = 1; i <= 8; i++) {
      clock.ms += 250;
      bar.tick(1, { loss: 1 / i, acc: i / 8 });
    }
    bar.finish();
    // 8 steps of 0.25 s: 4 it/s; a line at 2/8, 4/8, 6/8 and 8/8, none twice.
    assert.deepEqual(chunks, [
      'task 1/2 epoch 1/1 [##......] 2/8  25% 4.0 it/s eta 0:02 loss=0.5000 acc=0.2500\n',
      'task 1/2 epoch 1/1 [####....] 4/8  50% 4.0 it/s eta 0:01 loss=0.2500 acc=0.5000\n',
      'task 1/2 epoch 1/1 [######..] 6/8  75% 4.0 it/s eta 0:01 loss=0.1667 acc=0.7500\n',
      'task 1/2 epoch 1/1 [########] 8/8 100% 4.0 it/s in 0:02 loss=0.1250 acc=1.0000\n',
    ]);
    assert.ok(chunks.every((c) => !c.includes('\r')));
  });

  it('prints one line for a jump over several thresholds, and the final state once', () => {
    const { stream, chunks, clock } = setup(false);
    const bar = new ProgressBar({ label: 'x', total: 10, stream, barWidth: 4, unit: 'batch', now: () => clock.ms });
    clock.ms = 1000;
    bar.update(7);
    bar.update(7);
    clock.ms = 2000;
    bar.update(8);
    bar.finish({ loss: 0.5 });
    bar.tick();
    assert.deepEqual(chunks, [
      'x [###.] 7/10  70% 7.0 batch/s eta 0:00\n',
      'x [###.] 8/10  80% 4.0 batch/s eta 0:01\n',
      'x [###.] 8/10  80% 4.0 batch/s eta 0:01 loss=0.5000\n',
    ]);
  });

  it('ends with a message instead of the bar when given one', () => {
    const { stream, chunks } = setup(false);
    const bar = new ProgressBar({ label: 'x', total: 3, stream, now: () => 0 });
    bar.update(1);
    bar.finish('task 1 epoch 1: train loss 0.3000');
    // 1/3 crossed 30%, so the bar printed once before the message; no rate yet at time 0.
    assert.deepEqual(chunks, ['x [########................] 1/3  33% ? it/s\n', 'task 1 epoch 1: train loss 0.3000\n']);
  });

  it('handles an empty total', () => {
    const { stream, chunks } = setup(false);
    new ProgressBar({ label: 'empty', total: 0, stream, barWidth: 4, now: () => 0 }).finish();
    assert.deepEqual(chunks, ['empty [####] 0/0 100% ? it/s in 0:00\n']);
  });

  it('rejects bad settings', () => {
    assert.throws(() => new ProgressBar({ label: 'x', total: -1, stream: setup(false).stream }), { message: 'progress total must be an integer >= 0, got -1' });
    assert.throws(() => new ProgressBar({ label: 'x', total: 1, everyPercent: 0, stream: setup(false).stream }), { message: 'everyPercent must be in (0, 100], got 0' });
  });
});

describe('ProgressBar on a terminal', () => {
  it('redraws in place, at most every minRedrawMs, and always at the end', () => {
    const { stream, chunks, clock } = setup(true);
    const bar = new ProgressBar({ label: 't', total: 4, stream, barWidth: 4, minRedrawMs: 100, now: () => clock.ms });
    clock.ms = 50;
    bar.tick(); // first draw
    clock.ms = 100;
    bar.tick(); // 50 ms later: skipped
    clock.ms = 200;
    bar.tick(); // drawn
    clock.ms = 210;
    bar.tick(); // the last step is always drawn
    bar.finish();
    assert.deepEqual(chunks, [
      '\rt [█░░░] 1/4  25% 20.0 it/s eta 0:00\x1b[K',
      '\rt [███░] 3/4  75% 15.0 it/s eta 0:00\x1b[K',
      '\rt [████] 4/4 100% 19.0 it/s in 0:00\x1b[K',
      '\rt [████] 4/4 100% 19.0 it/s in 0:00\x1b[K\n',
    ]);
  });

  it('narrows the bar to fit the terminal', () => {
    const { stream, chunks } = setup(true, 40);
    const bar = new ProgressBar({ label: 'task 1/5 epoch 1/1', total: 10, stream, barWidth: 30, now: () => 0 });
    bar.update(5);
    const line = chunks[0]!.replace('\r', '').replace('\x1b[K', '');
    // The bar shrinks to its 5-character minimum (half of it, rounded, filled), then the line is cut to 39 characters.
    assert.equal(line, 'task 1/5 epoch 1/1 [███░░] 5/10  50% ? ');
    assert.ok(line.length < 40);
  });

  it('replaces the bar with a final message', () => {
    const { stream, chunks } = setup(true);
    const bar = new ProgressBar({ label: 't', total: 2, stream, now: () => 0 });
    bar.finish('done');
    assert.deepEqual(chunks, ['\rdone\x1b[K\n']);
  });
});

describe('formatting helpers', () => {
  it('labels, values and durations', () => {
    assert.equal(taskEpochLabel(2, 5, 1, 3), 'task 2/5 epoch 1/3');
    assert.equal(formatPostfixValue(0.123456), '0.1235');
    assert.equal(formatPostfixValue(2), '2.0000');
    assert.equal(formatPostfixValue(0.0001), '1.00e-4');
    assert.equal(formatPostfixValue(123456), '1.23e+5');
    assert.equal(formatPostfixValue(NaN), 'NaN');
    assert.equal(formatPostfixValue('sgd'), 'sgd');
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(61.4), '1:01');
    assert.equal(formatDuration(3725), '1:02:05');
  });
});
