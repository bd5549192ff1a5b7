// Module behaviour: names and order of parameters, buffers and submodules (as
// PyTorch's, from a nested model), modes, state dicts, clone, zeroGrad, dispose.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Tensor, manualSeed, noGrad, ones, randn, tensor, tidy, zeros } from '../../src/index.js';
import { nn } from '../../src/index.js';
import { type FixtureTensor, assertMatches, loadFixture } from '../helpers.js';

interface Fixture {
  nested: {
    parameterNames: string[];
    parameterShapes: number[][];
    bufferNames: string[];
    moduleNames: string[];
    stateDictKeys: string[];
    params: [string, FixtureTensor][];
    x: FixtureTensor;
    out: FixtureTensor;
    runningMean: FixtureTensor;
    runningVar: FixtureTensor;
  };
}

const fixture = loadFixture<Fixture>('nn').nested;

/** PyTorch's snake_case attribute names as ours (running_mean -> runningMean). */
const camel = (name: string): string => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The model of tools/fixtures/nn.py, built in the same order. */
class Net extends nn.Module {
  features = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.MaxPool2d(2));
  head = new nn.Sequential(new nn.Flatten(), new nn.Linear(8, 4), new nn.Tanh(), new nn.Sequential(new nn.Linear(4, 3, { bias: false })));
  scale = new nn.Parameter(ones([3]));

  forward(x: Tensor): Tensor {
    return this.head.forward(this.features.forward(x)).mul(this.scale);
  }
}

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}

describe('a nested model matches PyTorch', () => {
  test('parameter, buffer, module and state-dict names in PyTorch order', () => {
    const net = new Net();
    assert.deepEqual(net.namedParameters().map(([n]) => n), fixture.parameterNames);
    assert.deepEqual(net.namedParameters().map(([, p]) => [...p.shape]), fixture.parameterShapes);
    assert.deepEqual(net.namedBuffers().map(([n]) => n), fixture.bufferNames.map(camel));
    assert.deepEqual(net.namedModules().map(([n]) => n), fixture.moduleNames);
    assert.deepEqual(Object.keys(net.stateDict()), fixture.stateDictKeys.map(camel));
    assert.deepEqual(net.namedChildren().map(([n]) => n), ['features', 'head']);
    assert.deepEqual(net.head.namedChildren().map(([n, m]) => [n, m.constructor.name]), [
      ['0', 'Flatten'],
      ['1', 'Linear'],
      ['2', 'Tanh'],
      ['3', 'Sequential'],
    ]);
    assert.deepEqual(net.namedParameters('model').map(([n]) => n).slice(0, 2), ['model.scale', 'model.features.0.weight']);
    assert.deepEqual(net.namedParameters('', false).map(([n]) => n), ['scale']);
    net.dispose();
  });

  test('seeded construction, forward and batch-norm update agree', () => {
    tidy(() => {
      manualSeed(60);
      const net = new Net();
      net.namedParameters().forEach(([n, p], i) => assertMatches(p, fixture.params[i]![1], `initial ${n}`, { rtol: 0, atol: 0 }));
      const x = randn([2, 1, 6, 6]);
      assertMatches(x, fixture.x, 'input', { rtol: 0, atol: 0 });
      assertMatches(net.forward(x), fixture.out, 'output', { atol: 1e-5 });
      const bn = net.features[1] as nn.BatchNorm2d;
      assertMatches(bn.runningMean!, fixture.runningMean, 'running mean');
      assertMatches(bn.runningVar!, fixture.runningVar, 'running var');
      net.dispose();
    });
  });
});

