// Experience replay with a reservoir buffer. After every optimizer step the
// batch's examples are offered to a reservoir (Vitter's algorithm R), so that
// at any time the buffer is a uniform sample of every training example seen
// in the run; each step then adds the cross-entropy of a minibatch drawn from
// the buffer. Examples are stored with their task and their target in the
// paradigm's label space: CIL targets are global class indices, scored
// against the logits of every head seen so far, so old classes keep
// competing with new ones (which a regulariser such as RWalk alone cannot
// achieve in class-incremental learning).
//
// Draws come from the plugin's own generator (src/continual/benchmarks/rng.ts), reseeded
// per task from (seed, task): a run resumed from a task-end checkpoint makes
// the same draws as an uninterrupted one without saving generator state.
import { type Infer, integer, object } from '../../config/schema.js';
import { crossEntropy } from '../../nn/functional.js';
import { tensor, zeros } from '../../tensor/creation.js';
import { noGrad } from '../../tensor/autograd.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Rng, deriveSeed } from '../benchmarks/rng.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { readStateValues } from './state.js';

const replayOptions = object({
  capacity: integer({ min: 1 }).default(1000).describe('replay: examples kept in the reservoir buffer'),
  batchSize: integer({ min: 1 }).default(32).describe('replay: examples replayed per training step'),
  seed: integer({ min: 0 }).default(0).describe("replay: seed of the buffer's own generator (insertion and draws)"),
});
export type ReplayOptions = Infer<typeof replayOptions>;

/** The JSON part of the checkpointed state: examples offered to the reservoir so far. */
const savedValues = object({ seen: integer({ min: 0 }) });

/**
 * Reservoir sampling over a stream: offer() says where (if anywhere) the next
 * item goes, so that after n offers each item is in the buffer with
 * probability min(1, capacity / n).
 */
