// One split of one task, built on demand from the dataset's bytes: the task
// keeps only which examples it has (indices into the uint8 images), their
// local labels and its transform; every batch is gathered from the bytes,
// converted to float32, transformed and normalised when it is asked for. The
// operations are elementwise or gathers, so a batch holds exactly the values
// that building the whole split and selecting its rows would give.
import { tensor } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { TensorDataset } from '../contracts/types.js';
import type { ImageTransform } from './transforms.js';

/** What a task's splits share: the dataset's images and the normalisation, owned by the benchmark. */
export interface ImageSource {
  /** uint8 [N, C, H, W]. */
  readonly images: Tensor;
  /** 1 / (255 std) per channel, float32 [1, C, 1, 1]. */
  readonly scale: Tensor;
  /** mean / std per channel, float32 [1, C, 1, 1]. */
  readonly shift: Tensor;
}

/** Which examples of the images a split has, and their local labels; owned by the benchmark, shared by the tasks that have the same examples. */
export interface Selection {
  /** Indices into the images, ascending. */
  readonly ids: Int32Array;
  /** The same indices, int64 [N]. */
  readonly index: Tensor;
  /** Local labels, int64 [N]. */
  readonly y: Tensor;
}

function indexTensor(values: ArrayLike<number>): Tensor {
  const ids = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) ids[i] = BigInt(values[i]!);
  return tensor(ids);
}

/** A selection of examples `ids` with local labels `labels` (kept: the caller frees `index` and `y`). */
export function selection(ids: Int32Array, labels: BigInt64Array): Selection {
  const index = keep(indexTensor(ids));
  try {
    return { ids, index, y: keep(tensor(labels)) };
  } catch (error) {
    index.dispose();
    throw error;
  }
}

export class TaskDataset implements TensorDataset {
  readonly size: number;
  readonly #source: ImageSource;
  readonly #selection: Selection;
  readonly #transform: ImageTransform | null;
  #x: Tensor | null = null;
  #disposed = false;

  /** The examples `selection` of `source.images` seen through `transform` (null: none); all three belong to the benchmark. */
  constructor(source: ImageSource, selection: Selection, transform: ImageTransform | null) {
    this.#source = source;
    this.#selection = selection;
    this.#transform = transform;
    this.size = selection.ids.length;
  }

  /** Local labels [N] int64. */
  get y(): Tensor {
    this.#check();
    return this.#selection.y;
  }

  /** Every example's input [N, C, H, W], built on first read and kept until releaseInputs() or dispose(). */
  get x(): Tensor {
    this.#check();
    if (this.#x === null) {
      const images = this.#source.images;
      // Selecting everything in order is the images themselves: no gather.
      const { ids, index } = this.#selection;
      const whole = ids.length === images.shape[0] && ids.every((id, k) => id === k);
      this.#x = keep(tidy(() => this.#normalised(whole ? images : images.indexSelect(0, index))));
    }
    return this.#x;
  }

  rows(index: Tensor): { x: Tensor; y: Tensor } {
    this.#check();
    return tidy(() => ({
      x: this.#normalised(this.#source.images.indexSelect(0, this.#selection.index.indexSelect(0, index))),
      y: this.#selection.y.indexSelect(0, index),
    }));
  }

  /** Whether `x` is built and held. */
  get holdsInputs(): boolean {
    return this.#x !== null;
  }

  /** Frees the inputs that reading `x` built; the next read builds them again. */
  releaseInputs(): void {
    this.#x?.dispose();
    this.#x = null;
  }

  /** Frees the inputs it built and makes it unusable (its selection, transform and source belong to the benchmark). */
  dispose(): void {
    this.releaseInputs();
    this.#disposed = true;
  }

  /** Bytes [B, C, H, W] to inputs: scaled, transformed and normalised as p * (1 / (255 std)) - mean / std. */
  #normalised(bytes: Tensor): Tensor {
    const pixels = bytes.to('float32');
    const transformed = this.#transform === null ? pixels : this.#transform.apply(pixels);
    return transformed.mul_(this.#source.scale).sub_(this.#source.shift);
  }

  #check(): void {
    if (this.#disposed) throw new Error('this task dataset has been released; ask the benchmark for the task again');
  }
}
