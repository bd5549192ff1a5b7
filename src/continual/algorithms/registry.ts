// Every algorithm a configuration can name, as an explicit list of their
// definitions. Config validation, `perennial list`, docs/configuration.md and
// the runner all read this list; adding an algorithm is adding its file and
// one line here.
import { agemDefinition } from './agem.js';
import type { Algorithm } from './algorithm.js';
import { amnesiacEwcDefinition } from './amnesiac_ewc.js';
import { amnesiacFinetuningDefinition } from './amnesiac_finetuning.js';
import { amnesiacLwfDefinition } from './amnesiac_lwf.js';
import { amnesiacSiDefinition } from './amnesiac_si.js';
import { cbpDefinition } from './cbp.js';
import type { CilHeadsNeed, ConfigOf, ParadigmIssue, UnlearningRole } from './definition.js';
import type { Paradigm } from '../contracts/types.js';
import { derDefinition } from './der.js';
import { derppDefinition } from './derpp.js';
import { erDefinition } from './er.js';
import { erAceDefinition } from './er_ace.js';
import { ewcDefinition } from './ewc.js';
import { finetuningDefinition } from './finetuning.js';
import { icarlDefinition } from './icarl.js';
import { lwfDefinition } from './lwf.js';
import { fixDefinition } from './fix.js';
import { gdumbDefinition } from './gdumb.js';
import { masDefinition } from './mas.js';
import { onlineEwcDefinition } from './online_ewc.js';
import { packnetDefinition } from './packnet.js';
import { replayDefinition } from './replay.js';
import { rwalkDefinition } from './rwalk.js';
import { siDefinition } from './si.js';
import { wsnDefinition } from './wsn.js';
import { hatDefinition } from './hat.js';
import { adahatDefinition } from './adahat.js';

/** Every algorithm a configuration's `algorithms` list can name, in the order `perennial list` shows them. */
export const ALGORITHM_DEFINITIONS = [
  finetuningDefinition,
  fixDefinition,
  ewcDefinition,
  onlineEwcDefinition,
  rwalkDefinition,
  siDefinition,
  masDefinition,
  lwfDefinition,
  replayDefinition,
  erDefinition,
  erAceDefinition,
  derDefinition,
  derppDefinition,
  icarlDefinition,
  agemDefinition,
  gdumbDefinition,
  wsnDefinition,
  hatDefinition,
  adahatDefinition,
  packnetDefinition,
  cbpDefinition,
  amnesiacFinetuningDefinition,
  amnesiacEwcDefinition,
  amnesiacLwfDefinition,
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

/** The algorithms that undo tasks on request with their default options (for messages). */
export function unlearningAlgorithmNames(): string[] {
  return ALGORITHM_DEFINITIONS.filter((d) => {
    const defaults = d.options.validate({});
    return defaults.ok && d.unlearningIfNamed({ name: d.name, ...defaults.value }) === 'unlearns';
  }).map((d) => d.name);
}

/** `a`, `a or b`, `a, b or c`. */
function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** The advice when unlearning is requested and nothing can do it. */
export function useAnUnlearningAlgorithm(): string {
  return `use ${orList(unlearningAlgorithmNames())}`;
}

/** How a validated `algorithms` entry stands towards unlearning requests. */
export function unlearningRole(config: AlgorithmConfig): UnlearningRole {
  for (const definition of ALGORITHM_DEFINITIONS) {
    const role = definition.unlearningIfNamed(config);
    if (role !== null) return role;
  }
  throw new Error(`unknown algorithm '${config.name}'`);
}

/** What a validated `algorithms` entry needs of the class-incremental heads, or null when either serves. */
export function cilHeadsNeed(config: AlgorithmConfig): CilHeadsNeed | null {
  for (const definition of ALGORITHM_DEFINITIONS) {
    const need = definition.cilHeadsIfNamed(config);
    if (need !== null) return need;
  }
  return null;
}

/** Why a validated `algorithms` entry's options do not work in `paradigm`, or null. */
export function paradigmIssue(config: AlgorithmConfig, paradigm: Paradigm): ParadigmIssue | null {
  for (const definition of ALGORITHM_DEFINITIONS) {
    const issue = definition.paradigmIssueIfNamed(config, paradigm);
    if (issue !== null) return issue;
  }
  return null;
}
