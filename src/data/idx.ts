// The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST
// (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number (two zero
// bytes, an element-type byte, the number of dimensions), one big-endian
// uint32 per dimension, then the elements row-major. The datasets use
// unsigned bytes (type 0x08): labels are 1-d (magic 0x00000801), images 3-d
// (0x00000803). Files are distributed gzipped; both forms are read, told
// apart by the gzip magic bytes rather than by the file name.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataFormatError, DatasetNotFoundError, type RawDataset, type Split, checkRawDataset } from './raw.js';

export interface IdxArray {
  /** The elements, row-major. */
  readonly data: Uint8Array;
  readonly shape: readonly number[];
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The file's bytes, decompressed when it is gzipped. */
export function readMaybeGzipped(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DatasetNotFoundError(`${path}: cannot read the file (${(error as Error).message})`);
  }
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new DataFormatError(`${path}: the gzip data is corrupt or truncated (${(error as Error).message}); re-download the file`);
  }
}

/**
 * Parses IDX bytes. `source` names the file in errors; `expectedDims`, when
 * given, is the number of dimensions the caller needs (1 for labels, 3 for
 * images).
 */
export function decodeIdx(bytes: Uint8Array, source: string, expectedDims?: number): IdxArray {
  if (bytes.length < 4) throw new DataFormatError(`${source}: ${bytes.length} bytes is too short for an IDX file (the header alone has at least 8); re-download it`);
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataFormatError(`${source}: bad magic number ${hex}; an IDX file starts with two zero bytes (0x00000801 for labels, 0x00000803 for images). It is not an IDX file, or it is corrupt: re-download it`);
  }
  const type = bytes[2]!;
  if (type !== 0x08) {
    const name = TYPE_NAMES[type];
    throw new DataFormatError(
      `${source}: bad magic number ${hex}: element type 0x${type.toString(16).padStart(2, '0')} (${name ?? 'not an IDX type'}); ` +
        'only unsigned-byte IDX files (type 0x08, as MNIST, Fashion-MNIST, KMNIST and EMNIST ship) are supported',
    );
  }
  const ndims = bytes[3]!;
  if (expectedDims !== undefined && ndims !== expectedDims) {
    const want = expectedDims === 1 ? 'a labels file (magic 0x00000801)' : expectedDims === 3 ? 'an images file (magic 0x00000803)' : `${expectedDims} dimensions`;
    throw new DataFormatError(`${source}: magic number ${hex} says ${ndims} dimension(s), expected ${want}; check that images and labels files are not swapped`);
  }
  if (ndims === 0) throw new DataFormatError(`${source}: magic number ${hex} declares zero dimensions`);
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) throw new DataFormatError(`${source}: truncated header (${bytes.length} bytes, ${headerSize} needed for ${ndims} dimensions); re-download it`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    if (size === 0) throw new DataFormatError(`${source}: dimension ${d} has size 0`);
    shape.push(size);
    count *= size;
  }
  const available = bytes.length - headerSize;
  if (available < count) {
    throw new DataFormatError(`${source}: truncated: the header announces ${shape.join(' x ')} = ${count} bytes of data but only ${available} follow; re-download it`);
  }
  if (available > count) {
    throw new DataFormatError(`${source}: ${available - count} unexpected bytes after the ${shape.join(' x ')} elements the header announces; the file is corrupt or not what its header says: re-download it`);
  }
  // A plain Uint8Array view (not a Buffer, whose slice() would share memory instead of copying).
  return { data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerSize, count), shape };
}

/** Reads one IDX file, gzipped or not. */
export function readIdxFile(path: string, expectedDims?: number): IdxArray {
  return decodeIdx(readMaybeGzipped(path), path, expectedDims);
}

export interface IdxDatasetOptions {
  /** Prefix of the file names, e.g. 'emnist-balanced-' for EMNIST's files. */
  prefix?: string;
}

function candidates(prefix: string, split: Split, kind: 'images' | 'labels'): string[] {
  const stems = split === 'train' ? ['train'] : ['t10k', 'test'];
  const suffix = kind === 'images' ? 'idx3-ubyte' : 'idx1-ubyte';
  const names: string[] = [];
  // The dash form is the official one; the dot form ('train-images.idx3-ubyte') is how some mirrors name the unpacked files.
  for (const stem of stems) for (const sep of ['-', '.']) for (const gz of ['', '.gz']) names.push(`${prefix}${stem}-${kind}${sep}${suffix}${gz}`);
  return names;
}

/** The path of a split's images or labels file in `dir`, or null. */
export function findIdxFile(dir: string, split: Split, kind: 'images' | 'labels', options: IdxDatasetOptions = {}): string | null {
  for (const name of candidates(options.prefix ?? '', split, kind)) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return null;
}

/**
 * The images and labels of one split of an MNIST-family dataset in `dir`
 * (`train-images-idx3-ubyte[.gz]` and `train-labels-idx1-ubyte[.gz]` for
 * training, `t10k-...` or `test-...` for testing). Images come back as
 * [N, 1, H, W] bytes.
 */
export function loadIdxDataset(dir: string, split: Split, options: IdxDatasetOptions = {}): RawDataset {
  const prefix = options.prefix ?? '';
  const find = (kind: 'images' | 'labels'): string => {
    const path = findIdxFile(dir, split, kind, options);
    if (path === null) {
      const stem = split === 'train' ? 'train' : 't10k';
      throw new DatasetNotFoundError(`${dir}: no ${split} ${kind} file (looked for ${prefix}${stem}-${kind}-${kind === 'images' ? 'idx3' : 'idx1'}-ubyte[.gz] and variants)`);
    }
    return path;
  };
  const imagesPath = find('images');
  const labelsPath = find('labels');
  const images = readIdxFile(imagesPath, 3);
  const labels = readIdxFile(labelsPath, 1);
  const [n, h, w] = images.shape as [number, number, number];
  if (labels.shape[0] !== n) {
    throw new DataFormatError(`${imagesPath} holds ${n} images but ${labelsPath} holds ${labels.shape[0]} labels; the two files come from different versions or one is damaged: re-download both`);
  }
  return checkRawDataset({ images: images.data, labels: labels.data, shape: [n, 1, h, w] }, dir);
}

/**
 * Swaps rows and columns of every image. EMNIST stores its images transposed
 * relative to MNIST (the NIST source is column-major), so its loader applies
 * this to show the characters upright.
 */
export function transposeImages(raw: RawDataset): RawDataset {
  const [n, c, h, w] = raw.shape;
  const out = new Uint8Array(raw.images.length);
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) out[base + col * h + r] = raw.images[base + r * w + col]!;
  }
  return { images: out, labels: raw.labels, shape: [n, c, w, h] };
}
