// Optional downloads of the public datasets into a cache directory, for users
// with a network (`perennial download <name>`). Nothing else in the project
// downloads: the tests and the default benchmark use data already on the
// machine. Every file is checked against the checksum its publishers (or
// torchvision, which pins them) give before it is moved into place, and it is
// moved with a rename in the same directory, so the cache never holds a
// partial or unverified file under its final name.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, closeSync, renameSync, rmSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../serialization/atomic.js';
import { DataFormatError } from './raw.js';

/** Where downloads go: $PERENNIAL_CACHE_DIR, else $XDG_CACHE_HOME/perennial, else ~/.cache/perennial. */
export function defaultCacheDir(): string {
  const explicit = process.env['PERENNIAL_CACHE_DIR'];
  if (explicit) return explicit;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? xdg : join(homedir(), '.cache'), 'perennial');
}

export type ChecksumAlgorithm = 'md5' | 'sha256';

/** The hex digest of a file, streamed (the CIFAR archives are 170 MB). */
export async function fileDigest(path: string, algorithm: ChecksumAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Whether the file at `path` has the checksum `expected`: an MD5 (32 hex
 * digits) or a SHA-256 (64), case-insensitive.
 */
export async function verifyChecksum(path: string, expected: string): Promise<boolean> {
  const want = expected.toLowerCase();
  if (!/^[0-9a-f]+$/.test(want) || (want.length !== 32 && want.length !== 64)) {
    throw new RangeError(`verifyChecksum: '${expected}' is neither an MD5 (32 hex digits) nor a SHA-256 (64 hex digits)`);
  }
  return (await fileDigest(path, want.length === 32 ? 'md5' : 'sha256')) === want;
}

interface RemoteFile {
  name: string;
  /** Mirrors, tried in order. */
  urls: readonly string[];
  md5: string;
  /**
   * Checksums of known repackagings of the same data. Debian's
   * dataset-fashion-mnist recompressed the published files with another gzip
   * header (the decompressed bytes are identical, which a test checks); a
   * copy of it already in the cache is as good as a download, and is kept.
   */
  repackagedMd5?: readonly string[];
}

type DownloadPlan =
  | { kind: 'files'; files: readonly RemoteFile[] }
  /** An archive whose listed members (by base name) are extracted. */
  | { kind: 'archive'; archive: RemoteFile; members: readonly string[] };

function mirrored(bases: readonly string[], files: readonly (readonly [string, string, string?])[]): RemoteFile[] {
  return files.map(([name, md5, debianMd5]) => ({ name, md5, urls: bases.map((b) => b + name), ...(debianMd5 === undefined ? {} : { repackagedMd5: [debianMd5] }) }));
}

// Checksums as published by the datasets' authors and pinned by torchvision
// (then, for Fashion-MNIST, those of Debian's repackaged files).
const PLANS: Record<string, DownloadPlan> = {
  mnist: {
    kind: 'files',
    files: mirrored(
      ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
      [
        ['train-images-idx3-ubyte.gz', 'f68b3c2dcbeaaa9fbdd348bbdeb94873'],
        ['train-labels-idx1-ubyte.gz', 'd53e105ee54ea40749a09fcbcd1e9432'],
        ['t10k-images-idx3-ubyte.gz', '9fb629c4189551a2d022fa330f9573f3'],
        ['t10k-labels-idx1-ubyte.gz', 'ec29112dd5afa0611ce80d1b7f02629c'],
      ],
    ),
  },
  'fashion-mnist': {
    kind: 'files',
    files: mirrored(
      ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/', 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'],
      [
        ['train-images-idx3-ubyte.gz', '8d4fb7e6c68d591d4c3dfef9ec88bf0d', 'cf8536b0aa1a6ac5fa3f23001093305c'],
        ['train-labels-idx1-ubyte.gz', '25c81989df183df01b3e8a0aad5dffbe', '10bea18fdb374794d4bb42e356e600c9'],
        ['t10k-images-idx3-ubyte.gz', 'bef4ecab320f06d8554ea6380940ec79', 'f78720b4224f21cce2f2ccf2d7a94c9a'],
        ['t10k-labels-idx1-ubyte.gz', 'bb300cfdad3c16e7a12a480ee83cd310', '0d30e22e447f3c33dab9ed536400ac01'],
      ],
    ),
  },
  kmnist: {
    kind: 'files',
    files: mirrored(
      ['http://codh.rois.ac.jp/kmnist/dataset/kmnist/'],
      [
        ['train-images-idx3-ubyte.gz', 'bdb82020997e1d708af4cf47b453dcf7'],
        ['train-labels-idx1-ubyte.gz', 'e144d726b3acfaa3e44228e80efcd344'],
        ['t10k-images-idx3-ubyte.gz', '5c965bf0a639b31b8f53240b1b52f4d7'],
        ['t10k-labels-idx1-ubyte.gz', '7320c461ea6c1c855c0b718fb2a4b134'],
      ],
    ),
  },
  cifar10: {
    kind: 'archive',
    archive: { name: 'cifar-10-binary.tar.gz', urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'], md5: 'c32a1d4ab5d03f1284b67883e8d87530' },
    members: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin', 'batches.meta.txt'],
  },
  cifar100: {
    kind: 'archive',
    archive: { name: 'cifar-100-binary.tar.gz', urls: ['https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz'], md5: '03b5dce01913d631647c71ecec9e9cb8' },
    members: ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt'],
  },
};

/** The datasets `downloadDataset` knows. */
export const DOWNLOADABLE_DATASETS: readonly string[] = Object.keys(PLANS);

/** The published checksum of each file of a downloadable dataset (for `perennial download --check` and documentation). */
export function publishedChecksums(name: string): ReadonlyMap<string, string> {
  const plan = planFor(name);
  const files = plan.kind === 'files' ? plan.files : [plan.archive];
  return new Map(files.map((f) => [f.name, f.md5]));
}

function planFor(name: string): DownloadPlan {
  const plan = PLANS[name];
  if (plan === undefined) throw new Error(`cannot download '${name}': downloadable datasets are ${DOWNLOADABLE_DATASETS.join(', ')}`);
  return plan;
}

/** Where downloadDataset puts a dataset, and how it reports and fetches. */
export interface DownloadOptions {
  /** The cache root; the dataset goes to <cacheDir>/<name>. Default: defaultCacheDir(). */
  cacheDir?: string;
  /** Download again even when verified files are present. */
  force?: boolean;
  /** Progress messages (one line each). */
  log?: (message: string) => void;
  /** The fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
}

function tempName(dir: string, name: string): string {
  return join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
}

function fsyncPath(path: string, flags: 'r' | 'r+'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` holds `file`'s published bytes or a known repackaging of them. */
async function presentAndVerified(path: string, file: RemoteFile): Promise<boolean> {
  const md5 = await fileDigest(path, 'md5');
  return md5 === file.md5 || (file.repackagedMd5 ?? []).includes(md5);
}

/** Fetches `file` into `dir` under its name, verified; tries each mirror until one gives the right bytes. */
async function fetchVerified(file: RemoteFile, dir: string, options: DownloadOptions): Promise<string> {
  const target = join(dir, file.name);
  const doFetch = options.fetch ?? fetch;
  const failures: string[] = [];
  for (const url of file.urls) {
    const temp = tempName(dir, file.name);
    try {
      options.log?.(`downloading ${url}`);
      const response = await doFetch(url);
      if (!response.ok || response.body === null) {
        failures.push(`${url}: HTTP ${response.status} ${response.statusText}`);
        continue;
      }
      await pipeline(Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]), createWriteStream(temp));
      if (!(await verifyChecksum(temp, file.md5))) {
        failures.push(`${url}: checksum mismatch (MD5 ${await fileDigest(temp, 'md5')}, expected ${file.md5}); the download was corrupted or the mirror serves other bytes`);
        continue;
      }
      fsyncPath(temp, 'r+');
      renameSync(temp, target);
      fsyncPath(dir, 'r');
      return target;
    } catch (error) {
      failures.push(`${url}: ${(error as Error).message}`);
    } finally {
      rmSync(temp, { force: true });
    }
  }
  throw new Error(`could not download ${file.name}:\n  ${failures.join('\n  ')}\nCheck the network connection and try again.`);
}

