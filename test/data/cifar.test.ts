// The CIFAR-10/100 binary readers on fixture files written by
// tools/fixtures/cifar.py: real Fashion-MNIST images in the real CIFAR
// record layout, with expected values computed in Python.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DataFormatError, DatasetNotFoundError, type RawDataset, decodeCifarRecords, loadCifar10, loadCifar100, loadIdxDataset } from '../../src/data/index.js';
import { fashionMnistDir, tempDir } from '../helpers.js';

const FIXTURES = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'test', 'fixtures', 'cifar');

interface FileFacts {
  count: number;
  labels: number[];
  coarseLabels?: number[];
  sources: ['train' | 'test', number][];
  planeSums: number[][];
  probes: number[][];
}
interface Expected {
  probes: [number, number, number][];
  cifar10: Record<string, FileFacts>;
  cifar100: Record<string, FileFacts>;
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

/** The facts of several files read one after the other. */
function concat(files: FileFacts[]): FileFacts {
  return {
    count: files.reduce((n, f) => n + f.count, 0),
    labels: files.flatMap((f) => f.labels),
    coarseLabels: files.flatMap((f) => f.coarseLabels ?? []),
    sources: files.flatMap((f) => f.sources),
    planeSums: files.flatMap((f) => f.planeSums),
    probes: files.flatMap((f) => f.probes),
  };
}

function checkAgainst(raw: RawDataset, facts: FileFacts): void {
  assert.deepEqual([...raw.shape], [facts.count, 3, 32, 32]);
  assert.deepEqual([...raw.labels], facts.labels);
  for (let i = 0; i < facts.count; i++) {
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      const base = (i * 3 + c) * 1024;
      for (let p = 0; p < 1024; p++) sum += raw.images[base + p]!;
      assert.equal(sum, facts.planeSums[i]![c], `record ${i} plane ${c} sum`);
    }
    expected.probes.forEach(([c, h, w], k) => assert.equal(raw.images[i * 3072 + c * 1024 + h * 32 + w], facts.probes[i]![k], `record ${i} pixel [${c}, ${h}, ${w}]`));
  }
}

