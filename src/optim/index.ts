// Optimizers and learning-rate schedules, as torch.optim.
export {
  Optimizer,
  packStateDict,
  disposeStateDict,
  unpackStateDict,
  type BaseHyperparameters,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamsArg,
  type ParamState,
  type SavedParamGroup,
  type OptimizerStateDict,
  type PackedOptimizerState,
} from './optimizer.js';
export { SGD, type SGDHyperparameters, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamHyperparameters, type AdamOptions } from './adam.js';
export {
  LRScheduler,
  StepLR,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  ReduceLROnPlateau,
  type LrGroups,
  type ReduceLROnPlateauOptions,
  type SchedulerStateDict,
} from './lr_scheduler.js';
export { clipGradNorm_ } from './clip_grad.js';
