import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_EXPERIMENT_PATH,
  type ExperimentConfig,
  describeSchema,
  experimentSchema,
  experimentSchemaRows,
  loadExperiment,
  parseExperiment,
  registeredAlgorithms,
} from '../../src/config/experiment.js';
import { ConfigError, applyOverride, parseOverride } from '../../src/config/loader.js';
import { ALGORITHM_DEFINITIONS } from '../../src/continual/algorithms/registry.js';
import { tempDir } from '../helpers.js';

const DEFAULTS: ExperimentConfig = {
  seed: 1,
  paradigm: 'til',
  cilHeads: 'auto',
  benchmark: { name: 'permuted', dataset: 'mnist-embedded', numTasks: 5, validationFraction: 0.1, keepFirstUnpermuted: false, normalize: 'dataset' },
  backbone: { name: 'mlp', hiddenSizes: [256, 256], batchNorm: false, dropout: 0, activation: 'relu' },
  training: {
    epochs: 1,
    batchSize: 64,
    evalBatchSize: 1000,
    optimizer: { name: 'sgd', lr: 0.01 },
    scheduler: { name: 'none' },
    validateEveryEpoch: true,
  },
  algorithms: [{ name: 'finetuning' }],
  reference: { joint: false, independent: false, random: false },
  output: { dir: 'runs' },
};

/** The lines of the ConfigError thrown by `fn` (after the heading), or a failure. */
function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    const [heading, ...lines] = error.message.split('\n');
    assert.match(heading!, /^invalid experiment configuration \(\d+ errors?\):$/);
    return lines;
  }
  assert.fail('expected a ConfigError');
}

function tempFile(name: string, text: string): string {
  const path = join(tempDir('config-'), name);
  writeFileSync(path, text);
  return path;
}

describe('defaults', () => {

  it('an empty file gives the schema defaults', () => {
    assert.deepEqual(parseExperiment('', 'empty.yaml'), DEFAULTS);
    assert.deepEqual(experimentSchema.parse({}), DEFAULTS);
  });

  it('the default experiment differs from the schema defaults only where it trains longer to show forgetting', () => {
    const expected = structuredClone(DEFAULTS) as ExperimentConfig;
    expected.benchmark.numTasks = 10;
    expected.backbone = { ...expected.backbone, hiddenSizes: [100, 100] } as ExperimentConfig['backbone'];
    expected.training.epochs = 5;
    expected.training.optimizer = { ...expected.training.optimizer, lr: 0.05, momentum: 0.9 };
    assert.deepEqual(parseYaml(readFileSync(DEFAULT_EXPERIMENT_PATH, 'utf8')), expected);
    assert.deepEqual(loadExperiment(undefined), expected);
  });

  it('fill defaults inside partially written sections', () => {
    const config = parseExperiment('training:\n  optimizer:\n    name: adam\n  scheduler:\n    name: step\n    stepSize: 2\nbackbone:\n  name: cnn\n', 'x.yaml');
    assert.deepEqual(config.training, {
      epochs: 1,
      batchSize: 64,
      evalBatchSize: 1000,
      optimizer: { name: 'adam', lr: 0.01 },
      scheduler: { name: 'step', stepSize: 2, gamma: 0.1 },
      validateEveryEpoch: true,
    });
    assert.deepEqual(config.backbone, { name: 'cnn', channels: [32, 64], kernelSize: 3, featureDim: 128, batchNorm: false });
  });

  it('reads a file', () => {
    const path = tempFile('exp.yaml', 'seed: 3\nparadigm: cil\nbenchmark:\n  name: split\n  numTasks: 2\n  classSplit: [[0, 1], [2, 3]]\n');
    const config = loadExperiment(path);
    assert.equal(config.seed, 3);
    assert.equal(config.paradigm, 'cil');
    assert.deepEqual(config.benchmark, { name: 'split', dataset: 'mnist-embedded', numTasks: 2, validationFraction: 0.1, keepFirstUnpermuted: false, normalize: 'dataset', classSplit: [[0, 1], [2, 3]] });
  });
});

