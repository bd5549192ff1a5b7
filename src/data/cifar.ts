// The binary ("suitable for C programs") versions of CIFAR-10 and CIFAR-100
// (https://www.cs.toronto.edu/~kriz/cifar.html). Each file is a sequence of
// fixed-size records: the label byte(s), then 3072 pixel bytes, the 1024 red
// values of the 32 x 32 image row by row, then green, then blue, which is
// exactly the [C, H, W] layout the tensors use.
//   CIFAR-10:  1 label byte (0..9);                               files data_batch_1..5.bin, test_batch.bin
//   CIFAR-100: coarse label (0..19), fine label (0..99);          files train.bin, test.bin
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError, DatasetNotFoundError, type RawDataset, type Split } from './raw.js';

export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;

export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILES = ['test_batch.bin'] as const;
export const CIFAR100_TRAIN_FILES = ['train.bin'] as const;
export const CIFAR100_TEST_FILES = ['test.bin'] as const;

/** The directories the official archives unpack to; a data directory may hold the files or this folder. */
export const CIFAR10_ARCHIVE_DIR = 'cifar-10-batches-bin';
export const CIFAR100_ARCHIVE_DIR = 'cifar-100-binary';

interface LabelField {
  /** What the label is called in errors. */
  name: string;
  numClasses: number;
}

/**
 * Decodes CIFAR records from `bytes`: each record is one byte per entry of
 * `fields` (in order) followed by 3072 pixels. Returns the images and one
 * label array per field.
 */
export function decodeCifarRecords(bytes: Uint8Array, source: string, fields: readonly LabelField[]): { images: Uint8Array; labels: Uint8Array[]; count: number } {
  const recordSize = fields.length + CIFAR_IMAGE_BYTES;
  if (bytes.length === 0) throw new DataFormatError(`${source}: the file is empty; re-download the dataset`);
  if (bytes.length % recordSize !== 0) {
    const whole = Math.floor(bytes.length / recordSize);
    throw new DataFormatError(
      `${source}: ${bytes.length} bytes is not a whole number of ${recordSize}-byte records (${whole} records and ${bytes.length - whole * recordSize} bytes left over); ` +
        `the file is truncated, or it is not the ${fields.length === 1 ? 'CIFAR-10' : 'CIFAR-100'} binary version: re-download it`,
    );
  }
  const count = bytes.length / recordSize;
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = fields.map(() => new Uint8Array(count));
  for (let i = 0; i < count; i++) {
    const offset = i * recordSize;
    for (let f = 0; f < fields.length; f++) {
      const value = bytes[offset + f]!;
      const field = fields[f]!;
      if (value >= field.numClasses) {
        throw new DataFormatError(`${source}: record ${i} has ${field.name} ${value}, outside 0..${field.numClasses - 1}; the file is corrupt or belongs to another dataset: re-download it`);
      }
      labels[f]![i] = value;
    }
    images.set(bytes.subarray(offset + fields.length, offset + recordSize), i * CIFAR_IMAGE_BYTES);
  }
  return { images, labels, count };
}

/** `dir` itself when it holds the files, else the archive's folder inside it when that holds them. */
function resolveDir(dir: string, archiveDir: string, files: readonly string[]): string {
  const nested = join(dir, archiveDir);
  if (!files.every((f) => existsSync(join(dir, f))) && existsSync(nested)) return nested;
  return dir;
}

function loadFiles(dir: string, files: readonly string[], fields: readonly LabelField[], dataset: string): { images: Uint8Array; labels: Uint8Array[]; count: number } {
  const missing = files.filter((f) => !existsSync(join(dir, f)) || !statSync(join(dir, f)).isFile());
  if (missing.length > 0) {
    throw new DatasetNotFoundError(`${dir}: ${dataset} file(s) missing: ${missing.join(', ')} (the binary version of ${dataset} is expected, as unpacked from the official archive)`);
  }
  const parts = files.map((f) => decodeCifarRecords(readFileSync(join(dir, f)), join(dir, f), fields));
  const count = parts.reduce((n, p) => n + p.count, 0);
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = fields.map(() => new Uint8Array(count));
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * CIFAR_IMAGE_BYTES);
    p.labels.forEach((l, f) => labels[f]!.set(l, at));
    at += p.count;
  }
  return { images, labels, count };
}

/** One split of CIFAR-10 from `dir` (the five training batches concatenated in order). */
export function loadCifar10(dir: string, split: Split): RawDataset {
  const files = split === 'train' ? CIFAR10_TRAIN_FILES : CIFAR10_TEST_FILES;
  const where = resolveDir(dir, CIFAR10_ARCHIVE_DIR, files);
  const { images, labels, count } = loadFiles(where, files, [{ name: 'label', numClasses: 10 }], 'CIFAR-10');
  return { images, labels: labels[0]!, shape: [count, 3, 32, 32] };
}

export interface Cifar100Dataset extends RawDataset {
  /** The fine (0..99) labels. */
  readonly fineLabels: Uint8Array;
  /** The coarse (superclass, 0..19) labels. */
  readonly coarseLabels: Uint8Array;
}

/** One split of CIFAR-100 from `dir`; `labels` are the fine or the coarse labels as chosen. */
export function loadCifar100(dir: string, split: Split, labelKind: 'fine' | 'coarse' = 'fine'): Cifar100Dataset {
  const files = split === 'train' ? CIFAR100_TRAIN_FILES : CIFAR100_TEST_FILES;
  const where = resolveDir(dir, CIFAR100_ARCHIVE_DIR, files);
  const fields = [
    { name: 'coarse label', numClasses: 20 },
    { name: 'fine label', numClasses: 100 },
  ];
  const { images, labels, count } = loadFiles(where, files, fields, 'CIFAR-100');
  const [coarseLabels, fineLabels] = labels as [Uint8Array, Uint8Array];
  return { images, labels: labelKind === 'fine' ? fineLabels : coarseLabels, fineLabels, coarseLabels, shape: [count, 3, 32, 32] };
}
