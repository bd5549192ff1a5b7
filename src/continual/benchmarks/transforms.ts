// The per-task image transforms: pixel permutations and rotations. Both act
// on images [N, C, H, W] scaled to [0, 1], before normalisation, so that the
// zero fill of a rotation is black background and a permutation moves raw
// pixels (the normalisation is per channel, so it would commute with a
// permutation anyway, but not with the zero fill).
import { tensor } from '../../tensor/creation.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';

function indexTensor(values: ArrayLike<number>): Tensor {
  const ids = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) ids[i] = BigInt(values[i]!);
  return tensor(ids);
}

function checkImages(x: Tensor, what: string): [number, number, number, number] {
  if (x.ndim !== 4) throw new RangeError(`${what}: expected images [N, C, H, W], got [${x.shape.join(', ')}]`);
  return x.shape as unknown as [number, number, number, number];
}

/**
 * A task's transform of images [N, C, H, W] in [0, 1], prepared once (its
 * index and weight tensors are kept) and applied to every batch of the task;
 * dispose() frees what it holds.
 */
export interface ImageTransform {
  apply(x: Tensor): Tensor;
  dispose(): void;
}

/** Runs a prepared transform once, freeing it afterwards. */
function applyOnce(transform: ImageTransform, x: Tensor): Tensor {
  try {
    return transform.apply(x);
  } finally {
    transform.dispose();
  }
}

/**
 * Moves pixels: output pixel i of every image and channel is input pixel
 * `permutation[i]` (positions counted row-major over H x W). The same
 * permutation applies to every channel, so a colour pixel moves as a whole.
 */
export function permutationTransform(permutation: ArrayLike<number>): ImageTransform {
  const index = keep(indexTensor(permutation));
  return {
    apply(x: Tensor): Tensor {
      const [n, c, h, w] = checkImages(x, 'permutePixels');
      if (permutation.length !== h * w) throw new RangeError(`permutePixels: the permutation has ${permutation.length} entries for ${h} x ${w} = ${h * w} pixels`);
      // On a 2-D view the gather runs about five times faster than on [n, c, h*w] (libtorch 1.13).
      return tidy(() => x.reshape([n * c, h * w]).indexSelect(1, index).reshape([n, c, h, w]));
    },
    dispose: () => index.dispose(),
  };
}

/** permutationTransform applied once. */
export function permutePixels(x: Tensor, permutation: ArrayLike<number>): Tensor {
  return applyOnce(permutationTransform(permutation), x);
}

/** Where each output pixel of a rotation reads from: four source pixels and their bilinear weights. */
export interface RotationSampler {
  /** Four arrays (top-left, top-right, bottom-left, bottom-right) of source pixel indices, one per output pixel. */
  readonly indices: readonly [Int32Array, Int32Array, Int32Array, Int32Array];
  /** The matching weights; a source outside the image has weight 0 (zero fill). */
  readonly weights: readonly [Float64Array, Float64Array, Float64Array, Float64Array];
}

/** cos and sin of an angle in degrees, exact at multiples of 90 so that quarter turns move pixels without blending. */
function cosSin(degrees: number): [number, number] {
  const turn = ((degrees % 360) + 360) % 360;
  if (turn === 0) return [1, 0];
  if (turn === 90) return [0, 1];
  if (turn === 180) return [-1, 0];
  if (turn === 270) return [0, -1];
  const radians = (degrees * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

/** Rounds away floating-point noise so that a coordinate meant to be integral samples one pixel exactly. */
function snap(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - r) < 1e-9 ? r : v;
}

/**
 * The sampling map of a counter-clockwise rotation by `degrees` (as the image
 * is displayed, rows downwards) about the image centre ((W-1)/2, (H-1)/2),
 * with bilinear interpolation and zero fill. Output pixel (r, c) reads the
 * input at column cx + dx cos - dy sin, row cy + dx sin + dy cos, where
 * dx = c - cx and dy = r - cy. A quarter turn is an exact pixel shuffle on
 * square images: 90 degrees gives out[r][c] = in[c][W-1-r].
 */
export function rotationSampler(height: number, width: number, degrees: number): RotationSampler {
  if (!Number.isFinite(degrees)) throw new RangeError(`rotation angle must be a finite number of degrees, got ${degrees}`);
  const [cos, sin] = cosSin(degrees);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const size = height * width;
  const indices = [new Int32Array(size), new Int32Array(size), new Int32Array(size), new Int32Array(size)] as const;
  const weights = [new Float64Array(size), new Float64Array(size), new Float64Array(size), new Float64Array(size)] as const;
  const inside = (row: number, col: number): boolean => row >= 0 && row < height && col >= 0 && col < width;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const dx = c - cx;
      const dy = r - cy;
      const sc = snap(cx + dx * cos - dy * sin);
      const sr = snap(cy + dx * sin + dy * cos);
      const c0 = Math.floor(sc);
      const r0 = Math.floor(sr);
      const fc = sc - c0;
      const fr = sr - r0;
      const corners: [number, number, number][] = [
        [r0, c0, (1 - fr) * (1 - fc)],
        [r0, c0 + 1, (1 - fr) * fc],
        [r0 + 1, c0, fr * (1 - fc)],
        [r0 + 1, c0 + 1, fr * fc],
      ];
      const p = r * width + c;
      corners.forEach(([row, col, weight], k) => {
        // Out-of-image corners read pixel 0 with weight 0: zero fill.
        const ok = inside(row, col) && weight !== 0;
        indices[k][p] = ok ? row * width + col : 0;
        weights[k][p] = ok ? weight : 0;
      });
    }
  }
  return { indices, weights };
}

/** A counter-clockwise rotation by `degrees` of images H x W (see rotationSampler): a weighted sum of four gathers. */
export function rotationTransform(height: number, width: number, degrees: number): ImageTransform {
  const sampler = rotationSampler(height, width, degrees);
  // The corners that read anything, with their source pixels and weights.
  const terms: { index: Tensor; weight: Tensor }[] = [];
  for (let k = 0; k < 4; k++) {
    const weights = sampler.weights[k]!;
    if (weights.every((v) => v === 0)) continue;
    terms.push({ index: keep(indexTensor(sampler.indices[k]!)), weight: keep(tensor(Float32Array.from(weights))) });
  }
  return {
    apply(x: Tensor): Tensor {
      const [n, c, h, w] = checkImages(x, 'rotateImages');
      if (h !== height || w !== width) throw new RangeError(`rotateImages: the rotation was prepared for ${height} x ${width} images, got ${h} x ${w}`);
      return tidy(() => {
        const flat = x.reshape([n, c, h * w]);
        let out: Tensor | null = null;
        for (const { index, weight } of terms) {
          const term = flat.indexSelect(2, index).mul(weight);
          out = out === null ? term : out.add(term);
        }
        return (out ?? flat.mul(0)).reshape([n, c, h, w]);
      });
    },
    dispose(): void {
      for (const { index, weight } of terms) {
        index.dispose();
        weight.dispose();
      }
    },
  };
}

/** Rotates every image of x [N, C, H, W] counter-clockwise by `degrees` (see rotationSampler). */
export function rotateImages(x: Tensor, degrees: number): Tensor {
  const [, , h, w] = checkImages(x, 'rotateImages');
  return applyOnce(rotationTransform(h, w, degrees), x);
}
