// Every `perennial` command in the README's and the docs' shell blocks runs
// as typed, so the documentation cannot drift from the CLI. Long runs get
// small overrides (one epoch, a few hundred samples, fewer tasks), each
// command writes into a directory of its own (--out of aggregate, report and
// plasticity included), and placeholders such as
// `<run directory>` are replaced by what an earlier command made.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_EXPERIMENT_PATH, experimentSchemaRows, loadExperiment } from '../../src/config/index.js';
import '../../src/continual/index.js';
import { runExperiment } from '../../src/continual/experiment/run.js';
import { fashionMnistDir, tempDir } from '../helpers.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const documents = ['README.md', ...['docs', 'docs/algorithms'].flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.md')).map((f) => `${d}/${f}`))];

interface DocumentedCommand {
  document: string;
  line: string;
  args: string[];
}

/**
 * Splits a shell line into words, honouring single quotes (the only quoting
 * the docs use) and keeping a placeholder such as `<run directory>` whole.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|((?:<[^>]*>|[^\s'])+)/g)) words.push(match[1] ?? match[2]!);
  return words;
}

/** The `perennial` commands of a Markdown document's sh blocks, continuation lines joined and comments removed. */
function documentedCommands(document: string): DocumentedCommand[] {
  const text = readFileSync(join(root, document), 'utf8');
  const commands: DocumentedCommand[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.replace(/\\\n/g, ' ').split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      const match = /^(?:npx )?perennial\s+(.*)$/.exec(line);
      if (match) commands.push({ document, line, args: shellWords(match[1]!) });
    }
  }
  return commands;
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** Overrides that make a documented experiment quick without changing what it exercises. */
function quickOverrides(configFile: string | undefined, overrides: string[]): string[] {
  const config = loadExperiment(configFile === undefined ? undefined : resolve(root, configFile), overrides);
  // PackNet prunes before its last retrainEpochs epochs: keep one epoch before them.
  const packnet = config.algorithms.find((a) => a.name === 'packnet');
  const epochs = packnet !== undefined && 'retrainEpochs' in packnet ? packnet.retrainEpochs + 1 : 1;
  const quick = [`training.epochs=${epochs}`, `benchmark.trainLimit=${Math.min(config.benchmark.trainLimit ?? 300, 300)}`];
  // Split and rotated benchmarks list one entry per task, and unlearning
  // requests name tasks: those keep their task count.
  const fixedTasks = config.benchmark.classSplit !== undefined || config.benchmark.angles !== undefined || config.unlearning !== undefined;
  if (!fixedTasks && config.benchmark.numTasks > 3) quick.push('benchmark.numTasks=3');
  return quick;
}

/**
 * A sweep directory for `perennial aggregate`: two quick runs over seeds 1
 * and 2 in DIR/runs/<id>/ and the manifest listing them.
 */
function quickSweep(dir: string): string {
  const ids = ['00000000000a', '00000000000b'];
  const runs = ids.map((id, i) => {
    const overrides = ['benchmark.numTasks=2', 'benchmark.trainLimit=200', 'backbone.hiddenSizes=[16]', 'training.epochs=1', `seed=${i + 1}`];
    runExperiment({ config: loadExperiment(undefined, [...overrides, `output.dir=${join(dir, 'runs')}`, `output.name=${id}`]), runDir: join(dir, 'runs', id) });
    return { id, label: `seed=${i + 1}`, overrides, status: 'done', attempts: 1, exitStatus: 0, log: `logs/${id}.log`, error: null };
  });
  writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ version: 1, base: { config: null, overrides: runs[0]!.overrides.slice(0, 4) }, grid: { seed: ['1', '2'] }, runs }));
  return dir;
}