describe('errors', () => {
  it('an unknown key, with a suggestion and its line', () => {
    const text = ['training:', '  optimizer:', '    lerning_rate: 0.1', ''].join('\n');
    assert.deepEqual(errorLines(() => parseExperiment(text, 'exp.yaml')), [
      "  exp.yaml:3:5: training.optimizer.lerning_rate: unknown key 'lerning_rate' for name 'sgd' — did you mean 'lr'? allowed keys: name, lr, momentum, weightDecay",
    ]);
  });

  it('an unknown top-level key', () => {
    assert.deepEqual(errorLines(() => parseExperiment('seed: 1\nbackbones:\n  name: mlp\n', 'exp.yaml')), [
      "  exp.yaml:2:1: backbones: unknown key 'backbones' — did you mean 'backbone'? allowed keys: seed, paradigm, cilHeads, benchmark, backbone, training, algorithms, reference, unlearning, output",
    ]);
  });

  it('a wrong type', () => {
    assert.deepEqual(errorLines(() => parseExperiment('training:\n  epochs: "3"\n', 'exp.yaml')), [
      "  exp.yaml:2:11: training.epochs: expected an integer >= 1, got the string '3'",
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('backbone:\n  hiddenSizes: 256\n', 'exp.yaml')), [
      '  exp.yaml:2:16: backbone.hiddenSizes: expected a list of integers >= 1 (at least one), got 256',
    ]);
  });

  it('a value out of range', () => {
    assert.deepEqual(errorLines(() => parseExperiment('training:\n  optimizer:\n    lr: 0\n', 'exp.yaml')), ['  exp.yaml:3:9: training.optimizer.lr: expected a number > 0, got 0']);
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  validationFraction: 1\n', 'exp.yaml')), [
      '  exp.yaml:2:23: benchmark.validationFraction: expected a number in [0, 1), got 1',
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('seed: -1\n', 'exp.yaml')), ['  exp.yaml:1:7: seed: expected an integer >= 0, got -1']);
  });

  it('a bad enum value', () => {
    assert.deepEqual(errorLines(() => parseExperiment('paradigm: class-incremental\nbenchmark:\n  name: permute\n', 'exp.yaml')), [
      "  exp.yaml:1:11: paradigm: expected one of 'til', 'cil', 'dil', got 'class-incremental'",
      "  exp.yaml:3:9: benchmark.name: expected one of 'permuted', 'split', 'rotated', got 'permute' — did you mean 'permuted'?",
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('backbone:\n  name: resnet\n', 'exp.yaml')), [
      "  exp.yaml:2:9: backbone.name: expected one of 'mlp', 'cnn', 'resnet18', got 'resnet' — did you mean 'resnet18'?",
    ]);
  });

  it('a key of another variant', () => {
    assert.deepEqual(errorLines(() => parseExperiment('training:\n  optimizer:\n    name: adam\n    momentum: 0.9\n', 'exp.yaml')), [
      "  exp.yaml:4:5: training.optimizer.momentum: unknown key 'momentum' for name 'adam'; allowed keys: name, lr, betas, weightDecay",
    ]);
  });

  it('a missing required key is reported where its mapping is', () => {
    assert.deepEqual(errorLines(() => parseExperiment('training:\n  scheduler:\n    name: step\n', 'exp.yaml')), [
      '  exp.yaml:3:5: training.scheduler.stepSize: missing required key (expected an integer >= 1)',
    ]);
  });

  it('YAML syntax errors, with file, line, column and the line itself', () => {
    const lines = errorLines(() => parseExperiment('seed: 1\ntraining:\n  epochs: 2\n   batchSize: 3\n', 'bad.yaml'));
    assert.deepEqual(lines, ['  bad.yaml:3:11: YAML syntax error: Nested mappings are not allowed in compact mappings', '      epochs: 2', '              ^']);
  });

  it('duplicate keys', () => {
    const lines = errorLines(() => parseExperiment('seed: 1\nseed: 2\n', 'dup.yaml'));
    assert.deepEqual(lines, ['  dup.yaml:2:1: YAML syntax error: Map keys must be unique', '    seed: 2', '    ^']);
  });

  it('a file that is not a mapping', () => {
    assert.deepEqual(errorLines(() => parseExperiment('- seed\n', 'list.yaml')), ['  list.yaml: (root): expected a mapping of configuration keys, got ["seed"]']);
  });

  it('a missing file', () => {
    assert.deepEqual(errorLines(() => loadExperiment('/nonexistent/exp.yaml')), ['  /nonexistent/exp.yaml: no such config file']);
    assert.deepEqual(errorLines(() => loadExperiment('my.config')), ['  my.config: no such config file']);
  });

  it('a configuration key without =value where the file is expected', () => {
    assert.deepEqual(errorLines(() => loadExperiment('training.epochs')), [
      "  argument 'training.epochs': a configuration key needs a value: write training.epochs=<value> (or ~training.epochs to remove the key); there is no config file of that name",
    ]);
    // A top-level key alone, and a misspelt section with a dotted key, are keys too.
    assert.match(errorLines(() => loadExperiment('seed'))[0]!, /^ {2}argument 'seed': a configuration key needs a value: write seed=<value>/);
    assert.match(errorLines(() => loadExperiment('trainig.epochs'))[0]!, /^ {2}argument 'trainig.epochs': a configuration key needs a value/);
    assert.deepEqual(errorLines(() => loadExperiment('training.yaml')), ['  training.yaml: no such config file']);
  });

  it('a YAML alias bomb (billion laughs), naming the file', () => {
    const lol = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, from] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f']]) lol.push(`${name}: &${name} [${Array(9).fill(`*${from}`).join(', ')}]`);
    const path = tempFile('bomb.yaml', `${lol.join('\n')}\n`);
    assert.deepEqual(errorLines(() => loadExperiment(path)), [
      `  ${path}: YAML aliases (*name) expand to more than 100 copies, as in a "billion laughs" alias bomb, so the file is not read; write the values out instead of nesting aliases`,
    ]);
  });

  it('collects every error at once', () => {
    const text = ['seed: 1.5', 'benchmark:', '  numTask: 3', 'training:', '  batchSize: 0', '  optimizer: {name: sgd, lr: -1}', 'reference: {joint: yes}', ''].join('\n');
    assert.deepEqual(errorLines(() => parseExperiment(text, 'exp.yaml')), [
      '  exp.yaml:1:7: seed: expected an integer >= 0, got 1.5',
      "  exp.yaml:3:3: benchmark.numTask: unknown key 'numTask' — did you mean 'numTasks'? allowed keys: name, dataset, dataDir, numTasks, validationFraction, keepFirstUnpermuted, classSplit, angles, trainLimit, normalize",
      '  exp.yaml:5:14: training.batchSize: expected an integer >= 1, got 0',
      '  exp.yaml:6:30: training.optimizer.lr: expected a number > 0, got -1',
      "  exp.yaml:7:20: reference.joint: expected true or false, got the string 'yes'",
    ]);
  });

  it('the whole message', () => {
    assert.throws(() => parseExperiment('seed: x\n', 'e.yaml'), {
      name: 'ConfigError',
      message: "invalid experiment configuration (1 error):\n  e.yaml:1:7: seed: expected an integer >= 0, got the string 'x'",
    });
  });
});

