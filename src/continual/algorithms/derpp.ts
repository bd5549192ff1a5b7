// DER++ (Buzzega et al., NeurIPS 2020; algorithms-next.md section 16): DER's
// logit matching plus the cross-entropy of the stored targets on a second,
// independent draw from the same memory (der.ts has the memory, the draws and
// the matching):
//
//   L = CE(B) + α · E_{(x,z)~M} ||h_θ(x) − z||² + β · E_{(x',y')~M} CE(y', h_θ(x'))
//
// Two draws, as Mammoth's derpp.py (two get_data calls): CLArena and
// Avalanche serve both terms from one minibatch. The α draw comes first.
// Defaults are Mammoth's best arguments for Seq-CIFAR-10 with a buffer of
// 200: α 0.1, β 0.5 (also Avalanche's defaults).
import { type Infer, number, object } from '../../config/schema.js';
import { DER, derCilHeads, derOptionFields } from './der.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';

const derppOptions = object({
  ...derOptionFields('derpp', 0.1),
  beta: number({ min: 0 }).default(0.5).describe('derpp: weight β of the cross-entropy on a second, independent draw from the memory'),
});
/** The options of `derpp`, validated and defaulted: an `algorithms` entry `{name: derpp, ...}` without its name. */
export type DERppOptions = Infer<typeof derppOptions>;

/** The definition of `derpp` (`algorithms: [{name: derpp}]`): DER++: dark experience replay plus the cross-entropy of the stored targets on a second draw from the memory. */
export const derppDefinition = defineAlgorithm({
  name: 'derpp',
  summary: 'DER++: dark experience replay plus the cross-entropy of the stored targets on a second draw from the memory',
  options: derppOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  cilHeads: (options) => derCilHeads('derpp', options.cilLogits),
  create: (options) => new DER(options, 'derpp'),
});
