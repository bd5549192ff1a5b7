// iCaRL, incremental classifier and representation learning (Rebuffi,
// Kolesnikov, Sperl & Lampert, CVPR 2017), as algorithms-next.md section 19
// defines it. Classes 1..s−1 are old, s..t are those of the task being
// trained; g_y(x) = σ(w_yᵀ φ(x) + b_y) is the sigmoid of class y's logit.
//
// Representation learning. The task trains on its own data ∪ the exemplars
// P (the trainingSet hook; every row carries its global class), with
//   ℓ = − Σ_y∈new [δ_{y=y_i} log g_y(x_i) + δ_{y≠y_i} log(1 − g_y(x_i))]
//       − Σ_y∈old [q_i^y log g_y(x_i) + (1 − q_i^y) log(1 − g_y(x_i))]
// summed over the classes SEEN so far (never over units of unseen classes)
// and averaged over the batch, where q_i^y = g_y(x_i) under the teacher: the
// model as the task began, frozen in eval mode. (The authors' code and
// Mammoth average over every output unit, unseen ones included; the sum over
// classes is the paper's ℓ, and the mean over the batch keeps the learning
// rate independent of the batch size, as the trainer's cross-entropy does.)
//
// Exemplars, as the task ends (memory K, n = classes seen, m = ⌊K / n⌋):
//   reduce  each old class keeps the first m of its ordered exemplars;
//   add     each new class takes m of its examples by herding on the
//           L2-normalised features φ (the backbone's feature, eval mode):
//             μ = mean φ(x),
//             p_k = argmin_{x not chosen} ‖μ − (1/k)(φ(x) + Σ_{j<k} φ(p_j))‖,
//           ties to the lowest index, never a repeat, until m are chosen
//           (all of the class when it has fewer).
// Then μ_y = the mean of the normalised φ of class y's exemplars,
// renormalised, for every class seen.
//
// Classification (eval mode): logits = −‖φ̂(x) − μ_y‖² over the classes seen
// (φ̂ normalised), so argmax is the nearest mean of exemplars. CIL scores
// every class seen; TIL only the classes of the sample's task. Until the
// means cover those classes (a validation pass in the middle of a task), the
// network's own logits answer.
//
// No horizontal flip: the authors' code (Avalanche and Mammoth copy it) also
// averages the features of flipped exemplars into μ_y, which suits CIFAR
// photographs but not digits or clothes seen from the front; we never flip.
//
// The exemplars live in a MemoryBuffer, grouped by class in herding order
// (appended, no insertion policy; reduced with retain). The teacher lives
// while a task trains, copied from the model as the task starts, so a
// checkpoint (written between tasks) holds the exemplars, the class means and
// the classes of each task, and a resumed run rebuilds the same teacher from
// the checkpointed model. Nothing is drawn at random: no generator, no seed.
import { type Infer, array, integer, object } from '../../config/schema.js';
import { oneHot } from '../../nn/functional.js';
import { noGrad } from '../../tensor/autograd.js';
import { full, tensor } from '../../tensor/creation.js';
import { cat, stack } from '../../tensor/functions.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { TaskId } from '../contracts/types.js';
import { MemoryBuffer } from '../memory/buffer.js';
import type { ContinualModel, ModelOutput } from '../model/model.js';
import type { Algorithm, AlgorithmState, BatchContext, BatchPosition, TaskContext, TrainingSet } from './algorithm.js';
import { defineAlgorithm } from './definition.js';
import { Teacher, headLayers } from './lwf.js';
import { readStateTensor, readStateValues } from './state.js';

const icarlOptions = object({
  capacity: integer({ min: 1 })
    .default(500)
    .describe('K, the exemplars kept over all classes seen: m = floor(K / classes seen) per class (the paper: 2000 for CIFAR-100)'),
});
/** The options of `icarl`, validated and defaulted: an `algorithms` entry `{name: icarl, ...}` without its name. */
export type ICaRLOptions = Infer<typeof icarlOptions>;

