// GDumb (Prabhu, Torr & Dokania, ECCV 2020), as algorithms-next.md section 20
// defines it: a greedy class-balanced sampler fills a memory M of capacity k
// from the stream, and a "dumb" learner, re-initialised, is trained from
// scratch on M alone whenever the model is to be evaluated.
//
// Sampler (memory/insertion.ts 'greedy'), for each (x, y) of the stream:
//   if |M| < k: add (x, y)
//   else if count(y) < k / |Y_seen|: remove a random example of the largest class, add (x, y)
//   else: skip
// The stream is each task's training set, offered as the task starts in a
// random order drawn from GDumb's own generator (not in the data's order: a
// dataset stored sorted by class would otherwise fill M with its first
// classes' first examples). |Y_seen| counts the classes seen so far, not
// those of the whole stream (the authors' dataloader takes the first
// ⌊k / all classes⌋ of each class). The trainer takes no step on the stream
// (skipsTraining: the model stays in eval mode).
//
// Learner, at the end of EVERY task (so that each row of the accuracy matrix
// is a trained model; Mammoth retrains after the last task only): backbone
// and heads are re-initialised with a fresh seeded draw, deriveSeed(seed,
// 'gdumb init', task) (Avalanche resets to the same initial weights each
// time), then trained on M with the authors' recipe: SGD with momentum 0.9
// and weight decay 1e-6, batches of 16, `epochs` passes over M, the first at
// 0.1 · maxLr, the second at maxLr, then SGDR (T_0 = 1, T_mult = 2) between
// maxLr and minLr stepped once per pass, the gradient's global norm clipped
// to `clip`. CutMix (p 0.5, α 1 in the authors' recipe) is an image
// augmentation and is not applied. The memory's batches run in training
// mode, so batch-norm statistics are M's.
//
// Heads: the learner always trains one softmax over every class seen, the
// heads 1..t concatenated with global targets (CIL's); in TIL each task is
// then tested through its own head, which is exactly the concatenated
// logits masked to the task's classes. In DIL the greedy rule never admits
// a new domain once M is balanced (the classes recur), so DIL requires the
// 'classBalanced' policy (a reservoir per class); greedy with DIL is a
// configuration error.
import { type Infer, enumOf, integer, number, object } from '../../config/schema.js';
import { crossEntropy } from '../../nn/functional.js';
import type { Module } from '../../nn/module.js';
import { clipGradNorm_ } from '../../optim/clip_grad.js';
import { CosineAnnealingWarmRestarts } from '../../optim/lr_scheduler.js';
import { SGD } from '../../optim/sgd.js';
import { cat } from '../../tensor/functions.js';
import { getRngState, manualSeed, setRngState } from '../../tensor/random.js';
import { tidy } from '../../tensor/scope.js';
import { batches, subset } from '../benchmarks/data.js';
import { deriveSeed } from '../benchmarks/rng.js';
import type { TaskId } from '../contracts/types.js';
import { MemoryBuffer } from '../memory/buffer.js';
import { Rehearsal } from '../memory/rehearsal.js';
import type { ContinualModel } from '../model/model.js';
import type { TaskContext } from './algorithm.js';
import { ALL_PARADIGMS, defineAlgorithm } from './definition.js';
import { headLayers } from './lwf.js';

const gdumbOptions = object({
  capacity: integer({ min: 1 }).default(500).describe('gdumb: k, the examples the memory keeps'),
  policy: enumOf(['greedy', 'classBalanced'])
    .default('greedy')
    .describe("gdumb: the sampler: 'greedy' (the paper's; not with paradigm dil) or 'classBalanced' (a reservoir per class; required for dil)"),
  epochs: integer({ min: 1 }).default(256).describe('gdumb: passes over the memory at each retraining (the authors\' 256 for CIFAR), the first a warm-up at 0.1 × maxLr'),
  batchSize: integer({ min: 1 }).default(16).describe('gdumb: batch size of the retraining'),
  maxLr: number({ min: 0, minExclusive: true }).default(0.05).describe('gdumb: the learning rate at each SGDR restart'),
  minLr: number({ min: 0 }).default(0.0005).describe('gdumb: the learning rate SGDR anneals to'),
  momentum: number({ min: 0 }).default(0.9).describe('gdumb: SGD momentum of the retraining'),
  weightDecay: number({ min: 0 }).default(1e-6).describe('gdumb: SGD weight decay of the retraining'),
  clip: number({ min: 0, minExclusive: true }).default(10).describe("gdumb: the gradient's global 2-norm is clipped to this"),
  seed: integer({ min: 0 }).default(0).describe("gdumb: seed of the sampler's generator, the re-initialisations and the retraining's batch order"),
});
/** The options of `gdumb`, validated and defaulted: an `algorithms` entry `{name: gdumb, ...}` without its name. */
export type GDumbOptions = Infer<typeof gdumbOptions>;

/** Examples offered to the memory per insertion call (bounds the copies made). */
const INSERTION_CHUNK = 1024;

/**
 * Fresh initial values for every parameter (and batch-norm statistics) of
 * `module`, drawn as the layers' constructors draw them after
 * manualSeed(`seed`); the global generator is left as it was.
 */
export function reinitialize(module: Module, seed: number): void {
  const saved = getRngState();
  try {
    manualSeed(seed);
    resetParameters(module);
  } finally {
    setRngState(saved);
    saved.dispose();
  }
}

/** A module's own resetParameters when it has one (layers, ResNet-18), else its children's, in order. */
function resetParameters(module: Module): void {
  const own = (module as { resetParameters?: unknown }).resetParameters;
  if (typeof own === 'function') own.call(module);
  else for (const child of module.children()) resetParameters(child);
}

