// Matrix products against PyTorch.
import { addmm, matmul, outer } from '../../src/index.js';
import { runFamily } from './cases.js';

runFamily('linalg', {
  matmul: (t) => matmul(t.a!, t.b!),
  mm: (t) => t.a!.mm(t.b!),
  bmm: (t) => t.a!.bmm(t.b!),
  mv: (t) => t.a!.mv(t.b!),
  dot: (t) => t.a!.dot(t.b!),
  outer: (t) => outer(t.a!, t.b!),
  addmm: (t, a) => addmm(t.input!, t.a!, t.b!, { beta: a.beta, alpha: a.alpha }),
});
