// LwF, Learning without Forgetting (Li & Hoiem, ECCV 2016 / TPAMI 2017), as
// algorithms-next.md section 12 defines it. Task t trains the shared weights
// θ_s, the old heads θ_o and the new head θ_n on
//   L = CE(y, ŷ_new) + λ_o Σ_{j<t} L_old,j
//   L_old,j = −Σ_c softmax(z_j^teacher / T)_c · log_softmax(z_j^student / T)_c   (batch mean)
// where the teacher is the model as task t began (θ*_{t−1}, 'previous', the
// paper's) or, for head j, the model at the end of task j ('perTask',
// CLArena's copies). No T² factor, no ε: log_softmax is exact where the
// paper's p^{1/T}/Σ p^{1/T} would underflow. Which outputs are distilled:
//   TIL  each old head separately, summed over j < t;
//   CIL  one distribution over the old heads concatenated (classes of 1..t−1);
//   DIL  the shared head.
// The teacher runs in eval mode (fixed batch-norm statistics, no dropout)
// under noGrad on the batch's x; the student's old outputs are the old heads
// applied to the trainer's feature, so the backbone runs once per step. With
// trainOldHeads false those heads are detached there: the distillation then
// moves θ_s only (CLArena and FACIL leave θ_o untrained).
//
// The optional warm-up (warmupEpochs) is the paper's: before joint training,
// θ_s and θ_o frozen, plain SGD on the new head alone (TIL and CIL, from
// task 2; DIL has no new head).
//
// Memory: the 'previous' teacher is one copy of the backbone and old heads,
// made as a task starts and freed as it ends, so a checkpoint (written
// between tasks) holds none; 'perTask' keeps one copy per task, saved in
// checkpoints.
import { type Infer, array, boolean, enumOf, integer, number, object } from '../../config/schema.js';
import { crossEntropy, linear, softmax } from '../../nn/functional.js';
import type { Linear } from '../../nn/layers/linear.js';
import { SGD } from '../../optim/sgd.js';
import { noGrad } from '../../tensor/autograd.js';
import { cat } from '../../tensor/functions.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { batches } from '../benchmarks/data.js';
import { HeadDIL, HeadsCIL, HeadsTIL } from '../model/heads.js';
import type { ContinualModel } from '../model/model.js';
import { deriveSeed } from '../benchmarks/rng.js';
import type { Backbone, Paradigm, TaskId } from '../contracts/types.js';
import type { Algorithm, AlgorithmState, StepContext, TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { readStateTensor, readStateValues } from './state.js';

// Options shared with AmnesiacLwF.
export const lwfFields = {
  lambda: number({ min: 0 }).default(1).describe('λ_o, the weight of the distillation terms (CLArena: factor 0.1; Mammoth: α)'),
  temperature: number({ min: 0, minExclusive: true }).default(2).describe('T, the softmax temperature of teacher and student'),
  teacher: enumOf(['previous', 'perTask'])
    .default('previous')
    .describe("the model distilled from: 'previous' the model as the task began (the paper's), 'perTask' head j against the model at the end of task j (CLArena; TIL only)"),
  trainOldHeads: boolean().default(true).describe('let the distillation train the old heads (false: only the shared weights, as CLArena and FACIL)'),
  warmupEpochs: integer({ min: 0 })
    .default(0)
    .describe("epochs of the paper's warm-up before each task from the second: SGD on the new head alone, backbone and old heads frozen (TIL, CIL)"),
};
const lwfOptions = object(lwfFields);
export type LwFOptions = Infer<typeof lwfOptions>;

/** The tasks whose perTask teachers the state holds. */
const savedTeachers = object({ teachers: array(integer({ min: 1 })) }, { allowUnknown: true });

/**
 * L_old for one distribution: −Σ_c softmax(teacher / T)_c · log_softmax(student / T)_c,
 * the mean over the batch: the cross-entropy of the student at temperature T
 * against the teacher's soft targets (one fused kernel). `teacher` carries no gradient.
 */
export function distillationLoss(student: Tensor, teacher: Tensor, temperature: number): Tensor {
  return tidy(() => crossEntropy(student.div(temperature), softmax(teacher.div(temperature), 1)));
}

/** The model's head layers: task j's at index j − 1 (DIL: the shared one at 0). */
export function headLayers(model: ContinualModel): readonly Linear[] {
  const heads = model.heads;
  if (heads instanceof HeadsTIL || heads instanceof HeadsCIL || heads instanceof HeadDIL) return heads.heads;
  throw new Error(`LwF: unsupported heads ${heads.constructor.name}; it distils the Linear heads of HeadsTIL, HeadsCIL or HeadDIL`);
}

/**
 * A frozen copy of the backbone and of some heads (by the task whose head
 * each is), in eval mode: batch norm uses its running statistics and leaves
 * them alone, dropout is off.
 */
export class Teacher {
  private constructor(
    readonly backbone: Backbone,
    readonly heads: ReadonlyMap<TaskId, Linear>,
  ) {}

  /** Copies the model's backbone and the heads of `tasks` (DIL: task 1's is the shared head). */
  static copy(model: ContinualModel, tasks: readonly TaskId[]): Teacher {
    const layers = headLayers(model);
    const backbone = model.backbone.clone();
    const heads = new Map(tasks.map((j) => [j, layers[j - 1]!.clone()] as const));
    backbone.eval().requiresGrad_(false);
    for (const head of heads.values()) head.eval().requiresGrad_(false);
    return new Teacher(backbone, heads);
  }

  /** The logits of each head of `tasks` on x, in that order (no gradient). */
  logits(x: Tensor, tasks: readonly TaskId[]): Tensor[] {
    return noGrad(() => {
      const feature = tidy(() => this.backbone.forward(x).feature);
      const out = tasks.map((j) => this.#head(j).forward(feature));
      feature.dispose();
      return out;
    });
  }

  #head(task: TaskId): Linear {
    const head = this.heads.get(task);
    if (head === undefined) throw new Error(`LwF: the teacher holds no head of task ${task} (it holds ${[...this.heads.keys()].join(', ')})`);
    return head;
  }

  /** Its weights and buffers, as `backbone.<name>` and `heads.<task>.<name>`. */
  entries(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of [...this.backbone.namedParameters(), ...this.backbone.namedBuffers()]) out[`backbone.${name}`] = t;
    for (const [task, head] of this.heads) for (const [name, t] of head.namedParameters()) out[`heads.${task}.${name}`] = t;
    return out;
  }

  /** Replaces its values with saved entries (as entries() names them); every entry must be there with its shape. */
  load(saved: ReadonlyMap<string, Tensor>): void {
    const own = this.entries();
    const missing = Object.keys(own).filter((k) => !saved.has(k));
    const unexpected = [...saved.keys()].filter((k) => !(k in own));
    if (missing.length > 0 || unexpected.length > 0) {
      throw new Error(`LwF: a saved teacher does not fit the model (missing: ${missing.join(', ') || 'none'}; unexpected: ${unexpected.join(', ') || 'none'})`);
    }
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) {
        const source = saved.get(key)!;
        if (source.shape.join() !== target.shape.join()) throw new Error(`LwF: saved teacher entry ${key} has shape [${source.shape.join(', ')}], the model [${target.shape.join(', ')}]`);
        target.copy_(source);
      }
    });
  }

  dispose(): void {
    this.backbone.dispose();
    for (const head of this.heads.values()) head.dispose();
  }
}