/** The learning rate of pass `pass` (from 0) once the schedule has been advanced: warm-up, then maxLr, then SGDR. */
function setPassLr(optimizer: SGD, scheduler: CosineAnnealingWarmRestarts, pass: number, maxLr: number): void {
  if (pass === 0) optimizer.paramGroups[0]!.lr = 0.1 * maxLr;
  else if (pass === 1) optimizer.paramGroups[0]!.lr = maxLr;
  else scheduler.step();
}

/** The `gdumb` algorithm. Greedy class-balanced memory; after each task the model is re-initialised and trained from scratch on the memory alone. */
export class GDumb extends Rehearsal {
  readonly name = 'gdumb';
  readonly options: GDumbOptions;
  /** Learning rate of each pass of the last retraining, and the steps whose gradient was clipped. */
  lastSchedule: number[] = [];
  clippedSteps = 0;

  constructor(options: GDumbOptions) {
    super(new MemoryBuffer({ capacity: options.capacity, policy: options.policy }), options.seed, 'gdumb');
    this.options = options;
  }

  /** The seed of the re-initialisation after `task`. */
  initSeed(task: TaskId): number {
    return deriveSeed(this.options.seed, 'gdumb init', task);
  }

  /** Streams the task's training set, in a random order, through the sampler. */
  override onTaskStart(ctx: TaskContext): void {
    super.onTaskStart(ctx);
    const order = this.rng.permutation(ctx.trainData.size);
    const offset = ctx.paradigm === 'dil' ? 0 : headLayers(ctx.model).slice(0, ctx.task - 1).reduce((n, head) => n + head.outFeatures, 0);
    for (let start = 0; start < order.length; start += INSERTION_CHUNK) {
      tidy(() => {
        // Built from the task's rows, not selected from the whole split built at once.
        const chunk = subset(ctx.trainData, order.subarray(start, Math.min(start + INSERTION_CHUNK, order.length)));
        // Global classes (TIL too: the learner trains one softmax over every class seen).
        this.memory.insert({ x: chunk.x, targets: chunk.y.add(offset), task: ctx.task }, this.rng);
      });
    }
  }

  skipsTraining(): boolean {
    return true;
  }

  /** Re-initialises the model and trains it from scratch on the memory. */
  onTaskEnd(ctx: TaskContext): void {
    reinitialize(ctx.model, this.initSeed(ctx.task));
    this.retrain(ctx.model, ctx.paradigm === 'dil' ? 1 : ctx.task, ctx.task);
  }

  /** `epochs` passes of the authors' recipe on the memory, scored by the first `heads` heads concatenated. */
  private retrain(model: ContinualModel, heads: number, task: TaskId): void {
    const o = this.options;
    const layers = headLayers(model).slice(0, heads);
    const params = model.parameters().filter((p) => p.requiresGrad);
    const optimizer = new SGD(params, { lr: o.maxLr, momentum: o.momentum, weightDecay: o.weightDecay });
    const scheduler = new CosineAnnealingWarmRestarts(optimizer, 1, 2, o.minLr);
    const stored = this.memory.gather();
    const data = { x: stored.x, y: stored.targets, size: this.memory.size };
    this.lastSchedule = [];
    this.clippedSteps = 0;
    model.train();
    try {
      for (let pass = 0; pass < o.epochs; pass++) {
        setPassLr(optimizer, scheduler, pass, o.maxLr);
        this.lastSchedule.push(optimizer.paramGroups[0]!.lr);
        for (const batch of batches(data, o.batchSize, { shuffle: true, seed: deriveSeed(o.seed, 'gdumb pass', task, pass) })) {
          tidy(() => {
            const feature = model.backbone.forward(batch.x).feature;
            const logits = layers.length === 1 ? layers[0]!.forward(feature) : cat(layers.map((head) => head.forward(feature)), 1);
            const loss = crossEntropy(logits, batch.y);
            optimizer.zeroGrad();
            loss.backward();
            if (clipGradNorm_(params, o.clip) > o.clip) this.clippedSteps++;
            optimizer.step();
          });
          batch.x.dispose();
          batch.y.dispose();
        }
      }
    } finally {
      model.eval();
      optimizer.dispose();
      for (const t of [stored.x, stored.targets]) t.dispose();
    }
  }

  summary() {
    return { text: `memory ${this.memory.size}/${this.memory.capacity}, ${this.memory.classCounts().size} classes`, values: { memory: this.memory.size, classes: this.memory.classCounts().size } };
  }
}

/** The definition of `gdumb` (`algorithms: [{name: gdumb}]`): greedy class-balanced memory; after each task the model is re-initialised and trained from scratch on the memory alone. */
export const gdumbDefinition = defineAlgorithm({
  name: 'gdumb',
  summary: 'greedy class-balanced memory; after each task the model is re-initialised and trained from scratch on the memory alone',
  options: gdumbOptions,
  paradigms: ALL_PARADIGMS,
  cilHeads: () => ({ heads: 'growing', because: 'its retraining scores the memory with the heads of tasks 1..t joined' }),
  paradigmIssue: (options, paradigm) =>
    paradigm === 'dil' && options.policy === 'greedy'
      ? {
          option: 'policy',
          message:
            "gdumb's greedy sampler never admits a new domain once its memory is class-balanced (in DIL every task has the same classes); set policy: classBalanced for paradigm dil",
        }
      : null,
  unlearning: () => 'retains',
  create: (options) => new GDumb(options),
});
