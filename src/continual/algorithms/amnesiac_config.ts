// Configuration of the Amnesiac algorithms: the `algorithms` entries
//   - { name: amnesiacFinetuning, disableUnlearning }
//   - { name: amnesiacEwc, lambda, fisherTiming, estimator, disableUnlearning, subtractDeltaFromLaterAnchors }
// Unlearning requests themselves are the experiment's `unlearning` section.
import { registerAlgorithmSchema } from '../../config/experiment.js';
import { boolean, object } from '../../config/schema.js';
import { estimator, fisherTiming, lambda } from './ewc_config.js';

declare module '../../config/experiment.js' {
  interface AlgorithmConfigs {
    amnesiacFinetuning: { name: 'amnesiacFinetuning'; disableUnlearning: boolean };
    amnesiacEwc: {
      name: 'amnesiacEwc';
      lambda: number;
      fisherTiming: 'train' | 'train_end';
      estimator: 'minibatch' | 'empirical' | 'true' | 'expected';
      disableUnlearning: boolean;
      subtractDeltaFromLaterAnchors: boolean;
    };
  }
}

const disableUnlearning = boolean().default(false).describe("record nothing (no memory cost) and accept no unlearning requests");

registerAlgorithmSchema('amnesiacFinetuning', object({ disableUnlearning }), {
  unlearning: (c) => (c.disableUnlearning ? 'stateless' : 'unlearns'),
});
registerAlgorithmSchema(
  'amnesiacEwc',
  object({
    lambda,
    fisherTiming,
    estimator,
    disableUnlearning,
    subtractDeltaFromLaterAnchors: boolean()
      .default(false)
      .describe("on unlearning task u, also subtract its Δθ_u from the anchors of the tasks trained after u"),
  }),
  { unlearning: (c) => (c.disableUnlearning ? 'retains' : 'unlearns') },
);
