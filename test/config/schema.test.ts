import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SchemaError,
  UnionSchema,
  array,
  boolean,
  closestMatch,
  enumOf,
  formatIssue,
  formatPath,
  integer,
  number,
  object,
  string,
  tuple,
  union,
} from '../../src/config/schema.js';

/** The formatted issues of validating `value`, or [] when valid. */
function problems(schema: { validate(value: unknown): { ok: true } | { ok: false; issues: { path: readonly (string | number)[]; message: string }[] } }, value: unknown): string[] {
  const result = schema.validate(value);
  return result.ok ? [] : result.issues.map(formatIssue);
}

describe('numbers', () => {
  it('describe their bounds in the messages', () => {
    assert.deepEqual(problems(number({ min: 0, minExclusive: true }), -1), ['(root): expected a number > 0, got -1']);
    assert.deepEqual(problems(number({ min: 0 }), -1), ['(root): expected a number >= 0, got -1']);
    assert.deepEqual(problems(number({ max: 1, maxExclusive: true }), 1), ['(root): expected a number < 1, got 1']);
    assert.deepEqual(problems(number({ max: 1 }), 2), ['(root): expected a number <= 1, got 2']);
    assert.deepEqual(problems(number({ min: 0, max: 1, maxExclusive: true }), 1), ['(root): expected a number in [0, 1), got 1']);
    assert.deepEqual(problems(number({ min: 0, max: 1, minExclusive: true }), 0), ['(root): expected a number in (0, 1], got 0']);
    assert.deepEqual(problems(integer({ min: 1 }), 2.5), ['(root): expected an integer >= 1, got 2.5']);
  });

  it('accept the bounds themselves unless exclusive', () => {
    assert.deepEqual(problems(number({ min: 0, max: 1 }), 0), []);
    assert.deepEqual(problems(number({ min: 0, max: 1 }), 1), []);
    assert.equal(integer().parse(-3), -3);
  });

  it('reject strings, booleans and non-finite numbers', () => {
    assert.deepEqual(problems(number(), '0.1'), ["(root): expected a number, got the string '0.1'"]);
    assert.deepEqual(problems(number(), true), ['(root): expected a number, got true']);
    assert.deepEqual(problems(number(), Infinity), ['(root): expected a number, got Infinity']);
    assert.deepEqual(problems(number(), NaN), ['(root): expected a number, got NaN']);
  });
});

describe('strings, booleans, enums', () => {
  it('check their type', () => {
    assert.deepEqual(problems(string(), 5), ['(root): expected a string, got 5']);
    assert.deepEqual(problems(string({ nonEmpty: true }), ''), ["(root): expected a non-empty string, got ''"]);
    assert.deepEqual(problems(boolean(), 'yes'), ["(root): expected true or false, got the string 'yes'"]);
    assert.deepEqual(problems(string({ pattern: /^[a-z]+$/, patternDescription: 'a lowercase word' }), 'A1'), ["(root): expected a lowercase word, got 'A1'"]);
  });

  it('suggest the closest enum value', () => {
    const paradigm = enumOf(['til', 'cil', 'dil']);
    assert.deepEqual(problems(paradigm, 'tl'), ["(root): expected one of 'til', 'cil', 'dil', got 'tl' — did you mean 'til'?"]);
    assert.deepEqual(problems(paradigm, 'domain'), ["(root): expected one of 'til', 'cil', 'dil', got 'domain'"]);
    assert.equal(paradigm.parse('cil'), 'cil');
  });
});

describe('lists and tuples', () => {
  it('check each item with its index in the path', () => {
    assert.deepEqual(problems(object({ sizes: array(integer({ min: 1 })) }), { sizes: [100, 0, 'x'] }), [
      'sizes[1]: expected an integer >= 1, got 0',
      "sizes[2]: expected an integer >= 1, got the string 'x'",
    ]);
  });

  it('check their length', () => {
    assert.deepEqual(problems(array(number(), { minLength: 1 }), []), ['(root): expected a list of numbers (at least one), got 0 items']);
    assert.deepEqual(problems(array(number()), 5), ['(root): expected a list of numbers, got 5']);
    assert.deepEqual(problems(tuple([number(), number()]), [0.9]), ['(root): expected a list of exactly 2 numbers, got 1 item']);
    assert.deepEqual(problems(tuple([number(), string()]), [1, 2]), ['[1]: expected a string, got 2']);
    assert.deepEqual(tuple([number(), number()]).parse([0.9, 0.999]), [0.9, 0.999]);
  });
});