/** The JSON part of the state: the global classes of each task trained, [task, first class, classes]. */
const savedValues = object({ tasks: array(array(integer({ min: 0 }), { minLength: 3, maxLength: 3 })) }, { allowUnknown: true });

const MEMORY = 'exemplars.';

/** Rows of `features` divided by their L2 norm (at least 1e-12, as torch's F.normalize). */
export function l2Normalise(features: Tensor): Tensor {
  return tidy(() => features.div(features.norm(2, 1, true).clamp(1e-12)));
}

/**
 * Herding (the paper's Algorithm 4): the indices of `m` distinct rows of
 * `features` [N, d] (normalised φ), in the order chosen. Row k is the
 * unchosen x minimising ‖μ − (φ(x) + Σ_{j<k} φ(p_j)) / k‖², μ the mean row;
 * ties go to the lowest index. All N rows when m ≥ N.
 */
export function herding(features: Tensor, m: number): number[] {
  const n = features.shape[0]!;
  const count = Math.min(m, n);
  const chosen: number[] = [];
  if (count <= 0) return chosen;
  const taken = new Uint8Array(n);
  noGrad(() =>
    tidy(() => {
      const mu = features.mean(0, true);
      let sum = features.narrow(0, 0, 1).mul(0);
      for (let k = 1; k <= count; k++) {
        const distances = tidy(() => mu.sub(features.add(sum).div(k)).square().sum(1).toTypedArray());
        let best = -1;
        for (let i = 0; i < n; i++) if (taken[i] === 0 && (best < 0 || distances[i]! < distances[best]!)) best = i;
        chosen.push(best);
        taken[best] = 1;
        const previous = sum;
        sum = sum.add(features.narrow(0, best, 1));
        previous.dispose();
      }
    }),
  );
  return chosen;
}

/**
 * The iCaRL loss: binary cross-entropy of every seen class's logit `logits`
 * [B, n], summed over the classes and averaged over the batch. Targets: the
 * one-hot of `targets` (global classes) for the new classes s..n−1, and the
 * teacher's probabilities `q` [B, s] for the old ones (null when s = 0).
 */
export function icarlLoss(logits: Tensor, targets: Tensor, q: Tensor | null): Tensor {
  return tidy(() => {
    const n = logits.shape[1]!;
    const s = q === null ? 0 : q.shape[1]!;
    const hot = oneHot(targets.long(), n).to({ dtype: logits.dtype });
    const target = q === null ? hot : cat([q, hot.narrow(1, s, n - s)], 1);
    // −[p log σ(z) + (1 − p) log(1 − σ(z))] = max(z, 0) − p z + log(1 + e^{−|z|}), without overflow.
    const perUnit = logits.relu().sub(target.mul(logits)).add(logits.abs().neg().exp().add(1).log());
    return perUnit.sum(1).mean();
  });
}

interface TaskClasses {
  readonly first: number;
  readonly count: number;
}

/** The `icarl` algorithm. iCaRL: trains on the task's data plus herded exemplars with a sigmoid loss that distils the old classes, classifies by the nearest mean of exemplars. */
export class ICaRL implements Algorithm {
  readonly name = 'icarl';
  readonly memory: MemoryBuffer;
  /** μ_y of every class seen, [classes, d]; null before the first task ends. */
  #means: Tensor | null = null;
  /** The global classes of each task started, by task. */
  readonly #tasks = new Map<TaskId, TaskClasses>();
  /** The model as the current task began (from task 2 on, while it trains). */
  #teacher: Teacher | null = null;
  #trainingSet: TrainingSet | null = null;

  constructor(options: ICaRLOptions) {
    this.memory = new MemoryBuffer({ capacity: options.capacity, policy: 'reservoir' });
  }

  get capacity(): number {
    return this.memory.capacity;
  }