describe('CIFAR-10 binary reader', () => {
  it('reads the five training batches in order', () => {
    const raw = loadCifar10(FIXTURES, 'train');
    checkAgainst(raw, concat([1, 2, 3, 4, 5].map((b) => expected.cifar10[`data_batch_${b}.bin`]!)));
    assert.equal(raw.shape[0], 20);
  });

  it('reads the test batch', () => {
    checkAgainst(loadCifar10(FIXTURES, 'test'), expected.cifar10['test_batch.bin']!);
  });

  it('finds the files inside the cifar-10-batches-bin folder the archive unpacks to', () => {
    const dir = tempDir('cifar-');
    try {
      mkdirSync(join(dir, 'cifar-10-batches-bin'));
      copyFileSync(join(FIXTURES, 'test_batch.bin'), join(dir, 'cifar-10-batches-bin', 'test_batch.bin'));
      checkAgainst(loadCifar10(dir, 'test'), expected.cifar10['test_batch.bin']!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CIFAR-100 binary reader', () => {
  it('reads fine and coarse labels and the images', () => {
    const facts = expected.cifar100['train.bin']!;
    const raw = loadCifar100(FIXTURES, 'train');
    checkAgainst(raw, facts);
    assert.deepEqual([...raw.fineLabels], facts.labels);
    assert.deepEqual([...raw.coarseLabels], facts.coarseLabels);
    assert.deepEqual([...loadCifar100(FIXTURES, 'train', 'coarse').labels], facts.coarseLabels);
    // The fixture has both ends of the label ranges.
    assert.ok(raw.fineLabels.includes(99) && raw.fineLabels.includes(0) && raw.coarseLabels.includes(19));
  });

  it('reads the test file', () => {
    checkAgainst(loadCifar100(FIXTURES, 'test'), expected.cifar100['test.bin']!);
  });
});

describe('CIFAR readers agree with the IDX reader on the source images', () => {
  it('the red plane is the padded Fashion-MNIST image, green its transpose, blue its negative', () => {
    const fashion = loadIdxDataset(fashionMnistDir(), 'test');
    const raw = loadCifar10(FIXTURES, 'test');
    const facts = expected.cifar10['test_batch.bin']!;
    facts.sources.forEach(([, src], i) => {
      for (let r = 0; r < 32; r++) {
        for (let c = 0; c < 32; c++) {
          const inside = r >= 2 && r < 30 && c >= 2 && c < 30;
          const v = inside ? fashion.images[src * 784 + (r - 2) * 28 + (c - 2)]! : 0;
          const vt = r >= 2 && r < 30 && c >= 2 && c < 30 ? fashion.images[src * 784 + (c - 2) * 28 + (r - 2)]! : 0;
          const at = (plane: number): number => raw.images[i * 3072 + plane * 1024 + r * 32 + c]!;
          assert.equal(at(0), v);
          assert.equal(at(1), vt);
          assert.equal(at(2), 255 - v);
        }
      }
      assert.equal(raw.labels[i], fashion.labels[src]);
    });
  });
});

describe('CIFAR readers: damaged and missing files', () => {
  let dir: string;
  before(() => {
    dir = tempDir('cifar-bad-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function copyFixtures(name: string): string {
    const d = join(dir, name);
    mkdirSync(d);
    for (const f of readdirSync(FIXTURES)) if (f.endsWith('.bin')) copyFileSync(join(FIXTURES, f), join(d, f));
    return d;
  }

  it('rejects a truncated file, naming it and the record size', () => {
    const d = copyFixtures('truncated');
    const bytes = readFileSync(join(d, 'data_batch_2.bin'));
    writeFileSync(join(d, 'data_batch_2.bin'), bytes.subarray(0, bytes.length - 100));
    assert.throws(
      () => loadCifar10(d, 'train'),
      (e: Error) => e instanceof DataFormatError && e.message.includes('data_batch_2.bin') && /not a whole number of 3073-byte records \(3 records and 2973 bytes left over\)/.test(e.message) && /re-download/.test(e.message),
    );
  });

  it('rejects an empty file', () => {
    const d = copyFixtures('empty');
    writeFileSync(join(d, 'test.bin'), new Uint8Array(0));
    assert.throws(() => loadCifar100(d, 'test'), /test\.bin: the file is empty/);
  });

  it('rejects labels out of range: CIFAR-10 label, CIFAR-100 fine and coarse label', () => {
    const d = copyFixtures('labels');
    const batch = new Uint8Array(readFileSync(join(d, 'test_batch.bin')));
    batch[3073 * 2] = 10;
    writeFileSync(join(d, 'test_batch.bin'), batch);
    assert.throws(() => loadCifar10(d, 'test'), /test_batch\.bin: record 2 has label 10, outside 0\.\.9/);
    const c100 = new Uint8Array(readFileSync(join(d, 'test.bin')));
    c100[3074 * 1 + 1] = 100;
    writeFileSync(join(d, 'test.bin'), c100);
    assert.throws(() => loadCifar100(d, 'test'), /test\.bin: record 1 has fine label 100, outside 0\.\.99/);
    c100[3074 * 1 + 1] = 5;
    c100[3074 * 4] = 20;
    writeFileSync(join(d, 'test.bin'), c100);
    assert.throws(() => loadCifar100(d, 'test'), /test\.bin: record 4 has coarse label 20, outside 0\.\.19/);
  });

  it('a CIFAR-100 file read as CIFAR-10 fails on its record size', () => {
    assert.throws(() => decodeCifarRecords(readFileSync(join(FIXTURES, 'test.bin')), 'test.bin', [{ name: 'label', numClasses: 10 }]), /not a whole number of 3073-byte records/);
  });

  it('names every missing file', () => {
    const d = copyFixtures('missing');
    rmSync(join(d, 'data_batch_3.bin'));
    rmSync(join(d, 'data_batch_5.bin'));
    assert.throws(() => loadCifar10(d, 'train'), (e: Error) => e instanceof DatasetNotFoundError && /CIFAR-10 file\(s\) missing: data_batch_3\.bin, data_batch_5\.bin/.test(e.message));
    assert.throws(() => loadCifar100(join(dir, 'nowhere'), 'train'), /CIFAR-100 file\(s\) missing: train\.bin/);
  });
});
