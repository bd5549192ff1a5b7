// AmnesiacLwF: LwF whose tasks can be unlearned. It trains exactly as LwF
// and records each task's change Δθ_t of the whole model (amnesiac.ts), the
// warm-up included (the record starts before LwF's task start).
//
// Unlearning tasks U after task k:
//   θ ← θ − Σ_{u∈U} Δθ_u                  (the bookkeeping)
//   the heads of U are no longer distilled (TIL, CIL: a task never learnt has
//   no outputs to keep; DIL's shared head serves the kept tasks too)
//   perTask: the teachers of U are dropped
//   previous: no teacher outlives its task, so the next one is copied from θ
//   after the subtraction: the teacher with Δθ_U subtracted.
import { type Infer, array, integer, object } from '../../config/schema.js';
import type { Paradigm, TaskId } from '../contracts/types.js';
import type { AlgorithmState, TaskContext, UnlearningContext } from './algorithm.js';
import { AmnesiacBookkeeping, disableUnlearning } from './amnesiac.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { LwF, lwfFields } from './lwf.js';
import { readStateValues } from './state.js';

const amnesiacLwfOptions = object({ ...lwfFields, disableUnlearning });
export type AmnesiacLwFOptions = Infer<typeof amnesiacLwfOptions>;

const savedValues = object({ teachers: array(integer({ min: 1 })), deltaTasks: array(integer({ min: 1 })), unlearned: array(integer({ min: 1 })) });

export class AmnesiacLwF extends LwF {
  override readonly name = 'amnesiacLwf';
  readonly bookkeeping: AmnesiacBookkeeping;
  /** Tasks unlearned so far: their heads are not distilled. */
  readonly #unlearned = new Set<TaskId>();

  constructor(options: AmnesiacLwFOptions) {
    super(options);
    this.bookkeeping = new AmnesiacBookkeeping('amnesiacLwf', options);
  }

  /** Tasks unlearned so far, in order. */
  get unlearned(): TaskId[] {
    return [...this.#unlearned].sort((a, b) => a - b);
  }

  protected override oldTasks(paradigm: Paradigm, task: TaskId): TaskId[] {
    const old = super.oldTasks(paradigm, task);
    return paradigm === 'dil' ? old : old.filter((j) => !this.#unlearned.has(j));
  }

  override onTaskStart(ctx: TaskContext): void {
    this.bookkeeping.onTaskStart(ctx);
    super.onTaskStart(ctx);
  }

  override onTaskEnd(ctx: TaskContext): void {
    super.onTaskEnd(ctx);
    this.bookkeeping.onTaskEnd(ctx);
  }

  unlearn(ctx: UnlearningContext): void {
    const deltas = this.bookkeeping.enabledFor(ctx);
    if (deltas === null) return;
    deltas.undo(ctx.model, ctx.tasks);
    for (const u of ctx.tasks) {
      this.dropTeacher(u);
      this.#unlearned.add(u);
    }
    deltas.forget([...ctx.tasks, ...ctx.expired]);
  }

  override state(): AlgorithmState {
    const lwf = super.state();
    const { tensors, tasks } = this.bookkeeping.state();
    return { tensors: { ...lwf.tensors, ...tensors }, values: { ...lwf.values, deltaTasks: tasks, unlearned: this.unlearned } };
  }

  override loadState(state: AlgorithmState): void {
    const { deltaTasks, unlearned } = readStateValues(savedValues, state.values);
    const teacherTensors = Object.fromEntries(Object.entries(state.tensors).filter(([key]) => key.startsWith('teacher.')));
    super.loadState({ tensors: teacherTensors, values: state.values });
    this.bookkeeping.loadState(state.tensors, deltaTasks);
    this.#unlearned.clear();
    for (const u of unlearned) this.#unlearned.add(u);
  }

  override dispose(): void {
    super.dispose();
    this.bookkeeping.dispose();
  }
}

export const amnesiacLwfDefinition = defineAlgorithm({
  name: 'amnesiacLwf',
  summary: "LwF with Amnesiac unlearning: subtracts an unlearned task's change and stops distilling its head",
  options: amnesiacLwfOptions,
  paradigms: ALL_PARADIGMS,
  unlearning: (options) => (options.disableUnlearning ? (options.teacher === 'perTask' ? 'retains' : 'stateless') : 'unlearns'),
  create: (options) => new AmnesiacLwF(options),
});