describe('modes', () => {
  test('train() and eval() reach every submodule and change behaviour', () => {
    tidy(() => {
      const net = new nn.Sequential(new nn.Linear(4, 4), new nn.Sequential(new nn.Dropout(0.5), new nn.BatchNorm1d(4)));
      assert.ok(net.modules().every((m) => m.training));
      assert.equal(net.eval(), net);
      assert.ok(net.modules().every((m) => !m.training));
      const x = randn([3, 4]);
      // In eval mode dropout is the identity and batch norm uses its (initial) running stats.
      assert.ok(net.forward(x).allclose(net.forward(x)));
      net.train();
      assert.ok(net.modules().every((m) => m.training));
      net.train(false);
      assert.ok(net.modules().every((m) => !m.training));
      net.dispose();
    });
  });
});

describe('apply and requiresGrad_', () => {
  test('apply visits children before their parent and can re-initialise layers', () => {
    tidy(() => {
      const net = new Net();
      const order: string[] = [];
      net.apply((m) => order.push(m.constructor.name));
      assert.deepEqual(order, ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Sequential', 'Flatten', 'Linear', 'Tanh', 'Linear', 'Sequential', 'Sequential', 'Net']);
      net.apply((m) => {
        if (m instanceof nn.Linear) nn.init.constant_(m.weight, 0.5);
      });
      assert.equal(net.head.at(1).parameters()[0]!.sum().item(), 0.5 * 32);
      net.dispose();
    });
  });

  test('requiresGrad_(false) freezes every parameter: backward leaves them without gradients', () => {
    tidy(() => {
      const net = new Net();
      net.features.requiresGrad_(false);
      assert.ok(net.features.parameters().every((p) => !p.requiresGrad));
      net.forward(randn([2, 1, 6, 6])).sum().backward();
      assert.ok(net.features.parameters().every((p) => p.grad === null));
      assert.ok(net.head.parameters().every((p) => p.grad !== null));
      net.dispose();
    });
  });
});

describe('state dicts', () => {
  test('stateDict holds detached aliases of parameters and buffers', () => {
    tidy(() => {
      const net = new Net();
      const state = net.stateDict();
      const weight = state['head.1.weight']!;
      assert.equal(weight.requiresGrad, false);
      noGrad(() => net.head.at(1).parameters()[0]!.fill_(7));
      assert.ok(weight.equal(ones([4, 8]).mul(7)), 'the alias sees in-place changes');
      assert.equal(state['features.1.numBatchesTracked']!.dtype, 'int64');
      net.dispose();
    });
  });

  test('round trip: loading one model\'s state makes another identical, by copy', () => {
    tidy(() => {
      manualSeed(1);
      const a = new Net();
      manualSeed(2);
      const b = new Net();
      const x = randn([2, 1, 6, 6]);
      a.forward(x);
      assert.ok(!a.features.at(0).parameters()[0]!.equal(b.features.at(0).parameters()[0]!));
      b.loadStateDict(a.stateDict());
      for (const [[name, pa], [, pb]] of zip(a.namedParameters(), b.namedParameters())) {
        assert.ok(pa.equal(pb), `${name} after load`);
      }
      for (const [[name, ba], [, bb]] of zip(a.namedBuffers(), b.namedBuffers())) assert.ok(ba.equal(bb), `${name} after load`);
      a.eval();
      b.eval();
      assert.ok(a.forward(x).equal(b.forward(x)), 'same outputs');
      noGrad(() => a.scale.fill_(5));
      assert.deepEqual(values(b.scale), [1, 1, 1], 'b keeps its own copy');
      a.dispose();
      b.dispose();
    });
  });

  test('missing and unexpected keys are named in the error; nothing is loaded', () => {
    tidy(() => {
      const net = new Net();
      const state = { ...new Net().stateDict() };
      delete state['head.1.bias'];
      state['head.9.weight'] = zeros([2]);
      const before = values(net.head.at(1).parameters()[0]!);
      assert.throws(
        () => net.loadStateDict(state),
        (e: Error) =>
          /missing keys: head\.1\.bias/.test(e.message) && /unexpected keys: head\.9\.weight/.test(e.message) && /does not match Net/.test(e.message),
      );
      assert.deepEqual(values(net.head.at(1).parameters()[0]!), before);
      net.dispose();
    });
  });

  test('strict: false loads the keys that match and ignores the rest', () => {
    tidy(() => {
      const net = new Net();
      net.loadStateDict({ scale: tensor([1, 2, 3], { dtype: 'float32' }), extra: zeros([1]) }, { strict: false });
      assert.deepEqual(values(net.scale), [1, 2, 3]);
      net.dispose();
    });
  });

  test('a shape mismatch names the key and both shapes; nothing is loaded', () => {
    tidy(() => {
      const net = new Net();
      const state = { ...net.stateDict(), scale: zeros([3]), 'head.1.weight': zeros([8, 4]) };
      assert.throws(() => net.loadStateDict(state), /shape mismatch for head\.1\.weight: the module has \[4, 8\], the state dict \[8, 4\]/);
      assert.deepEqual(values(net.scale), [1, 1, 1], 'earlier keys are not loaded either');
      net.dispose();
    });
  });
});

function zip<A, B>(a: readonly A[], b: readonly B[]): [A, B][] {
  assert.equal(a.length, b.length);
  return a.map((x, i) => [x, b[i]!]);
}

describe('clone, zeroGrad, dispose', () => {
  test('clone() is a deep copy: same class, values and structure, no shared storage', () => {
    tidy(() => {
      const net = new Net();
      net.features.at(1).forward(randn([2, 2, 3, 3]));
      net.eval();
      const copy = net.clone();
      assert.ok(copy instanceof Net);
      assert.notEqual(copy.head, net.head);
      assert.equal(copy.training, false);
      assert.deepEqual(Object.keys(copy.stateDict()), Object.keys(net.stateDict()));
      for (const [[name, a], [, b]] of zip(net.namedParameters(), copy.namedParameters())) {
        assert.notEqual(a, b);
        assert.ok(a.equal(b), `${name} copied`);
        assert.equal(b.requiresGrad, true);
        assert.ok(b instanceof nn.Parameter);
      }
      const x = randn([2, 1, 6, 6]);
      assert.ok(copy.forward(x).equal(net.forward(x)), 'same outputs');

      const originalState = Object.fromEntries(Object.entries(net.stateDict()).map(([k, v]) => [k, values(v)]));
      noGrad(() => {
        for (const p of copy.parameters()) p.fill_(3);
      });
      (copy.features.at(1) as nn.BatchNorm2d).runningMean!.fill_(9);
      copy.train();
      copy.forward(x);
      for (const [k, v] of Object.entries(net.stateDict())) assert.deepEqual(values(v), originalState[k], `${k} unchanged`);
      assert.equal(net.training, false, 'mode unchanged');
      copy.dispose();
      net.dispose();
    });
  });

  test('clone() keeps requiresGrad = false and copies ModuleList containers', () => {
    tidy(() => {
      const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 1)]);
      list.at(0).weight.requiresGrad_(false);
      const copy = list.clone();
      assert.equal(copy.length, 2);
      assert.equal(copy.at(0).weight.requiresGrad, false);
      assert.equal(copy.at(1).weight.requiresGrad, true);
      assert.ok(copy.at(1).weight.equal(list.at(1).weight));
      copy.dispose();
      list.dispose();
    });
  });

  test('zeroGrad clears gradients (to null, or to zeros with setToNone = false)', () => {
    tidy(() => {
      const net = new Net();
      net.forward(randn([2, 1, 6, 6])).sum().backward();
      assert.ok(net.parameters().every((p) => p.grad !== null));
      net.zeroGrad(false);
      for (const p of net.parameters()) assert.equal(p.grad!.abs().sum().item(), 0);
      net.forward(randn([2, 1, 6, 6])).sum().backward();
      net.zeroGrad();
      assert.ok(net.parameters().every((p) => p.grad === null));
      net.dispose();
    });
  });

  test('a model built inside tidy() outlives the scope: parameters and buffers are not scoped', () => {
    const net = tidy(() => new Net());
    assert.ok([...net.parameters(), ...net.buffers()].every((t) => !t.isDisposed));
    tidy(() => assert.deepEqual([...net.forward(randn([2, 1, 6, 6])).shape], [2, 3]));
    net.dispose();
  });

  test('dispose frees every parameter and buffer', () => {
    const net = new Net();
    const tensors = [...net.parameters(), ...net.buffers()];
    assert.equal(tensors.length, 11);
    net.dispose();
    assert.ok(tensors.every((t) => t.isDisposed));
  });

  test('to(dtype) casts floating parameters and buffers, not integer ones', () => {
    tidy(() => {
      const net = new Net().to('float64');
      assert.ok(net.parameters().every((p) => p.dtype === 'float64'));
      assert.equal((net.features.at(1) as nn.BatchNorm2d).numBatchesTracked!.dtype, 'int64');
      assert.equal(net.forward(randn([2, 1, 6, 6], { dtype: 'float64' })).dtype, 'float64');
      net.dispose();
    });
  });
});

