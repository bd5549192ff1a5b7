// Checksums and archive extraction of the downloader. Nothing here touches
// the network: downloadDataset is called only with a fetch that fails.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DOWNLOADABLE_DATASETS, DataFormatError, downloadDataset, extractArchiveMembers, extractTarMembers, fileDigest, loadCifar10, publishedChecksums, verifyChecksum } from '../../src/data/index.js';
import { fashionMnistDir, loadFixture, tempDir } from '../helpers.js';

const CIFAR = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'test', 'fixtures', 'cifar');

interface FileFacts {
  debianMd5: string;
  debianSha256: string;
  debianSize: number;
  decompressedMd5: string;
  publishedMd5: string;
  publishedSize: number;
  gzipFlags: number;
}
const files = loadFixture<{ fashionMnist: { files: Record<string, FileFacts> } }>('datasets').fashionMnist.files;
const archiveFacts = (JSON.parse(readFileSync(join(CIFAR, 'expected.json'), 'utf8')) as { archive: { name: string; md5: string; sha256: string; members: Record<string, string> } }).archive;

describe('checksums', () => {
  it('the downloader knows the datasets of the brief and their published MD5s', () => {
    assert.deepEqual([...DOWNLOADABLE_DATASETS].sort(), ['cifar10', 'cifar100', 'fashion-mnist', 'kmnist', 'mnist']);
    const fashion = publishedChecksums('fashion-mnist');
    for (const [name, f] of Object.entries(files)) assert.equal(fashion.get(name), f.publishedMd5, name);
    assert.equal(publishedChecksums('cifar10').get('cifar-10-binary.tar.gz'), 'c32a1d4ab5d03f1284b67883e8d87530');
    assert.throws(() => publishedChecksums('emnist'), /downloadable datasets are/);
  });

  it('verifies MD5 and SHA-256 of the sample archive, and rejects a wrong one', async () => {
    const path = join(CIFAR, archiveFacts.name);
    assert.equal(await verifyChecksum(path, archiveFacts.md5), true);
    assert.equal(await verifyChecksum(path, archiveFacts.md5.toUpperCase()), true);
    assert.equal(await verifyChecksum(path, archiveFacts.sha256), true);
    assert.equal(await verifyChecksum(path, archiveFacts.md5.replace(/^./, (c) => (c === '0' ? '1' : '0'))), false);
    await assert.rejects(verifyChecksum(path, 'abc'), /neither an MD5 \(32 hex digits\) nor a SHA-256/);
  });

  // Debian re-packed the gzip files: same data, header without the stored
  // file name, hence other MD5s than the published ones (see tools/fixtures/datasets.py).
  it("Debian's Fashion-MNIST files have the checksums recorded for them, not the published ones", async () => {
    const FASHION = fashionMnistDir();
    for (const [name, f] of Object.entries(files)) {
      const path = join(FASHION, name);
      assert.equal(await verifyChecksum(path, f.debianMd5), true, `${name} md5`);
      assert.equal(await verifyChecksum(path, f.debianSha256), true, `${name} sha256`);
      assert.equal(await verifyChecksum(path, f.publishedMd5), false, `${name} differs from the published file`);
      // The published file is longer by exactly the stored name and its terminating zero.
      const stem = name.replace(/\.gz$/, '');
      assert.equal(f.publishedSize - f.debianSize, stem.length + 1);
      assert.equal(readFileSync(path)[3]! & 0x08, 0, 'no FNAME flag in the Debian gzip header');
      assert.equal(createHash('md5').update(gunzipSync(readFileSync(path))).digest('hex'), f.decompressedMd5);
    }
    assert.equal(await fileDigest(join(fashionMnistDir(), 't10k-labels-idx1-ubyte.gz'), 'md5'), files['t10k-labels-idx1-ubyte.gz']!.debianMd5);
  });

  it("a cache holding Debian's copies is complete: nothing is fetched; a damaged copy is fetched again", async () => {
    const cache = tempDir('cache-');
    mkdirSync(join(cache, 'fashion-mnist'));
    for (const name of Object.keys(files)) copyFileSync(join(fashionMnistDir(), name), join(cache, 'fashion-mnist', name));
    const fetched: string[] = [];
    const offline = (async (url: string | URL | Request) => {
      fetched.push(String(url));
      throw new Error('offline');
    }) as typeof fetch;
    assert.equal(await downloadDataset('fashion-mnist', { cacheDir: cache, fetch: offline }), join(cache, 'fashion-mnist'));
    assert.equal(fetched.length, 0, fetched.join(', '));
    writeFileSync(join(cache, 'fashion-mnist', 't10k-labels-idx1-ubyte.gz'), 'damaged');
    await assert.rejects(downloadDataset('fashion-mnist', { cacheDir: cache, fetch: offline }), /could not download t10k-labels-idx1-ubyte\.gz/);
    assert.ok(fetched.length > 0 && fetched.every((url) => url.endsWith('t10k-labels-idx1-ubyte.gz')), fetched.join(', '));
  });
});

describe('archive extraction', () => {
  it('extracts the wanted members of a tar written by Python, byte for byte', () => {
    const dir = tempDir('tar-');
    try {
      extractArchiveMembers(join(CIFAR, archiveFacts.name), dir, ['test_batch.bin', 'batches.meta.txt']);
      assert.deepEqual(readdirSync(dir).sort(), ['batches.meta.txt', 'test_batch.bin']);
      for (const [name, md5] of Object.entries(archiveFacts.members)) {
        assert.equal(createHash('md5').update(readFileSync(join(dir, name))).digest('hex'), md5, name);
      }
      assert.equal(loadCifar10(dir, 'test').shape[0], 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports members the archive lacks', () => {
    const dir = tempDir('tar-');
    try {
      assert.throws(() => extractArchiveMembers(join(CIFAR, archiveFacts.name), dir, ['test_batch.bin', 'data_batch_1.bin']), /lacks data_batch_1\.bin; it is not the expected dataset archive/);
      assert.deepEqual(readdirSync(dir), [], 'nothing is written when a member is missing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a truncated or corrupt tar', () => {
    const tar = gunzipSync(readFileSync(join(CIFAR, archiveFacts.name)));
    assert.throws(() => extractTarMembers(tar.subarray(0, 5000), new Set(['test_batch.bin']), 'cut.tar'), (e: Error) => e instanceof DataFormatError && /cut\.tar: truncated/.test(e.message));
    const bad = new Uint8Array(tar);
    bad[10] = bad[10]! ^ 0xff;
    assert.throws(() => extractTarMembers(bad, new Set(['test_batch.bin']), 'bad.tar'), /bad\.tar: tar header at byte 0 has a bad checksum/);
  });
});
