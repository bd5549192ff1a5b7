// createBackbone and the backbone definitions: each name builds its backbone
// with the configured options; the configuration schema, assembled from the
// definitions, is the one place where names, options and values are checked
// (saying what is allowed) and defaults filled; the defaults it shows are the
// ones the backbones get.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { experimentSchema } from '../../../src/config/experiment.js';
import { BACKBONE_DEFINITIONS, type BackboneConfig, CNN, MLP, ResNet18, cnnDefinition, createBackbone, instantiateBackbone, mlpDefinition } from '../../../src/continual/backbones/index.js';

/** A `backbone` section as a configuration file writes it, validated and defaulted by the experiment's schema. */
const backbone = (settings: unknown): BackboneConfig => experimentSchema.parse({ backbone: settings }).backbone;

describe('createBackbone', () => {
  test('builds each backbone with its options', () => {
    const mlp = createBackbone(backbone({ name: 'mlp', hiddenSizes: [32, 16], batchNorm: true, dropout: 0.1, activation: 'tanh' }), [1, 28, 28]);
    assert.ok(mlp instanceof MLP);
    assert.equal(mlp.inputDim, 784);
    assert.deepEqual(mlp.hiddenSizes, [32, 16]);
    assert.equal(mlp.batchNorm, true);
    assert.equal(mlp.dropout, 0.1);
    assert.equal(mlp.activation, 'tanh');
    assert.equal(mlp.outputDim, 16);
    const cnn = createBackbone(backbone({ name: 'cnn', channels: [8], kernelSize: 5, featureDim: 20, batchNorm: true }), [3, 32, 32]);
    assert.ok(cnn instanceof CNN);
    assert.deepEqual(cnn.channels, [8]);
    assert.equal(cnn.kernelSize, 5);
    assert.equal(cnn.outputDim, 20);
    assert.equal(cnn.batchNorm, true);
    const resnet = createBackbone(backbone({ name: 'resnet18' }), [3, 32, 32]);
    assert.ok(resnet instanceof ResNet18);
    assert.equal(resnet.outputDim, 512);
    for (const b of [mlp, cnn, resnet]) b.dispose();
  });

  test('options left out take the defaults the schema shows', () => {
    const mlp = instantiateBackbone(mlpDefinition, [1, 28, 28]);
    const cnn = instantiateBackbone(cnnDefinition, [1, 28, 28]);
    const shown = (definition: typeof mlpDefinition | typeof cnnDefinition, option: string): unknown =>
      JSON.parse(definition.options.describeRows('').find((row) => row.key === option)!.defaultValue!.replace(/'/g, '"'));
    assert.deepEqual(mlp.hiddenSizes, shown(mlpDefinition, 'hiddenSizes'));
    assert.equal(mlp.batchNorm, shown(mlpDefinition, 'batchNorm'));
    assert.equal(mlp.dropout, shown(mlpDefinition, 'dropout'));
    assert.equal(mlp.activation, shown(mlpDefinition, 'activation'));
    assert.deepEqual(cnn.channels, shown(cnnDefinition, 'channels'));
    assert.equal(cnn.kernelSize, shown(cnnDefinition, 'kernelSize'));
    assert.equal(cnn.outputDim, shown(cnnDefinition, 'featureDim'));
    assert.equal(cnn.batchNorm, shown(cnnDefinition, 'batchNorm'));
    assert.deepEqual(mlp.hiddenSizes, [256, 256]);
    assert.deepEqual(cnn.channels, [32, 64]);
    assert.equal(cnn.outputDim, 128);
    // A configuration without a backbone section gets the MLP with these defaults.
    assert.deepEqual(backbone(undefined), { name: 'mlp', hiddenSizes: [256, 256], batchNorm: false, dropout: 0, activation: 'relu' });
    for (const b of [mlp, cnn]) b.dispose();
  });

  test('unknown names and options list what is allowed', () => {
    assert.throws(() => backbone({ name: 'vgg16' }), /backbone\.name: expected one of 'mlp', 'cnn', 'resnet18', got 'vgg16'/);
    assert.throws(() => backbone({ name: 'toString' }), /backbone\.name: expected one of 'mlp', 'cnn', 'resnet18', got 'toString'/);
    assert.throws(() => backbone({ name: 'mlp', hidden: [10] }), /backbone\.hidden: unknown key.*hiddenSizes/);
    assert.throws(() => backbone({ name: 'cnn', hiddenSizes: [10] }), /backbone\.hiddenSizes: unknown key 'hiddenSizes' for name 'cnn'; allowed keys: name, channels, kernelSize, featureDim, batchNorm/);
    assert.throws(() => backbone({ name: 'resnet18', width: 2 }), /backbone\.width: unknown key/);
  });

  test('bad values say what is accepted', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'mlp', hiddenSizes: 256 }, /backbone\.hiddenSizes: expected a list.*, got 256/],
      [{ name: 'mlp', hiddenSizes: [] }, /backbone\.hiddenSizes: expected a list of integers >= 1 \(at least one\), got 0 items/],
      [{ name: 'mlp', hiddenSizes: [64, 1.5] }, /backbone\.hiddenSizes\[1\]: expected an integer >= 1, got 1\.5/],
      [{ name: 'mlp', batchNorm: 'yes' }, /backbone\.batchNorm: expected true or false, got the string 'yes'/],
      [{ name: 'mlp', dropout: 1 }, /backbone\.dropout: expected a number in \[0, 1\), got 1/],
      [{ name: 'mlp', activation: 'gelu' }, /backbone\.activation: expected one of 'relu', 'tanh', 'sigmoid', got 'gelu'/],
      [{ name: 'cnn', kernelSize: 4 }, /backbone\.kernelSize: expected an odd integer >= 1 .*got 4/],
      [{ name: 'cnn', featureDim: -3 }, /backbone\.featureDim: expected an integer >= 1, got -3/],
    ];
    for (const [settings, message] of cases) assert.throws(() => backbone(settings), message);
  });

  test('an input shape the backbone cannot take is an error', () => {
    assert.throws(() => createBackbone(backbone({ name: 'cnn' }), [784]), /CNN: the input shape must be \[C, H, W\]/);
    assert.throws(() => createBackbone(backbone({ name: 'resnet18' }), [784]), /ResNet18: the input shape must be \[C, H, W\]/);
  });
});

describe('BACKBONE_DEFINITIONS', () => {
  test('declares every backbone with its options, defaults and docs', () => {
    assert.deepEqual(BACKBONE_DEFINITIONS.map((b) => b.name), ['mlp', 'cnn', 'resnet18']);
    const keys = BACKBONE_DEFINITIONS.map((b) => b.options.describeRows('').map((row) => row.key));
    assert.deepEqual(keys, [['hiddenSizes', 'batchNorm', 'dropout', 'activation'], ['channels', 'kernelSize', 'featureDim', 'batchNorm'], []]);
    for (const b of BACKBONE_DEFINITIONS) {
      assert.ok(b.summary.length > 10, `${b.name} has a summary`);
      for (const row of b.options.describeRows('')) {
        assert.ok(row.doc !== undefined && row.doc.length > 5, `${b.name}.${row.key} is documented`);
        assert.ok(row.defaultValue !== undefined, `${b.name}.${row.key} has a default`);
      }
    }
  });
});
