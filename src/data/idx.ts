// IDX, the format MNIST and Fashion-MNIST ship in, read as a stream (gunzipped on the fly when the
// bytes open with gzip's 1f 8b) into one allocation sized from the header; and a pair of IDX
// tensors (images, labels) turned into a classification dataset.
//
// Layout: 00 00 <dtype> <ndims>, then ndims big-endian uint32 sizes, then the values, big-endian.

import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { finishDataset, fitsInBytes, isFloat32Finite, resolveLimits, type DataLimits } from './dataset.js';
import { DataError } from './errors.js';
import type { ParsedDataset } from './types.js';

export interface IdxTensor {
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export interface IdxOptions {
  /** Largest data section (after gunzip) the header may announce. */
  maxBytes?: number;
}

const IDX_MAX_BYTES = 1 << 30;

interface IdxType {
  name: string;
  size: number;
  decode: (bytes: Uint8Array, count: number) => IdxTensor['data'];
}

function bigEndian<T extends Int16Array | Int32Array | Float32Array | Float64Array>(
  make: (count: number) => T,
  read: (view: DataView, offset: number) => number,
  size: number,
): (bytes: Uint8Array, count: number) => T {
  return (bytes, count) => {
    const out = make(count);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) out[i] = read(view, i * size);
    return out;
  };
}

const IDX_TYPES = new Map<number, IdxType>([
  [0x08, { name: 'ubyte', size: 1, decode: (bytes) => bytes }],
  [0x09, { name: 'byte', size: 1, decode: (bytes, count) => new Int8Array(bytes.buffer, bytes.byteOffset, count) }],
  [0x0b, { name: 'short', size: 2, decode: bigEndian((n) => new Int16Array(n), (v, o) => v.getInt16(o), 2) }],
  [0x0c, { name: 'int', size: 4, decode: bigEndian((n) => new Int32Array(n), (v, o) => v.getInt32(o), 4) }],
  [0x0d, { name: 'float', size: 4, decode: bigEndian((n) => new Float32Array(n), (v, o) => v.getFloat32(o), 4) }],
  [0x0e, { name: 'double', size: 8, decode: bigEndian((n) => new Float64Array(n), (v, o) => v.getFloat64(o), 8) }],
]);

const invalid = (what: string, message: string, details?: Record<string, unknown>): DataError =>
  new DataError('invalid_idx', 'malformed', `the ${what} file ${message}`, { part: what, ...details });

/** What a partly read IDX stream has told us so far. */
interface IdxRead {
  what: 'images' | 'labels';
  maxBytes: number;
  /** Magic and dimensions, at most 4 + 4·255 bytes. */
  head: Uint8Array;
  headLen: number;
  type: IdxType | null;
  dims: number[] | null;
  data: Uint8Array | null;
  filled: number;
}

export async function parseIdx(
  source: AsyncIterable<Uint8Array>,
  what: 'images' | 'labels',
  options: IdxOptions = {},
): Promise<IdxTensor> {
  const maxBytes = options.maxBytes ?? IDX_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`option maxBytes must be a positive integer, got ${String(maxBytes)}`);
  }
  const state: IdxRead = { what, maxBytes, head: new Uint8Array(4 + 4 * 255), headLen: 0, type: null, dims: null, data: null, filled: 0 };
  let sawBytes = false;
  for await (const chunk of gunzipIfGzipped(source, what)) {
    if (chunk.length > 0) sawBytes = true;
    feed(state, chunk);
  }
  if (!sawBytes) throw new DataError('empty_dataset', 'malformed', `the ${what} file is empty`, { part: what });
  if (state.data === null) throw invalid(what, 'ends inside its header (truncated?)');
  if (state.filled < state.data.length) {
    throw invalid(what, `is truncated: the header announces ${state.data.length} bytes of data, only ${state.filled} arrived`, {
      expected: state.data.length,
      actual: state.filled,
    });
  }
  const type = state.type!;
  const count = state.data.length / type.size;
  return { dims: state.dims!, data: type.decode(state.data, count) };
}

function feed(state: IdxRead, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) {
    if (state.data === null) {
      off = readHeader(state, chunk, off);
      continue;
    }
    const take = Math.min(chunk.length - off, state.data.length - state.filled);
    if (take === 0) {
      throw invalid(state.what, `has bytes after the ${state.data.length} bytes of data its header announces`, {
        expected: state.data.length,
      });
    }
    state.data.set(chunk.subarray(off, off + take), state.filled);
    state.filled += take;
    off += take;
  }
}