describe('objects', () => {
  const optimizer = object({
    lr: number({ min: 0, minExclusive: true }).default(0.01),
    momentum: number({ min: 0 }).optional(),
    weightDecay: number({ min: 0 }).optional(),
  });

  it('fill defaults and leave optional keys out', () => {
    assert.deepEqual(optimizer.parse({}), { lr: 0.01 });
    assert.deepEqual(optimizer.parse({ momentum: 0.9 }), { lr: 0.01, momentum: 0.9 });
    // null counts as absent for keys with a default or optional.
    assert.deepEqual(optimizer.parse({ lr: null, momentum: null }), { lr: 0.01 });
  });

  it('copy default values, so that changing one result changes no other', () => {
    const schema = object({ sizes: array(integer()).default([256, 256]) });
    const first = schema.parse({});
    first.sizes.push(1);
    assert.deepEqual(schema.parse({}), { sizes: [256, 256] });
  });

  it('report unknown keys with a suggestion and the allowed keys', () => {
    assert.deepEqual(problems(optimizer, { lerning_rate: 0.1 }), ["lerning_rate: unknown key 'lerning_rate' — did you mean 'lr'? allowed keys: lr, momentum, weightDecay"]);
    assert.deepEqual(problems(optimizer, { momentm: 0.9 }), ["momentm: unknown key 'momentm' — did you mean 'momentum'? allowed keys: lr, momentum, weightDecay"]);
    assert.deepEqual(problems(optimizer, { weight_decay: 0 }), ["weight_decay: unknown key 'weight_decay' — did you mean 'weightDecay'? allowed keys: lr, momentum, weightDecay"]);
    assert.deepEqual(problems(optimizer, { nesterov: true }), ["nesterov: unknown key 'nesterov'; allowed keys: lr, momentum, weightDecay"]);
  });

  it('keep unknown keys when allowed', () => {
    assert.deepEqual(object({ a: number() }, { allowUnknown: true }).parse({ a: 1, b: 'x' }), { b: 'x', a: 1 });
  });

  it('report missing required keys and wrong types', () => {
    const schema = object({ stepSize: integer({ min: 1 }), name: string() });
    assert.deepEqual(problems(schema, { name: null }), ['stepSize: missing required key (expected an integer >= 1)', 'name: expected a string, got null']);
    assert.deepEqual(problems(schema, [1, 2]), ['(root): expected a mapping with keys stepSize, name, got [1,2]']);
  });

  it('collect every error, with full key paths', () => {
    const schema = object({ training: object({ epochs: integer({ min: 1 }), optimizer }) });
    assert.deepEqual(problems(schema, { training: { epochs: 0, optimizer: { lr: -1, momentum: -2, lerning_rate: 1 } } }), [
      'training.epochs: expected an integer >= 1, got 0',
      "training.optimizer.lerning_rate: unknown key 'lerning_rate' — did you mean 'lr'? allowed keys: lr, momentum, weightDecay",
      'training.optimizer.lr: expected a number > 0, got -1',
      'training.optimizer.momentum: expected a number >= 0, got -2',
    ]);
  });

  it('run refinements only on structurally valid values, all of them', () => {
    const range = object({ lo: number(), hi: number() })
      .refine((v, report) => {
        if (v.lo > v.hi) report(['lo'], `must not exceed hi (${v.hi})`);
      })
      .refine((v, report) => {
        if (v.hi > 10) report(['hi'], 'must be at most 10');
      });
    assert.deepEqual(problems(range, { lo: 20, hi: 11 }), ['lo: must not exceed hi (11)', 'hi: must be at most 10']);
    assert.deepEqual(problems(range, { lo: 'x', hi: 11 }), ["lo: expected a number, got the string 'x'"]);
  });

  it('throw a SchemaError from parse listing every issue', () => {
    assert.throws(() => optimizer.parse({ lr: 0, momentum: -1 }), (error: unknown) => {
      assert.ok(error instanceof SchemaError);
      assert.equal(error.message, 'invalid value (2 errors):\n  lr: expected a number > 0, got 0\n  momentum: expected a number >= 0, got -1');
      assert.equal(error.issues.length, 2);
      return true;
    });
  });
});