  /** Classes whose means exist (every class of the tasks ended). */
  get classesSeen(): number {
    return this.#means?.shape[0] ?? 0;
  }

  /** The class means, [classes, d] (a view the caller must not free), or null. */
  get means(): Tensor | null {
    return this.#means;
  }

  /** The exemplars' global classes, grouped by class in the order they were chosen. */
  exemplarClasses(): number[] {
    return [...this.memory.storedTargets];
  }

  onTaskStart(ctx: TaskContext): void {
    if (ctx.paradigm === 'dil') {
      throw new Error("iCaRL: paradigm 'dil' has no new classes per task, so nothing to herd and no class means to add; use paradigm 'cil' (or 'til')");
    }
    const first = ctx.benchmark.classOffset(ctx.task);
    const count = ctx.benchmark.numClasses(ctx.task);
    const known = this.#tasks.get(ctx.task);
    const seen = [...this.#tasks].filter(([t]) => t < ctx.task).reduce((n, [, c]) => n + c.count, 0);
    if (known === undefined && first !== seen) throw new Error(`iCaRL: task ${ctx.task}'s classes start at ${first}, but ${seen} classes were seen before it; tasks must come in order with new classes`);
    if (first + count > this.capacity) {
      throw new Error(`iCaRL: capacity ${this.capacity} cannot keep one exemplar for each of the ${first + count} classes seen by task ${ctx.task}; raise capacity to at least ${first + count}`);
    }
    this.#tasks.set(ctx.task, { first, count });
    this.#teacher?.dispose();
    this.#teacher = ctx.task === 1 ? null : Teacher.copy(ctx.model, Array.from({ length: ctx.task - 1 }, (_, i) => i + 1));
  }

  /** The task's data (labels made global) and every exemplar; null while there are none and labels are already global (task 1). */
  trainingSet(ctx: TaskContext): TrainingSet | null {
    const { first } = this.#classes(ctx.task);
    if (this.memory.size === 0 && first === 0) return null;
    this.#freeTrainingSet();
    const set = tidy(() => {
      const own = { x: ctx.trainData.x.detach(), y: ctx.trainData.y.long().add(first) };
      const parts = [own];
      if (this.memory.size > 0) {
        const exemplars = this.memory.gather();
        parts.push({ x: exemplars.x, y: exemplars.targets });
      }
      return { x: keep(cat(parts.map((p) => p.x), 0)), y: keep(cat(parts.map((p) => p.y), 0)) };
    });
    this.#trainingSet = { ...set, size: set.x.shape[0]!, labels: 'targets' };
    return this.#trainingSet;
  }

  classificationLoss(ctx: BatchContext): Tensor {
    const { first, count } = this.#classes(ctx.task);
    const seen = first + count;
    if (ctx.logits.shape[1] !== seen) {
      throw new Error(`iCaRL: the training logits have ${ctx.logits.shape[1]} columns, but ${seen} classes are seen; another algorithm's forward pass cannot be combined with iCaRL's loss`);
    }
    return tidy(() => {
      const q = this.#teacher === null ? null : noGrad(() => cat(this.#teacher!.logits(ctx.x, Array.from({ length: ctx.task - 1 }, (_, i) => i + 1)), 1).sigmoid());
      if (q !== null && q.shape[1] !== first) throw new Error(`iCaRL: the teacher scores ${q.shape[1]} old classes, expected ${first}`);
      return icarlLoss(ctx.logits, ctx.targets, q);
    });
  }

  forward(model: ContinualModel, x: Tensor, task: TaskId, _batch?: BatchPosition): ModelOutput | null {
    if (model.training) {
      // CIL heads already score every class seen; TIL's score one task, and the loss needs them all.
      if (model.heads.paradigm === 'cil') return null;
      return tidy(() => {
        const output = model.backbone.forward(x);
        return { output, logits: cat(headLayers(model).slice(0, task).map((head) => head.forward(output.feature)), 1) };
      });
    }
    const classes = this.#scoredClasses(model, task);
    if (classes === null) return null;
    const means = this.#means!;
    return tidy(() => {
      const output = model.backbone.forward(x);
      const mu = means.narrow(0, classes.first, classes.count);
      const logits = l2Normalise(output.feature).unsqueeze(1).sub(mu.unsqueeze(0)).square().sum(2).neg();
      return { output, logits };
    });
  }

  /** The classes the nearest-mean classifier scores for `task` (CIL: all seen, TIL: the task's), or null while some have no mean. */
  #scoredClasses(model: ContinualModel, task: TaskId): TaskClasses | null {
    const classes = this.#tasks.get(task);
    if (classes === undefined || this.#means === null) return null;
    if (model.heads.paradigm === 'cil') {
      const total = headLayers(model).reduce((n, head) => n + head.outFeatures, 0);
      return total <= this.classesSeen ? { first: 0, count: total } : null;
    }
    return classes.first + classes.count <= this.classesSeen ? classes : null;
  }

  onTaskEnd(ctx: TaskContext): void {
    this.#teacher?.dispose();
    this.#teacher = null;
    this.#freeTrainingSet();
    const { first, count } = this.#classes(ctx.task);
    const seen = first + count;
    const m = Math.floor(this.capacity / seen);
    const model = ctx.model;
    const wasTraining = model.training;
    model.eval();
    try {
      this.#reduce(first, m);
      this.#add(ctx, first, count, m);
      this.#updateMeans(model, ctx.batchSize, seen);
    } finally {
      model.train(wasTraining);
    }
  }

  /** Keeps the first m exemplars of each old class (classes 0..first−1), grouped by class. */
  #reduce(first: number, m: number): void {
    const byClass = new Map<number, number[]>();
    this.memory.storedTargets.forEach((c, slot) => {
      const slots = byClass.get(c) ?? [];
      slots.push(slot);
      byClass.set(c, slots);
    });
    const kept: number[] = [];
    for (let c = 0; c < first; c++) kept.push(...(byClass.get(c) ?? []).slice(0, m));
    this.memory.retain(kept);
  }

