// The report in a real browser (Debian's Chromium, headless): a report of real
// runs (a sweep of two algorithms over two seeds, and a WSN run) loads with no
// error and no request, shows the numbers of summary.json and acc.csv and the
// table of `perennial aggregate`, hides a run when asked, and draws a
// screenshot that is not blank; a sweep of 100 runs of 20 tasks opens in under
// 2 s. The test fails, never skips, when Chromium cannot start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { loadExperiment } from '../../src/config/index.js';
import '../../src/continual/index.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import type { RunSummary } from '../../src/continual/results/index.js';
import { aggregate } from '../../src/sweep/aggregate.js';
import { formatStat } from '../../src/sweep/aggregate_tables.js';
import { tempDir } from '../helpers.js';
import { colourCounts, decodePng, readCsv, startChromium, syntheticSweep } from './fixtures.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

function perennial(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
}

/** A page of the report at `file`, collecting console errors and warnings, page errors and any request beyond the file itself. */
async function openReport(browser: BrowserContext, file: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== url) problems.push(`request for ${r.url()}`);
  });
  await page.goto(url);
  return { page, problems };
}

/** The text of each cell with a data attribute `attribute`, by its value, in each row with data-run. */
async function cellsByRun(page: Page, table: string, attribute: string): Promise<Map<string, Record<string, string>>> {
  const rows = await page.$$eval(
    `${table} tbody tr[data-run]`,
    (trs, attr) => trs.map((tr) => [tr.getAttribute('data-run')!, Object.fromEntries([...tr.querySelectorAll(`td[${attr}]`)].map((td) => [td.getAttribute(attr)!, td.textContent!]))] as const),
    attribute,
  );
  return new Map(rows);
}

const HOSTILE = '/data/</script><script>window.broken = 1</script><!--';

