// The algorithm registry: configuration names to constructors. Later
// algorithms register here and their option schema in config/experiment.ts.
import type { Algorithm } from './algorithm.js';
import { Finetuning } from './finetuning.js';

export type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
export { Finetuning } from './finetuning.js';

export interface AlgorithmConfig {
  name: string;
  [option: string]: unknown;
}

interface AlgorithmEntry {
  summary: string;
  create(config: AlgorithmConfig): Algorithm;
}

const registry = new Map<string, AlgorithmEntry>([
  ['finetuning', { summary: 'plain cross-entropy on the current task, a fresh optimizer per task (the baseline)', create: () => new Finetuning() }],
]);

export function createAlgorithms(configs: readonly AlgorithmConfig[]): Algorithm[] {
  return configs.map((c) => {
    const entry = registry.get(c.name);
    if (entry === undefined) throw new Error(`unknown algorithm '${c.name}' (known: ${[...registry.keys()].join(', ')})`);
    return entry.create(c);
  });
}

/** Name and one-line summary of every algorithm, for `perennial list`. */
export function describeAlgorithms(): { name: string; summary: string }[] {
  return [...registry].map(([name, e]) => ({ name, summary: e.summary }));
}