  /** Herds m exemplars of each new class from the task's data and appends them, class by class. */
  #add(ctx: TaskContext, first: number, count: number, m: number): void {
    const data = ctx.trainData;
    const labels = Array.from(data.y.toTypedArray(), Number);
    const features = normalisedFeatures(ctx.model, data.x, ctx.batchSize);
    try {
      for (let local = 0; local < count; local++) {
        const rows = labels.flatMap((y, i) => (y === local ? [i] : []));
        if (rows.length === 0) continue;
        tidy(() => {
          const chosen = herding(features.indexSelect(0, tensorOf(rows)), m).map((k) => rows[k]!);
          const picked = tensorOf(chosen);
          this.memory.append({ x: data.x.detach().indexSelect(0, picked), targets: full([chosen.length], first + local, { dtype: 'int64' }), task: ctx.task });
        });
      }
    } finally {
      features.dispose();
    }
  }

  /** μ_y for every class seen: the mean of its exemplars' normalised features, renormalised. */
  #updateMeans(model: ContinualModel, batchSize: number, seen: number): void {
    const means = tidy(() => {
      const exemplars = this.memory.gather();
      const features = normalisedFeatures(model, exemplars.x, batchSize);
      const classes = this.memory.storedTargets;
      const rows = Array.from({ length: seen }, (_, c) => {
        const slots = classes.flatMap((k, slot) => (k === c ? [slot] : []));
        if (slots.length === 0) throw new Error(`iCaRL: class ${c} has no exemplar (the task's training data holds none of it)`);
        return features.indexSelect(0, tensorOf(slots)).mean(0);
      });
      return keep(l2Normalise(stack(rows, 0)));
    });
    this.#means?.dispose();
    this.#means = means;
  }

  #classes(task: TaskId): TaskClasses {
    const classes = this.#tasks.get(task);
    if (classes === undefined) throw new Error(`iCaRL: task ${task} was never started (onTaskStart records its classes)`);
    return classes;
  }

  #freeTrainingSet(): void {
    if (this.#trainingSet === null) return;
    this.#trainingSet.x.dispose();
    this.#trainingSet.y.dispose();
    this.#trainingSet = null;
  }

  state(): AlgorithmState {
    const memory = this.memory.state(MEMORY);
    const tensors: Record<string, Tensor> = { ...memory.tensors };
    if (this.#means !== null) tensors.means = this.#means;
    const tasks = [...this.#tasks].filter(([, c]) => c.first + c.count <= this.classesSeen).map(([t, c]) => [t, c.first, c.count]);
    return { tensors, values: { ...memory.values, tasks } };
  }

  loadState(state: AlgorithmState): void {
    const { tasks } = readStateValues(savedValues, state.values);
    const classes = tasks.reduce((n, [, , count]) => n + count!, 0);
    tasks.forEach(([task, first], i) => {
      const before = tasks.slice(0, i).reduce((n, [, , count]) => n + count!, 0);
      if (task !== i + 1 || first !== before) throw new Error(`its saved tasks do not list tasks 1, 2, ... with consecutive classes (entry ${i}: task ${task}, first class ${first})`);
    });
    const means = classes === 0 ? null : readStateTensor(state, 'means');
    if (means !== null && (means.shape.length !== 2 || means.shape[0] !== classes)) throw new Error(`its saved tensor 'means' has shape [${means.shape.join(', ')}], expected [${classes}, features]`);
    this.memory.loadState(state, MEMORY);
    const stray = this.memory.storedTargets.find((c) => c >= classes);
    if (stray !== undefined) throw new Error(`its saved exemplars hold class ${stray}, but the saved tasks cover classes 0..${classes - 1}`);
    this.#freeTask();
    this.#means?.dispose();
    this.#means = means === null ? null : keep(means.detach().clone());
    this.#tasks.clear();
    for (const [task, first, count] of tasks) this.#tasks.set(task!, { first: first!, count: count! });
  }

  #freeTask(): void {
    this.#teacher?.dispose();
    this.#teacher = null;
    this.#freeTrainingSet();
  }

  dispose(): void {
    this.#freeTask();
    this.#means?.dispose();
    this.#means = null;
    this.memory.dispose();
  }
}

