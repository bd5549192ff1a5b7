// Sums over samples of squared per-sample gradients of Linear and Conv2d
// parameters, from one call's input a and the gradient g of the summed
// per-sample losses with respect to the call's output. Because sample n's loss
// depends only on row n of the output, row n of g is sample n's own output
// gradient, and sample n's weight gradient is g_n a_nᵀ (summed over positions
// for convolutions and extra leading dims).
import * as F from '../../nn/functional.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { CapturedLayer } from './capture.js';

/** Elements of the batched per-sample gradient held at once before the batch is processed in chunks. */
const CHUNK_ELEMENTS = 1 << 24;

/** Explicit symmetric padding of a Conv2d, or null when libtorch would pad asymmetrically ('same' with an even receptive field), which unfold cannot express. */
export function convPadding(layer: Conv2d): [number, number] | null {
  if (layer.padding === 'valid') return [0, 0];
  if (layer.padding !== 'same') return layer.padding;
  const out: [number, number] = [0, 0];
  for (let i = 0; i < 2; i++) {
    const total = layer.dilation[i]! * (layer.kernelSize[i]! - 1);
    if (total % 2 !== 0) return null;
    out[i] = total / 2;
  }
  return out;
}

/** Whether the closed form covers this layer's call pattern (grouped or asymmetric-padded convolutions do not). */
export function closedFormApplies(layer: CapturedLayer): boolean {
  if (layer instanceof Linear) return true;
  return layer.groups === 1 && convPadding(layer) !== null;
}

/**
 * Σ_n (per-sample gradient)² for the layer's weight and bias, given the
 * captured input `a` and output gradient `g` (already scaled by the square
 * root of each sample's weight). `batchDim` is the dim of `a` and `g` that
 * indexes samples. Call under noGrad.
 */
export function squaredPerSampleGrads(layer: CapturedLayer, a: Tensor, g: Tensor, batchDim: number): { weight: Tensor; bias: Tensor | null } {
  if (layer instanceof Linear) return linearSquares(layer, a, g, batchDim);
  return convSquares(layer, a, g);
}

function linearSquares(layer: Linear, a: Tensor, g: Tensor, batchDim: number): { weight: Tensor; bias: Tensor | null } {
  if (a.ndim === 2 && batchDim === 0) {
    // Σ_n (g_n a_nᵀ)² = (g²)ᵀ (a²) elementwise: one matrix product, no per-sample tensor.
    const g2 = g.square();
    return { weight: g2.t().mm(a.square()), bias: layer.bias === null ? null : g2.sum(0) };
  }
  // Extra dims (time steps, ...) are summed inside each sample's gradient before squaring.
  const front = (t: Tensor): Tensor => (batchDim === 0 ? t : t.transpose(batchDim, 0));
  const n = a.shape[batchDim]!;
  const a3 = front(a).reshape([n, -1, layer.inFeatures]);
  const g3 = front(g).reshape([n, -1, layer.outFeatures]);
  const weight = g3.transpose(1, 2).bmm(a3).square().sum(0);
  return { weight, bias: layer.bias === null ? null : g3.sum(1).square().sum(0) };
}

function convSquares(layer: Conv2d, a: Tensor, g: Tensor): { weight: Tensor; bias: Tensor | null } {
  const padding = convPadding(layer)!;
  const n = a.shape[0]!;
  const out = layer.outChannels;
  const cols = layer.inChannels * layer.kernelSize[0] * layer.kernelSize[1];
  const chunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / (out * cols)));
  let weight: Tensor | null = null;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    // im2col: sample n's weight gradient is g_n [out, L] @ unfold(a_n)ᵀ [L, in*kh*kw].
    const cols3 = F.unfold(a.narrow(0, start, len), layer.kernelSize, { dilation: layer.dilation, padding, stride: layer.stride });
    const g3 = g.narrow(0, start, len).reshape([len, out, -1]);
    const part = g3.bmm(cols3.transpose(1, 2)).square().sum(0);
    weight = weight === null ? part : weight.add(part);
  }
  const bias = layer.bias === null ? null : g.sum([2, 3]).square().sum(0);
  return { weight: weight!.reshape(layer.weight.shape), bias };
}
