// WSN's masks: the top-c gate on a score tensor, its straight-through form,
// and the 1-bit-per-weight packing of binary masks for checkpoints.
import type { Tensor } from '../../tensor/tensor.js';

/**
 * How many of `numel` elements a gate with fraction c keeps: the count
 * nearest to c·numel, and at least one (a layer never goes silent).
 * (The WSN authors' code keeps numel − ⌊(1 − c)·numel⌋, which is ⌈c·numel⌉
 * up to floating-point error in (1 − c)·numel.)
 */
export function keptCount(numel: number, fraction: number): number {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`WSN: the mask fraction c must be in (0, 1], got ${fraction}`);
  return Math.min(numel, Math.max(1, Math.round(fraction * numel)));
}

/**
 * The binary gate of WSN: a bool tensor shaped like `scores` that is true at
 * exactly keptCount(n, c) elements, those with the highest scores. Among
 * equal scores at the threshold the lower flat index is kept (the order a
 * stable descending sort gives), so the mask is deterministic.
 *
 * Computed by selection, not sorting: the threshold is the k-th largest
 * score, and every score at or above it is kept; when several scores tie at
 * the threshold and that keeps more than k, the ties with the highest flat
 * indices are dropped. (Trained scores are continuous, so that correction is
 * rare; reading the count back is a device synchronisation on a GPU.) A
 * `search` that has seen the same scores at an earlier step finds the
 * threshold among the scores near its last one; the threshold, and so the
 * mask, is the same either way.
 */
export function topFractionMask(scores: Tensor, fraction: number, search?: ThresholdSearch): Tensor {
  const flat = scores.detach().reshape(-1);
  const k = keptCount(flat.numel(), fraction);
  const threshold = search === undefined ? kthLargest(flat, k) : search.kthLargest(flat, k);
  const mask = flat.ge(threshold);
  const excess = mask.sum().item() - k;
  if (excess > 0) {
    const ties = flat.eq(threshold).nonzero().reshape(-1);
    mask.indexPut_(ties.narrow(0, ties.numel() - excess, excess), false);
  }
  return mask.reshape(scores.shape);
}

/**
 * The k-th largest of a 1-D tensor, as a 0-d tensor: the smallest of the k
 * largest or the largest of the n − k + 1 smallest, whichever selection is
 * smaller; an unsorted topk finds it about twice as fast as kthvalue for
 * small k.
 */
function kthLargest(flat: Tensor, k: number): Tensor {
  const n = flat.numel();
  return k <= n - k + 1 ? flat.topk(k, 0, true, false).values.min() : flat.topk(n - k + 1, 0, false, false).values.max();
}

/**
 * Finds the k-th largest of one score tensor at step after step, where each
 * step moves the scores a little. With a floor a small gap below the last
 * threshold, the candidates are the scores at or above the floor: when there
 * are at least k of them, the k-th largest overall is among them, and it is
 * the (m − k + 1)-th smallest of the m candidates, a selection over a few
 * more than k elements instead of all n. When fewer than k reach the floor
 * the threshold fell below it, and the whole tensor is searched. The gap
 * doubles after such a miss and halves when the candidates exceed k by more
 * than needed. For WSN's c = 0.1 this takes a quarter of a full topk's time.
 * Only CPU tensors take the shortcut: on a GPU the candidate count is a
 * synchronisation. (NaN scores never reach a floor; topk would count them as
 * the largest. A NaN score makes the loss NaN, which stops training.)
 */
export class ThresholdSearch {
  #last: number | null = null;
  #gap = 0;
  #shortcuts = 0;

  /** How many thresholds were found among the candidates, without searching the whole tensor. */
  get shortcuts(): number {
    return this.#shortcuts;
  }

  kthLargest(flat: Tensor, k: number): Tensor {
    if (this.#last !== null && flat.device === 'cpu') {
      const candidates = flat.maskedSelect(flat.ge(this.#last - this.#gap));
      const m = candidates.numel();
      if (m >= k) {
        const threshold = candidates.topk(m - k + 1, 0, false, false).values.max();
        this.#last = threshold.item();
        this.#shortcuts++;
        // Room for the scores near the threshold to move by one step: a hundredth of k, at least 64.
        if (m - k > 4 * Math.max(64, k / 100)) this.#gap /= 2;
        return threshold;
      }
      this.#gap *= 2;
    }
    const threshold = kthLargest(flat, k);
    this.#last = threshold.item();
    if (this.#gap === 0 || !Number.isFinite(this.#gap)) this.#gap = Math.abs(this.#last) * 1e-3 || 1e-6;
    return threshold;
  }
}

/**
 * The gate with a straight-through backward: its value is exactly the 0/1
 * mask, its gradient with respect to `scores` is the identity. Written
 * (s − s.detach()) + hard: s − s is exactly 0, so the sum is exactly the
 * mask. (hard + s − s.detach() rounds: hard + s loses bits of s, and the
 * result is 1 ± 1e-7 where it should be 1, a leak into frozen weights.)
 * The bool mask is added in place into s − s.detach(), which saves two
 * temporaries of the tensor's size; the sum's backward is the identity.
 */
export function straightThroughMask(scores: Tensor, fraction: number, search?: ThresholdSearch): Tensor {
  return scores.sub(scores.detach()).add_(topFractionMask(scores, fraction, search));
}

/** Packs 0/1 bytes into bits, 8 per byte, the first element in the most significant bit; the last byte is padded with zeros. */
export function packBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >> 3]! |= 0x80 >> (i & 7);
  return out;
}

/** The first `count` bits of `bytes` as 0/1 bytes (the inverse of packBits). */
export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  if (bytes.length !== Math.ceil(count / 8)) throw new RangeError(`unpackBits: ${count} bits need ${Math.ceil(count / 8)} bytes, got ${bytes.length}`);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}