/** An int64 index tensor of `values`. */
function tensorOf(values: readonly number[]): Tensor {
  return tensor(values, { dtype: 'int64' });
}

/** φ̂(x) for every row of x, under noGrad in the model's current mode, in batches of `batchSize`. */
function normalisedFeatures(model: ContinualModel, x: Tensor, batchSize: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const parts: Tensor[] = [];
      const n = x.shape[0]!;
      for (let start = 0; start < n; start += batchSize) parts.push(l2Normalise(model.backbone.forward(x.narrow(0, start, Math.min(batchSize, n - start))).feature));
      return keep(parts.length === 1 ? parts[0]! : cat(parts, 0));
    }),
  );
}

/** The definition of `icarl` (`algorithms: [{name: icarl}]`): iCaRL: trains on the task's data plus herded exemplars with a sigmoid loss that distils the old classes, classifies by the nearest mean of exemplars. */
export const icarlDefinition = defineAlgorithm({
  name: 'icarl',
  summary: "iCaRL: trains on the task's data plus herded exemplars with a sigmoid loss that distils the old classes, classifies by the nearest mean of exemplars",
  options: icarlOptions,
  // DIL has no new classes per task: nothing to herd, and one shared label space.
  paradigms: ['cil', 'til'],
  cilHeads: () => ({ heads: 'growing', because: 'its sigmoid loss and class means cover the classes seen so far, the heads of tasks 1..t joined' }),
  unlearning: () => 'retains',
  create: (options) => new ICaRL(options),
});