export class LwF implements Algorithm {
  readonly name: string = 'lwf';
  readonly lambda: number;
  readonly temperature: number;
  readonly teacherMode: LwFOptions['teacher'];
  readonly trainOldHeads: boolean;
  readonly warmupEpochs: number;
  /** 'previous': the model as the current task began, while it trains. */
  #previous: Teacher | null = null;
  /** 'perTask': the model at the end of each task, by task. */
  protected readonly perTask = new Map<TaskId, Teacher>();
  /** perTask teachers read from a checkpoint, by task, until the next task start rebuilds them on the model's structure. */
  #saved = new Map<TaskId, Map<string, Tensor>>();

  constructor(options: LwFOptions) {
    this.lambda = options.lambda;
    this.temperature = options.temperature;
    this.teacherMode = options.teacher;
    this.trainOldHeads = options.trainOldHeads;
    this.warmupEpochs = options.warmupEpochs;
  }

  /** The tasks whose heads are distilled on task `task`: every old one (TIL, CIL), or DIL's shared head, under task 1. */
  protected oldTasks(paradigm: Paradigm, task: TaskId): TaskId[] {
    if (task === 1) return [];
    if (paradigm === 'dil') return [1];
    return Array.from({ length: task - 1 }, (_, i) => i + 1);
  }

