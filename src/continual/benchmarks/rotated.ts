// Rotated benchmarks (e.g. Rotated MNIST): every task is the whole dataset
// rotated by a fixed angle, counter-clockwise about the image centre, with
// bilinear interpolation and zero (black) fill, before normalisation. The
// angles are given, or by default spread evenly over a half turn:
// task t gets (t - 1) x 180 / numTasks degrees, so task 1 is unrotated.
// As with permutations, each task's classes count as new classes in the
// class-incremental paradigm.
import type { TaskId } from '../contracts/types.js';
import { ImageBenchmark, type ImageBenchmarkOptions } from './base.js';
import { formatBenchmarkProblems, rotatedProblems } from './feasibility.js';
import { type ImageTransform, rotationTransform } from './transforms.js';

/** Options of the rotated benchmark: each task rotates the images by its own angle. */
export interface RotatedOptions extends ImageBenchmarkOptions {
  /** One angle in degrees per task (default: evenly spaced over [0, 180)). */
  angles?: readonly number[];
}

export class RotatedBenchmark extends ImageBenchmark {
  readonly name: string;
  readonly angles: readonly number[];

  constructor(options: RotatedOptions) {
    super(options);
    const problems = rotatedProblems(this.numTasks, options.angles);
    if (problems.length > 0) throw new RangeError(formatBenchmarkProblems('rotated', problems));
    this.angles = Object.freeze(options.angles !== undefined ? [...options.angles] : Array.from({ length: this.numTasks }, (_, i) => (i * 180) / this.numTasks));
    this.name = `rotated-${this.dataset.name}`;
  }

  /** The rotation of `task` in degrees, counter-clockwise. */
  angle(task: TaskId): number {
    this.checkTask(task);
    return this.angles[task - 1]!;
  }

  protected taskClasses(): null {
    return null;
  }

  protected override taskTransform(task: TaskId): ImageTransform | null {
    const angle = this.angle(task);
    const [, h, w] = this.dataset.inputShape;
    return angle % 360 === 0 ? null : rotationTransform(h, w, angle);
  }
}
