// Batch normalisation, as torch.nn.BatchNorm1d and BatchNorm2d.
import { ones, scalar, zeros } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import type { Device, Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { type Buffer, type Parameter, bufferFrom, parameterFrom } from '../parameter.js';

/** Settings of BatchNorm1d and BatchNorm2d (PyTorch's defaults). */
export interface BatchNormOptions {
  /** Added to the variance for stability (default 1e-5). */
  eps?: number;
  /**
   * Weight of each new batch in the running statistics (default 0.1); null
   * makes them a plain average over all batches seen so far.
   */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /**
   * Keep running statistics for eval mode (default true). Without them the
   * batch's own statistics are used in eval mode as well.
   */
  trackRunningStats?: boolean;
  dtype?: DType;
  device?: Device;
}

abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  runningMean: Buffer | null;
  runningVar: Buffer | null;
  /** How many training batches have updated the running statistics (int64 scalar). */
  numBatchesTracked: Buffer | null;

  constructor(numFeatures: number, options: BatchNormOptions) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new RangeError(`${new.target.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const factory = { dtype: options.dtype, device: options.device };
    this.weight = this.affine ? parameterFrom(ones([numFeatures], factory)) : null;
    this.bias = this.affine ? parameterFrom(zeros([numFeatures], factory)) : null;
    this.runningMean = this.trackRunningStats ? bufferFrom(zeros([numFeatures], factory)) : null;
    this.runningVar = this.trackRunningStats ? bufferFrom(ones([numFeatures], factory)) : null;
    this.numBatchesTracked = this.trackRunningStats ? bufferFrom(scalar(0, { dtype: 'int64', device: options.device })) : null;
  }

  /** Running statistics back to mean 0, variance 1, no batches. */
  resetRunningStats(): void {
    this.runningMean?.zero_();
    this.runningVar?.fill_(1);
    this.numBatchesTracked?.zero_();
  }

  /** Statistics reset, weight 1, bias 0. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight !== null) init.ones_(this.weight);
    if (this.bias !== null) init.zeros_(this.bias);
  }

  protected abstract checkInputDim(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInputDim(x);
    let factor = this.momentum ?? 0;
    const updating = this.training && this.trackRunningStats;
    if (updating && this.numBatchesTracked !== null) {
      this.numBatchesTracked.add_(1);
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.item();
    }
    // Batch statistics in training, and in eval when there are no running ones.
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const useRunning = !this.training || this.trackRunningStats;
    return F.batchNorm(x, useRunning ? this.runningMean : null, useRunning ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }
}

/** Batch normalisation of [N, C] or [N, C, L] inputs over N (and L). */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new RangeError(`BatchNorm1d: expected a 2-d or 3-d input, got shape [${x.shape.join(', ')}]`);
  }
}

/** Batch normalisation of [N, C, H, W] inputs over N, H and W. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }
  protected checkInputDim(x: Tensor): void {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected a 4-d input, got shape [${x.shape.join(', ')}]`);
  }
}
