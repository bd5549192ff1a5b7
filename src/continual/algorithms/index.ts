// The algorithms: the lifecycle contract, each algorithm's definition and
// class, and the registry that lists them.
export type { Algorithm, AlgorithmState, AlgorithmSummary, BatchContext, BatchPosition, StepContext, TaskContext, TrainingSet, UnlearningContext } from './algorithm.js';
export { type AlgorithmDefinition, type CilHeads, type CilHeadsNeed, type ConfigOf, type DefinedAlgorithm, type ParadigmIssue, type UnlearningRole, ALL_PARADIGMS, defineAlgorithm, instantiate } from './definition.js';
export { ALGORITHM_DEFINITIONS, type AlgorithmConfig, type AlgorithmName, algorithmDefinition, createAlgorithm, createAlgorithms, unlearningRole } from './registry.js';
export { readStateTensor, readStateValues } from './state.js';
export { AmnesiacBookkeeping, type AmnesiacOptions, TaskDeltas } from './amnesiac.js';
export { AmnesiacEWC, type AmnesiacEWCOptions, amnesiacEwcDefinition } from './amnesiac_ewc.js';
export { AmnesiacFinetuning, type AmnesiacFinetuningOptions, amnesiacFinetuningDefinition } from './amnesiac_finetuning.js';
export { Finetuning, finetuningDefinition } from './finetuning.js';
export { EWC, type EWCOptions, ewcDefinition } from './ewc.js';
export { OnlineEWC, type OnlineEWCOptions, onlineEwcDefinition } from './online_ewc.js';
export { QuadraticAnchors } from './quadratic_anchors.js';
export { RWalk, type RWalkOptions, rwalkDefinition } from './rwalk.js';
export { Replay, type ReplayOptions, replayDefinition } from './replay.js';
export { ER, type EROptions, erDefinition } from './er.js';
export { ERACE, type ERACEOptions, MASKED_LOGIT, aceMask, erAceDefinition } from './er_ace.js';
export { DER, type DEROptions, type DERDraws, type DERTerms, derDefinition, logitMatching } from './der.js';
export { type DERppOptions, derppDefinition } from './derpp.js';
export { GDumb, type GDumbOptions, gdumbDefinition, reinitialize } from './gdumb.js';
export { AGEM, type AGEMOptions, agemDefinition, projectGradient } from './agem.js';
export { CBP, type CBPOptions, type CBPUtility, cbpDefinition } from './cbp.js';
export { WSN, type WSNOptions, type WSNReport, readWSNReport, wsnDefinition } from './wsn.js';
export { HAT, type HATOptions, type HATReport, annealedScale, compensationFactor, hatDefinition } from './hat.js';
export { AdaHAT, type AdaHATOptions, adahatDefinition, adjustmentRate } from './adahat.js';
export { PackNet, type PackNetOptions, type PackNetReport, type PackNetTaskReport, packnetDefinition, readPackNetReport } from './packnet.js';
export { ICaRL, type ICaRLOptions, herding, icarlDefinition, icarlLoss, l2Normalise } from './icarl.js';
