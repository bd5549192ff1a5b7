// Autograd beyond Tensor.backward(): grad-mode scopes and the functional grad.
import { native } from './native.js';
import { Tensor } from './tensor.js';

/** Runs `fn` with gradient tracking off (PyTorch's `with torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
/** Runs `fn` with gradient tracking on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
/** Whether operations record gradients now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.setGradEnabled(enabled);
  try {
    const result = fn();
    if (result instanceof Promise) {
      // As in tidy(): the caller gets the TypeError, so the promise's own rejection must not go unhandled.
      result.catch(() => undefined);
      throw new TypeError('noGrad/enableGrad got an async function; the grad mode is global and cannot follow an await');
    }
    return result;
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Settings of grad(), as torch.autograd.grad's. */
export interface GradOptions {
  /** Weights for each output (required for outputs with more than one element). */
  gradOutputs?: readonly Tensor[];
  /** Keep the graph for another backward; defaults to createGraph. */
  retainGraph?: boolean;
  /** Build a graph of the gradient itself, for higher-order derivatives. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` with respect to `inputs`, which may be leaves or
 * intermediate tensors (a layer's output, for instance), without touching
 * any `.grad`. PyTorch's torch.autograd.grad.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : outputs;
  const ins = inputs instanceof Tensor ? [inputs] : inputs;
  const createGraph = options.createGraph ?? false;
  const grads = native.autogradGrad(
    outs.map((t) => t?.handle),
    ins.map((t) => t?.handle),
    options.gradOutputs?.map((t) => t?.handle),
    options.retainGraph ?? createGraph,
    createGraph,
    options.allowUnused ?? false,
  );
  return grads.map((g) => (g === null ? null : Tensor.wrap(g)));
}
