// What every rehearsal algorithm shares: a memory that it checkpoints and
// frees, and a generator of its own for insertion and draws, reseeded at
// each task start from (seed, stream name, task). Reseeding per task makes a
// run resumed from a task-end checkpoint draw exactly what an uninterrupted
// one draws without saving generator state, and an own generator leaves
// libtorch's random stream (initialisation, dropout) untouched.
import { Rng, deriveSeed } from '../benchmarks/rng.js';
import type { Algorithm, AlgorithmState, TaskContext } from '../algorithms/algorithm.js';
import type { MemoryBuffer } from './buffer.js';

export abstract class Rehearsal implements Algorithm {
  abstract readonly name: string;
  /** The generator of the current task: insertion and draws. */
  protected rng: Rng;

  constructor(
    readonly memory: MemoryBuffer,
    /** The seed option of the algorithm. */
    protected readonly seed: number,
    /** The label of its generator's stream (the algorithm's name). */
    private readonly stream: string,
  ) {
    this.rng = new Rng(deriveSeed(seed, stream, 0));
  }

  onTaskStart(ctx: TaskContext): void {
    this.rng = new Rng(deriveSeed(this.seed, this.stream, ctx.task));
  }

  state(): AlgorithmState {
    return this.memory.state();
  }

  loadState(state: AlgorithmState): void {
    this.memory.loadState(state);
  }

  dispose(): void {
    this.memory.dispose();
  }
}
