// The algorithm registry: configuration names to constructors. Later
// algorithms register here and their option schema in config/experiment.ts.
import type { Algorithm } from './algorithm.js';
import { createCBP } from './cbp.js';
import { AmnesiacEWC } from './amnesiac_ewc.js';
import './amnesiac_config.js';
import { AmnesiacFinetuning } from './amnesiac_finetuning.js';
import { EWC } from './ewc.js';
import './ewc_config.js';
import { Finetuning } from './finetuning.js';
import { OnlineEWC } from './online_ewc.js';
import { createReplay } from './replay.js';
import { createRWalk } from './rwalk.js';
import { createWSN } from './wsn.js';

export type { Algorithm, AlgorithmState, AlgorithmSummary, StepContext, TaskContext, UnlearningContext } from './algorithm.js';
export { AmnesiacBookkeeping, type AmnesiacOptions, TaskDeltas } from './amnesiac.js';
export { AmnesiacEWC, type AmnesiacEWCOptions } from './amnesiac_ewc.js';
export { AmnesiacFinetuning } from './amnesiac_finetuning.js';
export { Finetuning } from './finetuning.js';
export { EWC, type EWCOptions } from './ewc.js';
export { OnlineEWC, type OnlineEWCOptions } from './online_ewc.js';
export { QuadraticAnchors } from './quadratic_anchors.js';
export { RWalk, type RWalkOptions, RWALK_DEFAULTS } from './rwalk.js';
export { Replay, type ReplayOptions, REPLAY_DEFAULTS, Reservoir } from './replay.js';
export { CBP, type CBPOptions, type CBPUtility, CBP_DEFAULTS } from './cbp.js';
export { WSN, type WSNOptions, type WSNReport, WSN_DEFAULTS, readWSNReport } from './wsn.js';

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
  ['ewc', { summary: 'elastic weight consolidation: a Fisher-weighted pull towards each earlier task\'s parameters', create: (c) => new EWC(c as unknown as ConstructorParameters<typeof EWC>[0]) }],
  ['rwalk', { summary: 'RWalk: EWC++ importance plus path-integral scores weight a pull towards the previous task\'s parameters', create: createRWalk }],
  ['replay', { summary: 'reservoir replay: cross-entropy on a minibatch drawn from a uniform sample of past examples', create: createReplay }],
  ['wsn', { summary: 'WSN: a learned top-c% subnetwork per task; weights used by earlier tasks are frozen (TIL only)', create: createWSN }],
  ['cbp', { summary: 'continual backpropagation: after every step, replaces a small fraction of mature low-utility units with fresh ones (plasticity)', create: createCBP }],
  ['onlineEwc', { summary: 'online EWC: one running Fisher decayed by γ and one anchor', create: (c) => new OnlineEWC(c as unknown as ConstructorParameters<typeof OnlineEWC>[0]) }],
  ['amnesiacFinetuning', { summary: 'Finetuning that records each task\'s change of the whole model, so that unlearning requests can subtract it', create: (c) => new AmnesiacFinetuning(c as { disableUnlearning?: boolean }) }],
  ['amnesiacEwc', { summary: 'EWC with Amnesiac unlearning: subtracts an unlearned task\'s change and drops its Fisher and anchor', create: (c) => new AmnesiacEWC(c as unknown as ConstructorParameters<typeof AmnesiacEWC>[0]) }],
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
