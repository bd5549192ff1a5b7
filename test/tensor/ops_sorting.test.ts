// Sorting, top-k, k-th value and quantiles against PyTorch.
import { runFamily } from './cases.js';

runFamily('sorting', {
  sort: (t, a) => t.x!.sort(a.dim, a.descending, { stable: a.stable }),
  argsort: (t, a) => t.x!.argsort(a.dim, a.descending),
  topk: (t, a) => t.x!.topk(a.k, a.dim, a.largest),
  kthvalue: (t, a) => t.x!.kthvalue(a.k, a.dim, a.keepdim),
  quantile: (t, a) => t.x!.quantile(t.q ?? a.q, a.dim, a.keepdim, a.interpolation),
});
