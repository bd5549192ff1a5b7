// The IDX reader on Debian's real Fashion-MNIST files and on damaged copies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import {
  DataFormatError,
  DatasetNotFoundError,
  type RawDataset,
  decodeIdx,
  loadIdxDataset,
  readIdxFile,
  transposeImages,
} from '../../src/data/index.js';
import { fashionMnistDir, loadFixture, tempDir } from '../helpers.js';

const FASHION = fashionMnistDir();
const MB = 1024 * 1024;

/**
 * A gzip file, one member and one deflate stream, holding `head` followed by
 * `zeroMegabytes` MB of zeros, at about 1 KB on disk per megabyte. Each part
 * is compressed on its own and flushed to a byte boundary without ending the
 * stream, so the parts concatenate into one valid stream, and the compressed
 * megabyte of zeros can be repeated.
 */
function gzipBomb(head: Uint8Array, zeroMegabytes: number): Buffer {
  const zeros = Buffer.alloc(MB);
  const flushed = { finishFlush: constants.Z_SYNC_FLUSH };
  const zerosPart = deflateRawSync(zeros, flushed);
  let crc = crc32(head);
  for (let i = 0; i < zeroMegabytes; i++) crc = crc32(zeros, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((head.length + zeroMegabytes * MB) % 2 ** 32, 4);
  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const parts = [gzipHeader, deflateRawSync(head, flushed), ...new Array<Buffer>(zeroMegabytes).fill(zerosPart), deflateRawSync(Buffer.alloc(0)), trailer];
  return Buffer.concat(parts);
}

interface SplitFacts {
  count: number;
  firstLabels: number[];
  lastLabels: number[];
  classCounts: number[];
  pixelSum: number;
  mean: number;
  std: number;
  imageSums: Record<string, number>;
  image0Row14: number[];
  maxPixel: number;
}
const facts = loadFixture<{ fashionMnist: { train: SplitFacts; test: SplitFacts } }>('datasets').fashionMnist;

function imageSum(raw: RawDataset, i: number): number {
  let s = 0;
  for (let p = i * 784; p < (i + 1) * 784; p++) s += raw.images[p]!;
  return s;
}

function checkAgainst(raw: RawDataset, f: SplitFacts): void {
  assert.deepEqual([...raw.shape], [f.count, 1, 28, 28]);
  assert.deepEqual([...raw.labels.subarray(0, 20)], f.firstLabels);
  assert.deepEqual([...raw.labels.subarray(f.count - 5)], f.lastLabels);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < raw.labels.length; i++) counts[raw.labels[i]!]!++;
  assert.deepEqual(counts, f.classCounts);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < raw.images.length; i++) {
    const v = raw.images[i]!;
    sum += v;
    if (v > max) max = v;
  }
  assert.equal(sum, f.pixelSum);
  assert.equal(max, f.maxPixel);
  for (const [i, s] of Object.entries(f.imageSums)) assert.equal(imageSum(raw, Number(i)), s, `sum of image ${i}`);
  assert.deepEqual([...raw.images.subarray(14 * 28, 15 * 28)], f.image0Row14);
}

describe('IDX reader on the real Fashion-MNIST (Debian)', () => {
  let train: RawDataset;
  before(() => {
    train = loadIdxDataset(FASHION, 'train');
  });

  it('reads the 60,000 training images and labels as Python reads them', () => {
    checkAgainst(train, facts.train);
  });

  it('reads the 10,000 test images (t10k-* files)', () => {
    checkAgainst(loadIdxDataset(FASHION, 'test'), facts.test);
  });

  it('reads a single file with its shape', () => {
    const labels = readIdxFile(join(FASHION, 't10k-labels-idx1-ubyte.gz'), 1);
    assert.deepEqual([...labels.shape], [10000]);
    assert.deepEqual([...labels.data.subarray(0, 20)], facts.test.firstLabels);
  });
});

