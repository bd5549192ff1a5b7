// Error mapping: libtorch failures and bad arguments become JavaScript errors
// that name the operation and carry libtorch's message, and the process keeps
// working afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Tensor, cat, empty, nn, randint, randn, tensor, tidy, zeros } from '../../src/index.js';
import { native } from '../../src/tensor/native.js';

/** A computation whose result is known: the engine still works. */
function stillWorks(): void {
  tidy(() => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    assert.deepEqual(x.matmul(x).sum(1).toArray(), [17, 37]);
  });
}

function expectError(fn: () => unknown, type: typeof Error | typeof TypeError, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
  stillWorks();
}

describe('errors: libtorch failures', () => {
  it('matmul with mismatched shapes', () => {
    tidy(() => {
      expectError(() => randn([2, 3]).matmul(randn([4, 5])), Error, /^matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$/);
      expectError(() => randn([2, 3]).mm(randn([2, 3])), Error, /^mm: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)$/);
      expectError(() => randn([2, 3]).add(randn([4])), Error, /^add: The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1$/);
    });
  });

  it('wrong dtypes: float targets for class indices, integers where floats are needed', () => {
    tidy(() => {
      const logits = randn([2, 3]);
      expectError(() => native.crossEntropy(logits.handle, tensor([0.5, 1.5]).handle, null, 'mean', -100, 0), Error, /^crossEntropy: expected scalar type Long but found Float$/);
      expectError(() => native.nllLoss(logits.handle, tensor([0, 1], { dtype: 'int32' }).handle, null, 'mean', -100), Error, /^nllLoss: .*Long.*Int/);
      expectError(() => tensor([1, 2]).mean(), Error, /^mean: mean\(\): could not infer output dtype\. Input dtype must be either a floating point or complex dtype\. Got: Long$/);
      expectError(() => tensor([1, 2]).requiresGrad_(true), Error, /^setRequiresGrad: Only Tensors of floating point and complex dtype can require gradients$/);
      expectError(() => tensor([1, 2]).sqrt_(), Error, /^sqrt_: result type Float can't be cast to the desired output type Long$/);
    });
  });

  it('out-of-range dims and indices', () => {
    tidy(() => {
      const x = randn([2, 3]);
      expectError(() => x.sum(5), Error, /^sum: Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)$/);
      expectError(() => x.select(0, 7), Error, /^select: select\(\): index 7 out of range for tensor of size \[2, 3\] at dimension 0$/);
      expectError(() => x.index(tensor([9])), Error, /^index: index 9 is out of bounds for dimension 0 with size 2$/);
      expectError(() => x.indexSelect(0, tensor([2])), Error, /^indexSelect: index out of range in self$/);
      expectError(() => x.indexSelect(1, tensor([3])), Error, /^indexSelect: INDICES element is out of DATA bounds, id=3 axis_dim=3$/);
      expectError(() => x.gather(1, tensor([[0], [5]])), Error, /^gather: index 5 is out of bounds for dimension 1 with size 3$/);
      expectError(() => x.transpose(0, 2), Error, /^transpose: Dimension out of range/);
      expectError(() => x.reshape(7), Error, /^reshape: shape '\[7\]' is invalid for input of size 6$/);
    });
  });

  it('autograd misuse', () => {
    tidy(() => {
      expectError(() => tensor([1.5, 2]).sum().backward(), Error, /^backward: element 0 of tensors does not require grad and does not have a grad_fn$/);
      const leaf = tensor([1.5], { requiresGrad: true });
      expectError(() => leaf.add_(1), Error, /^add_: a leaf Variable that requires grad is being used in an in-place operation\.$/);
    });
  });
});

