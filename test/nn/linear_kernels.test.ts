// Float32 linear layers through oneDNN's sgemm (native/onednn_linear.cc):
// the same function as libtorch's at::linear, forward and backward, checked
// against the float64 computation within float32 rounding of each tensor's
// scale; the cases it does not cover go to libtorch unchanged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { type Tensor, getNumThreads, grad, linearKernels, manualSeed, randn, setLinearKernels, setNumThreads, tidy } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { assertTensorsMatch, tempDir } from '../helpers.js';

const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'index.js')).href;

const F = nn.functional;

/** Float32 results against the same computation in float64, cast back: within float32 rounding of the scale. */
function assertNearDouble(actual: Tensor, double: Tensor, what: string): void {
  assertTensorsMatch(actual, double.to('float32'), what, { rtol: 1e-5, atol: 0 });
}

/** y, and the gradients of sum(y²) with respect to x, W and b. */
function linearAndGrads(x: Tensor, w: Tensor, b: Tensor | null): Tensor[] {
  const y = F.linear(x, w, b);
  const inputs = b === null ? [x, w] : [x, w, b];
  return [y.detach(), ...grad(y.square().sum(), inputs).map((g) => g!)];
}

function leaves(dtype: 'float32' | 'float64', shapes: number[][]): Tensor[] {
  manualSeed(7);
  return shapes.map((shape) => randn(shape).to(dtype).requiresGrad_());
}