describe('containers', () => {
  test('Sequential chains forward and numbers its children', () => {
    tidy(() => {
      const a = new nn.Linear(3, 4);
      const b = new nn.ReLU();
      const c = new nn.Linear(4, 2);
      const seq = new nn.Sequential(a, b, c);
      assert.equal(seq.length, 3);
      assert.equal(seq.at(-1), c);
      assert.equal(seq[1], b);
      assert.deepEqual([...seq], [a, b, c]);
      assert.deepEqual(seq.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '2.weight', '2.bias']);
      const x = randn([5, 3]);
      assert.ok(seq.forward(x).equal(c.forward(b.forward(a.forward(x)))));
      seq.append(new nn.Softmax(1));
      assert.equal(seq.length, 4);
      assertMatches(seq.forward(x).sum(1), { shape: [5], dtype: 'float32', data: [1, 1, 1, 1, 1] }, 'softmax rows');
      assert.throws(() => seq.at(4), /index 4 is out of range for 4 modules/);
      assert.equal(new nn.Sequential().forward(x), x);
      seq.dispose();
    });
  });

  test('more than ten children keep numeric order', () => {
    const seq = new nn.Sequential(...Array.from({ length: 12 }, () => new nn.Linear(1, 1, { bias: false })));
    assert.deepEqual(seq.namedParameters().map(([n]) => n), Array.from({ length: 12 }, (_, i) => `${i}.weight`));
    seq.dispose();
  });

  test('a module shared by two paths is listed once, under its first name', () => {
    const shared = new nn.Linear(2, 2);
    const seq = new nn.Sequential(shared, new nn.ReLU(), shared);
    assert.deepEqual(seq.namedParameters().map(([n]) => n), ['0.weight', '0.bias']);
    assert.deepEqual(seq.namedModules().map(([n]) => n), ['', '0', '1']);
    assert.deepEqual(Object.keys(seq.stateDict()), ['0.weight', '0.bias']);
    seq.dispose();
  });

  test('ModuleList registers, appends, extends and inserts', () => {
    const list = new nn.ModuleList<nn.Linear>([new nn.Linear(1, 1)]);
    const inserted = new nn.Linear(2, 2);
    list.extend([new nn.Linear(3, 3)]).insert(1, inserted);
    assert.equal(list.length, 3);
    assert.equal(list.at(1), inserted);
    assert.deepEqual(list.namedParameters().map(([n, p]) => `${n}:${p.shape[0]}`), ['0.weight:1', '0.bias:1', '1.weight:2', '1.bias:2', '2.weight:3', '2.bias:3']);
    class Holder extends nn.Module {
      blocks = list;
    }
    assert.deepEqual(new Holder().namedParameters()[2]![0], 'blocks.1.weight');
    list.dispose();
  });
});
