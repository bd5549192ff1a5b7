// Elementwise arithmetic, math, comparison and logic, broadcasting and type
// promotion, and in-place updates, against PyTorch.
import { add, div, maximum, minimum, mul, pow, sub, where } from '../../src/index.js';
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/index.js';
import { call, runFamily } from './cases.js';

/** The method and the functional form must agree exactly; the method's result is checked against PyTorch. */
function same(method: Tensor, functional: Tensor): Tensor {
  assert.ok(method.equal(functional), 'method and functional forms differ');
  return method;
}

runFamily('pointwise', {
  add: (t, a) => same(t.a!.add(t.b!, a.alpha), add(t.a!, t.b!, a.alpha)),
  add_scalar: (t, a) => t.a!.add(a.s),
  radd_scalar: (t, a) => add(a.s, t.a!),
  sub: (t, a) => same(t.a!.sub(t.b!, a.alpha), sub(t.a!, t.b!, a.alpha)),
  sub_scalar: (t, a) => t.a!.sub(a.s),
  rsub_scalar: (t, a) => sub(a.s, t.a!),
  mul: (t) => same(t.a!.mul(t.b!), mul(t.a!, t.b!)),
  mul_scalar: (t, a) => t.a!.mul(a.s),
  div: (t, a) => same(t.a!.div(t.b!, a.mode ?? undefined), div(t.a!, t.b!, a.mode ?? undefined)),
  div_scalar: (t, a) => t.a!.div(a.s),
  rdiv_scalar: (t, a) => div(a.s, t.a!),
  pow: (t) => same(t.a!.pow(t.b!), pow(t.a!, t.b!)),
  pow_scalar: (t, a) => t.a!.pow(a.s),
  rpow_scalar: (t, a) => pow(a.s, t.a!),
  unary: (t, a) => call(t.a!, a.fn),
  clamp: (t, a) => t.a!.clamp(a.min, a.max),
  minimum: (t) => same(t.a!.minimum(t.b!), minimum(t.a!, t.b!)),
  maximum: (t) => same(t.a!.maximum(t.b!), maximum(t.a!, t.b!)),
  remainder: (t) => t.a!.remainder(t.b!),
  remainder_scalar: (t, a) => t.a!.remainder(a.s),
  atan2: (t) => t.a!.atan2(t.b!),
  where: (t) => same(t.a!.where(t.c!, t.b!), where(t.c!, t.a!, t.b!)),
  where_scalar_other: (t, a) => t.a!.where(t.c!, a.s),
  where_scalar_first: (t, a) => where(t.c!, a.s, t.b!),
  compare: (t, a) => call(t.a!, a.fn, t.b!),
  compare_scalar: (t, a) => call(t.a!, a.fn, a.s),
  logical: (t, a) => call(t.a!, a.fn, t.b!),
  equal: (t) => t.a!.equal(t.b!),
  allclose: (t, a) => t.a!.allclose(t.b!, { rtol: a.rtol, atol: a.atol }),
});

runFamily('inplace', {
  add_: (t, a) => t.x!.add_(t.y!, a.alpha),
  add_scalar_: (t, a) => t.x!.add_(a.s),
  sub_: (t, a) => t.x!.sub_(t.y!, a.alpha),
  mul_: (t) => t.x!.mul_(t.y!),
  mul_scalar_: (t, a) => t.x!.mul_(a.s),
  div_: (t) => t.x!.div_(t.y!),
  pow_scalar_: (t, a) => t.x!.pow_(a.s),
  unary_: (t, a) => call(t.x!, a.fn),
  maximum_: (t) => t.x!.maximum_(t.y!),
  addcmul_: (t, a) => t.x!.addcmul_(t.a!, t.b!, a.value),
  addcdiv_: (t, a) => t.x!.addcdiv_(t.a!, t.b!, a.value),
  lerp_: (t, a) => t.x!.lerp_(t.end!, a.weight),
  clamp_: (t, a) => t.x!.clamp_(a.min, a.max),
  copy_: (t) => t.x!.copy_(t.src!),
  fill_: (t, a) => t.x!.fill_(a.value),
  maskedFill_: (t, a) => t.x!.maskedFill_(t.mask!, a.value),
  indexPut_: (t, a) => t.x!.indexPut_(t.index!, t.values!, a.accumulate),
  indexPut_scalar: (t, a) => t.x!.indexPut_(t.index!, a.value),
});