describe('cross-field checks', () => {
  it('classSplit only with split, covering each class at most once, one group per task', () => {
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  classSplit: [[0, 1]]\n', 'e.yaml')), [
      "  e.yaml:2:15: benchmark.classSplit: is an option of the 'split' benchmark, but benchmark.name is 'permuted'; remove it, or set benchmark.name: split",
    ]);
    // The file's option is blamed, not the override that changed the kind.
    const path = tempFile('split.yaml', 'benchmark:\n  name: split\n  numTasks: 2\n  classSplit: [[0, 1], [2, 3]]\n');
    assert.deepEqual(errorLines(() => loadExperiment(path, ['benchmark.name=permuted'])), [
      `  ${path}:4:15: benchmark.classSplit: is an option of the 'split' benchmark, but benchmark.name is 'permuted'; remove it, or set benchmark.name: split`,
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  name: split\n  numTasks: 3\n  classSplit: [[0, 1], [2, 1]]\n', 'e.yaml')), [
      '  e.yaml:4:15: benchmark.classSplit: classSplit has 2 tasks but numTasks is 3; give one group of classes per task',
      '  e.yaml:4:28: benchmark.classSplit[1][1]: class 1 is in task 1 and task 2; tasks must have disjoint classes',
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  name: split\n  numTasks: 2\n  classSplit: [[0, 1], [10]]\n', 'e.yaml')), [
      '  e.yaml:4:25: benchmark.classSplit[1][0]: classSplit task 2 names class 10, but mnist-embedded has classes 0..9',
    ]);
  });

  it('a split benchmark whose tasks the dataset cannot fill, before the run builds it', () => {
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['benchmark.name=split', 'benchmark.numTasks=1000'])), [
      "  override 'benchmark.numTasks=1000': benchmark.numTasks: 1000 tasks but mnist-embedded has only 10 classes; use a divisor of 10 (1, 2, 5, 10) or give classSplit",
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  name: split\n  dataset: cifar100\n  numTasks: 3\n', 'e.yaml')), [
      "  e.yaml:4:13: benchmark.numTasks: cifar100's 100 classes do not divide into 3 equal tasks; choose a divisor of 100 or give classSplit explicitly (divisors: 1, 2, 4, 5, 10, 20, 25, 50, 100)",
    ]);
    // An explicit class split needs no equal division.
    assert.deepEqual(parseExperiment('benchmark:\n  name: split\n  numTasks: 3\n  classSplit: [[0], [1, 2], [3, 4, 5]]\n', 'e.yaml').benchmark.numTasks, 3);
    assert.equal(parseExperiment('benchmark:\n  name: split\n  dataset: cifar100\n  numTasks: 20\n', 'e.yaml').benchmark.numTasks, 20);
  });

  it('an unknown dataset, with a suggestion', () => {
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['benchmark.dataset=mnst'])), [
      "  override 'benchmark.dataset=mnst': benchmark.dataset: unknown dataset 'mnst' — did you mean 'mnist'? known datasets: mnist-embedded, mnist, fashion-mnist, kmnist, emnist, emnist-balanced, emnist-byclass, emnist-bymerge, emnist-digits, emnist-letters, emnist-mnist, cifar10, cifar100, cifar100-coarse",
    ]);
  });

  it('angles only with rotated, one per task', () => {
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  name: split\n  angles: [0, 90]\n', 'e.yaml')), [
      "  e.yaml:3:11: benchmark.angles: is an option of the 'rotated' benchmark, but benchmark.name is 'split'; remove it, or set benchmark.name: rotated",
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  name: rotated\n  numTasks: 3\n  angles: [0, 90]\n', 'e.yaml')), [
      '  e.yaml:4:11: benchmark.angles: 2 angles given for 3 tasks; give one angle per task',
    ]);
    assert.deepEqual(parseExperiment('benchmark:\n  name: rotated\n  numTasks: 2\n  angles: [0, 90]\n', 'e.yaml').benchmark.angles, [0, 90]);
  });

  it('keepFirstUnpermuted only with permuted', () => {
    assert.deepEqual(errorLines(() => parseExperiment('benchmark:\n  name: rotated\n  keepFirstUnpermuted: true\n', 'e.yaml')), [
      "  e.yaml:3:24: benchmark.keepFirstUnpermuted: only meaningful when benchmark.name is 'permuted' (it is 'rotated'); remove it or set it to false",
    ]);
  });

  it('the plateau scheduler needs validation', () => {
    const text = 'benchmark:\n  validationFraction: 0\ntraining:\n  validateEveryEpoch: false\n  scheduler:\n    name: plateau\n';
    assert.deepEqual(errorLines(() => parseExperiment(text, 'e.yaml')), [
      "  e.yaml:6:11: training.scheduler.name: 'plateau' decays on the validation loss, which needs benchmark.validationFraction > 0 (it is 0)",
      "  e.yaml:6:11: training.scheduler.name: 'plateau' decays on the validation loss, which needs training.validateEveryEpoch: true",
    ]);
  });

  it('each algorithm once; cnn kernels odd; run names without slashes', () => {
    assert.deepEqual(errorLines(() => parseExperiment('algorithms: [{name: finetuning}, {name: finetuning}]\n', 'e.yaml')), [
      "  e.yaml:1:41: algorithms[1].name: 'finetuning' is already listed (algorithms[0]); list each algorithm once",
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('backbone: {name: cnn, kernelSize: 4}\n', 'e.yaml')), [
      '  e.yaml:1:35: backbone.kernelSize: expected an odd integer >= 1 (padding keeps the spatial size only for odd kernels), got 4',
    ]);
    assert.deepEqual(errorLines(() => parseExperiment('output: {name: ../elsewhere}\n', 'e.yaml')), [
      "  e.yaml:1:16: output.name: expected a name of letters, digits, '.', '-' and '_' (not starting with '.' or '-'), got '../elsewhere'",
    ]);
  });
});