  /** The teacher that distils head `task` now (DIL: 1, the shared head), or null. */
  teacherOf(task: TaskId): Teacher | null {
    const teacher = this.teacherMode === 'previous' ? this.#previous : this.perTask.get(task);
    return teacher !== null && teacher !== undefined && teacher.heads.has(task) ? teacher : null;
  }

  onTaskStart(ctx: TaskContext): void {
    if (this.teacherMode === 'perTask') {
      if (ctx.paradigm !== 'til') throw new Error(`LwF: teacher 'perTask' distils head j against the model of task j, which needs a head per task (TIL); got paradigm '${ctx.paradigm}'. Use teacher 'previous'.`);
      this.#restoreSaved(ctx.model);
    } else {
      this.#previous?.dispose();
      const old = this.oldTasks(ctx.paradigm, ctx.task);
      this.#previous = old.length === 0 ? null : Teacher.copy(ctx.model, old);
    }
    if (this.warmupEpochs > 0 && ctx.task > 1 && ctx.paradigm !== 'dil') this.#warmUp(ctx);
  }

  trainingLoss(ctx: StepContext): Tensor | null {
    const old = this.oldTasks(ctx.paradigm, ctx.task);
    if (old.length === 0) return null;
    const layers = headLayers(ctx.model);
    const student = old.map((j) => this.#studentLogits(layers[j - 1]!, ctx.output.feature));
    const teacher = this.#teacherLogits(ctx.x, old);
    let sum: Tensor;
    if (ctx.paradigm === 'cil') sum = distillationLoss(cat(student, 1), cat(teacher, 1), this.temperature);
    else sum = old.map((_, i) => distillationLoss(student[i]!, teacher[i]!, this.temperature)).reduce((a, b) => a.add(b));
    return sum.mul(this.lambda);
  }

  onTaskEnd(ctx: TaskContext): void {
    this.#previous?.dispose();
    this.#previous = null;
    if (this.teacherMode === 'perTask') {
      this.perTask.get(ctx.task)?.dispose();
      this.perTask.set(ctx.task, Teacher.copy(ctx.model, [ctx.task]));
    }
  }

  /** The student's logits of an old head: with trainOldHeads false the head is detached, so only θ_s gets the gradient. */
  #studentLogits(head: Linear, feature: Tensor): Tensor {
    if (this.trainOldHeads) return head.forward(feature);
    return linear(feature, head.weight.detach(), head.bias?.detach());
  }

