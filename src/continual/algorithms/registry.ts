// Every algorithm a configuration can name, as an explicit list of their
// definitions. Config validation, `perennial list`, docs/configuration.md and
// the runner all read this list; adding an algorithm is adding its file and
// one line here.
import type { Algorithm } from './algorithm.js';
import { amnesiacEwcDefinition } from './amnesiac_ewc.js';
import { amnesiacFinetuningDefinition } from './amnesiac_finetuning.js';
import { amnesiacSiDefinition } from './amnesiac_si.js';
import { cbpDefinition } from './cbp.js';
import type { ConfigOf, UnlearningRole } from './definition.js';
import { ewcDefinition } from './ewc.js';
import { finetuningDefinition } from './finetuning.js';
import { onlineEwcDefinition } from './online_ewc.js';
import { replayDefinition } from './replay.js';
import { rwalkDefinition } from './rwalk.js';
import { siDefinition } from './si.js';
import { wsnDefinition } from './wsn.js';

export const ALGORITHM_DEFINITIONS = [
  finetuningDefinition,
  ewcDefinition,
  onlineEwcDefinition,
  rwalkDefinition,
  replayDefinition,
  wsnDefinition,
  cbpDefinition,
  amnesiacFinetuningDefinition,
  amnesiacEwcDefinition,
  siDefinition,
  amnesiacSiDefinition,
] as const;

type Definitions = (typeof ALGORITHM_DEFINITIONS)[number];

/** The names accepted in `algorithms[].name`. */
export type AlgorithmName = Definitions['name'];

/** A validated entry of `algorithms`: an algorithm's name and its options, defaults filled. */
export type AlgorithmConfig = ConfigOf<Definitions>;

/** The definition named `name`, or undefined. */
export function algorithmDefinition(name: string): Definitions | undefined {
  return ALGORITHM_DEFINITIONS.find((d) => d.name === name);
}

/** A fresh algorithm from a validated `algorithms` entry. */
export function createAlgorithm(config: AlgorithmConfig): Algorithm {
  for (const definition of ALGORITHM_DEFINITIONS) {
    const made = definition.createIfNamed(config);
    if (made !== null) return made;
  }
  throw new Error(`unknown algorithm '${config.name}' (known: ${ALGORITHM_DEFINITIONS.map((d) => d.name).join(', ')})`);
}

/** Fresh algorithms from validated `algorithms` entries, in their order. */
export function createAlgorithms(configs: readonly AlgorithmConfig[]): Algorithm[] {
  return configs.map(createAlgorithm);
}

/** How a validated `algorithms` entry stands towards unlearning requests. */
export function unlearningRole(config: AlgorithmConfig): UnlearningRole {
  for (const definition of ALGORITHM_DEFINITIONS) {
    const role = definition.unlearningIfNamed(config);
    if (role !== null) return role;
  }
  throw new Error(`unknown algorithm '${config.name}'`);
}