/**
 * Downloads dataset `name` (see DOWNLOADABLE_DATASETS) into
 * <cacheDir>/<name> and returns that directory, ready to be passed as a
 * benchmark's dataDir. Files already present with the right checksum are kept.
 */
export async function downloadDataset(name: string, options: DownloadOptions = {}): Promise<string> {
  const plan = planFor(name);
  const dir = join(options.cacheDir ?? defaultCacheDir(), name);
  mkdirSync(dir, { recursive: true });
  if (plan.kind === 'files') {
    for (const file of plan.files) {
      const target = join(dir, file.name);
      if (!options.force && existsSync(target) && (await presentAndVerified(target, file))) {
        options.log?.(`${target}: present and verified`);
        continue;
      }
      await fetchVerified(file, dir, options);
    }
    return dir;
  }
  const present = plan.members.every((m) => existsSync(join(dir, m)));
  if (present && !options.force) {
    options.log?.(`${dir}: already extracted`);
    return dir;
  }
  const archive = await fetchVerified(plan.archive, dir, options);
  try {
    options.log?.(`extracting ${archive}`);
    extractArchiveMembers(archive, dir, plan.members);
  } finally {
    rmSync(archive, { force: true });
  }
  return dir;
}

/**
 * The regular files of a POSIX tar archive whose base name is in `wanted`,
 * by base name. Only names are compared, so no member path can escape the
 * destination directory.
 */
