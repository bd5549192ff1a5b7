// Reading datasets from disk: IDX (the MNIST family), CIFAR binary, the
// bundled MNIST digits; the registry of dataset names; optional downloads.
export { type RawDataset, type Split, DataFormatError, DatasetNotFoundError, channelStatistics, checkLabelRange } from './raw.js';
export { type IdxArray, type IdxDatasetOptions, decodeIdx, findIdxFile, loadIdxDataset, readIdxFile, transposeImages } from './idx.js';
export { type Cifar100Dataset, decodeCifarRecords, loadCifar10, loadCifar100 } from './cifar.js';
export { EMBEDDED_TEST_PERCENT, embeddedTestCount, loadEmbeddedMnist } from './embedded.js';
export { DATASET_NAMES, DEFAULT_DATASET, type DatasetSpec, datasetSpec, loadDataset, resolveDataDirectory } from './registry.js';
export {
  DOWNLOADABLE_DATASETS,
  type DownloadOptions,
  defaultCacheDir,
  downloadDataset,
  extractArchiveMembers,
  extractTarMembers,
  fileDigest,
  publishedChecksums,
  verifyChecksum,
} from './download.js';
