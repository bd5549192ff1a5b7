// The safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes: little-endian u64 N, the header length
//   N bytes: a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}
//   the data: each tensor's bytes, row-major, little-endian, at its offsets
// Loading reads nothing but bytes and JSON (no code runs) and validates every
// field before any tensor is built, so a corrupt or truncated file is rejected
// with an error that names the file and the problem.
//
// A file's names become keys of the objects returned, so those objects have
// no prototype: a tensor named '__proto__' is an entry like any other, not a
// prototype change that drops it, and looking up 'constructor' or 'toString'
// finds nothing instead of Object.prototype's members. Lookups of a file's
// strings in our own tables go through Maps for the same reason.
import { readFileSync } from 'node:fs';
import { type DType } from '../tensor/dtype.js';
import { native } from '../tensor/native.js';
import { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';

/** Tensors by name, as a safetensors file holds them. */
export type TensorMap = Record<string, Tensor>;

const TO_FORMAT: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };
const FROM_FORMAT = new Map<string, DType>(Object.entries(TO_FORMAT).map(([dtype, format]) => [format, dtype as DType]));
const ELEMENT_BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };
const METADATA_KEY = '__metadata__';
// Larger headers are refused as corrupt; the reference implementation uses the same bound.
const MAX_HEADER_BYTES = 100_000_000;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The bytes of a safetensors file holding `tensors` (in key order) and string metadata. */
export function serializeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array[] {
  const header = Object.create(null) as Record<string, HeaderEntry | Record<string, string>>;
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors: metadata value for '${k}' must be a string`);
    }
    header[METADATA_KEY] = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA_KEY) throw new TypeError(`safetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new TypeError(`safetensors: '${name}' is not a Tensor`);
    const bytes = new Uint8Array(native.toArrayBuffer(t.handle));
    header[name] = { dtype: TO_FORMAT[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  return [prefix, headerBytes, ...chunks];
}

/** Writes tensors to `path` atomically (temporary file, then rename). */
export function saveSafetensors(path: string, tensors: TensorMap, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** A safetensors file's tensors and its string metadata. */
export interface SafetensorsContents {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

/** Parses safetensors bytes; `source` names the origin in errors. */
export function deserializeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContents {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.byteLength < 8) fail(`it is ${bytes.byteLength} bytes long, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} is implausibly large`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.byteLength) fail(`header length ${headerLength} runs past the end of the ${bytes.byteLength}-byte file (truncated?)`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(headerLength)).toString('utf8'));
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataLength = bytes.byteLength - dataStart;

  const metadata = Object.create(null) as Record<string, string>;
  const entries: [string, DType, number[], number, number][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const entry = raw as Partial<HeaderEntry> | null;
    if (entry === null || typeof entry !== 'object') fail(`entry '${name}' is not an object`);
    const dtype = FROM_FORMAT.get(String(entry!.dtype));
    if (dtype === undefined) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(entry!.dtype)} (supported: ${[...FROM_FORMAT.keys()].join(', ')})`);
    const shape = entry!.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const offsets = entry!.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dtype!];
    if (end - begin !== expected) fail(`tensor '${name}' occupies ${end - begin} bytes but dtype ${entry!.dtype} and shape [${shape}] need ${expected}`);
    if (end > dataLength) fail(`tensor '${name}' ends at byte ${end} of a ${dataLength}-byte data section (truncated?)`);
    if (dtype === 'bool') {
      const raw = bytes.subarray(dataStart + begin, dataStart + end);
      if (raw.some((b) => b > 1)) fail(`tensor '${name}' is BOOL but holds bytes other than 0 and 1`);
    }
    entries.push([name, dtype!, shape as number[], begin, end]);
  }
  // The tensors must tile the data section exactly: no gaps, overlaps or trailing bytes.
  const sorted = [...entries].sort((a, b) => a[3] - b[3]);
  let cursor = 0;
  for (const [name, , , begin, end] of sorted) {
    if (begin !== cursor) fail(`tensor '${name}' starts at byte ${begin}, expected ${cursor} (gap or overlap)`);
    cursor = end;
  }
  if (cursor !== dataLength) fail(`the data section has ${dataLength - cursor} bytes not covered by any tensor`);

  const tensors = Object.create(null) as TensorMap;
  for (const [name, dtype, shape, begin, end] of entries) {
    const slice = new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    tensors[name] = Tensor.wrap(native.fromTypedArray(slice, dtype, shape));
  }
  return { tensors, metadata };
}

/** Reads and validates a safetensors file. */
export function loadSafetensors(path: string): SafetensorsContents {
  return deserializeSafetensors(readFileSync(path), path);
}