export function extractTarMembers(tar: Uint8Array, wanted: ReadonlySet<string>, source = 'archive'): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let offset = 0;
  /** A NUL-terminated field of the header at `offset`. */
  const text = (from: number, length: number): string => {
    const field = tar.subarray(offset + from, offset + from + length);
    const end = field.indexOf(0);
    return Buffer.from(end === -1 ? field : field.subarray(0, end)).toString('utf8');
  };
  let longName: string | null = null;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    const stored = parseInt(text(148, 8).trim() || 'x', 8);
    if (stored !== sum) throw new DataFormatError(`${source}: tar header at byte ${offset} has a bad checksum; the archive is corrupt: re-download it`);
    const sizeField = text(124, 12).trim();
    const size = parseInt(sizeField, 8);
    if (!Number.isSafeInteger(size) || size < 0) throw new DataFormatError(`${source}: tar header at byte ${offset} has an unreadable size '${sizeField}'`);
    const type = String.fromCharCode(header[156]!);
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new DataFormatError(`${source}: truncated: a member needs ${size} bytes beyond the end of the archive; re-download it`);
    const data = tar.subarray(dataStart, dataStart + size);
    const prefix = text(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
    longName = null;
    if (type === 'L') longName = Buffer.from(data).toString('utf8').replace(/\0+$/, '');
    else if ((type === '0' || type === '\0') && wanted.has(basename(name))) out.set(basename(name), data.slice());
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Extracts `members` (base names) of the gzipped tar at `archivePath` into `dir`, each written atomically. */
export function extractArchiveMembers(archivePath: string, dir: string, members: readonly string[]): void {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(readFileSync(archivePath));
  } catch (error) {
    throw new DataFormatError(`${archivePath}: cannot decompress (${(error as Error).message}); re-download it`);
  }
  const found = extractTarMembers(tar, new Set(members), archivePath);
  const missing = members.filter((m) => !found.has(m));
  if (missing.length > 0) throw new DataFormatError(`${archivePath}: the archive lacks ${missing.join(', ')}; it is not the expected dataset archive`);
  for (const [name, data] of found) writeFileAtomic(join(dir, name), data);
}
