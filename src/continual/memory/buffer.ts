// The memory of the rehearsal algorithms (algorithms-next.md sections 0 and
// 15-20): a fixed number of slots, each holding an input exactly as the
// trainer gave it, its target in the paradigm's label space (CIL: the global
// class), its task and, for DER, the logits computed for it at insertion
// with their width at that time. An insertion policy (insertion.ts) decides
// which examples are kept; draws are without replacement from the caller's
// generator (Rng.choose), so that the model's own random stream is untouched.
//
// Its memory is bounded by the capacity whatever the number of tasks: the
// tensors are allocated once, at the first insertion, with `capacity` rows.
// Logits are stored padded to the widest seen so far (TIL heads may differ
// in width); `logitWidths` says how many columns of each row are real.
import { type Infer, array, integer, object } from '../../config/schema.js';
import { tensor, zeros } from '../../tensor/creation.js';
import { noGrad } from '../../tensor/autograd.js';
import { cat } from '../../tensor/functions.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Rng } from '../benchmarks/rng.js';
import type { AlgorithmState } from '../algorithms/algorithm.js';
import { readStateTensor, readStateValues } from '../algorithms/state.js';
import { type InsertionPolicyName, type StreamCounts, insertionPolicies } from './insertion.js';

/** A batch offered to the memory: rows of `x`, their targets, and optionally their logits. */
export interface MemoryInsertion {
  readonly x: Tensor;
  /** Targets in the paradigm's label space, [N]. */
  readonly targets: Tensor;
  readonly task: number;
  /** Logits computed for `x` now, [N, W] (DER). Detached when stored. */
  readonly logits?: Tensor;
}

/** A draw from the memory; the tensors belong to the caller's scope. */
export interface MemoryBatch {
  /** The slots drawn, in draw order. */
  readonly slots: readonly number[];
  readonly x: Tensor;
  /** int64 [B] */
  readonly targets: Tensor;
  /** The task of each drawn row (read from the memory's own record, not a tensor: only TIL's grouping by head needs it). */
  readonly tasks: readonly number[];
  /** [B, widest] padded with zeros, when the memory stores logits. */
  readonly logits: Tensor | null;
  /** The real width of each drawn row's logits. */
  readonly logitWidths: readonly number[];
}

export interface MemoryBufferOptions {
  readonly capacity: number;
  readonly policy: InsertionPolicyName;
  /** Whether inserted batches carry logits that are kept (DER). */
  readonly storesLogits?: boolean;
}

/** The JSON part of a buffer's checkpointed state. */
const savedValues = object({
  seen: integer({ min: 0 }),
  /** [class, examples offered] in the order the classes first appeared. */
  seenPerClass: array(array(integer(), { minLength: 2, maxLength: 2 })),
  logitWidths: array(integer({ min: 0 })),
});
type SavedValues = Infer<typeof savedValues>;

export class MemoryBuffer {
  readonly capacity: number;
  readonly policy: InsertionPolicyName;
  readonly storesLogits: boolean;
  private readonly counts: StreamCounts = { seen: 0, seenPerClass: new Map() };
  // Mirrors of the filled slots' targets, tasks and logit widths, so that
  // policies and deletion never read tensors back.
  private classOf: number[] = [];
  private taskOf: number[] = [];
  private widthOf: number[] = [];
  private x: Tensor | null = null;
  private targets: Tensor | null = null;
  private tasks: Tensor | null = null;
  private logits: Tensor | null = null;
  private indexScratch: Int32Array | null = null;

  constructor(options: MemoryBufferOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError(`MemoryBuffer: capacity must be an integer >= 1, got ${options.capacity}`);
    this.capacity = options.capacity;
    this.policy = options.policy;
    this.storesLogits = options.storesLogits ?? false;
  }

  /** Examples stored. */
  get size(): number {
    return this.classOf.length;
  }

  /** Examples offered so far. */
  get seen(): number {
    return this.counts.seen;
  }

  /** The target of each stored example, by slot. */
  get storedTargets(): readonly number[] {
    return this.classOf;
  }

  /** The task of each stored example, by slot. */
  get storedTasks(): readonly number[] {
    return this.taskOf;
  }