describe('the report in Chromium', () => {
  // Started by the first test that needs it, so that a Chromium that cannot start fails that test with the reason.
  let browser: Promise<BrowserContext> | undefined;
  const chromium = (): Promise<BrowserContext> => (browser ??= startChromium());
  after(async () => {
    await (await browser?.catch(() => undefined))?.close();
  });

  it('real runs: no errors, the numbers of summary.json, acc.csv and perennial aggregate, hiding a run, a screenshot', async () => {
    const dir = tempDir('report-real-');
    const quick = ['benchmark.numTasks=3', 'benchmark.trainLimit=300', 'training.epochs=1'];
    const sweep = perennial(['sweep', 'algorithms=[{name: finetuning}],[{name: ewc, lambda: 100}]', 'seed=1,2', ...quick, 'backbone.hiddenSizes=[32]', '--dir', 'sweep', '--workers', '2'], dir);
    assert.equal(sweep.status, 0, sweep.stderr);
    runExperiment({ config: loadExperiment(join(root, 'experiments', 'wsn_permuted_mnist.yaml'), [...quick, `output.dir=${dir}`]), runDir: join(dir, 'wsn') });
    const made = perennial(['report', 'sweep', 'wsn'], dir);
    assert.equal(made.status, 0, made.stderr);
    assert.equal(made.stdout, `${pathToFileURL(join(dir, 'report.html')).href}\n`, 'the default --out is report.html in the current directory');

    const { page, problems } = await openReport(await chromium(), join(dir, 'report.html'));
    try {
      const runs = await page.$$eval('table.runs tbody tr', (trs) => trs.map((tr) => ({ id: tr.getAttribute('data-run')!, dir: tr.querySelector('td.dir')!.textContent! })));
      assert.equal(runs.length, 5, 'four runs of the sweep and the WSN run');
      const metrics = await cellsByRun(page, 'table.runs', 'data-metric');
      const finals = await cellsByRun(page, 'table.final', 'data-task');
      for (const run of runs) {
        const summary = JSON.parse(readFileSync(join(dir, run.dir, 'summary.json'), 'utf8')) as RunSummary;
        const shown = metrics.get(run.id)!;
        assert.deepEqual(
          [shown['averageAccuracy'], shown['bwt'], shown['forgetting']],
          [summary.finalAverageAccuracy.toFixed(4), summary.bwt!.toFixed(4), summary.finalForgetting!.toFixed(4)],
          `${run.dir}: AA, BWT and forgetting as in summary.json`,
        );
        const csv = readCsv(join(dir, run.dir, 'acc.csv'));
        const lastRow = csv[csv.length - 1]!.slice(2);
        assert.deepEqual(Object.values(finals.get(run.id)!), lastRow.map((v) => Number(v).toFixed(4)), `${run.dir}: final accuracies as the last row of acc.csv`);

        // The heatmap is drawn when its card comes near the window; each cell's tooltip shows acc.csv's value.
        await page.locator(`article[data-run="${run.id}"]`).scrollIntoViewIfNeeded();
        await page.locator(`svg.heatmap[data-run="${run.id}"]`).waitFor();
        const tips = await page.$$eval(`svg.heatmap[data-run="${run.id}"] rect.cell`, (cells) =>
          cells.map((cell) => {
            cell.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
            return [cell.getAttribute('data-cell')!, document.getElementById('tip')!.textContent!] as const;
          }),
        );
        assert.equal(tips.length, 6, `${run.dir}: a cell per task trained and tested (3 + 2 + 1)`);
        for (const [cell, tip] of tips) {
          const [t, j] = cell.split(',').map(Number) as [number, number];
          assert.ok(tip.endsWith(`after training task ${t}, test on task ${j}: ${Number(csv[t]![1 + j]).toFixed(4)}`), `${run.dir} cell ${cell}: '${tip}' shows acc.csv's value`);
        }
      }

      // A real pointer over a cell brings up its tooltip.
      const first = runs[0]!;
      await page.locator(`article[data-run="${first.id}"]`).scrollIntoViewIfNeeded();
      await page.hover(`svg.heatmap[data-run="${first.id}"] rect[data-cell="2,1"]`);
      assert.ok(await page.isVisible('#tip'), 'the tooltip is shown');
      const firstCsv = readCsv(join(dir, first.dir, 'acc.csv'));
      assert.match((await page.textContent('#tip'))!, new RegExp(`after training task 2, test on task 1: ${Number(firstCsv[2]![2]).toFixed(4)}$`));

      // The aggregated table is perennial aggregate's, cell for cell.
      const { groups } = aggregate([join(dir, 'sweep'), join(dir, 'wsn')]);
      const rows = await page.$$eval('table.groups tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent!)));
      assert.equal(rows.length, 3, 'finetuning, EWC and WSN');
      groups.forEach((g, i) => {
        const size = g.seeds.length;
        const expected = [g.label, `${size} (${g.seeds.join(', ')})`, formatStat(g.metrics.averageAccuracy, size), formatStat(g.metrics.bwt, size), formatStat(g.metrics.forgetting, size), ...g.finalAccuracy.map((s) => formatStat(s, size))];
        assert.deepEqual(rows[i], expected, `group ${g.label}`);
      });

      // WSN's capacity, as summary.json reports it.
      const wsn = JSON.parse(readFileSync(join(dir, 'wsn', 'summary.json'), 'utf8')) as RunSummary;
      const capacity = wsn.algorithms!['wsn']!['capacityUsedAfterTask'] as number[];
      const wsnId = runs.find((r) => r.dir === 'wsn')!.id;
      const report = page.locator(`article[data-run="${wsnId}"] .algorithm[data-algorithm="wsn"] > table > tbody > tr`);
      assert.equal(await report.filter({ has: page.locator('th', { hasText: /^capacityUsed$/ }) }).locator('td').textContent(), (wsn.algorithms!['wsn']!['capacityUsed'] as number).toFixed(4));
      assert.equal(await report.filter({ has: page.locator('th', { hasText: /^capacityUsedAfterTask$/ }) }).locator('td').textContent(), capacity.map((c) => c.toFixed(4)).join(', '));

      // Five runs and the means of the two groups of seeds; a band for each group.
      const lines = (): Promise<string[]> => page.$$eval('svg.average-accuracy path.line', (paths) => paths.map((p) => p.getAttribute('data-series')!));
      assert.deepEqual((await lines()).sort(), [...runs.map((r) => r.id), 'group-0', 'group-1'].sort());
      assert.equal(await page.locator('svg.average-accuracy path.band').count(), 2);

      // Hiding a run of the first group removes its curves, heatmap and rows, and the group's mean.
      await page.locator(`input[data-run="${first.id}"]`).uncheck();
      assert.deepEqual((await lines()).sort(), [...runs.slice(1).map((r) => r.id), 'group-1'].sort());
      assert.equal(await page.locator('svg.final-accuracy [data-series="group-0"]').count(), 0, 'no mean or band of a group with a hidden run');
      assert.ok(await page.locator(`article[data-run="${first.id}"]`).isHidden(), 'its card is hidden');
      assert.ok(await page.locator(`table.final tr[data-run="${first.id}"]`).isHidden(), 'its final-accuracy row is hidden');
      assert.match((await page.getAttribute(`table.runs tr[data-run="${first.id}"]`, 'class'))!, /hidden-run/);
      assert.match((await page.getAttribute('table.groups tr[data-group="0"]', 'class'))!, /partial/);
      await page.click('button[data-action="show-all"]');
      assert.equal((await lines()).length, 7, 'show all brings it back');

      await page.evaluate(() => window.scrollTo(0, 0));
      const screenshot = decodePng(await page.screenshot());
      assert.deepEqual([screenshot.width, screenshot.height], [1280, 900]);
      const counts = colourCounts(screenshot);
      const pixels = screenshot.width * screenshot.height;
      assert.ok(counts.length > 50, `the screenshot has ${counts.length} colours: it shows the tables and charts, not a blank page`);
      assert.ok(counts[0]! / pixels < 0.9, `the background covers ${((100 * counts[0]!) / pixels).toFixed(1)}% of the screenshot, under 90%`);
      assert.deepEqual(problems, [], 'no console error or warning, page error or request');
    } finally {
      await page.close();
    }
  });

  it('a sweep of 100 runs of 20 tasks opens in under 2 s, and a configuration string cannot break out of the data', async (t) => {
    const dir = tempDir('report-large-');
    syntheticSweep(join(dir, 'sweep'), 10, 10, 20, [`benchmark.dataDir=${HOSTILE}`]);
    const made = perennial(['report', 'sweep', '--out', 'large.html'], dir);
    assert.equal(made.status, 0, made.stderr);
    const file = join(dir, 'large.html');
    const { page, problems } = await openReport(await chromium(), file);
    try {
      // Two frames after the page's script: what it drew has been laid out and painted.
      const timing = await page.evaluate(
        () =>
          new Promise<{ rendered: number; painted: number }>((resolve) =>
            requestAnimationFrame(() => requestAnimationFrame(() => resolve({ rendered: performance.getEntriesByName('perennial-report-rendered')[0]!.startTime, painted: performance.now() }))),
          ),
      );
      const size = statSync(file).size;
      t.diagnostic(`100 runs × 20 tasks: ${(size / 1024).toFixed(0)} KB of HTML; script done ${timing.rendered.toFixed(0)} ms and painted ${timing.painted.toFixed(0)} ms after navigation started`);
      assert.ok(timing.painted < 2000, `the page was drawn ${timing.painted.toFixed(0)} ms after navigation started, over 2 s`);
      assert.equal(await page.locator('table.runs tbody tr').count(), 100);
      assert.equal(await page.locator('table.groups tbody tr').count(), 10);
      assert.equal(await page.locator('svg.average-accuracy path.line').count(), 110, 'a curve per run and a mean per group');
      assert.equal(await page.evaluate(() => (window as unknown as { broken?: number }).broken), undefined, 'the string in the configuration ran no script');
      await page.locator('article').first().locator('details.config summary').click();
      assert.ok((await page.locator('article').first().locator('details.config pre').textContent())!.includes(JSON.stringify(HOSTILE)), 'it is shown as text in the configuration');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
