// The README's screenshot of a report (docs/images/report.png), from real runs:
// Finetuning, EWC and SI on 5-task Permuted MNIST (the bundled digits), three
// seeds each, reported by `perennial report` and photographed in Debian's
// Chromium, headless. Takes a few minutes; writes nothing but the image.
//
//   node dist/tools/report_screenshot.js [out.png]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { loadExperiment } from '../src/config/index.js';
import '../src/continual/index.js';
import { runExperiment } from '../src/continual/experiment/run.js';
import { collectReport } from '../src/report/collect.js';
import { writeReport } from '../src/report/html.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'images', 'report.png'));
const ALGORITHMS = ['[{name: finetuning}]', '[{name: ewc, lambda: 100}]', '[{name: si, c: 1}]'];
const SEEDS = [1, 2, 3];

const work = mkdtempSync(join(tmpdir(), 'perennial-report-screenshot-'));
try {
  for (const algorithms of ALGORITHMS) {
    for (const seed of SEEDS) {
      const config = loadExperiment(undefined, ['benchmark.numTasks=5', 'training.epochs=2', `algorithms=${algorithms}`, `seed=${seed}`]);
      const runDir = join(work, 'runs', `${config.algorithms[0]!.name}-seed${seed}`);
      process.stderr.write(`running ${runDir}\n`);
      runExperiment({ config, runDir });
    }
  }
  const page = join(work, 'report.html');
  writeReport(page, collectReport([join(work, 'runs')], { base: work, inputs: ['runs'] }));

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  try {
    const tab = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await tab.goto(pathToFileURL(page).href);
    // From the top of the page to the end of the mean ± std table: the runs, the curves and the table.
    const groups = await tab.locator('#groups').boundingBox();
    if (groups === null) throw new Error('the report has no mean ± std table: the runs were not grouped');
    await tab.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1440, height: Math.ceil(groups.y + groups.height + 16) } });
  } finally {
    await browser.close();
  }
  process.stderr.write(`written: ${out}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
