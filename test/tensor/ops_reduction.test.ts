// Reductions over all elements or chosen dims, with keepdim, against PyTorch.
import { num, runFamily } from './cases.js';

runFamily('reduction', {
  sum: (t, a) => t.x!.sum(a.dim, a.keepdim, a.dtype === null ? {} : { dtype: a.dtype }),
  mean: (t, a) => t.x!.mean(a.dim, a.keepdim),
  prod: (t, a) => t.x!.prod(a.dim, a.keepdim),
  max: (t) => t.x!.max(),
  min: (t) => t.x!.min(),
  max_dim: (t, a) => t.x!.max(a.dim, a.keepdim),
  min_dim: (t, a) => t.x!.min(a.dim, a.keepdim),
  argmax: (t, a) => t.x!.argmax(a.dim, a.keepdim),
  argmin: (t, a) => t.x!.argmin(a.dim, a.keepdim),
  var: (t, a) => t.x!.var(a.dim, { correction: a.correction, keepdim: a.keepdim }),
  std: (t, a) => t.x!.std(a.dim, { correction: a.correction, keepdim: a.keepdim }),
  norm: (t, a) => t.x!.norm(num(a.p), a.dim, a.keepdim),
  logsumexp: (t, a) => t.x!.logsumexp(a.dim, a.keepdim),
  all: (t, a) => t.x!.all(a.dim, a.keepdim),
  any: (t, a) => t.x!.any(a.dim, a.keepdim),
  cumsum: (t, a) => t.x!.cumsum(a.dim),
  countNonzero: (t, a) => t.x!.countNonzero(a.dim),
});