  /** The teacher's logits of each old head on x. */
  #teacherLogits(x: Tensor, old: readonly TaskId[]): Tensor[] {
    if (this.teacherMode === 'previous') return this.#previous!.logits(x, old);
    return old.map((j) => {
      const teacher = this.perTask.get(j);
      if (teacher === undefined) throw new Error(`LwF: no perTask teacher of task ${j} (kept: ${[...this.perTask.keys()].join(', ') || 'none'})`);
      return teacher.logits(x, [j])[0]!;
    });
  }

  /** The paper's warm-up: plain SGD (the task's learning rate) on the new head alone, on features of the frozen backbone in eval mode. */
  #warmUp(ctx: TaskContext): void {
    const head = headLayers(ctx.model)[ctx.task - 1]!;
    const optimizer = new SGD(head.parameters(), { lr: ctx.optimizer.paramGroups[0]!.lr });
    const backbone = ctx.model.backbone;
    backbone.eval();
    try {
      for (let epoch = 1; epoch <= this.warmupEpochs; epoch++) {
        for (const batch of batches(ctx.trainData, ctx.batchSize, { shuffle: true, seed: deriveSeed(0, 'lwf warm-up', ctx.task, epoch) })) {
          tidy(() => {
            const feature = noGrad(() => backbone.forward(batch.x).feature);
            const loss = crossEntropy(head.forward(feature), batch.y);
            optimizer.zeroGrad();
            loss.backward();
            optimizer.step();
          });
          batch.x.dispose();
          batch.y.dispose();
        }
      }
    } finally {
      backbone.train();
      optimizer.dispose();
    }
  }

  /** Rebuilds the perTask teachers of a checkpoint on the structure of the model. */
  #restoreSaved(model: ContinualModel): void {
    for (const [task, saved] of this.#saved) {
      const teacher = Teacher.copy(model, [task]);
      try {
        teacher.load(saved);
      } catch (error) {
        teacher.dispose();
        throw error;
      }
      this.perTask.set(task, teacher);
      for (const t of saved.values()) t.dispose();
    }
    this.#saved.clear();
  }

  /** Drops the perTask teacher of `task` (unlearning). */
  protected dropTeacher(task: TaskId): void {
    this.perTask.get(task)?.dispose();
    this.perTask.delete(task);
    const saved = this.#saved.get(task);
    if (saved !== undefined) for (const t of saved.values()) t.dispose();
    this.#saved.delete(task);
  }

  state(): AlgorithmState {
    const tensors: Record<string, Tensor> = {};
    const teachers = this.teacherTasks();
    for (const task of teachers) {
      const entries = this.perTask.get(task)?.entries() ?? Object.fromEntries(this.#saved.get(task)!);
      for (const [key, t] of Object.entries(entries)) tensors[`teacher.${task}.${key}`] = t;
    }
    return { tensors, values: { teachers } };
  }

  /** The tasks whose perTask teachers are held, in order. */
  protected teacherTasks(): TaskId[] {
    return [...new Set([...this.perTask.keys(), ...this.#saved.keys()])].sort((a, b) => a - b);
  }

  loadState(state: AlgorithmState): void {
    const { teachers } = readStateValues(savedTeachers, state.values);
    if (teachers.length > 0 && this.teacherMode !== 'perTask') throw new Error(`the checkpoint holds perTask teachers (${teachers.join(', ')}), but teacher is '${this.teacherMode}'`);
    const byTask = new Map<TaskId, Map<string, Tensor>>(teachers.map((task) => [task, new Map()]));
    for (const key of Object.keys(state.tensors)) {
      const match = /^teacher\.(\d+)\.(.+)$/.exec(key);
      const entries = match === null ? undefined : byTask.get(Number(match[1]));
      if (entries === undefined) throw new Error(`its saved tensor '${key}' belongs to no listed teacher (${teachers.join(', ') || 'none'})`);
      entries.set(match![2]!, readStateTensor(state, key));
    }
    // Each teacher holds its own task's head: what can be checked without the model (the
    // rest is checked against it when the teachers are rebuilt at the next task start).
    for (const task of teachers) readStateTensor(state, `teacher.${task}.heads.${task}.weight`);
    this.#freeTeachers();
    this.#saved = new Map([...byTask].map(([task, entries]) => [task, new Map([...entries].map(([k, t]) => [k, keep(t.clone())] as const))]));
  }

  #freeTeachers(): void {
    this.#previous?.dispose();
    this.#previous = null;
    for (const task of [...this.perTask.keys(), ...this.#saved.keys()]) this.dropTeacher(task);
  }

  dispose(): void {
    this.#freeTeachers();
  }
}

export const lwfDefinition = defineAlgorithm({
  name: 'lwf',
  summary: 'learning without forgetting: distils the old heads\' outputs of the model before the task (soft targets at temperature T) into the one being trained',
  options: lwfOptions,
  paradigms: ALL_PARADIGMS,
  // 'previous' keeps nothing between tasks (its teacher lives while a task trains); 'perTask' keeps every task's model.
  unlearning: (options) => (options.teacher === 'perTask' ? 'retains' : 'stateless'),
  // Its teacher copies the old tasks' heads one by one.
  cilHeads: () => ({ heads: 'growing', because: 'its teacher copies the heads of earlier tasks, one head per task' }),
  create: (options) => new LwF(options),
});
