// Sums over samples of squared (the Fisher) or absolute (MAS) per-sample
// gradients of Linear and Conv2d parameters, from one call's input a and the
// gradient g of the summed per-sample losses with respect to the call's output. Because sample n's loss
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
 * The elementwise function summed over samples. Both are multiplicative
 * (m(xy) = m(x) m(y)), which is what lets a single product factor.
 */
export type Magnitude = 'square' | 'abs';

function magnitude(t: Tensor, m: Magnitude): Tensor {
  return m === 'square' ? t.square() : t.abs();
}

/**
 * Σ_n m(per-sample gradient) for the layer's weight and bias, given the
 * captured input `a` and output gradient `g` (already scaled by the square
 * root of each sample's weight). `batchDim` is the dim of `a` and `g` that
 * indexes samples. Call under noGrad.
 */
export function perSampleGradientSums(layer: CapturedLayer, a: Tensor, g: Tensor, batchDim: number, m: Magnitude): { weight: Tensor; bias: Tensor | null } {
  if (layer instanceof Linear) return linearSums(layer, a, g, batchDim, m);
  return convSums(layer, a, g, m);
}

function linearSums(layer: Linear, a: Tensor, g: Tensor, batchDim: number, m: Magnitude): { weight: Tensor; bias: Tensor | null } {
  if (a.ndim === 2 && batchDim === 0) {
    // Σ_n m(g_n a_nᵀ) = m(g)ᵀ m(a) elementwise: one matrix product, no per-sample tensor.
    const mg = magnitude(g, m);
    return { weight: mg.t().mm(magnitude(a, m)), bias: layer.bias === null ? null : mg.sum(0) };
  }
  // Extra dims (time steps, ...) are summed inside each sample's gradient before m is applied.
  const front = (t: Tensor): Tensor => (batchDim === 0 ? t : t.transpose(batchDim, 0));
  const n = a.shape[batchDim]!;
  const a3 = front(a).reshape([n, -1, layer.inFeatures]);
  const g3 = front(g).reshape([n, -1, layer.outFeatures]);
  const weight = magnitude(g3.transpose(1, 2).bmm(a3), m).sum(0);
  return { weight, bias: layer.bias === null ? null : magnitude(g3.sum(1), m).sum(0) };
}

function convSums(layer: Conv2d, a: Tensor, g: Tensor, m: Magnitude): { weight: Tensor; bias: Tensor | null } {
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
    const part = magnitude(g3.bmm(cols3.transpose(1, 2)), m).sum(0);
    weight = weight === null ? part : weight.add(part);
  }
  const bias = layer.bias === null ? null : magnitude(g.sum([2, 3]), m).sum(0);
  return { weight: weight!.reshape(layer.weight.shape), bias };
}