/** Copies header bytes until the magic and all dimensions are in, then allocates the data. */
function readHeader(state: IdxRead, chunk: Uint8Array, off: number): number {
  const { what, head } = state;
  const need = state.headLen < 4 ? 4 : 4 + 4 * head[3];
  const take = Math.min(need - state.headLen, chunk.length - off);
  head.set(chunk.subarray(off, off + take), state.headLen);
  state.headLen += take;
  off += take;
  if (state.headLen < need) return off;
  if (need === 4) {
    const magic = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    if (head[0] !== 0 || head[1] !== 0) {
      throw invalid(what, `is not IDX: it starts ${magic}, expected 00 00 <type> <dimensions> (or gzip's 1f 8b)`, { magic });
    }
    const type = IDX_TYPES.get(head[2]);
    if (type === undefined) {
      throw invalid(what, `has unknown data type 0x${head[2].toString(16).padStart(2, '0')}; IDX types are 08, 09, 0b, 0c, 0d, 0e`, { magic });
    }
    const ndims = head[3];
    if (what === 'labels' && ndims !== 1) {
      throw invalid(what, `has ${ndims} dimensions, labels have 1 — are the images and labels parts swapped?`, { magic });
    }
    if (what === 'images' && (ndims < 2 || ndims > 4)) {
      throw invalid(what, `has ${ndims} dimension${ndims === 1 ? '' : 's'}, images have 2 to 4 (count × rows × cols)${ndims === 1 ? ' — are the images and labels parts swapped?' : ''}`, { magic });
    }
    state.type = type;
    return off;
  }
  const type = state.type!;
  const view = new DataView(head.buffer, head.byteOffset, state.headLen);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < head[3]; d++) {
    const size = view.getUint32(4 + 4 * d);
    dims.push(size);
    count *= size;
    if (count * type.size > state.maxBytes) {
      throw new DataError('payload_too_large', 'too_large', `the ${what} file announces more than ${state.maxBytes} bytes of data, the limit`, {
        part: what,
        maxBytes: state.maxBytes,
      });
    }
  }
  state.dims = dims;
  state.data = new Uint8Array(count * type.size);
  return off;
}

/** Yields the source's bytes, gunzipped when they start with gzip's magic 1f 8b. */
async function* gunzipIfGzipped(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const rest: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => it };
  // The magic may be split across chunks: gather at least two bytes (usually the first chunk has them).
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  while (head.length < 2) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    head = head.length === 0 ? next.value : concat(head, next.value);
  }
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    if (!ended) yield* rest;
    return;
  }
  const gunzip = createGunzip();
  const input = Readable.from(
    (async function* () {
      yield head;
      if (!ended) yield* rest;
    })(),
    { objectMode: false },
  );
  let sourceError = false;
  input.on('error', (err) => {
    sourceError = true;
    gunzip.destroy(err);
  });
  input.pipe(gunzip);
  try {
    for await (const out of gunzip) yield out as Uint8Array;
  } catch (err) {
    if (sourceError || err instanceof DataError) throw err; // the upload itself failed: not a gzip problem
    throw invalid(what, `is gzipped but its compressed data is corrupt or truncated (${(err as Error).message})`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Images (count × rows × cols, or count × features) and labels (count) → a classification dataset:
 * features px0…px(n−1) in row-major pixel order, classes the distinct label values.
 */
export function datasetFromIdx(images: IdxTensor, labels: IdxTensor, limits: DataLimits = {}): ParsedDataset {
  const { maxRows, maxFeatures, maxCells, maxClasses } = resolveLimits(limits);
  checkShape(images, 'images');
  checkShape(labels, 'labels');
  if (images.dims.length < 2) throw invalid('images', `has ${images.dims.length} dimension(s), images have at least 2`);
  if (labels.dims.length !== 1) throw invalid('labels', `has ${labels.dims.length} dimensions, labels have 1`);
  const rows = images.dims[0];
  if (labels.dims[0] !== rows) {
    throw new DataError(
      'idx_mismatch',
      'unusable',
      `the images file holds ${rows} images but the labels file holds ${labels.dims[0]} labels; they must pair one to one`,
      { images: rows, labels: labels.dims[0] },
    );
  }
  const features = images.dims.slice(1).reduce((a, b) => a * b, 1);
  if (rows === 0) throw new DataError('empty_dataset', 'unusable', 'the IDX files hold no images');
  if (features === 0) throw new DataError('no_features', 'unusable', `the images have size ${images.dims.slice(1).join('×')}, no pixels`);
  if (rows > maxRows) throw new DataError('too_large', 'too_large', `the IDX files hold ${rows} images, more than the limit of ${maxRows}`, { maxRows });
  if (features > maxFeatures) {
    throw new DataError('too_large', 'too_large', `each image has ${features} pixels, more than the limit of ${maxFeatures}`, { maxFeatures });
  }
  if (rows * features > maxCells) {
    throw new DataError('too_large', 'too_large', `the images hold ${rows * features} values, more than the limit of ${maxCells}`, { maxCells });
  }

  let x: Uint8Array | Float32Array;
  if (images.data instanceof Uint8Array) x = images.data; // the common case: no copy
  else {
    for (let i = 0; i < images.data.length; i++) {
      if (!isFloat32Finite(images.data[i])) {
        throw invalid('images', `has a value that is not a finite float32 (${images.data[i]}) at index ${i}`, { index: i });
      }
    }
    x = fitsInBytes(images.data) ? Uint8Array.from(images.data) : Float32Array.from(images.data);
  }

  const values = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = labels.data[r];
    if (!isFloat32Finite(v)) throw invalid('labels', `has a value that is not a finite number (${v}) at index ${r}`, { index: r });
    values[r] = v;
  }

  return finishDataset({
    rows,
    features,
    featureNames: Array.from({ length: features }, (_, i) => `px${i}`),
    targetName: 'label',
    x,
    target: { kind: 'numbers', values },
    task: 'classification',
    maxClasses,
  });
}

function checkShape(t: IdxTensor, what: 'images' | 'labels'): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (!t.dims.every((d) => Number.isInteger(d) && d >= 0) || count !== t.data.length) {
    throw invalid(what, `has dimensions ${t.dims.join('×')} that do not match its ${t.data.length} values`);
  }
}
