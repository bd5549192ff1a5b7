// Configuration of EWC and online EWC: the `algorithms` entries
//   - { name: ewc, lambda, fisherTiming, estimator }
//   - { name: onlineEwc, lambda, gamma, fisherTiming, estimator }
import { registerAlgorithmSchema } from '../../config/experiment.js';
import { enumOf, number, object } from '../../config/schema.js';

declare module '../../config/experiment.js' {
  interface AlgorithmConfigs {
    ewc: { name: 'ewc'; lambda: number; fisherTiming: 'train' | 'train_end'; estimator: 'minibatch' | 'empirical' | 'true' | 'expected' };
    onlineEwc: { name: 'onlineEwc'; lambda: number; gamma: number; fisherTiming: 'train' | 'train_end'; estimator: 'minibatch' | 'empirical' | 'true' | 'expected' };
  }
}

export const lambda = number({ min: 0, minExclusive: true }).default(1).describe('λ, the penalty strength (CLArena: parameter_change_reg_factor)');
export const fisherTiming = enumOf(['train', 'train_end']).default('train_end').describe('when the Fisher is estimated: during training steps or in a pass after the task');
export const estimator = enumOf(['minibatch', 'empirical', 'true', 'expected'])
  .default('minibatch')
  .describe("the Fisher estimator: CLArena's B·(∇ batch loss)² over N, or exact per-sample empirical, true (sampled labels) or expected (exact over classes); the exact ones need fisherTiming train_end");

registerAlgorithmSchema('ewc', object({ lambda, fisherTiming, estimator }));
registerAlgorithmSchema('onlineEwc', object({ lambda, gamma: number({ min: 0, max: 1 }).default(1).describe('decay γ of the running Fisher'), fisherTiming, estimator }));
