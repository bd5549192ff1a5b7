// Adam and AdamW, as torch.optim.Adam and torch.optim.AdamW (PyTorch 1.13,
// single-tensor implementation: same operations in the same order).
import { full } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Parameter } from '../nn/parameter.js';
import { type BaseHyperparameters, Optimizer, type ParamGroup, type ParamState, type ParamsArg } from './optimizer.js';

export interface AdamHyperparameters extends BaseHyperparameters {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** Adam's and AdamW's hyperparameters; any left out take PyTorch's defaults. */
export type AdamOptions = Partial<AdamHyperparameters>;

/**
 * Adam with L2 weight decay added to the gradient.
 *
 * State per parameter: `expAvg`, `expAvgSq`, `maxExpAvgSq` (amsgrad) and the
 * step count. Bias correction uses that one count, as in PyTorch, until
 * resetState is called with a mask: from then on the parameter also has an
 * `elementStep` tensor (float64, shaped like the parameter) counting steps
 * per element, the reset elements restarting from 0, so their bias
 * correction restarts exactly as for a new parameter (as in the CBP
 * authors' AdamGnT). That path computes the bias correction in tensors,
 * which costs a few extra elementwise operations per step and can differ
 * from the scalar path in the last bit of float32.
 */
export class Adam extends Optimizer<AdamHyperparameters> {
  constructor(params: ParamsArg<AdamHyperparameters>, options: AdamOptions = {}) {
    super(params, adamDefaults(options, 0));
  }

  /** Whether weight decay shrinks the parameter directly (AdamW) instead of adding to the gradient. */
  protected decoupledWeightDecay(): boolean {
    return false;
  }

  protected validate(group: Readonly<AdamHyperparameters>): void {
    const name = this.constructor.name;
    if (typeof group.lr !== 'number' || !(group.lr >= 0)) throw new RangeError(`${name}: invalid lr: ${group.lr} (must be a number >= 0)`);
    if (!(group.eps >= 0)) throw new RangeError(`${name}: invalid eps: ${group.eps} (must be >= 0)`);
    if (!Array.isArray(group.betas) || group.betas.length !== 2) throw new RangeError(`${name}: betas must be a pair of numbers, got ${String(group.betas)}`);
    group.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new RangeError(`${name}: invalid betas[${i}]: ${b} (must be in [0, 1))`);
    });
    if (!(group.weightDecay >= 0)) throw new RangeError(`${name}: invalid weightDecay: ${group.weightDecay} (must be >= 0)`);
  }

  protected update(param: Parameter, grad: Tensor, group: ParamGroup<AdamHyperparameters>, state: ParamState): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    const t = state.tensors;
    const expAvg = t['expAvg'] ?? this.setStateTensor(state, 'expAvg', this.newStateTensor(param));
    const expAvgSq = t['expAvgSq'] ?? this.setStateTensor(state, 'expAvgSq', this.newStateTensor(param));
    const maxExpAvgSq = amsgrad ? (t['maxExpAvgSq'] ?? this.setStateTensor(state, 'maxExpAvgSq', this.newStateTensor(param))) : undefined;
    const elementStep = t['elementStep'];

    let g = maximize ? grad.neg() : grad;
    state.step += 1;
    elementStep?.add_(1);
    if (this.decoupledWeightDecay()) param.mul_(1 - lr * weightDecay);
    else if (weightDecay !== 0) g = g.add(param, weightDecay);

    expAvg.mul_(beta1).add_(g, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);
    const second = maxExpAvgSq === undefined ? expAvgSq : maxExpAvgSq.maximum_(expAvgSq);

    if (elementStep === undefined) {
      const biasCorrection1 = 1 - beta1 ** state.step;
      const biasCorrection2 = 1 - beta2 ** state.step;
      const stepSize = lr / biasCorrection1;
      const denom = second.sqrt().div(Math.sqrt(biasCorrection2)).add_(eps);
      param.addcdiv_(expAvg, denom, -stepSize);
      return;
    }
    // 1 - beta ** s as -expm1(s * ln beta), in float64: exact enough for any step count.
    const biasCorrection1 = elementStep.mul(Math.log(beta1)).expm1().neg();
    const biasCorrection2 = elementStep.mul(Math.log(beta2)).expm1().neg();
    const stepSize = biasCorrection1.reciprocal().mul(lr).to(param.dtype);
    const denom = second.sqrt().div(biasCorrection2.sqrt().to(param.dtype)).add_(eps);
    param.addcdiv_(expAvg.mul(stepSize), denom, -1);
  }

  /** Zeroes the masked elements' moments and restarts their step count (see the class comment). */
  protected override resetElements(param: Parameter, state: ParamState, mask: Tensor): void {
    if (state.tensors['elementStep'] === undefined) {
      this.setStateTensor(state, 'elementStep', full(param.shape, state.step, { dtype: 'float64', device: param.device }));
    }
    super.resetElements(param, state, mask);
  }

  protected override keepsSavedDType(name: string): boolean {
    return name === 'elementStep';
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter): the parameter shrinks by lr * weightDecay each step. */
export class AdamW extends Adam {
  constructor(params: ParamsArg<AdamHyperparameters>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 0.01 });
  }

  protected override decoupledWeightDecay(): boolean {
    return true;
  }
}

function adamDefaults(options: AdamOptions, weightDecay: number): AdamHyperparameters {
  return {
    lr: options.lr ?? 1e-3,
    betas: options.betas === undefined ? [0.9, 0.999] : [options.betas[0], options.betas[1]],
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? weightDecay,
    amsgrad: options.amsgrad ?? false,
    maximize: options.maximize ?? false,
  };
}
