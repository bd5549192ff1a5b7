// Capturing the inputs and outputs of Linear and Conv2d layers during one
// ordinary forward pass, so that per-sample squared gradients of their
// parameters can be formed in closed form from a single batched backward.
//
// The interception is an own, non-enumerable `forward` property installed on
// each layer instance for the duration of the pass and deleted afterwards: the
// model's own forward code (backbones, heads, Sequential, user modules) runs
// unchanged, and Module's registration and clone() never see the property
// (they only walk enumerable entries that are modules or tensors).
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import type { Module } from '../../nn/module.js';
import { keep } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';

export type CapturedLayer = Linear | Conv2d;

/** One call of a captured layer: its input (detached: only its values are needed) and its output (in the graph). */
export interface LayerCall {
  readonly input: Tensor;
  readonly output: Tensor;
}

export interface Capture {
  /** The calls of each intercepted layer, in call order. */
  readonly calls: Map<CapturedLayer, LayerCall[]>;
  /** Frees the captured tensors (they were kept out of the model's own scopes, which would otherwise free them at the end of its forward). */
  dispose(): void;
}

type Forward = (x: Tensor) => Tensor;

/**
 * Runs `fn` with `layers` intercepted. The captured tensors outlive `fn` (the
 * caller needs them for the backward pass) and must be freed with dispose().
 */
export function withCapture<T>(layers: readonly CapturedLayer[], fn: () => T): { result: T; capture: Capture } {
  const calls = new Map<CapturedLayer, LayerCall[]>();
  const owned: Tensor[] = [];
  const capture: Capture = {
    calls,
    dispose: () => {
      for (const t of owned) t.dispose();
      owned.length = 0;
    },
  };
  const installed: CapturedLayer[] = [];
  try {
    for (const layer of layers) {
      if (Object.hasOwn(layer, 'forward')) throw new Error(`computeFisher: the ${layer.constructor.name} layer already has an own 'forward' property and cannot be intercepted`);
      const original: Forward = layer.forward.bind(layer);
      const intercepted: Forward = (x) => {
        const output = original(x);
        const input = keep(x.detach());
        // The model's forward usually runs inside tidy(), which would free an
        // intermediate output it does not return; we need it for grad().
        keep(output);
        owned.push(input, output);
        const list = calls.get(layer) ?? [];
        list.push({ input, output });
        calls.set(layer, list);
        return output;
      };
      Object.defineProperty(layer, 'forward', { value: intercepted, enumerable: false, configurable: true, writable: true });
      installed.push(layer);
    }
    const result = fn();
    return { result, capture };
  } catch (error) {
    capture.dispose();
    throw error;
  } finally {
    for (const layer of installed) delete (layer as unknown as Record<string, unknown>)['forward'];
  }
}

/** The Linear and Conv2d modules of `model` (each once). */
export function capturableLayers(model: Module): CapturedLayer[] {
  return model.modules().filter((m): m is CapturedLayer => m instanceof Linear || m instanceof Conv2d);
}