describe('unions by discriminator', () => {
  const backbone = union(
    'name',
    {
      mlp: object({ hiddenSizes: array(integer({ min: 1 })).default([256, 256]) }),
      cnn: object({ channels: array(integer({ min: 1 })).optional() }),
      resnet18: object({}),
    },
    { defaultVariant: 'mlp' },
  );

  it('choose the variant by name, the default one when absent', () => {
    assert.deepEqual(backbone.parse({}), { name: 'mlp', hiddenSizes: [256, 256] });
    assert.deepEqual(backbone.parse({ name: 'cnn', channels: [32] }), { name: 'cnn', channels: [32] });
    assert.deepEqual(backbone.parse({ name: 'resnet18' }), { name: 'resnet18' });
  });

  it('name the variant in unknown-key messages', () => {
    assert.deepEqual(problems(backbone, { name: 'cnn', hiddenSizes: [1] }), ["hiddenSizes: unknown key 'hiddenSizes' for name 'cnn'; allowed keys: name, channels"]);
    assert.deepEqual(problems(backbone, { name: 'resnet18', depth: 34 }), ["depth: unknown key 'depth' for name 'resnet18'; allowed keys: name"]);
  });

  it('mark an unknown key that other variants have, with those variants', () => {
    const kinded = union('name', { mlp: object({ hiddenSizes: array(integer()).optional(), batchNorm: boolean().optional() }), cnn: object({ batchNorm: boolean().optional() }), resnet18: object({}) }, { kind: 'backbone' });
    const result = kinded.validate({ name: 'resnet18', hiddenSizes: [1], batchNorm: true, depth: 3 });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.issues.map((i) => [i.path, i.otherVariant]),
      [
        [['hiddenSizes'], { key: 'name', tag: 'resnet18', owners: ['mlp'], kind: 'backbone' }],
        [['batchNorm'], { key: 'name', tag: 'resnet18', owners: ['mlp', 'cnn'], kind: 'backbone' }],
        [['depth'], undefined],
      ],
    );
  });

  it('suggest the closest variant', () => {
    assert.deepEqual(problems(backbone, { name: 'mpl' }), ["name: expected one of 'mlp', 'cnn', 'resnet18', got 'mpl' — did you mean 'mlp'?"]);
    assert.deepEqual(problems(backbone, { name: 5 }), ["name: expected one of 'mlp', 'cnn', 'resnet18', got 5"]);
  });

  it('require the discriminator without a default variant', () => {
    const algorithm = new UnionSchema<{ name: 'finetuning' }>('name', { finetuning: object({}) });
    assert.deepEqual(problems(array(algorithm), [{}]), ["[0].name: missing required key (expected one of 'finetuning')"]);
  });
});

describe('closestMatch', () => {
  it('matches spellings, abbreviations and typos', () => {
    assert.equal(closestMatch('batch_size', ['batchSize', 'epochs']), 'batchSize');
    assert.equal(closestMatch('learning_rate', ['lr', 'momentum']), 'lr');
    assert.equal(closestMatch('wd', ['lr', 'weightDecay']), 'weightDecay');
    assert.equal(closestMatch('numTask', ['numTasks', 'name']), 'numTasks');
    assert.equal(closestMatch('epoch', ['epochs', 'evalBatchSize']), 'epochs');
    assert.equal(closestMatch('optimiser', ['optimizer', 'scheduler']), 'optimizer');
  });

  it('suggests nothing far away', () => {
    assert.equal(closestMatch('colour', ['lr', 'momentum']), undefined);
    assert.equal(closestMatch('', ['lr']), undefined);
  });
});

describe('formatPath', () => {
  it('joins keys with dots and indices with brackets', () => {
    assert.equal(formatPath(['training', 'optimizer', 'lr']), 'training.optimizer.lr');
    assert.equal(formatPath(['benchmark', 'classSplit', 1, 0]), 'benchmark.classSplit[1][0]');
    assert.equal(formatPath([0, 'name']), '[0].name');
    assert.equal(formatPath([]), '(root)');
  });
});
