// A canonical Huffman coder over bytes: WSN entropy-codes its packed binary
// masks (Kang et al. 2022 compress them with Huffman coding). A sparse mask
// packs into mostly zero bytes, which get codes of one or two bits.
//
// Encoded layout:
//   4 bytes   the number of symbols N, unsigned little-endian
//   256 bytes the code length of each byte value (0: the value does not occur)
//   ...       the codes of the N symbols, most significant bit first, the last
//             byte padded with zero bits
// Canonical codes follow from the lengths alone (shorter codes first, equal
// lengths in symbol order), so the lengths are the whole code table.

const SYMBOLS = 256;
const HEADER_BYTES = 4 + SYMBOLS;
/** Codes are held in JavaScript numbers: exact up to 2^53. */
const MAX_CODE_LENGTH = 53;

/**
 * Huffman code lengths for the given symbol frequencies (0 for a symbol that
 * never occurs). A lone symbol gets a 1-bit code. Merging always takes the two
 * lightest nodes, ties broken by creation order, so the lengths are
 * deterministic.
 */
export function huffmanCodeLengths(frequencies: ArrayLike<number>): Uint8Array {
  const lengths = new Uint8Array(frequencies.length);
  // Each node: its weight and the symbols below it.
  const nodes: { weight: number; symbols: number[] }[] = [];
  for (let s = 0; s < frequencies.length; s++) if (frequencies[s]! > 0) nodes.push({ weight: frequencies[s]!, symbols: [s] });
  if (nodes.length === 1) lengths[nodes[0]!.symbols[0]!] = 1;
  while (nodes.length > 1) {
    const a = nodes.splice(lightest(nodes), 1)[0]!;
    const b = nodes.splice(lightest(nodes), 1)[0]!;
    // Every symbol under the merged node moves one level deeper.
    for (const s of a.symbols) lengths[s]!++;
    for (const s of b.symbols) lengths[s]!++;
    nodes.push({ weight: a.weight + b.weight, symbols: [...a.symbols, ...b.symbols] });
  }
  return lengths;
}

function lightest(nodes: readonly { weight: number }[]): number {
  let best = 0;
  for (let i = 1; i < nodes.length; i++) if (nodes[i]!.weight < nodes[best]!.weight) best = i;
  return best;
}

/** Canonical codes from code lengths: codes[s] for each symbol with a length. */
function canonicalCodes(lengths: Uint8Array): number[] {
  const order = [...lengths.keys()].filter((s) => lengths[s]! > 0).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let previous = 0;
  for (const s of order) {
    code *= 2 ** (lengths[s]! - previous);
    codes[s] = code;
    code++;
    previous = lengths[s]!;
  }
  return codes;
}

/** Huffman-codes `data` in the layout described at the top of this file. */
export function huffmanEncode(data: Uint8Array): Uint8Array {
  const frequencies = new Array<number>(SYMBOLS).fill(0);
  for (const byte of data) frequencies[byte]!++;
  const lengths = huffmanCodeLengths(frequencies);
  if (lengths.some((l) => l > MAX_CODE_LENGTH)) throw new Error(`huffmanEncode: a code is longer than ${MAX_CODE_LENGTH} bits`);
  const codes = canonicalCodes(lengths);
  let bits = 0;
  for (let s = 0; s < SYMBOLS; s++) bits += frequencies[s]! * lengths[s]!;
  const out = new Uint8Array(HEADER_BYTES + Math.ceil(bits / 8));
  new DataView(out.buffer).setUint32(0, data.length, true);
  out.set(lengths, 4);
  let position = HEADER_BYTES * 8;
  for (const byte of data) {
    const length = lengths[byte]!;
    const code = codes[byte]!;
    for (let i = length - 1; i >= 0; i--, position++) {
      if (Math.floor(code / 2 ** i) % 2 === 1) out[position >> 3]! |= 0x80 >> (position & 7);
    }
  }
  return out;
}

/** The bytes `huffmanEncode` coded; rejects a truncated stream or an impossible code table. */
export function huffmanDecode(encoded: Uint8Array): Uint8Array {
  if (encoded.length < HEADER_BYTES) throw new Error(`huffmanDecode: ${encoded.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const count = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength).getUint32(0, true);
  const lengths = encoded.slice(4, HEADER_BYTES);
  // Kraft's inequality: the lengths must describe a prefix code.
  let kraft = 0;
  for (const l of lengths) if (l > 0) kraft += 2 ** -l;
  if (lengths.some((l) => l > MAX_CODE_LENGTH) || kraft > 1) throw new Error('huffmanDecode: the code-length table does not describe a prefix code');
  const out = new Uint8Array(count);
  if (count === 0) return out;
  if (kraft === 0) throw new Error(`huffmanDecode: ${count} symbols but an empty code table`);
  // Per length: the first canonical code, and where its symbols start in `order`.
  const order = [...lengths.keys()].filter((s) => lengths[s]! > 0).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const maxLength = lengths[order[order.length - 1]!]!;
  const perLength = new Array<number>(maxLength + 1).fill(0);
  for (const s of order) perLength[lengths[s]!]!++;
  const firstCode = new Array<number>(maxLength + 1).fill(0);
  const firstIndex = new Array<number>(maxLength + 1).fill(0);
  for (let l = 1, code = 0, index = 0; l <= maxLength; l++) {
    firstCode[l] = code;
    firstIndex[l] = index;
    code = (code + perLength[l]!) * 2;
    index += perLength[l]!;
  }
  const totalBits = encoded.length * 8;
  let position = HEADER_BYTES * 8;
  for (let n = 0; n < count; n++) {
    let code = 0;
    for (let l = 1; ; l++) {
      if (l > maxLength) throw new Error(`huffmanDecode: symbol ${n} matches no code`);
      if (position >= totalBits) throw new Error(`huffmanDecode: the stream ends after ${n} of ${count} symbols (truncated)`);
      code = code * 2 + ((encoded[position >> 3]! >> (7 - (position & 7))) & 1);
      position++;
      const offset = code - firstCode[l]!;
      if (offset >= 0 && offset < perLength[l]!) {
        out[n] = order[firstIndex[l]! + offset]!;
        break;
      }
    }
  }
  return out;
}
