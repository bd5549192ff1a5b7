// Experience replay with a reservoir memory. After every optimizer step the
// batch's examples are offered to the memory (Vitter's algorithm R), so that
// at any time it is a uniform sample of every training example seen in the
// run; each step then adds the cross-entropy of a minibatch drawn from it to
// the batch's own (the `sum` combination of ER, er.ts, which also offers
// class-balanced memories and Mammoth's concatenated batch). Examples are
// stored with their task and their target in the paradigm's label space: CIL
// targets are global class indices, scored against the logits of every head
// seen so far, so old classes keep competing with new ones.
//
// Draws come from the plugin's own generator, reseeded per task from
// (seed, task): a run resumed from a task-end checkpoint makes the same draws
// as an uninterrupted one without saving generator state.
import { type Infer, integer, object } from '../../config/schema.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { MemoryBuffer } from '../memory/buffer.js';
import { Rehearsal } from '../memory/rehearsal.js';
import { replayedCrossEntropy } from '../memory/replayed_loss.js';
import type { StepContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';

const replayOptions = object({
  capacity: integer({ min: 1 }).default(1000).describe('replay: examples kept in the reservoir memory'),
  batchSize: integer({ min: 1 }).default(32).describe('replay: examples replayed per training step'),
  seed: integer({ min: 0 }).default(0).describe("replay: seed of the memory's own generator (insertion and draws)"),
});
/** The options of `replay`, validated and defaulted: an `algorithms` entry `{name: replay, ...}` without its name. */
export type ReplayOptions = Infer<typeof replayOptions>;

/** The `replay` algorithm. Reservoir replay: cross-entropy on a minibatch drawn from a uniform sample of past examples. */
export class Replay extends Rehearsal {
  readonly name = 'replay';
  readonly batchSize: number;

  constructor(options: ReplayOptions) {
    super(new MemoryBuffer({ capacity: options.capacity, policy: 'reservoir' }), options.seed, 'replay');
    this.batchSize = options.batchSize;
  }

  get capacity(): number {
    return this.memory.capacity;
  }

  /** Examples in the memory. */
  get size(): number {
    return this.memory.size;
  }

  /** Task ids and targets of the stored examples (a copy, for inspection). */
  contents(): { tasks: number[]; targets: number[] } {
    return { tasks: [...this.memory.storedTasks], targets: [...this.memory.storedTargets] };
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    return tidy(() => {
      const replayed = this.memory.sample(this.batchSize, this.rng);
      return replayed === null ? null : replayedCrossEntropy(ctx, replayed);
    });
  }

  onBatchEnd(ctx: StepContext): void {
    this.memory.insert({ x: ctx.x, targets: ctx.targets, task: ctx.task }, this.rng);
  }
}

/** The definition of `replay` (`algorithms: [{name: replay}]`): reservoir replay: cross-entropy on a minibatch drawn from a uniform sample of past examples. */
export const replayDefinition = defineAlgorithm({
  name: 'replay',
  summary: 'reservoir replay: cross-entropy on a minibatch drawn from a uniform sample of past examples',
  options: replayOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new Replay(options),
});