export class Reservoir {
  /** Items offered so far. */
  seen = 0;
  constructor(
    readonly capacity: number,
    private rng: Rng,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Reservoir: capacity must be an integer >= 1, got ${capacity}`);
  }

  get size(): number {
    return Math.min(this.seen, this.capacity);
  }

  /** Replaces the generator (per-task reseeding). */
  reseed(rng: Rng): void {
    this.rng = rng;
  }

  /** The slot the next item is written to, or -1 when it is not kept. */
  offer(): number {
    this.seen++;
    if (this.seen <= this.capacity) return this.seen - 1;
    const j = this.rng.int(this.seen);
    return j < this.capacity ? j : -1;
  }

  /** `count` distinct slots drawn uniformly from the filled ones. */
  draw(count: number): Int32Array {
    return this.rng.permutation(this.size).subarray(0, Math.min(count, this.size));
  }
}

export class Replay implements Algorithm {
  readonly name = 'replay';
  readonly capacity: number;
  readonly batchSize: number;
  readonly seed: number;
  private readonly reservoir: Reservoir;
  // The buffer, allocated at the first stored example: inputs [capacity, ...],
  // task ids and targets [capacity] (int64).
  private x: Tensor | null = null;
  private tasks: Tensor | null = null;
  private targets: Tensor | null = null;

  constructor(options: ReplayOptions) {
    this.capacity = options.capacity;
    this.batchSize = options.batchSize;
    this.seed = options.seed;
    this.reservoir = new Reservoir(this.capacity, new Rng(deriveSeed(this.seed, 'replay', 0)));
  }

  /** Examples in the buffer. */
  get size(): number {
    return this.reservoir.size;
  }

  /** Task ids and targets of the stored examples (a copy, for inspection). */
  contents(): { tasks: number[]; targets: number[] } {
    if (this.tasks === null || this.targets === null) return { tasks: [], targets: [] };
    const n = this.size;
    return tidy(() => ({
      tasks: (this.tasks!.narrow(0, 0, n).toArray() as number[]).map(Number),
      targets: (this.targets!.narrow(0, 0, n).toArray() as number[]).map(Number),
    }));
  }

  onTaskStart(ctx: TaskContext): void {
    this.reservoir.reseed(new Rng(deriveSeed(this.seed, 'replay', ctx.task)));
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    if (this.size === 0 || this.x === null || this.tasks === null || this.targets === null) return null;
    const slots = this.reservoir.draw(this.batchSize);
    const x = this.x;
    const storedTasks = this.tasks;
    const storedTargets = this.targets;
    return tidy(() => {
      const index = tensor(Array.from(slots), { dtype: 'int64' });
      const feature = ctx.model.backbone.forward(x.indexSelect(0, index)).feature;
      const targets = storedTargets.indexSelect(0, index);
      if (ctx.paradigm !== 'til') {
        // CIL: logits of heads 1..current, stored targets are global; DIL: the one shared head.
        return crossEntropy(ctx.model.heads.forward(feature, ctx.task), targets);
      }
      // TIL: each example through its own task's head; the mean over all replayed examples.
      const taskOf = storedTasks.indexSelect(0, index);
      const ids = [...new Set((taskOf.toArray() as number[]).map(Number))].sort((a, b) => a - b);
      let total: Tensor | null = null;
      for (const t of ids) {
        const rows = taskOf.eq(t).nonzero().flatten();
        const term = crossEntropy(ctx.model.heads.forward(feature.indexSelect(0, rows), t), targets.indexSelect(0, rows), { reduction: 'sum' });
        total = total === null ? term : total.add(term);
      }
      return total!.div(slots.length);
    });
  }

  onBatchEnd(ctx: StepContext): void {
    const n = ctx.x.shape[0]!;
    // Later examples of the batch overwrite earlier ones drawn to the same slot.
    const writes = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const slot = this.reservoir.offer();
      if (slot >= 0) writes.set(slot, i);
    }
    if (writes.size === 0) return;
    this.allocate(ctx.x);
    const slots = [...writes.keys()];
    const rows = [...writes.values()];
    tidy(() =>
      noGrad(() => {
        const slotIndex = tensor(slots, { dtype: 'int64' });
        const rowIndex = tensor(rows, { dtype: 'int64' });
        this.x!.indexPut_(slotIndex, ctx.x.detach().indexSelect(0, rowIndex));
        this.targets!.indexPut_(slotIndex, ctx.targets.detach().long().indexSelect(0, rowIndex));
        this.tasks!.indexPut_(slotIndex, ctx.task);
      }),
    );
  }

  private allocate(x: Tensor): void {
    if (this.x !== null) return;
    this.x = keep(zeros([this.capacity, ...x.shape.slice(1)], { dtype: x.dtype, device: x.device }));
    this.tasks = keep(zeros([this.capacity], { dtype: 'int64', device: x.device }));
    this.targets = keep(zeros([this.capacity], { dtype: 'int64', device: x.device }));
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    if (this.x !== null && this.tasks !== null && this.targets !== null) {
      tensors['x'] = this.x;
      tensors['tasks'] = this.tasks;
      tensors['targets'] = this.targets;
    }
    return { tensors, values: { seen: this.reservoir.seen } };
  }

  loadState(state: AlgorithmState): void {
    const { seen } = readStateValues(savedValues, state.values);
    const { x, tasks, targets } = state.tensors;
    if (seen > 0 && (x === undefined || tasks === undefined || targets === undefined)) throw new Error('Replay.loadState: the buffer tensors x, tasks and targets are missing');
    if (x !== undefined && x.shape[0] !== this.capacity) throw new Error(`Replay.loadState: the saved buffer holds ${x.shape[0]} examples, but capacity is ${this.capacity}`);
    this.dispose();
    this.reservoir.seen = seen;
    // The caller frees what it read: keep copies.
    if (x !== undefined && tasks !== undefined && targets !== undefined) {
      this.x = keep(x.detach().clone());
      this.tasks = keep(tasks.detach().clone());
      this.targets = keep(targets.detach().clone());
    }
  }

  dispose(): void {
    this.x?.dispose();
    this.tasks?.dispose();
    this.targets?.dispose();
    this.x = this.tasks = this.targets = null;
    this.reservoir.seen = 0;
  }
}

export const replayDefinition = defineAlgorithm({
  name: 'replay',
  summary: 'reservoir replay: cross-entropy on a minibatch drawn from a uniform sample of past examples',
  options: replayOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: () => 'retains',
  create: (options) => new Replay(options),
});