describe('overrides', () => {
  it('set nested keys, lists and mappings, parsed as YAML', () => {
    const config = loadExperiment(undefined, [
      'training.optimizer.lr=0.1',
      'backbone.hiddenSizes=[100,100]',
      'algorithms=[{name: finetuning}]',
      'paradigm=cil',
      'benchmark.keepFirstUnpermuted=true',
      'output.name=my-run',
    ]);
    assert.equal(config.training.optimizer.lr, 0.1);
    assert.deepEqual(config.backbone, { name: 'mlp', hiddenSizes: [100, 100], batchNorm: false, dropout: 0, activation: 'relu' });
    assert.deepEqual(config.algorithms, [{ name: 'finetuning' }]);
    assert.equal(config.paradigm, 'cil');
    assert.equal(config.benchmark.keepFirstUnpermuted, true);
    assert.equal(config.output.name, 'my-run');
  });

  it('apply on top of the file, in order', () => {
    const path = tempFile('exp.yaml', 'seed: 3\ntraining:\n  epochs: 4\n');
    const config = loadExperiment(path, ['seed=5', 'seed=6', 'training.batchSize=32']);
    assert.equal(config.seed, 6);
    assert.equal(config.training.epochs, 4);
    assert.equal(config.training.batchSize, 32);
  });

  it('address list items by index and remove keys', () => {
    const config = loadExperiment(undefined, ['backbone.hiddenSizes[1]=128', 'backbone.hiddenSizes.2=64', '~benchmark.numTasks']);
    assert.deepEqual(config.backbone, { name: 'mlp', hiddenSizes: [100, 128, 64], batchNorm: false, dropout: 0, activation: 'relu' });
    assert.equal(config.benchmark.numTasks, 5);
  });

  it('switch a variant', () => {
    assert.deepEqual(loadExperiment(undefined, ['backbone={name: resnet18}']).backbone, { name: 'resnet18' });
    assert.deepEqual(loadExperiment(undefined, ['training.scheduler.name=cosine']).training.scheduler, { name: 'cosine', etaMin: 0 });
  });

  it("that switch a variant drop the default experiment's options of the old variant, keeping the shared ones", () => {
    assert.deepEqual(loadExperiment(undefined, ['backbone.name=cnn']).backbone, { name: 'cnn', channels: [32, 64], kernelSize: 3, featureDim: 128, batchNorm: false });
    assert.deepEqual(loadExperiment(undefined, ['training.optimizer.name=adam']).training.optimizer, { name: 'adam', lr: 0.05 });
    // An option the user gave is never dropped.
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['backbone.hiddenSizes=[5]', 'backbone.name=cnn'])), [
      "  override 'backbone.hiddenSizes=[5]': backbone.hiddenSizes: unknown key 'hiddenSizes' for name 'cnn'; allowed keys: name, channels, kernelSize, featureDim, batchNorm",
    ]);
  });

  it("that switch a variant name the file's options of the old variant, whose variant they are, and the fix", () => {
    const path = tempFile('exp.yaml', 'backbone:\n  name: mlp\n  hiddenSizes: [10]\ntraining:\n  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\nalgorithms:\n  - name: wsn\n    maskPercentage: 0.5\n');
    assert.deepEqual(errorLines(() => loadExperiment(path, ['backbone.name=cnn', 'training.optimizer.name=adam', 'algorithms[0].name=finetuning'])), [
      `  ${path}:3:3: backbone.hiddenSizes: 'hiddenSizes' is an option of the 'mlp' backbone, not of 'cnn', which override 'backbone.name=cnn' selects; remove it from ${path}, or replace the whole section: backbone={name: cnn}`,
      `  ${path}:5:35: training.optimizer.momentum: 'momentum' is an option of the 'sgd' optimizer, not of 'adam', which override 'training.optimizer.name=adam' selects; remove it from ${path}, or replace the whole section: training.optimizer={name: adam}`,
      `  ${path}:8:5: algorithms[0].maskPercentage: 'maskPercentage' is an option of the 'wsn' algorithm, not of 'finetuning', which override 'algorithms[0].name=finetuning' selects; remove it from ${path}, or replace the whole section: algorithms[0]={name: finetuning}`,
    ]);
  });

  it('report an unknown key like the file does, naming the override', () => {
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['training.optimizer.lerning_rate=0.1'])), [
      "  override 'training.optimizer.lerning_rate=0.1': training.optimizer.lerning_rate: unknown key 'lerning_rate' for name 'sgd' — did you mean 'lr'? allowed keys: name, lr, momentum, weightDecay",
    ]);
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['trainig.epochs=2'])), [
      "  override 'trainig.epochs=2': trainig: unknown key 'trainig' — did you mean 'training'? allowed keys: seed, paradigm, cilHeads, benchmark, backbone, training, algorithms, reference, unlearning, output",
    ]);
  });

  it('report bad values with the override', () => {
    // Which algorithms are registered depends on what the test process imported
    // (test/helpers.ts imports them all), so the list is built, not spelt out.
    const known = registeredAlgorithms().map((name) => `'${name}'`).join(', ');
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['training.optimizer.lr=fast', 'algorithms=[{name: nosuchalgorithm}]'])), [
      "  override 'training.optimizer.lr=fast': training.optimizer.lr: expected a number > 0, got the string 'fast'",
      `  override 'algorithms=[{name: nosuchalgorithm}]': algorithms[0].name: expected one of ${known}, got 'nosuchalgorithm'`,
    ]);
  });

  it('reject malformed overrides', () => {
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['seed'])), ["  override 'seed': 'seed' has no value: write seed=<value> (or ~seed to remove the key)"]);
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['training..lr=1'])), [
      "  override 'training..lr=1': 'training..lr' is not a key path (expected names separated by dots, e.g. training.optimizer.lr)",
    ]);
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['seed=[1'])), [
      "  override 'seed=[1': the value is not valid YAML: Flow sequence must end with a ]",
    ]);
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['seed.value=1'])), [
      "  override 'seed.value=1': seed.value: cannot set a key inside 'seed', which is 1, not a mapping",
    ]);
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['backbone.hiddenSizes[5]=1'])), [
      "  override 'backbone.hiddenSizes[5]=1': backbone.hiddenSizes[5]: index 5 is out of range: 'backbone.hiddenSizes' has 2 items",
    ]);
  });

  it('are all reported, together with the other errors', () => {
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['seed', 'seed.x=1', 'training.epochs=0', '__proto__.polluted=1'])), [
      "  override 'seed': 'seed' has no value: write seed=<value> (or ~seed to remove the key)",
      "  override 'seed.x=1': seed.x: cannot set a key inside 'seed', which is 1, not a mapping",
      "  override '__proto__.polluted=1': '__proto__' cannot be a configuration key",
      "  override 'training.epochs=0': training.epochs: expected an integer >= 1, got 0",
    ]);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('parse to a path and a YAML value', () => {
    assert.deepEqual(parseOverride('a.b[2].c=[1, {x: y}]'), { text: 'a.b[2].c=[1, {x: y}]', path: ['a', 'b', 2, 'c'], value: [1, { x: 'y' }], remove: false });
    assert.deepEqual(parseOverride('+output.name='), { text: '+output.name=', path: ['output', 'name'], value: '', remove: false });
    assert.deepEqual(parseOverride('~seed'), { text: '~seed', path: ['seed'], remove: true });
    const raw: Record<string, unknown> = {};
    applyOverride(raw, parseOverride('training.optimizer.lr=0.5'));
    assert.deepEqual(raw, { training: { optimizer: { lr: 0.5 } } });
  });
});

