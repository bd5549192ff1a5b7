// A-GEM, Averaged Gradient Episodic Memory (Chaudhry, Ranzato, Rohrbach &
// Elhoseiny, ICLR 2019), as algorithms-next.md section 17 defines it. At every
// step of task t, with g the gradient of the batch's loss flattened over all
// trainable parameters and g_ref the gradient of the loss on a minibatch
// drawn from the episodic memory of tasks 1 .. t−1:
//
//   if gᵀ g_ref < 0:   g̃ = g − (gᵀ g_ref / g_refᵀ g_ref) · g_ref      else g̃ = g
//
// and the optimizer steps on g̃: the update may not increase the average loss
// on the memory (to first order), and is left alone when it does not.
//
// g is read from .grad after the backward pass (a parameter the loss does not
// reach, such as another task's head, counts as zeros); g_ref comes from the
// functional grad, so .grad holds g until g̃ is written back. The reference
// loss scores each memory example with the head its paradigm gives it (TIL
// its own task's head, CIL every head seen, DIL the shared one: see
// memory/replayed_loss.ts). The reference forward runs in training mode, as
// in the authors' code: with batch norm it updates the running statistics
// with the memory batch's.
//
// Memory: one MemoryBuffer of `capacity` examples, whatever the number of
// tasks (Mammoth keeps one training batch per task). It is filled at the end
// of each task: the task's training examples are offered in a random order
// (from the algorithm's generator) to the insertion policy, 'reservoir' by
// default, so that the memory is at every task a uniform sample of all the
// examples of the tasks before (with equal tasks, balanced across them in
// expectation), or 'classBalanced' (a quota per class). Filling at task end
// means that while task t trains the memory holds tasks 1 .. t−1 only, as the
// definition asks, without filtering rows by task.
//
// The reference batch is `batchSize` examples drawn without replacement from
// the whole memory (all of it when it holds fewer): Avalanche draws
// batchSize // tasks from each task, which rounds the batch down.
import { type Infer, enumOf, integer, object } from '../../config/schema.js';
import { grad, noGrad } from '../../tensor/autograd.js';
import { zerosLike } from '../../tensor/creation.js';
import { subset } from '../benchmarks/data.js';
import { cat } from '../../tensor/functions.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Parameter } from '../../nn/parameter.js';
import { type MemoryBatch, MemoryBuffer } from '../memory/buffer.js';
import { Rehearsal } from '../memory/rehearsal.js';
import { replayedCrossEntropy } from '../memory/replayed_loss.js';
import type { StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';

const agemOptions = object({
  capacity: integer({ min: 1 }).default(1000).describe('agem: examples the episodic memory keeps, over all tasks'),
  batchSize: integer({ min: 1 }).default(256).describe('agem: examples in the reference batch drawn from the memory at each step (the authors\' 256)'),
  policy: enumOf(['reservoir', 'classBalanced'])
    .default('reservoir')
    .describe("agem: how a finished task's examples enter the memory: 'reservoir' (a uniform sample of all past examples) or 'classBalanced' (a quota per class)"),
  seed: integer({ min: 0 }).default(0).describe("agem: seed of the memory's own generator (insertion order, reference draws)"),
});
/** The options of `agem`, validated and defaulted: an `algorithms` entry `{name: agem, ...}` without its name. */
export type AGEMOptions = Infer<typeof agemOptions>;

/** Examples offered to the memory per insertion call at task end (bounds the copies made). */
const INSERTION_CHUNK = 1024;

/**
 * g̃: g projected when it conflicts with g_ref (gᵀ g_ref < 0), else g itself
 * (a copy). Both are flat vectors of the same length.
 */
export function projectGradient(g: Tensor, gRef: Tensor): Tensor {
  return tidy(() => {
    const dot = g.dot(gRef);
    if (dot.item() >= 0) return g.clone();
    return g.sub(gRef.mul(dot.div(gRef.dot(gRef))));
  });
}

/** The `agem` algorithm. Averaged gradient episodic memory: projects the step's gradient when it would increase the loss on a memory batch of earlier tasks. */
export class AGEM extends Rehearsal {
  readonly name = 'agem';
  readonly batchSize: number;
  /** Steps of the current task whose gradient was projected (gᵀ g_ref < 0), and steps with a reference batch. */
  projected = 0;
  referenced = 0;

  constructor(options: AGEMOptions) {
    super(new MemoryBuffer({ capacity: options.capacity, policy: options.policy }), options.seed, 'agem');
    this.batchSize = options.batchSize;
  }

  override onTaskStart(ctx: TaskContext): void {
    super.onTaskStart(ctx);
    this.projected = 0;
    this.referenced = 0;
  }

  /** The reference batch: `batchSize` distinct memory examples (all when fewer are stored), or null while the memory is empty. */
  drawReference(): MemoryBatch | null {
    return this.memory.sample(this.batchSize, this.rng);
  }

  afterBackward(ctx: StepContext): void {
    if (this.memory.size === 0) return;
    tidy(() => {
      const params = ctx.model.parameters().filter((p) => p.requiresGrad);
      const reference = this.drawReference()!;
      const gRefs = grad(replayedCrossEntropy(ctx, reference), params, { allowUnused: true });
      const g = flatten(params.map((p) => p.grad ?? zerosLike(p)));
      const gRef = flatten(params.map((p, i) => gRefs[i] ?? zerosLike(p)));
      this.referenced++;
      if (g.dot(gRef).item() >= 0) return;
      this.projected++;
      writeBack(params, projectGradient(g, gRef));
    });
  }

  /** Offers the task's training examples, in a random order, to the memory. */
  onTaskEnd(ctx: TaskContext): void {
    const order = this.rng.permutation(ctx.trainData.size);
    for (let start = 0; start < order.length; start += INSERTION_CHUNK) {
      tidy(() => {
        // Built from the task's rows, not selected from the whole split built at once.
        const chunk = subset(ctx.trainData, order.subarray(start, Math.min(start + INSERTION_CHUNK, order.length)));
        this.memory.insert({ x: chunk.x, targets: ctx.model.heads.targets(chunk.y, ctx.task), task: ctx.task }, this.rng);
      });
    }
  }

  summary() {
    return {
      text: `memory ${this.memory.size}/${this.memory.capacity}, projected ${this.projected} of ${this.referenced} steps`,
      values: { memory: this.memory.size, projectedSteps: this.projected, referencedSteps: this.referenced },
    };
  }
}

/** The tensors as one flat vector, in order. */
function flatten(tensors: readonly Tensor[]): Tensor {
  return cat(tensors.map((t) => t.flatten()));
}

/** Writes consecutive slices of the flat `vector` into the parameters' .grad (creating those that were missing). */
function writeBack(params: readonly Parameter[], vector: Tensor): void {
  noGrad(() => {
    let offset = 0;
    for (const p of params) {
      const n = p.numel();
      const slice = vector.narrow(0, offset, n).view(p.shape);
      offset += n;
      const current = p.grad;
      if (current === null) p.grad = slice.clone();
      else current.copy_(slice);
    }
  });
}

/** The definition of `agem` (`algorithms: [{name: agem}]`): averaged gradient episodic memory: projects the step's gradient when it would increase the loss on a memory batch of earlier tasks. */
export const agemDefinition = defineAlgorithm({
  name: 'agem',
  summary: 'averaged gradient episodic memory: projects the step\'s gradient when it would increase the loss on a memory batch of earlier tasks',
  options: agemOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new AGEM(options),
});
