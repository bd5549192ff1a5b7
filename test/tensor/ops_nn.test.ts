// Neural-network functions of the native layer against PyTorch. They are
// called through the addon directly, with the positional arguments the
// fixture gives: nn.functional (tested in test/nn) adds only argument
// handling on top.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tensor, manualSeed, ones, tidy } from '../../src/index.js';
import { native } from '../../src/tensor/native.js';
import { runFamily } from './cases.js';

const h = (t: Tensor | undefined) => t?.handle;
const wrap = Tensor.wrap;

runFamily('nn', {
  linear: (t) => wrap(native.linear(t.x!.handle, t.w!.handle, h(t.b))),
  conv2d: (t, a) => wrap(native.conv2d(t.x!.handle, t.w!.handle, h(t.b), a.stride, a.padding, a.dilation, a.groups)),
  maxPool2d: (t, a) => wrap(native.maxPool2d(t.x!.handle, a.kernel, a.stride, a.padding, a.dilation, a.ceil)),
  avgPool2d: (t, a) => wrap(native.avgPool2d(t.x!.handle, a.kernel, a.stride, a.padding, a.ceil, a.countIncludePad)),
  adaptiveAvgPool2d: (t, a) => wrap(native.adaptiveAvgPool2d(t.x!.handle, a.size)),
  batchNorm: (t, a) => {
    const y = wrap(native.batchNorm(t.x!.handle, h(t.rm), h(t.rv), h(t.w), h(t.b), a.training, a.momentum, a.eps));
    // The running statistics are updated in place; PyTorch's fixture lists them after the output.
    return [y, ...[t.rm, t.rv].filter((s): s is Tensor => s !== undefined)];
  },
  dropout: (t, a) => wrap(native.dropout(t.x!.handle, a.p, a.training)),
  leakyRelu: (t, a) => wrap(native.leakyRelu(t.x!.handle, a.slope)),
  gelu: (t, a) => wrap(native.gelu(t.x!.handle, a.approximate)),
  softmax: (t, a) => t.x!.softmax(a.dim),
  logSoftmax: (t, a) => t.x!.logSoftmax(a.dim),
  crossEntropy: (t, a) => wrap(native.crossEntropy(t.x!.handle, t.target!.handle, h(t.weight), a.reduction, a.ignoreIndex, a.labelSmoothing)),
  nllLoss: (t, a) => wrap(native.nllLoss(t.x!.handle, t.target!.handle, h(t.weight), a.reduction, a.ignoreIndex)),
  mseLoss: (t, a) => wrap(native.mseLoss(t.x!.handle, t.y!.handle, a.reduction)),
  oneHot: (t, a) => wrap(native.oneHot(t.x!.handle, a.numClasses)),
  unfold: (t, a) => wrap(native.unfold(t.x!.handle, a.kernel, a.dilation, a.padding, a.stride)),
});

describe('nn: dropout in training mode', () => {
  it('zeroes about p of the elements and scales the rest by 1 / (1 - p)', () => {
    tidy(() => {
      manualSeed(123);
      const n = 20000;
      const p = 0.3;
      const y = wrap(native.dropout(ones([n]).handle, p, true));
      const values = y.toTypedArray() as Float32Array;
      let zeros = 0;
      for (const v of values) {
        if (v === 0) zeros++;
        else assert.ok(Math.abs(v - 1 / (1 - p)) < 1e-6, `kept element is ${v}`);
      }
      // Binomial(n, p): the standard deviation of the count is sqrt(n p (1 - p)) ~ 65; allow 5 of them.
      assert.ok(Math.abs(zeros - n * p) < 5 * Math.sqrt(n * p * (1 - p)), `${zeros} zeros of ${n}`);
      // The scaling keeps the expectation: the mean stays near 1.
      assert.ok(Math.abs(y.mean().item() - 1) < 0.03);
    });
  });

  it('p = 1 zeroes everything', () => {
    tidy(() => {
      const y = wrap(native.dropout(ones([10]).handle, 1, true));
      assert.deepEqual(Array.from(y.toTypedArray() as Float32Array), new Array(10).fill(0));
    });
  });
});
