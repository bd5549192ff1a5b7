// Dataset names to loaders, defaults and errors.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DATASET_NAMES, DEFAULT_DATASET, DataFormatError, DatasetNotFoundError, channelStatistics, datasetSpec, loadDataset, resolveDataDirectory } from '../../src/data/index.js';
import { fashionMnistDir, tempDir } from '../helpers.js';

const CIFAR = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'test', 'fixtures', 'cifar');

describe('dataset registry', () => {
  it('knows the datasets of the brief, with their class counts and shapes', () => {
    for (const name of ['mnist-embedded', 'mnist', 'fashion-mnist', 'kmnist', 'emnist', 'cifar10', 'cifar100']) assert.ok(DATASET_NAMES.includes(name), name);
    assert.equal(DEFAULT_DATASET, 'mnist-embedded');
    assert.equal(datasetSpec('cifar100').numClasses, 100);
    assert.equal(datasetSpec('emnist').numClasses, 47);
    assert.equal(datasetSpec('emnist-letters').numClasses, 26);
    assert.deepEqual(datasetSpec('cifar10').inputShape, [3, 32, 32]);
    assert.deepEqual(datasetSpec('kmnist').inputShape, [1, 28, 28]);
    assert.equal(datasetSpec('cifar10').mean!.length, 3);
  });

  it('rejects an unknown name, listing the known ones', () => {
    assert.throws(() => datasetSpec('mnsit'), (e: Error) => /unknown dataset 'mnsit'; known datasets: mnist-embedded, mnist, fashion-mnist/.test(e.message) && e.message.includes('cifar100'));
  });

  it('loads the bundled digits with no directory', () => {
    const raw = loadDataset('mnist-embedded', 'test');
    assert.equal(raw.shape[0], 1496);
    assert.equal(resolveDataDirectory('mnist-embedded'), null);
  });

  it('says how to get data whose directory is missing', () => {
    const nowhere = join(tmpdir(), 'perennial-no-such-dir');
    assert.throws(() => loadDataset('mnist', 'train', nowhere), (e: Error) => e instanceof DatasetNotFoundError && e.message.includes(`directory ${nowhere} does not exist`) && e.message.includes('perennial download mnist'));
    assert.throws(() => loadDataset('fashion-mnist', 'train', nowhere), /apt-get install dataset-fashion-mnist/);
    assert.throws(() => loadDataset('cifar10', 'train', nowhere), /perennial download cifar10/);
    assert.throws(() => loadDataset('emnist', 'train'), /needs a data directory \(dataDir\).*gzip\.zip/);
  });

  it('says how to get data when the directory lacks the files', () => {
    const dir = tempDir('reg-');
    try {
      assert.throws(() => loadDataset('kmnist', 'train', dir), (e: Error) => e instanceof DatasetNotFoundError && /no train images file/.test(e.message) && /perennial download kmnist/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads CIFAR through the registry, and rejects a directory of the other CIFAR', () => {
    assert.deepEqual([...loadDataset('cifar10', 'test', CIFAR).shape], [6, 3, 32, 32]);
    assert.deepEqual([...loadDataset('cifar100', 'test', CIFAR).shape], [5, 3, 32, 32]);
    assert.equal(loadDataset('cifar100-coarse', 'train', CIFAR).labels[0], 19);
  });

  it('rejects labels beyond the class count (files of another dataset)', () => {
    const dir = tempDir('reg-');
    try {
      // An EMNIST 'digits' directory holding a label 12 (as another split would).
      const images = new Uint8Array(16 + 2 * 784);
      new DataView(images.buffer).setUint32(0, 0x803);
      new DataView(images.buffer).setUint32(4, 2);
      new DataView(images.buffer).setUint32(8, 28);
      new DataView(images.buffer).setUint32(12, 28);
      const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 3, 12]);
      writeFileSync(join(dir, 'emnist-digits-train-images-idx3-ubyte'), images);
      writeFileSync(join(dir, 'emnist-digits-train-labels-idx1-ubyte'), labels);
      assert.throws(() => loadDataset('emnist-digits', 'train', dir), (e: Error) => e instanceof DataFormatError && /example 1 has label 12, but the dataset has 10 classes/.test(e.message));
      writeFileSync(join(dir, 'emnist-letters-train-images-idx3-ubyte'), images);
      writeFileSync(join(dir, 'emnist-letters-train-labels-idx1-ubyte'), new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 26, 1]));
      // Letters are stored 1..26 and come back 0..25.
      assert.deepEqual([...loadDataset('emnist-letters', 'train', dir).labels], [25, 0]);
      mkdirSync(join(dir, 'sub'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the published Fashion-MNIST constants match the real training pixels', () => {
    const FASHION = fashionMnistDir();
    const spec = datasetSpec('fashion-mnist');
    assert.equal(resolveDataDirectory('fashion-mnist'), FASHION);
    const stats = channelStatistics(loadDataset('fashion-mnist', 'train'));
    assert.ok(Math.abs(stats.mean[0]! - spec.mean![0]!) < 5e-5, `mean ${stats.mean[0]}`);
    assert.ok(Math.abs(stats.std[0]! - spec.std![0]!) < 5e-5, `std ${stats.std[0]}`);
  });

  it('the embedded digits are close to MNIST statistics, whose constants they use', () => {
    const stats = channelStatistics(loadDataset('mnist-embedded', 'train'));
    const spec = datasetSpec('mnist-embedded');
    assert.ok(Math.abs(stats.mean[0]! - spec.mean![0]!) < 2e-3);
    assert.ok(Math.abs(stats.std[0]! - spec.std![0]!) < 2e-3);
  });
});