describe('IDX reader: formats and damaged files', () => {
  let dir: string;
  let images: Uint8Array; // the real t10k images file, decompressed
  let labels: Uint8Array;
  before(() => {
    dir = tempDir('idx-');
    images = gunzipSync(readFileSync(join(FASHION, 't10k-images-idx3-ubyte.gz')));
    labels = gunzipSync(readFileSync(join(FASHION, 't10k-labels-idx1-ubyte.gz')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A small real IDX images file: the header rewritten for the first n images. */
  function smallImages(n: number): Uint8Array {
    const out = new Uint8Array(images.subarray(0, 16 + n * 784)); // a copy (Buffer.slice would share memory)
    new DataView(out.buffer).setUint32(4, n, false);
    return out;
  }
  function smallLabels(n: number): Uint8Array {
    const out = new Uint8Array(labels.subarray(0, 8 + n));
    new DataView(out.buffer).setUint32(4, n, false);
    return out;
  }
  /** A fresh directory under the temporary one holding `files`. */
  function mkdirWith(name: string, files: Record<string, Uint8Array>): string {
    const d = join(dir, name);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const [file, bytes] of Object.entries(files)) writeFileSync(join(d, file), bytes);
    return d;
  }

  it('reads uncompressed files as well as gzipped ones, with the same content', () => {
    const d = mkdirWith('plain', { 'train-images-idx3-ubyte': smallImages(50), 'train-labels-idx1-ubyte': smallLabels(50) });
    const plain = loadIdxDataset(d, 'train');
    const dz = mkdirWith('gz', { 'train-images-idx3-ubyte.gz': gzipSync(smallImages(50)), 'train-labels-idx1-ubyte.gz': gzipSync(smallLabels(50)) });
    const zipped = loadIdxDataset(dz, 'train');
    assert.deepEqual([...plain.shape], [50, 1, 28, 28]);
    assert.deepEqual(plain.images, zipped.images);
    assert.deepEqual(plain.labels, zipped.labels);
    assert.deepEqual([...plain.labels.subarray(0, 20)], facts.test.firstLabels);
    assert.deepEqual(plain.images, new Uint8Array(images.subarray(16, 16 + 50 * 784)));
  });

  it('finds the test split under the test-* name too (EMNIST style, with a prefix)', () => {
    const d = mkdirWith('emnist', { 'emnist-x-test-images-idx3-ubyte': smallImages(3), 'emnist-x-test-labels-idx1-ubyte': smallLabels(3) });
    assert.equal(loadIdxDataset(d, 'test', { prefix: 'emnist-x-' }).shape[0], 3);
  });

  it('rejects a truncated file, naming it and saying to re-download', () => {
    const bytes = smallImages(10).subarray(0, 16 + 10 * 784 - 100);
    assert.throws(() => decodeIdx(bytes, 'cut.idx'), (e: Error) => e instanceof DataFormatError && /cut\.idx/.test(e.message) && /truncated/.test(e.message) && /7840 bytes/.test(e.message) && /re-download/.test(e.message));
  });

  it('rejects a truncated header', () => {
    assert.throws(() => decodeIdx(smallImages(1).subarray(0, 10), 'h.idx'), /h\.idx: truncated header/);
    assert.throws(() => decodeIdx(new Uint8Array([0, 0]), 'tiny.idx'), /tiny\.idx: 2 bytes is too short/);
  });

  it('rejects an oversized file (bytes after the announced data)', () => {
    const bytes = new Uint8Array([...smallLabels(5), 1, 2, 3]);
    assert.throws(() => decodeIdx(bytes, 'big.idx', 1), /big\.idx: 3 unexpected bytes after the 5 elements/);
  });

  it('rejects bad magic numbers: not IDX, another element type, swapped files', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
    assert.throws(() => decodeIdx(png, 'x.png'), (e: Error) => e instanceof DataFormatError && /x\.png: bad magic number 0x89504e47/.test(e.message));
    const floats = smallLabels(2);
    floats[2] = 0x0d;
    assert.throws(() => decodeIdx(floats, 'f.idx'), /f\.idx: bad magic number 0x00000d01: element type 0x0d \(float\); only unsigned-byte/);
    assert.throws(() => decodeIdx(smallImages(2), 'images.idx', 1), /images\.idx: magic number 0x00000803 says 3 dimension\(s\), expected a labels file.*swapped/);
  });

  it('rejects a zero dimension', () => {
    const bytes = smallImages(1);
    new DataView(bytes.buffer).setUint32(8, 0, false);
    assert.throws(() => decodeIdx(bytes, 'z.idx'), /z\.idx: dimension 1 has size 0/);
  });

  it('rejects image and label counts that disagree, naming both files', () => {
    const d = mkdirWith('counts', { 'train-images-idx3-ubyte': smallImages(20), 'train-labels-idx1-ubyte': smallLabels(19) });
    assert.throws(
      () => loadIdxDataset(d, 'train'),
      (e: Error) => e instanceof DataFormatError && e.message.includes('holds 20 images but') && e.message.includes('train-labels-idx1-ubyte holds 19 labels') && /re-download both/.test(e.message),
    );
  });

  it('rejects corrupt gzip: truncated and with damaged compressed bytes', () => {
    const zipped = gzipSync(smallImages(20));
    const d = mkdirWith('badgz', { 'train-images-idx3-ubyte.gz': zipped.subarray(0, zipped.length >> 1), 'train-labels-idx1-ubyte': smallLabels(20) });
    assert.throws(() => loadIdxDataset(d, 'train'), (e: Error) => e instanceof DataFormatError && /train-images-idx3-ubyte\.gz: the gzip data is corrupt or truncated/.test(e.message) && /re-download/.test(e.message));
    const damaged = zipped.slice();
    for (let i = 200; i < 260; i++) damaged[i] = damaged[i]! ^ 0x5a;
    writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), damaged);
    assert.throws(() => loadIdxDataset(d, 'train'), /gzip data is corrupt or truncated/);
  });

  it('refuses a gzip bomb once the output passes what the IDX header declares, fast and in little memory', () => {
    // 10 images, then 512 MB of zeros: half a megabyte on disk.
    const bomb = gzipBomb(smallImages(10), 512);
    assert.ok(bomb.length < MB, `${bomb.length} bytes`);
    assert.equal(gunzipSync(bomb.subarray(0, 4096), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, 16 + 7840).compare(smallImages(10)), 0);
    const path = join(dir, 'bomb-images-idx3-ubyte.gz');
    writeFileSync(path, bomb);
    // In a child, whose peak memory is its own: reading all 512 MB would show.
    const idx = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'data', 'idx.js')).href;
    const script = `
      const { readIdxFile } = await import(${JSON.stringify(idx)});
      const start = performance.now();
      let message = 'accepted';
      try { readIdxFile(${JSON.stringify(path)}, 3); } catch (e) { message = e.name + ': ' + e.message; }
      process.stdout.write(JSON.stringify({ message, ms: performance.now() - start, peakMB: process.resourceUsage().maxRSS / 1024 }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(child.status, 0, child.stderr);
    const { message, ms, peakMB } = JSON.parse(child.stdout) as { message: string; ms: number; peakMB: number };
    assert.equal(
      message,
      `DataFormatError: ${path}: decompresses to more than the 7856 bytes its IDX header declares (10 x 28 x 28 elements after a 16-byte header), ` +
        'so decompression was stopped; the file is corrupt or not what its header says (a gzip bomb?): re-download it',
    );
    assert.ok(peakMB < 200, `peak resident memory ${peakMB.toFixed(0)} MB`);
    assert.ok(ms < 10_000, `${ms.toFixed(0)} ms`);
  });

  it('refuses, before decompressing, a header that announces more than can be loaded', () => {
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(0, 0x00000803, false);
    for (const offset of [4, 8, 12]) new DataView(header.buffer).setUint32(offset, 2 ** 32 - 1, false);
    const path = join(dir, 'huge-images-idx3-ubyte.gz');
    writeFileSync(path, gzipBomb(header, 64));
    assert.throws(() => readIdxFile(path, 3), (e: Error) => e instanceof DataFormatError && e.message.startsWith(`${path}: the header announces 4294967295 x 4294967295 x 4294967295 = `) && /more than can be loaded/.test(e.message));
  });

  it('says which file is missing', () => {
    const d = mkdirWith('missing', { 'train-images-idx3-ubyte': smallImages(2) });
    assert.throws(() => loadIdxDataset(d, 'train'), (e: Error) => e instanceof DatasetNotFoundError && /no train labels file \(looked for train-labels-idx1-ubyte\[\.gz\]/.test(e.message));
    assert.throws(() => loadIdxDataset(d, 'test'), /no test images file/);
  });

  it('transposes images (EMNIST orientation) exactly', () => {
    const d = mkdirWith('t', { 'train-images-idx3-ubyte': smallImages(2), 'train-labels-idx1-ubyte': smallLabels(2) });
    const raw = loadIdxDataset(d, 'train');
    const t = transposeImages(raw);
    for (const [r, c] of [[0, 5], [14, 3], [27, 20], [9, 9]] as const) {
      assert.equal(t.images[784 + r * 28 + c], raw.images[784 + c * 28 + r]);
    }
    assert.deepEqual(transposeImages(t).images, raw.images);
  });

  it('copies of the real gzipped files load like the originals', () => {
    const d = mkdirWith('copy', {});
    copyFileSync(join(FASHION, 't10k-images-idx3-ubyte.gz'), join(d, 't10k-images-idx3-ubyte.gz'));
    copyFileSync(join(FASHION, 't10k-labels-idx1-ubyte.gz'), join(d, 't10k-labels-idx1-ubyte.gz'));
    assert.equal(imageSum(loadIdxDataset(d, 'test'), 1), facts.test.imageSums['1']);
  });
});