  /** The number of stored examples of each target. */
  classCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const c of this.classOf) counts.set(c, (counts.get(c) ?? 0) + 1);
    return counts;
  }

  /**
   * Offers every row of `batch` to the memory, in order, through the policy;
   * returns how many were kept. A later row may overwrite an earlier one of
   * the same batch, as it would one at a time.
   */
  insert(batch: MemoryInsertion, rng: Rng): number {
    const n = this.checkInsertion('insert', batch);
    const labels = Array.from(batch.targets.toTypedArray(), Number);
    const width = batch.logits?.shape[1] ?? 0;
    const writes = new Map<number, number>();
    const policy = insertionPolicies[this.policy];
    for (let row = 0; row < n; row++) {
      const label = labels[row]!;
      this.countOffered(label);
      const slot = policy({ capacity: this.capacity, classes: this.classOf }, label, this.counts, rng);
      if (slot < 0) continue;
      this.classOf[slot] = label;
      this.taskOf[slot] = batch.task;
      this.widthOf[slot] = width;
      writes.set(slot, row);
    }
    if (writes.size > 0) this.write([...writes.keys()], [...writes.values()], batch);
    return writes.size;
  }

  /**
   * Stores every row of `batch` in the next free slots, in order, with no
   * policy (iCaRL chooses its exemplars itself), counting them as offered;
   * throws when they do not fit.
   */
  append(batch: MemoryInsertion): void {
    const n = this.checkInsertion('append', batch);
    if (this.size + n > this.capacity) throw new RangeError(`MemoryBuffer.append: ${n} examples do not fit in the ${this.capacity - this.size} free slots`);
    if (n === 0) return;
    const labels = Array.from(batch.targets.toTypedArray(), Number);
    const slots = labels.map((_, row) => this.size + row);
    for (const label of labels) {
      // Offered and kept: counted as seen, as insert counts what it is offered.
      this.countOffered(label);
      this.classOf.push(label);
      this.taskOf.push(batch.task);
      this.widthOf.push(batch.logits?.shape[1] ?? 0);
    }
    this.write(slots, labels.map((_, row) => row), batch);
  }

  /** The number of rows of `batch`, after checking that it fits this memory. */
  private countOffered(label: number): void {
    this.counts.seen++;
    this.counts.seenPerClass.set(label, (this.counts.seenPerClass.get(label) ?? 0) + 1);
  }

  private checkInsertion(fn: string, batch: MemoryInsertion): number {
    const n = batch.x.shape[0]!;
    if (batch.targets.shape.length !== 1 || batch.targets.shape[0] !== n) {
      throw new RangeError(`MemoryBuffer.${fn}: targets must have shape [${n}], got [${batch.targets.shape.join(', ')}]`);
    }
    if (this.storesLogits !== (batch.logits !== undefined)) {
      throw new Error(`MemoryBuffer.${fn}: this memory ${this.storesLogits ? 'stores logits, and none were given' : 'does not store logits, and some were given'}`);
    }
    // Checked before anything is counted, so that a refused batch leaves the memory as it was.
    const stored = this.x;
    if (stored !== null && (batch.x.shape.length !== stored.shape.length || batch.x.shape.slice(1).some((d, i) => d !== stored.shape[i + 1]))) {
      throw new RangeError(`MemoryBuffer.${fn}: inputs of shape [${batch.x.shape.slice(1).join(', ')}] cannot join a memory of [${stored.shape.slice(1).join(', ')}]`);
    }
    if (stored !== null && batch.x.dtype !== stored.dtype) throw new TypeError(`MemoryBuffer.${fn}: inputs of dtype ${batch.x.dtype} cannot join a memory of ${stored.dtype}`);
    return n;
  }

  /** `count` distinct examples (all, if fewer are stored) drawn uniformly with `rng`, or null when empty. */
  sample(count: number, rng: Rng): MemoryBatch | null {
    if (this.size === 0) return null;
    return this.gather(rng.choose(this.size, count));
  }

  /** The examples in `slots` (all stored ones by default), in that order. */
  gather(slots: readonly number[] = [...this.classOf.keys()]): MemoryBatch {
    if (this.x === null || this.targets === null || this.tasks === null) throw new Error('MemoryBuffer.gather: the memory is empty');
    for (const slot of slots) if (slot < 0 || slot >= this.size) throw new RangeError(`MemoryBuffer.gather: slot ${slot} is not filled (size ${this.size})`);
    // An int32 index (index_select takes it as it is) written into one buffer
    // kept for the purpose: V8 allocates a new typed array's memory outside
    // its heap, which would cost more than the rest of a draw.
    this.indexScratch ??= new Int32Array(this.capacity);
    this.indexScratch.set(slots);
    const index = tensor(this.indexScratch.subarray(0, slots.length));
    const logits = this.logits;
    const batch: MemoryBatch = {
      slots,
      x: this.x.indexSelect(0, index),
      targets: this.targets.indexSelect(0, index),
      tasks: slots.map((slot) => this.taskOf[slot]!),
      logits: logits === null ? null : logits.indexSelect(0, index),
      logitWidths: slots.map((slot) => this.widthOf[slot]!),
    };
    index.dispose();
    return batch;
  }

  /** Removes every example of `task`, keeping the others in slot order; the freed slots fill first. Returns how many went. */
  deleteTask(task: number): number {
    const keepSlots: number[] = [];
    this.taskOf.forEach((t, slot) => {
      if (t !== task) keepSlots.push(slot);
    });
    return this.retain(keepSlots);
  }

  /**
   * Keeps only the examples in `slots` (distinct filled slots), moved to
   * slots 0, 1, ... in that order; the freed slots fill first. Returns how
   * many went. (iCaRL keeps the first m exemplars of each class.)
   */
  retain(slots: readonly number[]): number {
    const seen = new Set<number>();
    for (const slot of slots) {
      if (!Number.isInteger(slot) || slot < 0 || slot >= this.size) throw new RangeError(`MemoryBuffer.retain: slot ${slot} is not filled (size ${this.size})`);
      if (seen.has(slot)) throw new RangeError(`MemoryBuffer.retain: slot ${slot} is listed twice`);
      seen.add(slot);
    }
    const removed = this.size - slots.length;
    if (slots.every((slot, i) => slot === i) && removed === 0) return 0;
    const keepSlots = [...slots];
    this.classOf = keepSlots.map((slot) => this.classOf[slot]!);
    this.taskOf = keepSlots.map((slot) => this.taskOf[slot]!);
    this.widthOf = keepSlots.map((slot) => this.widthOf[slot]!);
    tidy(() =>
      noGrad(() => {
        const n = keepSlots.length;
        if (n === 0) return;
        const index = tensor(keepSlots, { dtype: 'int64' });
        const target = tensor(Array.from({ length: n }, (_, i) => i), { dtype: 'int64' });
        for (const stored of [this.x, this.targets, this.tasks, this.logits]) stored?.indexPut_(target, stored.indexSelect(0, index));
      }),
    );
    return removed;
  }

  private write(slots: number[], rows: number[], batch: MemoryInsertion): void {
    this.allocate(batch);
    tidy(() =>
      noGrad(() => {
        const slotIndex = tensor(slots, { dtype: 'int64' });
        const rowIndex = tensor(rows, { dtype: 'int64' });
        this.x!.indexPut_(slotIndex, batch.x.detach().indexSelect(0, rowIndex));
        this.targets!.indexPut_(slotIndex, batch.targets.detach().long().indexSelect(0, rowIndex));
        this.tasks!.indexPut_(slotIndex, batch.task);
        if (batch.logits !== undefined) {
          const stored = this.logits!;
          const rowsLogits = batch.logits.detach().to({ dtype: stored.dtype }).indexSelect(0, rowIndex);
          const width = rowsLogits.shape[1]!;
          // Narrower logits than the stored width are zero-padded on the right.
          stored.indexPut_(slotIndex, width === stored.shape[1] ? rowsLogits : cat([rowsLogits, zeros([rows.length, stored.shape[1]! - width], { dtype: stored.dtype, device: stored.device })], 1));
        }
      }),
    );
  }

  /** Allocates the slots at the first insertion; widens the logits when wider ones arrive. */
  private allocate(batch: MemoryInsertion): void {
    if (this.x === null) {
      const options = { device: batch.x.device };
      this.x = keep(zeros([this.capacity, ...batch.x.shape.slice(1)], { dtype: batch.x.dtype, ...options }));
      this.targets = keep(zeros([this.capacity], { dtype: 'int64', ...options }));
      this.tasks = keep(zeros([this.capacity], { dtype: 'int64', ...options }));
    }
    if (batch.logits === undefined) return;
    const width = batch.logits.shape[1]!;
    if (this.logits === null) this.logits = keep(zeros([this.capacity, width], { dtype: batch.logits.dtype, device: batch.logits.device }));
    else if (width > this.logits.shape[1]!) {
      const old = this.logits;
      this.logits = keep(tidy(() => cat([old, zeros([this.capacity, width - old.shape[1]!], { dtype: old.dtype, device: old.device })], 1)));
      old.dispose();
    }
  }

  /** Tensors and counters for a checkpoint, under keys prefixed by `prefix`. */
  state(prefix = ''): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    if (this.x !== null) {
      tensors[`${prefix}x`] = this.x;
      tensors[`${prefix}targets`] = this.targets!;
      tensors[`${prefix}tasks`] = this.tasks!;
      if (this.logits !== null) tensors[`${prefix}logits`] = this.logits;
    }
    const values: SavedValues = { seen: this.counts.seen, seenPerClass: [...this.counts.seenPerClass], logitWidths: this.widthOf };
    return { tensors, values: { [`${prefix}memory`]: values } };
  }

  /** Restores what state() saved (copies: the caller frees what it read); throws naming what does not fit. */
  loadState(state: AlgorithmState, prefix = ''): void {
    const values = readStateValues(object({ [`${prefix}memory`]: savedValues }), { [`${prefix}memory`]: state.values[`${prefix}memory`] })[`${prefix}memory`]!;
    const size = values.logitWidths.length;
    if (size > this.capacity) throw new Error(`its saved memory holds ${size} examples, but the capacity is ${this.capacity}`);
    const seenTotal = values.seenPerClass.reduce((n, [, k]) => n + k!, 0);
    if (seenTotal !== values.seen) throw new Error(`its saved memory counts ${values.seen} examples seen, but ${seenTotal} over its classes`);
    if (size > values.seen) throw new Error(`its saved memory holds ${size} examples, but counts only ${values.seen} seen`);
    let stored: { x: Tensor; targets: Tensor; tasks: Tensor; logits: Tensor | null } | null = null;
    if (size > 0) {
      const x = readStateTensor(state, `${prefix}x`);
      if (x.shape[0] !== this.capacity) throw new Error(`its saved tensor '${prefix}x' holds ${x.shape[0]} slots, but the capacity is ${this.capacity}`);
      const logits = this.storesLogits ? readStateTensor(state, `${prefix}logits`) : null;
      if (logits !== null && (logits.shape.length !== 2 || logits.shape[0] !== this.capacity)) throw new Error(`its saved tensor '${prefix}logits' has shape [${logits.shape.join(', ')}], expected [${this.capacity}, width]`);
      stored = {
        x,
        targets: readStateTensor(state, `${prefix}targets`, [this.capacity]),
        tasks: readStateTensor(state, `${prefix}tasks`, [this.capacity]),
        logits,
      };
      // Every stored class must be one the counters saw, or the class-balanced quotas would misread it.
      const counted = new Map(values.seenPerClass.map(([c, k]) => [c!, k!]));
      const held = new Map<number, number>();
      for (const c of tidy(() => Array.from(stored!.targets.narrow(0, 0, size).toTypedArray(), Number))) held.set(c, (held.get(c) ?? 0) + 1);
      for (const [c, k] of held) {
        if (!counted.has(c)) throw new Error(`its saved memory holds class ${c}, which its counts never saw`);
        if (k > counted.get(c)!) throw new Error(`its saved memory holds ${k} examples of class ${c}, but counts only ${counted.get(c)} seen`);
      }
    }
    this.dispose();
    this.counts.seen = values.seen;
    this.counts.seenPerClass = new Map(values.seenPerClass.map(([c, k]) => [c!, k!]));
    this.widthOf = [...values.logitWidths];
    if (stored === null) return;
    this.x = keep(stored.x.detach().clone());
    this.targets = keep(stored.targets.detach().clone());
    this.tasks = keep(stored.tasks.detach().clone());
    this.logits = stored.logits === null ? null : keep(stored.logits.detach().clone());
    const targets = this.targets;
    const tasks = this.tasks;
    this.classOf = tidy(() => Array.from(targets.narrow(0, 0, size).toTypedArray(), Number));
    this.taskOf = tidy(() => Array.from(tasks.narrow(0, 0, size).toTypedArray(), Number));
  }

  /** Frees the stored tensors and forgets everything (counters included). */
  dispose(): void {
    for (const t of [this.x, this.targets, this.tasks, this.logits]) t?.dispose();
    this.x = this.targets = this.tasks = this.logits = null;
    this.classOf = [];
    this.taskOf = [];
    this.widthOf = [];
    this.counts.seen = 0;
    this.counts.seenPerClass = new Map();
  }
}