describe('algorithm registry', () => {
  it('accepts exactly the names of the registered definitions, each validated by its own schema', () => {
    assert.deepEqual(registeredAlgorithms(), ALGORITHM_DEFINITIONS.map((d) => d.name));
    assert.equal(registeredAlgorithms()[0], 'finetuning');
    for (const definition of ALGORITHM_DEFINITIONS) {
      const required = definition.name === 'wsn' ? ', maskPercentage: 0.5' : '';
      const [entry] = loadExperiment(undefined, [`paradigm=${definition.paradigms[0]}`, `algorithms=[{name: ${definition.name}${required}}]`]).algorithms;
      assert.deepEqual(entry, { name: definition.name, ...definition.options.parse(required === '' ? {} : { maskPercentage: 0.5 }) });
    }
    assert.deepEqual(errorLines(() => loadExperiment(undefined, ['algorithms=[{name: ewc, lamda: 2}]'])), [
      "  override 'algorithms=[{name: ewc, lamda: 2}]': algorithms[0].lamda: unknown key 'lamda' for name 'ewc' — did you mean 'lambda'? allowed keys: name, lambda, fisherTiming, estimator",
    ]);
  });

  it('lists every definition once, with a summary, its paradigms and a schema whose defaults validate', () => {
    const names = ALGORITHM_DEFINITIONS.map((d) => d.name);
    assert.equal(new Set(names).size, names.length);
    for (const definition of ALGORITHM_DEFINITIONS) {
      assert.ok(definition.summary.length > 20 && !definition.summary.includes('\n'), definition.name);
      assert.ok(definition.paradigms.length > 0 && definition.paradigms.every((p) => ['til', 'cil', 'dil'].includes(p)), definition.name);
    }
  });
});

