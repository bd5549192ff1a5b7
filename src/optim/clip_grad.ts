// Gradient clipping by the global norm, as torch.nn.utils.clip_grad_norm_
// (PyTorch 1.13, norm 2): the gradients of all `params` are scaled together
// by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the 2-norm of the
// per-parameter 2-norms, so that their joint norm is at most maxNorm.
// Parameters without a gradient are skipped. Returns ‖g‖ before clipping.
// (Reading the coefficient back is a device synchronisation on a GPU, as
// reading ‖g‖ already is.)
import { noGrad } from '../tensor/autograd.js';
import { stack } from '../tensor/functions.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** Scales the gradients of `params` together so that their joint 2-norm is at most `maxNorm`, and returns the norm before clipping (torch.nn.utils.clip_grad_norm_). */
export function clipGradNorm_(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm_: maxNorm must be > 0, got ${maxNorm}`);
  return tidy(() =>
    noGrad(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const total = stack(grads.map((g) => g.norm(2))).norm(2);
      // maxNorm / (total + 1e-6) as PyTorch evaluates a float over a tensor: reciprocal, then the product.
      const coefficient = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      // A coefficient of exactly 1 leaves every gradient as it is (x · 1 = x in IEEE arithmetic, NaN included), so the products are skipped.
      if (coefficient.item() !== 1) for (const g of grads) g.mul_(coefficient);
      return total.item();
    }),
  );
}
