// The IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST
// (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number (two zero
// bytes, an element-type byte, the number of dimensions), one big-endian
// uint32 per dimension, then the elements row-major. The datasets use
// unsigned bytes (type 0x08): labels are 1-d (magic 0x00000801), images 3-d
// (0x00000803). Files are distributed gzipped; both forms are read, told
// apart by the gzip magic bytes rather than by the file name.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { DataFormatError, DatasetNotFoundError, type RawDataset, type Split, checkRawDataset } from './raw.js';

/** The contents of an IDX file: its elements and its shape. */
export interface IdxArray {
  /** The elements, row-major. */
  readonly data: Uint8Array;
  readonly shape: readonly number[];
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new DatasetNotFoundError(`${path}: cannot read the file (${(error as Error).message})`);
  }
}

function corruptGzip(path: string, error: unknown): DataFormatError {
  return new DataFormatError(`${path}: the gzip data is corrupt or truncated (${(error as Error).message}); re-download the file`);
}

/**
 * Decompresses `gz`, stopping as soon as the output passes `maxBytes`: a
 * small file can expand to gigabytes (a gzip bomb), and the reader should
 * not find that out by holding them. `tooLarge` says why more is wrong.
 */
function gunzipAtMost(gz: Uint8Array, maxBytes: number, path: string, tooLarge: string): Uint8Array {
  try {
    return gunzipSync(gz, { maxOutputLength: Math.min(Math.max(maxBytes, 1), bufferConstants.MAX_LENGTH) });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new DataFormatError(`${path}: ${tooLarge}`);
    throw corruptGzip(path, error);
  }
}

// Compressed bytes searched for the IDX header. A gzip file reaches its first
// data within a few dozen bytes (after its name); each compressed byte
// expands to at most 1032, so the search holds at most about 66 MB.
const MAX_HEADER_SEARCH = 64 * 1024;

/**
 * The first decompressed bytes of a gzipped file: at least the IDX header,
 * unless the file ends first. Decompresses a growing prefix of the file,
 * so that what follows the header is never expanded.
 */
function gunzipHead(gz: Uint8Array, path: string): Uint8Array {
  for (let length = 256; ; length *= 2) {
    const prefix = gz.subarray(0, Math.min(length, gz.length));
    let head: Uint8Array;
    try {
      // Z_SYNC_FLUSH: return what the prefix holds instead of failing on its missing end.
      head = gunzipSync(prefix, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (error) {
      throw corruptGzip(path, error);
    }
    // The magic number's last byte gives the header's length: 4 bytes more per dimension.
    const needed = head.length >= 4 ? 4 + 4 * head[3]! : 4;
    if (head.length >= needed || prefix.length === gz.length) return head;
    if (length >= MAX_HEADER_SEARCH) {
      throw new DataFormatError(`${path}: the first ${MAX_HEADER_SEARCH} compressed bytes hold no IDX header; it is not a gzipped IDX file, or it is corrupt: re-download it`);
    }
  }
}

interface IdxHeader {
  shape: number[];
  /** Bytes of the header: the magic number and one uint32 per dimension. */
  headerSize: number;
  /** Elements (bytes) the header announces after it. */
  count: number;
}

/** Checks the magic number and reads the dimensions; see decodeIdx. */
function parseIdxHeader(bytes: Uint8Array, source: string, expectedDims?: number): IdxHeader {
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
  return { shape, headerSize, count };
}

/**
 * Parses IDX bytes. `source` names the file in errors; `expectedDims`, when
 * given, is the number of dimensions the caller needs (1 for labels, 3 for
 * images).
 */
export function decodeIdx(bytes: Uint8Array, source: string, expectedDims?: number): IdxArray {
  const { shape, headerSize, count } = parseIdxHeader(bytes, source, expectedDims);
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

/**
 * Reads one IDX file, gzipped or not. A gzipped file is decompressed only as
 * far as its IDX header says it extends, so a small file that expands to
 * gigabytes is refused after a few kilobytes.
 */
export function readIdxFile(path: string, expectedDims?: number): IdxArray {
  const file = readBytes(path);
  if (!isGzip(file)) return decodeIdx(file, path, expectedDims);
  const { shape, headerSize, count } = parseIdxHeader(gunzipHead(file, path), path, expectedDims);
  const declared = headerSize + count;
  if (declared > bufferConstants.MAX_LENGTH) {
    throw new DataFormatError(`${path}: the header announces ${shape.join(' x ')} = ${count} bytes of data, more than can be loaded (at most ${bufferConstants.MAX_LENGTH}); the file is corrupt: re-download it`);
  }
  const bytes = gunzipAtMost(
    file,
    declared,
    path,
    `decompresses to more than the ${declared} bytes its IDX header declares (${shape.join(' x ')} elements after a ${headerSize}-byte header), ` +
      'so decompression was stopped; the file is corrupt or not what its header says (a gzip bomb?): re-download it',
  );
  return decodeIdx(bytes, path, expectedDims);
}

/** How loadIdxDataset finds the files of a dataset in a directory. */
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