describe('describeSchema', () => {
  it('lists every key with type, default and meaning', () => {
    const rows = experimentSchemaRows();
    assert.deepEqual(
      rows.find((r) => r.key === 'training.optimizer.lr'),
      { key: 'training.optimizer.lr', type: 'number > 0', optional: false, defaultValue: '0.01', doc: 'learning rate', when: 'name: sgd | adam | adamw' },
    );
    assert.deepEqual(rows.find((r) => r.key === 'backbone.hiddenSizes'), {
      key: 'backbone.hiddenSizes',
      type: 'non-empty list of integer >= 1',
      optional: false,
      defaultValue: '[256, 256]',
      doc: 'widths of the hidden layers',
      when: 'name: mlp',
    });
    assert.deepEqual(rows.find((r) => r.key === 'training.scheduler.stepSize'), {
      key: 'training.scheduler.stepSize',
      type: 'integer >= 1',
      optional: false,
      doc: 'epochs between decays',
      when: 'name: step',
    });
    const text = describeSchema();
    assert.match(text, /^ {2}seed {2,}integer >= 0 {2,}default 1$/m);
    assert.match(text, /^ {2}benchmark\.dataDir {2,}non-empty string {2,}optional$/m);
    assert.match(text, /^ {2}paradigm {2,}'til' \| 'cil' \| 'dil' {2,}default 'til'$/m);
    assert.match(text, /^Algorithms: finetuning/m);
    const keys = rows.map((r) => r.key);
    for (const key of ['seed', 'benchmark.classSplit', 'training.scheduler.patience', 'reference.random', 'output.name', 'algorithms']) assert.ok(keys.includes(key), key);
  });
});

describe('docs/configuration.md', () => {
  it('its example is a valid experiment', () => {
    // dist/test/config/ -> the repository root.
    const doc = readFileSync(join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'docs', 'configuration.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example !== undefined, 'no YAML example found');
    const config = parseExperiment(example, 'docs/configuration.md');
    assert.equal(config.paradigm, 'cil');
    assert.deepEqual(config.benchmark.classSplit, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    assert.deepEqual(config.training.scheduler, { name: 'step', stepSize: 2, gamma: 0.5 });
    assert.deepEqual(config.reference, { joint: true, independent: true, random: true });
  });
});
