// Perennial as a dependency, the way a user meets it: `npm pack` of this
// checkout, a fresh project that installs the tarball (its install hook
// compiles the native addon there, from source: that is what takes minutes),
// strict TypeScript checked by that project's own compiler against the
// published types, an algorithm of the project's own run through the public
// runner, and every command of docs/guide.md run in the project as its reader
// types them.
//
// Nothing is downloaded. The project installs with `npm ci --offline` from
// npm's cache, which the set-up's `npm ci` filled: its lock file pins
// Perennial's dependencies and the compiler to the versions of this
// repository's lock, the ones that `npm ci` cached (resolving a version anew
// would need registry documents it never fetched). The tarball's own entry in
// npm's cache is removed at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';
import { guideCommands, guideFiles } from './guide.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

interface Output {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface PackedFile {
  path: string;
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: PackedFile[];
}

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

interface PackageJson {
  name: string;
  version: string;
  license: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
}

// This repository's lock: what the set-up's `npm ci` installed, and cached.
const lockPackages = (JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;

const work = tempDir('consumer-');
const project = join(work, 'project');
const childTmp = join(work, 'tmp');
mkdirSync(childTmp);

/**
 * The environment of the commands the test runs: the npm that runs the
 * tests, if any, exports its own project (npm_config_local_prefix and the
 * like), which must not leak into the consumer's npm; npm's cache is kept.
 * Temporary files go under the test's directory.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { TMPDIR: childTmp, npm_config_offline: 'true', npm_config_logs_max: '0' };
  for (const [key, value] of Object.entries(process.env)) {
    if ((!key.startsWith('npm_') && key !== 'INIT_CWD' && key !== 'TMPDIR') || key === 'npm_config_cache') env[key] = value;
  }
  return env;
}

function run(command: string, args: readonly string[], cwd: string): Output {
  const out = spawnSync(command, args, { cwd, env: childEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.error !== undefined) throw out.error;
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** Fails with the command, its status and the end of its output. */
function assertRan(out: Output, what: string): void {
  assert.equal(out.status, 0, `${what} exited with ${out.status}:\n${(out.stdout + out.stderr).slice(-6000)}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The consumer's lock: Perennial from the tarball, and the packages it and the
 * project's dev tools need, exactly as this repository's lock has them.
 */
function consumerLock(pkg: PackageJson, tarball: string, devTools: Record<string, string>): object {
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { perennial: tarball }, devDependencies: devTools },
    'node_modules/perennial': {
      version: pkg.version,
      resolved: tarball,
      hasInstallScript: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  const pending = [...Object.keys(pkg.dependencies), ...Object.keys(devTools)];
  while (pending.length > 0) {
    const name = pending.pop()!;
    const path = `node_modules/${name}`;
    if (packages[path] !== undefined) continue;
    const entry = lockPackages[path];
    assert.ok(entry !== undefined, `package-lock.json has no top-level ${path}; the consumer's lock cannot pin it`);
    packages[path] = entry;
    pending.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

/** The exact version of `name` in this repository's lock. */
function lockedVersion(name: string): string {
  const version = lockPackages[`node_modules/${name}`]?.version;
  assert.ok(version !== undefined, `package-lock.json has no ${name}`);
  return version;
}

/** npm cache keys that name a path under the test's directory (the tarball, once installed). */
function cacheKeysOfTest(): string[] {
  const out = run('npm', ['cache', 'ls'], root);
  assertRan(out, 'npm cache ls');
  return out.stdout.split('\n').filter((key) => key.includes(work));
}

function removeTarballFromCache(): void {
  for (const key of cacheKeysOfTest()) assertRan(run('npm', ['cache', 'clean', key], root), `npm cache clean ${key}`);
}

// Strict TypeScript a user writes against the package: every entry point,
// tensors, nn, optim, the configuration and the continual-learning API.
const apiCheck = `import { manualSeed, nn, optim, randn, tensor, tidy, continual, config, type Tensor } from 'perennial';
import { type ExperimentConfig, loadExperiment } from 'perennial/config';
import { ewcDefinition, instantiate, type Algorithm } from 'perennial/continual';
import { loadEmbeddedMnist } from 'perennial/data';
import { Linear, ReLU, Sequential } from 'perennial/nn';
import { Adam } from 'perennial/optim';

manualSeed(0);
const model = new Sequential(new Linear(4, 8), new ReLU(), new nn.Linear(8, 3));
const sgd = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const x: Tensor = randn([6, 4]);
const y = tensor([0, 1, 2, 0, 1, 2]);
const losses: number[] = [];
for (let step = 0; step < 20; step++) {
  losses.push(tidy(() => {
    sgd.zeroGrad();
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    sgd.step();
    return loss.item();
  }));
}
const adam = new Adam(model.parameters(), { lr: 0.01 });
const experiment: ExperimentConfig = loadExperiment(undefined, ['benchmark.numTasks=2']);
const sameSchema: config.ExperimentConfig = config.loadExperiment(undefined, ['seed=3']);
const ewc: Algorithm = instantiate(ewcDefinition, { lambda: 10 });
const named: continual.Algorithm = continual.instantiate(continual.finetuningDefinition);
console.log(JSON.stringify({ first: losses[0], last: losses.at(-1), numTasks: experiment.benchmark.numTasks, seed: sameSchema.seed, names: [ewc.name, named.name], adamGroups: adam.paramGroups.length, loadEmbeddedMnist: typeof loadEmbeddedMnist }));
`;

// Misuses the compiler must reject; each line marked with the error expected.
const misuseCheck = `import { nn, optim, tensor } from 'perennial';
import { number, object } from 'perennial/config';
import { ALL_PARADIGMS, defineAlgorithm } from 'perennial/continual';

const layer = new nn.Linear('4', 8); // TS2345
new optim.SGD(layer.parameters(), { lr: '0.1' }); // TS2322
const count: string = tensor([1, 2]).numel(); // TS2322
defineAlgorithm({ name: 'x', summary: 'y', options: object({ a: number() }), paradigms: ALL_PARADIGMS, unlearning: () => 'forgets', create: () => ({ name: 'x' }) }); // TS2322
export { count };
`;

// An algorithm of the project's own, through the definition API: an L2 pull
// of the backbone's weights towards their values after the previous task. It
// records the largest term it added on each task, and runs two tasks of the
// bundled MNIST benchmark through the public runner.
const ownAlgorithm = `import { join } from 'node:path';
import { keep, noGrad, tidy, type Tensor } from 'perennial';
import { type Infer, loadExperiment, number, object } from 'perennial/config';
import { ALL_PARADIGMS, type Algorithm, type StepContext, type TaskContext, defineAlgorithm, instantiate, runExperiment } from 'perennial/continual';

const l2PullOptions = object({ strength: number({ min: 0 }).default(0.5).describe('weight of the pull') });

class L2Pull implements Algorithm {
  readonly name = 'l2Pull';
  readonly largestTerm = new Map<number, number>();
  #anchor = new Map<string, Tensor>();

  constructor(readonly options: Infer<typeof l2PullOptions>) {}

  trainingLoss(ctx: StepContext): Tensor | null {
    const weights = ctx.model.backbone.namedParameters();
    const terms = weights.filter(([name]) => this.#anchor.has(name)).map(([name, w]) => w.sub(this.#anchor.get(name)!).square().sum());
    const term = terms.length === 0 ? null : terms.reduce((a, b) => a.add(b)).mul(this.options.strength / 2);
    this.largestTerm.set(ctx.task, Math.max(this.largestTerm.get(ctx.task) ?? 0, term?.item() ?? 0));
    return term;
  }

  onTaskEnd(ctx: TaskContext): void {
    this.dispose();
    this.#anchor = tidy(() => noGrad(() => new Map(ctx.model.backbone.namedParameters().map(([name, w]) => [name, keep(w.detach().clone())]))));
  }

  dispose(): void {
    for (const t of this.#anchor.values()) t.dispose();
    this.#anchor.clear();
  }
}

const l2PullDefinition = defineAlgorithm({
  name: 'l2Pull',
  summary: "a pull of the backbone's weights towards their values after the previous task",
  options: l2PullOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new L2Pull(options),
});

let refused = '';
try {
  instantiate(l2PullDefinition, { strength: -1 });
} catch (error) {
  refused = (error as Error).message;
}
const out = process.argv[2]!;
const config = loadExperiment(undefined, ['benchmark.numTasks=2', 'benchmark.trainLimit=1000', 'training.epochs=1', \`output.dir=\${out}\`]);
const l2Pull = instantiate(l2PullDefinition, {});
try {
  const result = runExperiment({ config, runDir: join(out, 'l2-pull'), plugins: [l2Pull] });
  console.log(JSON.stringify({ accuracy: result.accuracy, runDir: result.runDir, strength: l2Pull.options.strength, largestTerm: Object.fromEntries(l2Pull.largestTerm), refused }));
} finally {
  l2Pull.dispose();
}
`;

describe('perennial as a dependency of a fresh project', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  let packed: PackResult | undefined;
  let installed = false;
  let compiled = false;

  after(() => {
    if (packed !== undefined) removeTarballFromCache();
  });

  it('npm pack, then npm ci of a project depending on the tarball, which builds the addon there', (t) => {
    const packStart = Date.now();
    // A cache of the test's own: packing stores the tarball in npm's cache, and npm's cache is the user's.
    const pack = run('npm', ['pack', '--json', '--pack-destination', work, '--cache', join(work, 'pack-cache')], root);
    const packMs = Date.now() - packStart;
    assertRan(pack, 'npm pack');
    packed = (JSON.parse(pack.stdout) as PackResult[])[0]!;
    assert.ok(existsSync(join(work, packed.filename)), `npm pack wrote no ${packed.filename}`);

    mkdirSync(project);
    const tarball = `file:../${packed.filename}`;
    const devTools = { typescript: lockedVersion('typescript'), '@types/node': lockedVersion('@types/node') };
    const manifest = { name: 'consumer', private: true, type: 'module', dependencies: { perennial: tarball }, devDependencies: devTools };
    writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(project, 'package-lock.json'), `${JSON.stringify(consumerLock(pkg, tarball, devTools), null, 2)}\n`);

    const installStart = Date.now();
    const install = run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], project);
    const installMs = Date.now() - installStart;
    assertRan(install, 'npm ci --offline in the consumer project (from npm\'s cache, which `npm ci` in the set-up fills)');
    assert.ok(existsSync(join(project, 'node_modules', 'perennial', 'build', 'Release', 'perennial.node')), 'the install hook built no addon in node_modules/perennial/build/Release');
    installed = true;
    t.diagnostic(`npm pack ${seconds(packMs)}; npm ci with the addon build ${seconds(installMs)}`);
    t.diagnostic(`tarball ${packed.filename}: ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.entryCount} files`);
  });

  it('the tarball holds the compiled library, the addon sources and what runs at install and run time, and no tests, fixtures or benchmarks', () => {
    assert.ok(packed !== undefined, 'npm pack failed (see the first test)');
    const files = new Set(packed.files.map((f) => f.path));
    const entryFiles = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e.types, e.default]));
    const needed = [...entryFiles, pkg.main, pkg.types, ...Object.values(pkg.bin), 'binding.gyp', 'scripts/build-native.mjs', 'scripts/libtorch.mjs', 'experiments/default.yaml'];
    const binding = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
    needed.push(...binding.targets.flatMap((target) => target.sources), ...readdirSync(join(root, 'native')).map((f) => `native/${f}`));
    for (const file of needed) assert.ok(files.has(file.replace(/^\.\//, '')), `the tarball lacks ${file}`);
    const unwanted = [...files].filter((f) => /^(test|bench|tools|src|docs|build|runs)\/|^dist\/(test|bench)\/|\.map$|\.ts$(?<!\.d\.ts)|\.tsbuildinfo$/.test(f));
    assert.deepEqual(unwanted, []);
    // Every compiled module of the library ships with its declarations.
    const modules = [...files].filter((f) => f.startsWith('dist/src/') && f.endsWith('.js'));
    assert.ok(modules.length > 100, `only ${modules.length} compiled modules`);
    for (const module of modules) assert.ok(files.has(module.replace(/\.js$/, '.d.ts')), `${module} has no declarations`);
  });

  it("strict TypeScript importing perennial type-checks with the project's compiler, and misuses are errors", () => {
    assert.ok(installed, 'the install failed (see the first test)');
    const checks = join(project, 'checks');
    mkdirSync(checks);
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      noImplicitOverride: true,
      skipLibCheck: false,
      types: ['node'],
      outDir: 'out',
    };
    writeFileSync(join(checks, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
    writeFileSync(join(checks, 'api.ts'), apiCheck);
    writeFileSync(join(checks, 'misuse.ts'), misuseCheck);
    writeFileSync(join(checks, 'own_algorithm.ts'), ownAlgorithm);
    const tsc = run(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'checks'], project);
    const errors = tsc.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    const expected = misuseCheck.split('\n').flatMap((line, i) => [...line.matchAll(/\/\/ (TS\d+)$/g)].map((m) => `checks/misuse.ts:${i + 1}: ${m[1]}`));
    const found = errors.map((line) => {
      const match = /^(.*)\((\d+),\d+\): error (TS\d+)/.exec(line);
      return match === null ? line : `${match[1]}:${match[2]}: ${match[3]}`;
    });
    assert.deepEqual(found, expected, `the compiler's errors:\n${tsc.stdout}`);
    compiled = true;

    const api = run(process.execPath, [join('checks', 'out', 'api.js')], project);
    assertRan(api, 'the compiled API check');
    const result = JSON.parse(api.stdout) as { first: number; last: number; numTasks: number; seed: number; names: string[]; adamGroups: number; loadEmbeddedMnist: string };
    assert.ok(result.last < result.first / 2, `20 SGD steps took the loss from ${result.first} to ${result.last} only`);
    assert.deepEqual([result.numTasks, result.seed, result.names, result.adamGroups, result.loadEmbeddedMnist], [2, 3, ['ewc', 'finetuning'], 1, 'function']);
  });

  it('an algorithm written against the public API runs two tasks of the bundled benchmark through the public runner', (t) => {
    assert.ok(compiled, 'the TypeScript check failed (see the test before)');
    const out = join(project, 'own-runs');
    const start = Date.now();
    const ran = run(process.execPath, [join('checks', 'out', 'own_algorithm.js'), out], project);
    t.diagnostic(`the run of two tasks ${seconds(Date.now() - start)}`);
    assertRan(ran, 'the project\'s own algorithm');
    const result = JSON.parse(ran.stdout) as { accuracy: number[][]; runDir: string; strength: number; largestTerm: Record<string, number>; refused: string };
    assert.deepEqual(result.accuracy.map((row) => row.length), [1, 2]);
    for (const value of result.accuracy.flat()) assert.ok(value >= 0 && value <= 1, `accuracy ${value}`);
    // Ten classes per task: chance is 0.1.
    assert.ok(result.accuracy[0]![0]! > 0.5, `task 1 reached ${result.accuracy[0]![0]} only`);
    assert.equal(result.strength, 0.5, "the schema's default strength");
    assert.equal(result.largestTerm['1'], 0, 'no pull on task 1: there is no earlier task');
    assert.ok(result.largestTerm['2']! > 0, `the pull's term on task 2 is ${result.largestTerm['2']}`);
    assert.match(result.refused, /strength/);
    const summary = JSON.parse(readFileSync(join(result.runDir, 'summary.json'), 'utf8')) as { numTasks: number; accuracy: number[][] };
    assert.equal(summary.numTasks, 2);
    assert.deepEqual(summary.accuracy, result.accuracy);
  });

  it("docs/guide.md: its files and commands, run in the project as the guide's reader would", (t) => {
    assert.ok(installed, 'the install failed (see the first test)');
    const guide = readFileSync(join(root, 'docs', 'guide.md'), 'utf8');
    for (const file of guideFiles(guide)) {
      mkdirSync(dirname(join(project, file.path)), { recursive: true });
      writeFileSync(join(project, file.path), file.text);
    }
    const commands = guideCommands(guide);
    assert.ok(commands.filter((c) => c.startsWith('node ')).length >= 3, `docs/guide.md runs ${commands.length} commands only`);
    const start = Date.now();
    for (const command of commands) assertRan(run('bash', ['-c', command], project), `docs/guide.md: ${command}`);
    t.diagnostic(`the guide's ${commands.length} commands ${seconds(Date.now() - start)}`);
    // Every run the guide made finished all its tasks.
    const runDirs = readdirSync(join(project, 'runs')).map((d) => join(project, 'runs', d));
    assert.ok(runDirs.length >= 3, `the guide made ${runDirs.length} runs`);
    for (const dir of runDirs) {
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { benchmark: { numTasks: number } };
      const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { numTasks: number };
      assert.equal(summary.numTasks, config.benchmark.numTasks, `${dir} did not finish`);
    }
  });

  it("leaves nothing of the tarball in npm's cache", () => {
    assert.ok(installed, 'the install failed (see the first test)');
    removeTarballFromCache();
    assert.deepEqual(cacheKeysOfTest(), []);
  });
});
