// What the report tests share: sweeps of synthetic runs written by the
// runner's own writers, the data block of a report page, Debian's Chromium
// started headless, and a PNG decoder to check screenshots.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { type BrowserContext, chromium } from 'playwright-core';
import { loadExperiment } from '../../src/config/index.js';
import { TaskMatrix } from '../../src/continual/metrics/matrix.js';
import { writeRunResults } from '../../src/continual/results/index.js';
import type { ReportData } from '../../src/report/data.js';
import { runId, writeManifest } from '../../src/sweep/manifest.js';
import { tempDir } from '../helpers.js';

/** A pseudo-random generator (an LCG): the synthetic results are the same on every machine. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * A sweep directory as `perennial sweep` leaves it, of `configurations`
 * algorithm settings (EWC with λ = 10^k) times `seeds` seeds, each a
 * finished run of `tasks` tasks: config.json, run.log and every result file
 * written by writeRunResults from a synthetic accuracy matrix (accuracy
 * falling with the tasks trained since, less for larger λ). `extra` are
 * overrides applied to every run.
 */
export function syntheticSweep(dir: string, configurations: number, seeds: number, tasks: number, extra: readonly string[] = []): string {
  const runs = [];
  const algorithms = Array.from({ length: configurations }, (_, c) => `[{name: ewc, lambda: ${10 ** c}}]`);
  for (let c = 0; c < configurations; c++) {
    for (let seed = 1; seed <= seeds; seed++) {
      const algorithm = `algorithms=${algorithms[c]!}`;
      const overrides = [`benchmark.numTasks=${tasks}`, algorithm, `seed=${seed}`, ...extra];
      const config = loadExperiment(undefined, overrides);
      const id = runId(config);
      const runDir = join(dir, 'runs', id);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'config.json'), `${JSON.stringify({ ...config, output: { dir: join(dir, 'runs'), name: id } }, null, 2)}\n`);
      writeFileSync(join(runDir, 'run.log'), `2026-01-01T00:00:00.000Z info starting a run in ${runDir}\n`);
      const random = generator(1000 * c + seed);
      const forgetting = 0.04 / (1 + c);
      const accuracy = Array.from({ length: tasks }, (_, t) => Array.from({ length: t + 1 }, (_, j) => Math.max(0, Math.min(1, 0.97 - forgetting * (t - j) - 0.05 * random()))));
      const loss = accuracy.map((row) => row.map((a) => -Math.log(Math.max(a, 1e-3))));
      writeRunResults(runDir, { accuracy: new TaskMatrix('accuracy', accuracy), loss: new TaskMatrix('loss', loss), metadata: { seed } });
      runs.push({ id, label: `${algorithm} seed=${seed}`, overrides, status: 'done' as const, attempts: 1, exitStatus: 0, log: `logs/${id}.log`, error: null });
    }
  }
  mkdirSync(dir, { recursive: true });
  writeManifest(dir, { version: 1, base: { config: null, overrides: [`benchmark.numTasks=${tasks}`, ...extra] }, grid: { algorithms, seed: Array.from({ length: seeds }, (_, s) => String(s + 1)) }, runs });
  return dir;
}

/** The data block of a report page, parsed. */
export function reportDataOf(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  assert.ok(match !== null, 'the page has its data block');
  return JSON.parse(match[1]!) as ReportData;
}

const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, with its profile and temporary files in a test
 * directory (removed when the test file ends, however it ends). Fails, never
 * skips, when Chromium is missing or cannot start: npm test installs it.
 */
export async function startChromium(): Promise<BrowserContext> {
  assert.ok(existsSync(CHROMIUM), `Debian's chromium is not installed (${CHROMIUM}): install it with apt-get install chromium, or run npm test, which runs scripts/setup.sh --test`);
  const profile = tempDir('chromium-');
  // Playwright makes its own working folder in the system's temporary folder
  // while it launches; pointed into the test's directory, nothing is left
  // behind even if the test process is killed before Playwright cleans up.
  const systemTemp = process.env['TMPDIR'];
  process.env['TMPDIR'] = profile;
  try {
    return await chromium.launchPersistentContext(join(profile, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      env: { ...process.env, TMPDIR: profile },
    });
  } catch (error) {
    throw new Error(`Chromium (${CHROMIUM}) could not start: ${error instanceof Error ? error.message : String(error)}\nreinstall it with apt-get install chromium, or run npm test, which runs scripts/setup.sh --test`);
  } finally {
    if (systemTemp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = systemTemp;
  }
}

/** An image's pixels as RGBA bytes, row by row. */
export interface Pixels {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes a non-interlaced 8-bit RGB or RGBA PNG (what Chromium's screenshots are). */
export function decodePng(png: Buffer): Pixels {
  assert.ok(png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])), 'a PNG signature');
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colourType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      assert.ok(depth === 8 && (colourType === 2 || colourType === 6) && interlace === 0, `an 8-bit RGB(A) PNG without interlacing (depth ${depth}, colour type ${colourType}, interlace ${interlace})`);
      channels = colourType === 6 ? 4 : 3;
    } else if (type === 'IDAT') data.push(body);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = rows.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? rows.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels]! : 0;
      const b = up[i]!;
      const c = i >= channels ? up[i - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i] = (line[i]! + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba.set(rows.subarray(p * channels, p * channels + 3), p * 4);
    rgba[p * 4 + 3] = channels === 4 ? rows[p * channels + 3]! : 255;
  }
  return { width, height, rgba };
}

/** How many pixels have each colour, most frequent first. */
export function colourCounts(image: Pixels): number[] {
  const counts = new Map<number, number>();
  const view = new DataView(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
  for (let p = 0; p < image.width * image.height; p++) {
    const colour = view.getUint32(p * 4);
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  return [...counts.values()].sort((a, b) => b - a);
}

/** The lines of a CSV file as rows of cells (the runner's acc.csv has no quoted cells). */
export function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => line.split(','));
}
