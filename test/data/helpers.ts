// Shared by the data tests: feed bytes to a parser as a stream cut at chosen places, and compare
// datasets as plain values.

import type { ParsedDataset } from '../../src/data/types.js';

const encoder = new TextEncoder();

export const bytesOf = (text: string | Uint8Array): Uint8Array => (typeof text === 'string' ? encoder.encode(text) : text);

/** The bytes as an async stream, cut at the given offsets (sorted, deduplicated, out-of-range ignored). */
export function streamOf(data: string | Uint8Array, cuts: number[] = []): AsyncIterable<Uint8Array> {
  const bytes = bytesOf(data);
  const at = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const c of [...at, bytes.length]) {
    pieces.push(bytes.slice(start, c)); // copies, so no chunk shares a buffer with another
    start = c;
  }
  return (async function* () {
    yield* pieces;
  })();
}

/** The bytes one at a time. */
export function byteByByte(data: string | Uint8Array): AsyncIterable<Uint8Array> {
  const bytes = bytesOf(data);
  return streamOf(bytes, Array.from({ length: bytes.length }, (_, i) => i));
}

/** A dataset with typed arrays turned into plain arrays, for toEqual. */
export function plain(d: ParsedDataset) {
  return {
    ...d,
    xType: d.x.constructor.name,
    x: Array.from(d.x),
    labels: d.labels && Array.from(d.labels),
    targets: d.targets && Array.from(d.targets),
    mean: Array.from(d.mean),
    std: Array.from(d.std),
  };
}

/** Runs fn and returns what it threw (sync or async), failing if it did not throw. */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, none was thrown');
}

const SIZES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/** An IDX file: magic 00 00 <dtype> <ndims>, big-endian uint32 dims, big-endian values. */
export function idxBytes(dtype: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const size = SIZES[dtype];
  const out = new Uint8Array(4 + 4 * dims.length + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0, 0, dtype, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const at = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++) {
    const o = at + i * size;
    if (dtype === 0x08) view.setUint8(o, values[i]);
    else if (dtype === 0x09) view.setInt8(o, values[i]);
    else if (dtype === 0x0b) view.setInt16(o, values[i]);
    else if (dtype === 0x0c) view.setInt32(o, values[i]);
    else if (dtype === 0x0d) view.setFloat32(o, values[i]);
    else view.setFloat64(o, values[i]);
  }
  return out;
}
