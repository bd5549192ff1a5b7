// Stochastic gradient descent with momentum, as torch.optim.SGD (PyTorch 1.13,
// single-tensor implementation: same operations in the same order).
import { zerosLike } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Parameter } from '../nn/parameter.js';
import { type BaseHyperparameters, Optimizer, type ParamGroup, type ParamState, type ParamsArg } from './optimizer.js';

export interface SGDHyperparameters extends BaseHyperparameters {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/** SGD's hyperparameters: lr is required, the others take PyTorch's defaults. */
export type SGDOptions = Partial<SGDHyperparameters> & { lr: number };

/**
 * State per parameter: `momentumBuffer` once a step with momentum has run,
 * and, after a masked resetState, `momentumFresh`, a bool tensor marking the
 * elements whose buffer must restart from the gradient at the next step.
 */
export class SGD extends Optimizer<SGDHyperparameters> {
  constructor(params: ParamsArg<SGDHyperparameters>, options: SGDOptions) {
    super(params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected validate(group: Readonly<SGDHyperparameters>): void {
    if (typeof group.lr !== 'number' || !(group.lr >= 0)) throw new RangeError(`SGD: invalid lr: ${group.lr} (must be a number >= 0)`);
    if (!(group.momentum >= 0)) throw new RangeError(`SGD: invalid momentum: ${group.momentum} (must be >= 0)`);
    if (!(group.weightDecay >= 0)) throw new RangeError(`SGD: invalid weightDecay: ${group.weightDecay} (must be >= 0)`);
    if (!Number.isFinite(group.dampening)) throw new RangeError(`SGD: invalid dampening: ${group.dampening} (must be finite)`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new RangeError(`SGD: nesterov requires momentum > 0 and dampening = 0 (got momentum: ${group.momentum}, dampening: ${group.dampening})`);
    }
  }

  protected update(param: Parameter, grad: Tensor, group: ParamGroup<SGDHyperparameters>, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    state.step += 1;
    let dp = maximize ? grad.neg() : grad;
    if (weightDecay !== 0) dp = dp.add(param, weightDecay);
    if (momentum !== 0) {
      let buf = state.tensors['momentumBuffer'];
      if (buf === undefined) {
        buf = this.setStateTensor(state, 'momentumBuffer', dp.clone());
      } else {
        buf.mul_(momentum).add_(dp, 1 - dampening);
        const fresh = state.tensors['momentumFresh'];
        if (fresh !== undefined) {
          // A first step takes the gradient undamped, which a zeroed buffer would not.
          buf.copy_(dp.where(fresh, buf));
          this.deleteStateTensor(state, 'momentumFresh');
        }
      }
      dp = nesterov ? dp.add(buf, momentum) : buf;
    }
    param.add_(dp, -lr);
  }

  /**
   * Zeroes the masked elements of the momentum buffer and marks them so that
   * their next step sets the buffer to the gradient, as the first step of a
   * new parameter does: with dampening, zeroing alone would give
   * (1 - dampening) * gradient instead.
   */
  protected override resetElements(param: Parameter, state: ParamState, mask: Tensor): void {
    const buf = state.tensors['momentumBuffer'];
    if (buf === undefined) return;
    buf.maskedFill_(mask, 0);
    const previous = state.tensors['momentumFresh'];
    const fresh = (previous ?? zerosLike(param, { dtype: 'bool' })).logicalOr(mask);
    this.setStateTensor(state, 'momentumFresh', fresh);
  }
}