describe('errors: bad arguments', () => {
  it('a disposed tensor', () => {
    const x = randn([2]);
    x.dispose();
    assert.equal(x.isDisposed, true);
    expectError(() => x.add(1), Error, /^add: argument 1 is a disposed Tensor \(it was freed by dispose\(\) or by the scope that created it/);
    tidy(() => expectError(() => randn([2]).mul(x), Error, /^mul: argument 2 is a disposed Tensor/));
    expectError(() => x.toArray(), Error, /^toArrayBuffer: argument 1 is a disposed Tensor/);
    x.dispose();
  });

  it('a non-tensor where a tensor is expected', () => {
    tidy(() => {
      const x = randn([2, 2]);
      expectError(() => x.matmul(5 as never), TypeError, /^matmul: argument 2 must be a Tensor$/);
      expectError(() => x.matmul(null as never), TypeError, /^matmul: argument 2 must be a Tensor$/);
      expectError(() => x.add({} as never), TypeError, /^add: argument 2 must be a Tensor or a number$/);
      expectError(() => x.add('1' as never), TypeError, /^add: argument 2 must be a Tensor or a number$/);
      expectError(() => x.gather(0, [[0]] as never), TypeError, /^gather: argument 3 must be a Tensor$/);
      expectError(() => cat([x, { handle: 'x' } as never]), TypeError, /^cat: argument 1\[1\] must be a Tensor$/);
      expectError(() => native.add(x.handle, x.handle, 'one' as never), TypeError, /^add: argument 3 must be a number$/);
      expectError(() => x.reshape([2, 1.5]), TypeError, /^reshape: argument 2 must be an array of integers$/);
    });
  });

  it('a forged handle (a fraction, negative, NaN, out of range) is refused, not truncated to another tensor', () => {
    tidy(() => {
      const x = tensor([1, 2, 3]);
      const y = tensor([10, 20]);
      for (const forged of [y.handle + 0.5, x.handle + 0.5, x.handle - 0.5, -2, -0.5, NaN, Infinity, 2 ** 53, 2 ** 60, 4_000_000_000]) {
        const shown = Number.isNaN(forged) ? 'NaN' : forged === Infinity ? 'Infinity' : String(forged);
        const pattern = new RegExp(`^shape: argument 1 must be a Tensor, got the number ${shown.replace(/[.+]/g, '\\$&')}, which is not a tensor handle$`);
        expectError(() => native.shape(forged as never), TypeError, pattern);
        expectError(() => Tensor.wrap(forged as never).add(1), TypeError, /^add: argument 1 must be a Tensor, got the number .*, which is not a tensor handle$/);
      }
      assert.deepEqual(x.toArray(), [1, 2, 3]);
    });
  });

  it("a stale handle (kept past its tensor's freeing) is refused once its slot holds another tensor", () => {
    tidy(() => {
      const x = tensor([1, 2, 3]);
      const stale = x.handle;
      x.dispose();
      // The freed slot is reused at once (last freed, first reused).
      const y = tensor([7, 8]);
      expectError(() => native.shape(stale), Error, /^shape: argument 1 is a stale tensor handle: its tensor was freed \(by dispose\(\) or by the scope that created it\); pass the Tensor itself/);
      expectError(() => native.mul(y.handle, stale), Error, /^mul: argument 2 is a stale tensor handle/);
      // Disposing through the stale handle must not free the new tensor.
      native.dispose(stale);
      assert.equal(native.isTensorHandle(stale), false);
      assert.deepEqual(y.toArray(), [7, 8]);
    });
  });

  it('an unknown dtype, device or reduction', () => {
    tidy(() => {
      expectError(() => zeros([2], { dtype: 'float16' as never }), TypeError, /^zeros: unknown dtype 'float16' \(expected float32, float64, int64, int32, uint8 or bool\)$/);
      expectError(() => randn([2]).to('complex64' as never), TypeError, /^to: unknown dtype 'complex64'/);
      expectError(() => tensor([1], { dtype: 'int8' as never }), TypeError, /int8/);
      expectError(() => zeros([2], { device: 'tpu' as never }), TypeError, /^zeros: unknown device 'tpu'/);
      const a = randn([2]);
      expectError(() => native.mseLoss(a.handle, a.handle, 'avg'), TypeError, /^mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'$/);
    });
  });
});

describe('errors: sizes', () => {
  it('a shape that is negative, fractional or beyond int64 is refused before libtorch, naming the dimension', () => {
    expectError(() => zeros([2, -1]), RangeError, /^zeros: shape \[2, -1\]: dimension 1 has size -1, a negative size; sizes must be integers >= 0$/);
    expectError(() => randn([2, 1.5]), TypeError, /^randn: shape \[2, 1\.5\]: dimension 1 has size 1\.5, not an integer; sizes must be integers >= 0$/);
    expectError(() => empty([NaN]), TypeError, /^empty: shape \[NaN\]: dimension 0 has size NaN, not an integer/);
    expectError(() => zeros([1e300]), RangeError, /^zeros: shape \[1e\+300\]: dimension 0 has size 1e\+300, more than can ever be allocated \(at most 2\^60 elements\)$/);
    // One zero size makes an empty tensor, but a size beyond int64 is still refused, not wrapped.
    expectError(() => zeros([0, 2 ** 64]), RangeError, /^zeros: shape \[0, 18446744073709552000\]: dimension 1 has size 18446744073709552000, more than can ever be allocated/);
    expectError(() => zeros(['2'] as never), TypeError, /^zeros: shape\[0\] is not a number; sizes must be integers >= 0$/);
    expectError(() => tensor(new Float32Array(0), { shape: [-2, 0] }), RangeError, /^fromTypedArray: shape \[-2, 0\]: dimension 0 has size -2, a negative size/);
    assert.deepEqual(tidy(() => [...zeros([0, 2 ** 40]).shape]), [0, 2 ** 40]);
  });

  it('a shape whose element count overflows is refused with the count', () => {
    expectError(() => zeros([1e11, 1e11]), RangeError, /^zeros: shape \[100000000000, 100000000000\] has 1e\+22 elements, more than can ever be allocated \(at most 2\^60\); check the sizes$/);
    expectError(() => randint(0, 5, [2 ** 31, 2 ** 31, 2 ** 31]), RangeError, /^randint: shape \[2147483648, 2147483648, 2147483648\] has 9\.903520314283042e\+27 elements/);
  });

  it('an allocation that fails names the operation and the bytes requested', () => {
    // Beyond the 128 TiB of address space a Linux process has, so these fail
    // on every machine, whatever its memory or overcommit policy.
    expectError(() => zeros([2 ** 48]), RangeError, /^zeros: cannot allocate 1\.1 PB \(1125899906842624 bytes\): out of memory$/);
    expectError(() => empty([1e11, 784]), RangeError, /^empty: cannot allocate 313\.6 TB \(313600000000000 bytes\): out of memory$/);
    expectError(() => tidy(() => randn([1000]).repeat([1e12])), RangeError, /^repeat: cannot allocate 4\.0 PB \(4000000000000000 bytes\): out of memory$/);
    // A layer whose size comes from a configuration (backbone.hiddenSizes).
    expectError(() => new nn.Linear(784, 1e11), RangeError, /^empty: cannot allocate 313\.6 TB \(313600000000000 bytes\): out of memory$/);
  });
});

describe('errors: no aborts', () => {
  it('a child process survives many bad operations in a row and exits normally', () => {
    const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'index.js')).href;
    const script = `
      const P = await import(${JSON.stringify(index)});
      const bad = [
        () => P.randn([2, 3]).matmul(P.randn([4, 5])),
        () => P.randn([2]).sum(3),
        () => P.tensor([1, 2]).mean(),
        () => P.randn([3]).index(P.tensor([7])),
        () => P.randn([2]).view(-1, -1),
        () => P.zeros([2], { dtype: 'nope' }),
        () => P.randn([2]).add({}),
        () => { const t = P.randn([2]); t.dispose(); t.exp(); },
        () => P.randn([2]).sum().backward(),
        () => P.tensor([[1], [2, 3]]),
        () => P.randn([2, 2]).split(0),
        () => P.randint(5, 2, [3]),
        () => P.randn([2]).quantile(2),
        () => P.tensor([1.5]).item() && P.randn([3]).item(),
        () => P.cat([P.randn([2]), P.randn([2, 2])]),
      ];
      // libtorch records a C++ backtrace for every error (milliseconds each),
      // so a few hundred errors are plenty.
      let caught = 0;
      for (let round = 0; round < 20; round++) {
        for (const f of bad) {
          try { P.tidy(f); } catch (e) { if (e instanceof Error) caught++; }
        }
      }
      const ok = P.tensor([2, 3]).mul(2).sum().item();
      process.stdout.write(JSON.stringify({ caught, ok }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.signal, null, `killed by ${child.signal}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    assert.deepEqual(JSON.parse(child.stdout), { caught: 300, ok: 10 });
  });
});