describe('documented commands', () => {
  const commands = documents.flatMap(documentedCommands);

  it('the package runs dist/src/cli/main.js as `perennial`, and the docs use every command', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['perennial'], 'dist/src/cli/main.js');
    const used = new Set(commands.map((c) => c.args[0]));
    for (const command of ['run', 'list', 'plasticity', 'download', 'aggregate', 'report']) assert.ok(used.has(command), `no documented example of 'perennial ${command}'`);
  });

  it('the default experiment in docs/configuration.md is the one the code runs', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const defaultYaml = readFileSync(DEFAULT_EXPERIMENT_PATH, 'utf8');
    assert.ok(doc.includes(`\`\`\`yaml\n${defaultYaml}\`\`\``), 'docs/configuration.md must quote experiments/default.yaml verbatim in a yaml block');
  });

  it("docs/configuration.md's table has every key of the schema, with the schema's default", () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    for (const key of experimentSchemaRows()) {
      const matching = rows.filter((r) => r.startsWith(`| \`${key.key}\` |`));
      assert.ok(matching.length > 0, `docs/configuration.md has no row for ${key.key}`);
      const defaults = matching.map((r) => r.split(' | ')[2]!);
      if (key.defaultValue !== undefined) assert.ok(defaults.some((d) => d.includes(`\`${key.defaultValue}\``)), `${key.key}: the schema's default is ${key.defaultValue}, the docs say ${defaults.join(' / ')}`);
      else if (!key.optional) assert.ok(defaults.some((d) => d.includes('required')), `${key.key} is required, the docs say ${defaults.join(' / ')}`);
    }
  });

  const outputs: string[] = [];
  // The sweep directory of the last documented sweep, for `sweep status` and
  // `aggregate`, and the directory the document gave it.
  let lastSweep: string | undefined;
  let lastSweepDocumented: string | undefined;
  for (const [i, command] of commands.entries()) {
    it(`${command.document}: ${command.line}`, () => {
      const out = tempDir(`command-${i}-`);
      const placeholders = (word: string): string => {
        if (word === 'runs/<run directory>') {
          const previous = outputs.at(-1);
          assert.ok(previous !== undefined, 'a resume example needs a run before it');
          return join(previous, readdirSync(previous)[0]!);
        }
        if (word === '<sweep directory>') return quickSweep(out);
        if (word === 'experiments/<config>.yaml') return 'experiments/ewc_permuted_fashion_mnist.yaml';
        if (word === 'my-experiment.yaml') {
          const file = join(out, word);
          copyFileSync(DEFAULT_EXPERIMENT_PATH, file);
          return file;
        }
        assert.doesNotMatch(word, /<[^>]+>/, `unknown placeholder in '${command.line}'`);
        return word;
      };
      let args = command.args.map(placeholders);
      const [subcommand, ...rest] = args;
      if (subcommand === 'run' && !rest.includes('--resume')) {
        const configFile = rest[0] !== undefined && !rest[0].includes('=') ? rest[0] : undefined;
        const overrides = rest.filter((a) => a.includes('='));
        args = [...args, ...quickOverrides(configFile, overrides), `output.dir=${out}`];
        outputs.push(out);
      } else if (subcommand === 'plasticity') {
        const outIndex = args.indexOf('--out');
        if (outIndex >= 0) args.splice(outIndex, 2);
        const files = rest.filter((a) => a.endsWith('.yaml'));
        args = [...args, ...quickOverrides(files[0], rest.filter((a) => a.includes('='))), '--out', out];
      } else if (subcommand === 'aggregate') {
        const outIndex = args.indexOf('--out');
        if (outIndex >= 0) args.splice(outIndex, 2);
        args = [...args.map((a) => (a === lastSweepDocumented ? lastSweep! : a)), '--out', out];
      } else if (subcommand === 'report') {
        const outIndex = args.indexOf('--out');
        if (outIndex >= 0) args.splice(outIndex, 2);
        args = [...args.map((a) => (a === lastSweepDocumented ? lastSweep! : a)), '--out', join(out, 'report.html')];
      } else if (subcommand === 'sweep' && rest[0] === 'status') {
        assert.ok(lastSweep !== undefined, 'a status example needs a sweep before it');
        args = ['sweep', 'status', lastSweep];
      } else if (subcommand === 'sweep') {
        // The documented directory is replaced by one of the test's; quick
        // overrides fix the keys the example does not give (a sweep refuses a key given twice).
        const dirIndex = args.indexOf('--dir');
        assert.ok(dirIndex >= 0, 'a sweep example gives --dir');
        lastSweep = join(out, 'sweep');
        lastSweepDocumented = args[dirIndex + 1];
        args.splice(dirIndex, 2, '--dir', lastSweep);
        const configFile = rest[0] !== undefined && !rest[0].includes('=') && !rest[0].startsWith('--') ? rest[0] : undefined;
        const given = new Set(rest.filter((a) => a.includes('=')).map((a) => a.slice(0, a.indexOf('='))));
        args = [...args, ...quickOverrides(configFile, []).filter((o) => !given.has(o.slice(0, o.indexOf('='))))];
      } else if (subcommand === 'download') {
        // Debian's copy stands for the network: files already present and
        // verified are not fetched again.
        const dataset = args[1]!;
        mkdirSync(join(out, dataset));
        for (const file of readdirSync(fashionMnistDir())) copyFileSync(join(fashionMnistDir(), file), join(out, dataset, file));
        args = [...args, '--dir', out];
      }
      const result = runCli(args);
      assert.equal(result.status, 0, `perennial ${args.join(' ')}\n${result.stderr}`);
      if (subcommand === 'run') assert.match(result.stdout, /results: /);
      if (subcommand === 'plasticity') assert.ok(existsSync(join(out, 'online_accuracy.csv')), 'online_accuracy.csv written');
      if (subcommand === 'list') assert.match(result.stdout, /configuration keys:/);
      if (subcommand === 'aggregate') assert.match(result.stdout, /\| algorithms=finetuning \| (2 \(1, 2\)|3 \(1, 2, 3\)) \|/);
      if (subcommand === 'report') assert.equal(result.stdout, `${pathToFileURL(join(out, 'report.html')).href}\n`, 'the report is written where --out says');
      if (subcommand === 'sweep') assert.match(result.stdout, rest[0] === 'status' ? /^sweep .*: (\d+) runs, \1 done/ : /runs done, 0 failed\nresults: /);
      if (subcommand === 'download') assert.match(result.stdout, new RegExp(`${args[1]} is in ${join(out, args[1]!)}`));
    });
  }
});
