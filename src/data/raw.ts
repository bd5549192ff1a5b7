// Image datasets as stored on disk: bytes, not tensors. The readers return
// this form so that they stay independent of the tensor engine and can be
// tested byte for byte; the benchmarks convert to normalised float tensors.

/** A dataset's training or test part. */
export type Split = 'train' | 'test';

/** Images and labels in memory: `images` holds N x C x H x W unsigned bytes, row-major. */
export interface RawDataset {
  readonly images: Uint8Array;
  /** One class index per image. */
  readonly labels: Uint8Array;
  /** [N, C, H, W] */
  readonly shape: readonly [number, number, number, number];
}

/** A data file is malformed: wrong magic number, truncated, inconsistent. */
export class DataFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataFormatError';
  }
}

/** The data a loader needs is not where it looked. */
export class DatasetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

export function imageSize(raw: RawDataset): number {
  return raw.shape[1] * raw.shape[2] * raw.shape[3];
}

/** Checks that `images` and `labels` agree with `shape` (the readers' last line of defence). */
export function checkRawDataset(raw: RawDataset, source: string): RawDataset {
  const [n, c, h, w] = raw.shape;
  if (raw.labels.length !== n) throw new DataFormatError(`${source}: ${raw.labels.length} labels for ${n} images`);
  if (raw.images.length !== n * c * h * w) throw new DataFormatError(`${source}: ${raw.images.length} pixel bytes, expected ${n} x ${c} x ${h} x ${w}`);
  return raw;
}

/** Fails when a label is not below `numClasses`, naming the first offender. */
export function checkLabelRange(raw: RawDataset, numClasses: number, source: string): void {
  for (let i = 0; i < raw.labels.length; i++) {
    const label = raw.labels[i]!;
    if (label >= numClasses) {
      throw new DataFormatError(`${source}: example ${i} has label ${label}, but the dataset has ${numClasses} classes (0..${numClasses - 1}); the files belong to another dataset or are corrupt`);
    }
  }
}

/** Per-channel mean and standard deviation of the pixels scaled to [0, 1] (population std, as the published constants). */
export function channelStatistics(raw: RawDataset): { mean: number[]; std: number[] } {
  const [n, c, h, w] = raw.shape;
  const plane = h * w;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    // Integer sums are exact up to 2^53, far beyond any image set here.
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const v = raw.images[base + p]!;
        sum += v;
        sumSq += v * v;
      }
    }
    const count = n * plane;
    const m = sum / count;
    mean.push(m / 255);
    std.push(Math.sqrt(Math.max(0, sumSq / count - m * m)) / 255);
  }
  return { mean, std };
}
