// Backbones by name, for configurations: createBackbone checks the options
// against the descriptions below (which `perennial list` shows), so a typo or
// a wrong type is reported with what is allowed instead of being ignored.
import { ACTIVATIONS, type ActivationName } from './common.js';
import { CNN, CNN_DEFAULTS, type CNNOptions } from './cnn.js';
import { MLP, MLP_DEFAULTS, type MLPOptions } from './mlp.js';
import { ResNet18 } from './resnet.js';

export { BackboneBase, type LayerParameters, type ParameterOverrides, type WeightedModule, type ActivationName, ACTIVATIONS } from './common.js';
export { MLP, type MLPOptions, MLP_DEFAULTS } from './mlp.js';
export { CNN, type CNNOptions, CNN_DEFAULTS } from './cnn.js';
export { ResNet18, BasicBlock } from './resnet.js';

export type BackboneName = 'mlp' | 'cnn' | 'resnet18';

/**
 * A backbone as configured: its name and its options (all optional). The
 * options are checked again at run time, for configurations read from files.
 */
export type BackboneConfig = ({ readonly name: 'mlp' } & MLPOptions) | ({ readonly name: 'cnn' } & CNNOptions) | { readonly name: 'resnet18' };

export type BackboneOptionValue = number | boolean | string | readonly number[];

type OptionKind = 'positiveInteger' | 'positiveIntegers' | 'boolean' | 'dropout' | 'oddPositiveInteger' | 'activation';

export interface BackboneOptionDescription {
  readonly name: string;
  readonly default: BackboneOptionValue;
  /** What values are accepted, in words. */
  readonly accepts: string;
  readonly doc: string;
}

export interface BackboneDescription {
  readonly name: BackboneName;
  readonly doc: string;
  readonly options: readonly BackboneOptionDescription[];
}

interface OptionSpec extends BackboneOptionDescription {
  readonly kind: OptionKind;
}

const ACCEPTS: Record<OptionKind, string> = {
  positiveInteger: 'a positive integer',
  positiveIntegers: 'a non-empty list of positive integers',
  boolean: 'true or false',
  dropout: 'a number in [0, 1)',
  oddPositiveInteger: 'an odd positive integer',
  activation: `one of ${ACTIVATIONS.join(', ')}`,
};

function spec(name: string, kind: OptionKind, defaultValue: BackboneOptionValue, doc: string): OptionSpec {
  return { name, kind, default: defaultValue, accepts: ACCEPTS[kind], doc };
}

const SPECS: Record<BackboneName, { doc: string; options: readonly OptionSpec[] }> = {
  mlp: {
    doc: 'Flattened input through fully connected layers fc1, fc2, ...; the feature is the last hidden layer.',
    options: [
      spec('hiddenSizes', 'positiveIntegers', MLP_DEFAULTS.hiddenSizes, 'width of each hidden layer, input to output'),
      spec('batchNorm', 'boolean', MLP_DEFAULTS.batchNorm, 'BatchNorm1d after each linear layer'),
      spec('dropout', 'dropout', MLP_DEFAULTS.dropout, 'dropout probability after each activation (0: none)'),
      spec('activation', 'activation', MLP_DEFAULTS.activation, 'nonlinearity after each layer'),
    ],
  },
  cnn: {
    doc: 'Small CNN for 28x28 / 32x32 images: conv -> ReLU -> 2x2 max-pool per entry of channels, then fc1 -> ReLU.',
    options: [
      spec('channels', 'positiveIntegers', CNN_DEFAULTS.channels, 'output channels of each convolution'),
      spec('kernelSize', 'oddPositiveInteger', CNN_DEFAULTS.kernelSize, 'square kernel size (padding keeps the spatial size)'),
      spec('featureDim', 'positiveInteger', CNN_DEFAULTS.featureDim, 'width of fc1, the feature size'),
      spec('batchNorm', 'boolean', CNN_DEFAULTS.batchNorm, 'BatchNorm2d after each convolution'),
    ],
  },
  resnet18: {
    doc: 'ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), torchvision naming and initialisation; 512-d feature.',
    options: [],
  },
};

/** Every backbone with its options and defaults (for `perennial list`). */
export const BACKBONES: readonly BackboneDescription[] = (Object.keys(SPECS) as BackboneName[]).map((name) => ({
  name,
  doc: SPECS[name].doc,
  options: SPECS[name].options.map(({ name: n, default: d, accepts, doc }) => ({ name: n, default: d, accepts, doc })),
}));

function isBackboneName(name: string): name is BackboneName {
  return Object.hasOwn(SPECS, name);
}

function valid(kind: OptionKind, v: unknown): boolean {
  const positiveInteger = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  switch (kind) {
    case 'positiveInteger':
      return positiveInteger(v);
    case 'oddPositiveInteger':
      return positiveInteger(v) && (v as number) % 2 === 1;
    case 'positiveIntegers':
      return Array.isArray(v) && v.length > 0 && v.every(positiveInteger);
    case 'boolean':
      return typeof v === 'boolean';
    case 'dropout':
      return typeof v === 'number' && v >= 0 && v < 1;
    case 'activation':
      return typeof v === 'string' && (ACTIVATIONS as readonly string[]).includes(v);
  }
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
}

/** The configured options, checked: unknown names and bad values are errors that list what is allowed. */
function checkedOptions(name: BackboneName, config: BackboneConfig): Map<string, unknown> {
  const specs = SPECS[name].options;
  const allowed = specs.length === 0 ? 'it takes no options' : `allowed: ${specs.map((s) => `${s.name} (default ${describeValue(s.default)})`).join(', ')}`;
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(config) as [string, unknown][]) {
    if (key === 'name') continue;
    const s = specs.find((o) => o.name === key);
    if (s === undefined) throw new Error(`backbone '${name}': unknown option '${key}' (${allowed})`);
    if (value === undefined) continue;
    if (!valid(s.kind, value)) throw new Error(`backbone '${name}': option '${key}' must be ${s.accepts}, got ${describeValue(value)}`);
    out.set(key, value);
  }
  return out;
}

/**
 * Builds the backbone `config.name` for inputs of `inputShape` ([C, H, W];
 * the MLP flattens it). Throws for unknown names and options, naming those
 * allowed.
 */
export function createBackbone(config: BackboneConfig, inputShape: readonly number[]): MLP | CNN | ResNet18 {
  const name: unknown = config.name;
  if (typeof name !== 'string' || !isBackboneName(name)) {
    throw new Error(`unknown backbone '${String(name)}' (available: ${Object.keys(SPECS).join(', ')})`);
  }
  const o = checkedOptions(name, config);
  switch (name) {
    case 'mlp':
      return new MLP(inputShape, {
        hiddenSizes: o.get('hiddenSizes') as number[] | undefined,
        batchNorm: o.get('batchNorm') as boolean | undefined,
        dropout: o.get('dropout') as number | undefined,
        activation: o.get('activation') as ActivationName | undefined,
      });
    case 'cnn':
      return new CNN(inputShape, {
        channels: o.get('channels') as number[] | undefined,
        kernelSize: o.get('kernelSize') as number | undefined,
        featureDim: o.get('featureDim') as number | undefined,
        batchNorm: o.get('batchNorm') as boolean | undefined,
      });
    case 'resnet18':
      return new ResNet18(inputShape);
  }
}
