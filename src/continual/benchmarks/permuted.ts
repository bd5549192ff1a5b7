// Permuted benchmarks (e.g. Permuted MNIST): every task is the whole dataset
// with a fixed shuffle of the pixel positions. Each task's permutation comes
// from its own seed, derived from the benchmark seed and the task number, so
// every run with the same seed sees the same tasks, task 1 included (CLArena
// left task 1 unseeded through a truthiness bug). `keepFirstUnpermuted`
// makes task 1 the original images. The permutation moves the raw pixels,
// before normalisation.
//
// All tasks have the dataset's classes. In the class-incremental paradigm
// each task's classes count as new classes: classOffset(t) = (t - 1) x classes
// (CLArena never applied this offset to permuted datasets, through a
// boolean-expression bug; we do).
import { Rng, deriveSeed } from './rng.js';
import type { TaskId } from '../contracts/types.js';
import { ImageBenchmark, type ImageBenchmarkOptions } from './base.js';
import { type ImageTransform, permutationTransform } from './transforms.js';

/** Options of the permuted benchmark: each task applies its own seeded permutation to the pixels. */
export interface PermutedOptions extends ImageBenchmarkOptions {
  /** Task 1 sees the original images (default false: every task is permuted). */
  keepFirstUnpermuted?: boolean;
}

export class PermutedBenchmark extends ImageBenchmark {
  readonly name: string;
  readonly keepFirstUnpermuted: boolean;

  constructor(options: PermutedOptions) {
    super(options);
    this.keepFirstUnpermuted = options.keepFirstUnpermuted ?? false;
    this.name = `permuted-${this.dataset.name}`;
  }

  /** The pixel permutation of `task`: output pixel i is input pixel permutation[i] (row-major over H x W). */
  permutation(task: TaskId): Int32Array {
    this.checkTask(task);
    const [, h, w] = this.dataset.inputShape;
    if (task === 1 && this.keepFirstUnpermuted) return Int32Array.from({ length: h * w }, (_, i) => i);
    return new Rng(deriveSeed(this.seed, 'permutation', task)).permutation(h * w);
  }

  protected taskClasses(): null {
    return null;
  }

  protected override taskTransform(task: TaskId): ImageTransform | null {
    if (task === 1 && this.keepFirstUnpermuted) return null;
    return permutationTransform(this.permutation(task));
  }
}
