// Datasets held as tensors, and mini-batches over them.
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Rng } from './rng.js';
import type { TensorDataset } from '../contracts/types.js';

/** A dataset from inputs [N, ...] and labels [N]; checks that they agree. */
export function tensorDataset(x: Tensor, y: Tensor): TensorDataset {
  const n = x.shape[0];
  if (n === undefined || y.ndim !== 1 || y.shape[0] !== n) {
    throw new RangeError(`tensorDataset: inputs [${x.shape.join(', ')}] and labels [${y.shape.join(', ')}] disagree (need x [N, ...] and y [N])`);
  }
  return { x, y, size: n };
}

/** How `batches` orders and cuts a dataset. */
export interface BatchOptions {
  /** Visit the examples in a random order (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the order; required with shuffle, so that every order can be reproduced. */
  seed?: number;
  /** Leave out a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Inputs and labels of one mini-batch. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** The order in which `batches` visits the examples of a dataset of `size`. */
export function batchOrder(size: number, options: BatchOptions = {}): Int32Array {
  if (!options.shuffle) return Int32Array.from({ length: size }, (_, i) => i);
  if (options.seed === undefined) throw new TypeError('batches: shuffle needs a seed, so that the order can be reproduced');
  return new Rng(options.seed).permutation(size);
}

/**
 * The dataset in mini-batches of `batchSize` (the last one smaller unless
 * dropLast), each example once per pass. Batches are copies (indexSelect, or
 * built from the dataset's bytes by its rows() where it has one),
 * created in the scope that is open when the generator is advanced: they
 * belong to the caller, who disposes them or runs the loop in a tidy. The
 * order comes from `seed` alone, so the same seed gives the same batches.
 */
export function* batches(dataset: TensorDataset, batchSize: number, options: BatchOptions = {}): Generator<Batch, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const order = batchOrder(dataset.size, options);
  const end = options.dropLast ? dataset.size - (dataset.size % batchSize) : dataset.size;
  for (let start = 0; start < end; start += batchSize) yield rowsAt(dataset, order.subarray(start, Math.min(start + batchSize, end)));
}

/** The examples of `dataset` at `indices` (in that order), as new tensors owned by the caller. */
export function subset(dataset: TensorDataset, indices: ArrayLike<number>): TensorDataset {
  const { x, y } = rowsAt(dataset, indices);
  return tensorDataset(x, y);
}

/** The examples of `dataset` at `indices`, as new tensors owned by the caller: built by its rows() where it has one, else selected from x and y. */
function rowsAt(dataset: TensorDataset, indices: ArrayLike<number>): Batch {
  // Int32 indices are widened to int64 natively (a BigInt per index costs more than building the batch).
  const index = tensor(indices instanceof Int32Array ? indices : Int32Array.from(indices), { dtype: 'int64' });
  try {
    return dataset.rows?.(index) ?? { x: dataset.x.indexSelect(0, index), y: dataset.y.indexSelect(0, index) };
  } finally {
    index.dispose();
  }
}
