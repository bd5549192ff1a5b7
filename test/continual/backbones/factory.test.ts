// createBackbone and the BACKBONES descriptions: each name builds its
// backbone with the configured options, unknown names and options and bad
// values are errors that say what is allowed, and the described defaults are
// the ones the backbones use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKBONES, type BackboneConfig, CNN, MLP, ResNet18, createBackbone } from '../../../src/continual/backbones/index.js';

/** A configuration as read from a file: any shape, checked only at run time. */
const untyped = (config: Record<string, unknown>): BackboneConfig => config as unknown as BackboneConfig;

describe('createBackbone', () => {
  test('builds each backbone with its options', () => {
    const mlp = createBackbone({ name: 'mlp', hiddenSizes: [32, 16], batchNorm: true, dropout: 0.1, activation: 'tanh' }, [1, 28, 28]);
    assert.ok(mlp instanceof MLP);
    assert.equal(mlp.inputDim, 784);
    assert.deepEqual(mlp.hiddenSizes, [32, 16]);
    assert.equal(mlp.batchNorm, true);
    assert.equal(mlp.dropout, 0.1);
    assert.equal(mlp.activation, 'tanh');
    assert.equal(mlp.outputDim, 16);
    const cnn = createBackbone({ name: 'cnn', channels: [8], kernelSize: 5, featureDim: 20, batchNorm: true }, [3, 32, 32]);
    assert.ok(cnn instanceof CNN);
    assert.deepEqual(cnn.channels, [8]);
    assert.equal(cnn.kernelSize, 5);
    assert.equal(cnn.outputDim, 20);
    assert.equal(cnn.batchNorm, true);
    const resnet = createBackbone({ name: 'resnet18' }, [3, 32, 32]);
    assert.ok(resnet instanceof ResNet18);
    assert.equal(resnet.outputDim, 512);
    for (const b of [mlp, cnn, resnet]) b.dispose();
  });

  test('options left out take the described defaults', () => {
    const mlp = createBackbone({ name: 'mlp' }, [1, 28, 28]);
    const cnn = createBackbone({ name: 'cnn' }, [1, 28, 28]);
    assert.ok(mlp instanceof MLP && cnn instanceof CNN);
    const described = (backbone: string, option: string): unknown =>
      BACKBONES.find((b) => b.name === backbone)!.options.find((o) => o.name === option)!.default;
    assert.deepEqual(mlp.hiddenSizes, described('mlp', 'hiddenSizes'));
    assert.equal(mlp.batchNorm, described('mlp', 'batchNorm'));
    assert.equal(mlp.dropout, described('mlp', 'dropout'));
    assert.equal(mlp.activation, described('mlp', 'activation'));
    assert.deepEqual(cnn.channels, described('cnn', 'channels'));
    assert.equal(cnn.kernelSize, described('cnn', 'kernelSize'));
    assert.equal(cnn.outputDim, described('cnn', 'featureDim'));
    assert.equal(cnn.batchNorm, described('cnn', 'batchNorm'));
    assert.deepEqual(mlp.hiddenSizes, [256, 256]);
    assert.deepEqual(cnn.channels, [32, 64]);
    assert.equal(cnn.outputDim, 128);
    // An option given as undefined is left out.
    const m2 = createBackbone(untyped({ name: 'mlp', dropout: undefined }), [4]);
    assert.ok(m2 instanceof MLP && m2.dropout === 0);
    for (const b of [mlp, cnn, m2]) b.dispose();
  });

  test('unknown names and options list what is allowed', () => {
    assert.throws(() => createBackbone(untyped({ name: 'vgg16' }), [3, 32, 32]), /unknown backbone 'vgg16' \(available: mlp, cnn, resnet18\)/);
    assert.throws(() => createBackbone(untyped({}), [3, 32, 32]), /unknown backbone 'undefined'/);
    assert.throws(() => createBackbone(untyped({ name: 'toString' }), [3, 32, 32]), /unknown backbone 'toString'/);
    assert.throws(
      () => createBackbone(untyped({ name: 'mlp', hidden: [10] }), [4]),
      /backbone 'mlp': unknown option 'hidden' \(allowed: hiddenSizes \(default \[256,256\]\), batchNorm \(default false\), dropout \(default 0\), activation \(default 'relu'\)\)/,
    );
    assert.throws(() => createBackbone(untyped({ name: 'cnn', hiddenSizes: [10] }), [1, 28, 28]), /backbone 'cnn': unknown option 'hiddenSizes' \(allowed: channels/);
    assert.throws(() => createBackbone(untyped({ name: 'resnet18', width: 2 }), [3, 32, 32]), /backbone 'resnet18': unknown option 'width' \(it takes no options\)/);
  });

  test('bad values say what is accepted', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 'mlp', hiddenSizes: 256 }, /option 'hiddenSizes' must be a non-empty list of positive integers, got 256/],
      [{ name: 'mlp', hiddenSizes: [] }, /hiddenSizes' must be a non-empty list of positive integers, got \[\]/],
      [{ name: 'mlp', hiddenSizes: [64, 1.5] }, /got \[64,1.5\]/],
      [{ name: 'mlp', batchNorm: 'yes' }, /option 'batchNorm' must be true or false, got 'yes'/],
      [{ name: 'mlp', dropout: 1 }, /option 'dropout' must be a number in \[0, 1\), got 1/],
      [{ name: 'mlp', activation: 'gelu' }, /option 'activation' must be one of relu, tanh, sigmoid, got 'gelu'/],
      [{ name: 'cnn', kernelSize: 4 }, /option 'kernelSize' must be an odd positive integer, got 4/],
      [{ name: 'cnn', featureDim: -3 }, /option 'featureDim' must be a positive integer, got -3/],
    ];
    for (const [config, message] of cases) assert.throws(() => createBackbone(untyped(config), [1, 28, 28]), message);
  });

  test('an input shape the backbone cannot take is an error', () => {
    assert.throws(() => createBackbone({ name: 'cnn' }, [784]), /CNN: the input shape must be \[C, H, W\]/);
    assert.throws(() => createBackbone({ name: 'resnet18' }, [784]), /ResNet18: the input shape must be \[C, H, W\]/);
  });
});

describe('BACKBONES', () => {
  test('describes every backbone with its options, defaults and docs', () => {
    assert.deepEqual(BACKBONES.map((b) => b.name), ['mlp', 'cnn', 'resnet18']);
    assert.deepEqual(BACKBONES[0]!.options.map((o) => o.name), ['hiddenSizes', 'batchNorm', 'dropout', 'activation']);
    assert.deepEqual(BACKBONES[1]!.options.map((o) => o.name), ['channels', 'kernelSize', 'featureDim', 'batchNorm']);
    assert.deepEqual(BACKBONES[2]!.options, []);
    for (const b of BACKBONES) {
      assert.ok(b.doc.length > 10, `${b.name} has a doc line`);
      for (const o of b.options) assert.ok(o.doc.length > 5 && o.accepts.length > 5, `${b.name}.${o.name} is documented`);
    }
    // A plain-JSON description: what `perennial list` prints.
    assert.deepEqual(JSON.parse(JSON.stringify(BACKBONES)), BACKBONES);
  });
});