describe('linear layers through oneDNN', () => {
  test('oneDNN is used wherever libtorch loaded it, and refused with the reason where it did not', () => {
    const loaded = readFileSync('/proc/self/maps', 'utf8').includes('libdnnl.so');
    if (loaded) {
      assert.equal(linearKernels(), 'onednn');
    } else {
      assert.equal(linearKernels(), 'libtorch');
      assert.throws(() => setLinearKernels('onednn'), /does not export oneDNN's sgemm/);
    }
  });

  for (const [name, shapes] of [
    ['2-D input with bias', [[64, 300], [130, 300], [130]]],
    ['3-D input with bias', [[4, 9, 200], [600, 200], [600]]],
    ['one example, no bias', [[1, 2048], [512, 2048]]],
    ['one example with bias', [[1, 1024], [1024, 1024], [1024]]],
  ] as const) {
    test(`${name}: output and gradients of x, W and b agree with float64`, () => {
      tidy(() => {
        const single = leaves('float32', shapes as unknown as number[][]);
        const double = leaves('float64', shapes as unknown as number[][]);
        const got = linearAndGrads(single[0]!, single[1]!, single[2] ?? null);
        const want = linearAndGrads(double[0]!, double[1]!, double[2] ?? null);
        got.forEach((g, i) => assertNearDouble(g, want[i]!, `${name}, ${['y', 'dx', 'dW', 'db'][i]}`));
      });
    });
  }

  test('with more than one thread, layers take libtorch\'s path', () => {
    const threads = getNumThreads();
    setNumThreads(2);
    try {
      assert.equal(linearKernels(), 'libtorch');
    } finally {
      setNumThreads(threads);
    }
    assert.equal(linearKernels(), threads === 1 ? 'onednn' : 'libtorch');
  });

  test("regression: training steps under V8's sampling profiler (SIGPROF inside the products) finish without corrupting the heap", () => {
    const dir = tempDir('linear-profiler-');
    try {
      const script = `const P = await import(${JSON.stringify(index)});
        P.setNumThreads(1);
        const F = P.nn.functional;
        const w1 = P.randn([256, 784]).requiresGrad_(), w2 = P.randn([10, 256]).requiresGrad_(), b1 = P.randn([256]).requiresGrad_();
        for (let i = 0; i < 400; i++) P.tidy(() => F.linear(F.linear(P.randn([64, 784]), w1, b1).relu(), w2).square().mean().backward());
        console.log(P.linearKernels());`;
      const out = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(out.status, 0, `the child ended with status ${out.status}, signal ${out.signal}:\n${out.stderr}`);
      assert.equal(out.stdout.trim(), linearKernels());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('mm without gradients: every layout of the two operands (row-major, transposed, neither) agrees with float64', () => {
    tidy(() => {
      manualSeed(5);
      const a = randn([128, 100]);
      const b = randn([100, 90]);
      const cases: [string, Tensor, Tensor][] = [
        ['row-major', a, b],
        ['transposed first', a.t().contiguous().t(), b],
        ['transposed second', a, b.t().contiguous().t()],
        ['both transposed', a.t().contiguous().t(), b.t().contiguous().t()],
        ['a strided slice', randn([128, 200]).narrow(1, 10, 100), b],
        ['one column', a, b.narrow(1, 0, 1).contiguous()],
      ];
      for (const [what, x, y] of cases) assertNearDouble(x.mm(y), x.to('float64').mm(y.to('float64')), what);
    });
  });

  test('a forward of one row leaves the bias unchanged', () => {
    tidy(() => {
      const [x, w, b] = leaves('float32', [[1, 1024], [1024, 1024], [1024]]);
      const before = b!.detach().clone();
      F.linear(x!, w!, b!);
      F.linear(x!.detach(), w!.detach(), b!.detach());
      assert.deepEqual(b!.toArray(), before.toArray());
    });
  });

  test('a second derivative through the layer (create_graph) is recorded and right', () => {
    tidy(() => {
      const compute = (dtype: 'float32' | 'float64'): Tensor[] => {
        const [x, w, b] = leaves(dtype, [[16, 256], [256, 256], [256]]);
        // d/dW of |dL/dx|² with L = sum(tanh(y)): needs the backward's products recorded.
        // Inputs scaled so that tanh is not saturated (its second derivative would then be float32 noise).
        const [dx] = grad(F.linear(x!.mul(0.1), w!, b!).tanh().sum(), [x!], { createGraph: true });
        return grad(dx!.square().sum(), [w!]).map((g) => g!);
      };
      assertNearDouble(compute('float32')[0]!, compute('float64')[0]!, 'second derivative');
    });
  });

  test('inputs it does not cover (a transposed view, no gradient needed) give the same values', () => {
    tidy(() => {
      manualSeed(3);
      const x = randn([40, 12]);
      const w = randn([7, 40]);
      assertNearDouble(F.linear(x.t(), w), F.linear(x.t().to('float64'), w.to('float64')), 'transposed input');
    });
  });

  test('products under 2^20 multiply-adds take libtorch\'s path (bit for bit), larger ones oneDNN\'s', () => {
    tidy(() => {
      const before = linearKernels();
      const layer = (shapes: number[][]): Tensor[] => {
        const [x, w, b] = leaves('float32', shapes);
        return linearAndGrads(x!, w!, b!);
      };
      // A classification head (16 x 256 -> 10: 40,960 multiply-adds) and a hidden layer (64 x 784 -> 256: 12.8 million).
      const small = [[16, 256], [10, 256], [10]];
      const large = [[64, 784], [256, 784], [256]];
      const chosen = [layer(small), layer(large)];
      setLinearKernels('libtorch');
      const plain = [layer(small), layer(large)];
      setLinearKernels(before);
      chosen[0]!.forEach((t, i) => assert.ok(t.equal(plain[0]![i]!), `small layer, ${['y', 'dx', 'dW', 'db'][i]}: libtorch's path, bit for bit`));
      if (before === 'onednn') assert.ok(!chosen[1]!.every((t, i) => t.equal(plain[1]![i]!)), "large layer: oneDNN's products, which round differently");
      chosen[1]!.forEach((t, i) => {
        const scale = plain[1]![i]!.abs().max().item();
        assert.ok(t.sub(plain[1]![i]!).abs().max().item() <= 1e-5 * scale, `large layer, ${['y', 'dx', 'dW', 'db'][i]}: the two paths agree to float32 rounding of its scale`);
      });
    });
  });

  test("setLinearKernels('libtorch') and back: both paths give the layer within float32 rounding", () => {
    tidy(() => {
      const [x, w, b] = leaves('float32', [[64, 300], [130, 300], [130]]);
      const fast = F.linear(x!, w!, b!).detach();
      const before = linearKernels();
      setLinearKernels('libtorch');
      assert.equal(linearKernels(), 'libtorch');
      const plain = F.linear(x!, w!, b!).detach();
      setLinearKernels(before);
      assert.equal(linearKernels(), before);
      assertTensorsMatch(fast, plain, 'oneDNN against libtorch', { rtol: 1e-5, atol: 0 });
    });
  });
});
