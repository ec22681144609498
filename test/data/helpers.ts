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
