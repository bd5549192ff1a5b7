// Parts of parameters that must not change while a task trains (the weights
// HAT's earlier tasks use, the weights PackNet's earlier tasks own), put back
// after every optimizer step. Zeroing their gradients is not enough: coupled
// weight decay, momentum left from a gradient that was not zero, and Adam's
// step on a tiny gradient all move them (docs/algorithms/hat.md, "the
// optimizer"). Putting the values back is a select, not arithmetic, so they
// stay bit-identical whatever the optimizer did.
import { noGrad } from '../../tensor/autograd.js';
import { keep, tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';

interface Frozen {
  readonly target: Tensor;
  /** Where the target is frozen (bool, the target's shape). */
  readonly mask: Tensor;
  /** The target's values when it was frozen. */
  readonly values: Tensor;
}

export class FrozenValues {
  private entries: Frozen[] = [];

  /** Freezes `target` where `mask` (bool, broadcastable to the target) is true, at its current values. */
  freeze(target: Tensor, mask: Tensor): void {
    if (mask.dtype !== 'bool') throw new TypeError(`FrozenValues.freeze: the mask must be bool, got ${mask.dtype}`);
    noGrad(() => {
      const entry = tidy(() => ({ target, mask: keep(mask.expand(target.shape).clone()), values: keep(target.detach().clone()) }));
      this.entries.push(entry);
    });
  }

  /** Puts every frozen element back to the value it was frozen at. */
  restore(): void {
    tidy(() =>
      noGrad(() => {
        for (const e of this.entries) e.target.copy_(e.values.where(e.mask, e.target));
      }),
    );
  }

  /** How many elements are frozen. */
  count(): number {
    return tidy(() => this.entries.reduce((n, e) => n + e.mask.sum().item(), 0));
  }

  /** Unfreezes everything and frees the copies. */
  clear(): void {
    for (const e of this.entries) {
      e.mask.dispose();
      e.values.dispose();
    }
    this.entries = [];
  }
}
