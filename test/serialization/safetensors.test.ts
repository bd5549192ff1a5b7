import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type DType,
  type Tensor,
  deserializeSafetensors,
  loadSafetensors,
  manualSeed,
  randn,
  saveSafetensors,
  serializeSafetensors,
  tensor,
  tidy,
  zeros,
} from '../../src/index.js';
import { assertMatches, type FixtureTensor, loadFixture, tempDir } from '../helpers.js';

const fixtures = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'test', 'fixtures');

function sample(): Record<string, Tensor> {
  manualSeed(3);
  return {
    f32: randn([3, 4]),
    f64: randn([2], { dtype: 'float64' }),
    i64: tensor([1, -2, 3]),
    i32: tensor([[7, 8]], { dtype: 'int32' }),
    u8: tensor([0, 255, 9], { dtype: 'uint8' }),
    b: tensor([true, false]),
    s: tensor(1.5),
    e: zeros([0, 2]),
  };
}

function bytesOf(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
  return Buffer.concat(serializeSafetensors(tensors, metadata));
}

/** Rewrites the JSON header of a valid file, keeping its data section. */
function withHeader(bytes: Buffer, edit: (h: Record<string, unknown>) => void): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  edit(header);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, bytes.subarray(8 + n)]);
}

describe('safetensors', () => {
  it('round-trips every dtype, shape and metadata through a file', () => {
    const dir = tempDir('st-');
    const path = join(dir, 'model.safetensors');
    const original = sample();
    saveSafetensors(path, original, { epoch: '3' });
    const { tensors, metadata } = loadSafetensors(path);
    assert.deepEqual({ ...metadata }, { epoch: '3' });
    assert.deepEqual(Object.keys(tensors), Object.keys(original));
    for (const [name, t] of Object.entries(original)) {
      const back = tensors[name]!;
      assert.equal(back.dtype, t.dtype, name);
      assert.deepEqual(back.shape, t.shape, name);
      assert.ok(back.equal(t), `${name} values`);
    }
  });

  it('reads a file written by an independent writer (tools/fixtures/safetensors.py)', () => {
    const expected = loadFixture<{ tensors: Record<string, FixtureTensor>; metadata: Record<string, string> }>('safetensors');
    const { tensors, metadata } = loadSafetensors(join(fixtures, 'reference.safetensors'));
    assert.deepEqual({ ...metadata }, expected.metadata);
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected.tensors).sort());
    for (const [name, f] of Object.entries(expected.tensors)) assertMatches(tensors[name]!, f, name, { rtol: 0, atol: 0 });
  });

  it('writes the layout the format defines: u64 length, JSON header, 8-byte aligned data', () => {
    const bytes = bytesOf({ a: tensor([1, 2], { dtype: 'float32' }) });
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: DType; data_offsets: number[] }>;
    assert.deepEqual(header['a'], { dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    assert.deepEqual([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n, bytes.byteOffset + 16 + n))], [1, 2]);
  });

  describe('rejects corrupt input with an error naming the problem', () => {
    const good = bytesOf({ w: tensor([[1, 2], [3, 4]], { dtype: 'float32' }), m: tensor([true]) });
    const cases: [string, Buffer, RegExp][] = [
      ['empty file', Buffer.alloc(0), /shorter than the 8-byte header length/],
      ['truncated data', good.subarray(0, good.length - 3), /truncated/],
      ['header length past the end', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(BigInt(good.length)); return b; })(), /runs past the end/],
      ['absurd header length', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(1n << 40n); return b; })(), /implausibly large/],
      ['invalid JSON', (() => { const b = Buffer.from(good); b.write('{', 8 + 1); return b; })(), /not valid JSON/],
      ['unknown dtype', withHeader(good, (h) => { (h['w'] as { dtype: string }).dtype = 'F8_E4M3'; }), /unsupported dtype "F8_E4M3"/],
      ['size not matching the shape', withHeader(good, (h) => { (h['w'] as { shape: number[] }).shape = [2, 3]; }), /need 24/],
      ['negative dimension', withHeader(good, (h) => { (h['w'] as { shape: number[] }).shape = [-2, -2]; }), /invalid shape/],
      ['overlapping tensors', withHeader(good, (h) => { (h['m'] as { data_offsets: number[] }).data_offsets = [0, 1]; }), /gap or overlap/],
      ['trailing bytes', Buffer.concat([good, Buffer.alloc(4)]), /not covered by any tensor/],
      ['bad boolean byte', (() => { const b = Buffer.from(good); b[b.length - 1] = 7; return b; })(), /BOOL but holds bytes other than 0 and 1/],
      ['header that is an array', (() => {
        const json = Buffer.from('[]');
        const p = Buffer.alloc(8);
        p.writeBigUInt64LE(BigInt(json.length));
        return Buffer.concat([p, json]);
      })(), /not a JSON object/],
    ];
    for (const [label, bytes, pattern] of cases) {
      it(label, () => {
        assert.throws(() => deserializeSafetensors(bytes, 'bad.safetensors'), (e: Error) => {
          assert.match(e.message, /^bad\.safetensors: not a valid safetensors file: /);
          assert.match(e.message, pattern);
          return true;
        });
      });
    }
    it('names the file when loading from disk', () => {
      const path = join(tempDir('st-'), 'cut.safetensors');
      writeFileSync(path, good.subarray(0, 20));
      assert.throws(() => loadSafetensors(path), (e: Error) => e.message.startsWith(`${path}: not a valid safetensors file`));
    });
  });

  it('keeps the previous file intact and leaves no temporary file when a save fails', () => {
    const dir = tempDir('st-');
    const path = join(dir, 'ckpt.safetensors');
    saveSafetensors(path, { a: tensor([1, 2, 3], { dtype: 'float32' }) });
    const before = readFileSync(path);
    const broken = tensor([4, 5], { dtype: 'float32' });
    broken.dispose();
    assert.throws(() => saveSafetensors(path, { a: broken }), /disposed/);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
  });

  it("keeps a tensor and a metadata key named '__proto__' (and 'constructor'), written and read back", () => {
    const dir = tempDir('st-');
    const path = join(dir, 'proto.safetensors');
    // Computed keys: own properties, as a file's names are.
    const tensors = Object.fromEntries([['__proto__', tensor([1, 2], { dtype: 'float32' })], ['constructor', tensor([3])], ['w', tensor([true])]]) as Record<string, Tensor>;
    const metadata = Object.fromEntries([['__proto__', 'p'], ['note', 'n']]) as Record<string, string>;
    saveSafetensors(path, tensors, metadata);
    const n = Number(readFileSync(path).readBigUInt64LE(0));
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(path).subarray(8, 8 + n).toString('utf8')) as object), ['__metadata__', '__proto__', 'constructor', 'w']);
    const back = loadSafetensors(path);
    assert.deepEqual(Object.keys(back.tensors), ['__proto__', 'constructor', 'w']);
    assert.deepEqual(back.tensors['__proto__']!.toArray(), [1, 2]);
    assert.deepEqual(back.tensors['constructor']!.toArray(), [3]);
    assert.deepEqual(Object.entries(back.metadata), [['__proto__', 'p'], ['note', 'n']]);
    // Names the file lacks find nothing, not Object.prototype's members.
    assert.equal(back.tensors['toString'], undefined);
    assert.equal(back.metadata['hasOwnProperty'], undefined);
    for (const t of [...Object.values(tensors), ...Object.values(back.tensors)]) t.dispose();
  });

  it('reads a tensor named __proto__ from a file it did not write', () => {
    const json = Buffer.from('{"__proto__":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    // Returned from a scope: the prototype-free map is searched for tensors to keep like a plain object.
    const tensors = tidy(() => deserializeSafetensors(Buffer.concat([prefix, json, Buffer.from(new Int32Array([42]).buffer)])).tensors);
    assert.deepEqual(Object.keys(tensors), ['__proto__']);
    assert.deepEqual(tensors['__proto__']!.toArray(), [42]);
    tensors['__proto__']!.dispose();
  });

  it("refuses dtypes named after Object.prototype's members ('constructor', '__proto__', 'toString')", () => {
    const good = bytesOf({ w: tensor([1], { dtype: 'float32' }) });
    for (const dtype of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.throws(
        () => deserializeSafetensors(withHeader(good, (h) => { (h['w'] as { dtype: string }).dtype = dtype; }), 'bad.safetensors'),
        (e: Error) => e.message === `bad.safetensors: not a valid safetensors file: tensor 'w' has unsupported dtype "${dtype}" (supported: F32, F64, I64, I32, U8, BOOL)`,
      );
    }
  });

  it('refuses the reserved metadata key as a tensor name and non-string metadata', () => {
    assert.throws(() => serializeSafetensors({ __metadata__: tensor([1]) }), /reserved/);
    assert.throws(() => serializeSafetensors({}, { n: 3 as unknown as string }), /must be a string/);
  });
});
