// parseIdx and datasetFromIdx: small IDX files built here, plain and gzipped, whole and in pieces.

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.js';
import { datasetFromIdx, parseIdx, type IdxTensor } from '../../src/data/idx.js';
import { idxBytes } from '../helpers/data.js';
import { byteByByte, streamOf, thrown } from './helpers.js';

const gz = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b));

async function idxError(bytes: Uint8Array, what: 'images' | 'labels', options?: { maxBytes?: number }): Promise<DataError> {
  const err = await thrown(() => parseIdx(streamOf(bytes, [1, 5, 9]), what, options));
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}

// Three 2×3 images and their labels.
const pixels = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 250, 251, 252, 253, 254, 255];
const images = idxBytes(0x08, [3, 2, 3], pixels);
const labels = idxBytes(0x08, [3], [7, 2, 7]);

describe('parseIdx', () => {
  it('reads ubyte images and labels, plain and gzipped, whole, cut anywhere, and byte by byte', async () => {
    for (const bytes of [images, gz(images)]) {
      const whole = await parseIdx(streamOf(bytes), 'images');
      expect(whole.dims).toEqual([3, 2, 3]);
      expect(whole.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(whole.data)).toEqual(pixels);
      for (let cut = 1; cut < bytes.length; cut++) {
        const t = await parseIdx(streamOf(bytes, [cut]), 'images');
        expect(Array.from(t.data), `cut at ${cut}`).toEqual(pixels);
      }
      expect(Array.from((await parseIdx(byteByByte(bytes), 'images')).data)).toEqual(pixels);
    }
    const l = await parseIdx(streamOf(gz(labels), [1]), 'labels');
    expect(l.dims).toEqual([3]);
    expect(Array.from(l.data)).toEqual([7, 2, 7]);
  });

  it('decodes every IDX data type, big-endian', async () => {
    const cases: [number, ArrayLike<number>, unknown][] = [
      [0x09, [-128, -1, 0, 127], Int8Array],
      [0x0b, [-32768, -2, 300, 32767], Int16Array],
      [0x0c, [-2147483648, -5, 70000, 2147483647], Int32Array],
      [0x0d, [-1.5, 0.1, 3.25e10, 0], Float32Array],
      [0x0e, [-1.5, 0.1, 1e300, Math.PI], Float64Array],
    ];
    for (const [dtype, values, type] of cases) {
      for (const bytes of [idxBytes(dtype, [2, 2], values), gz(idxBytes(dtype, [2, 2], values))]) {
        const t = await parseIdx(streamOf(bytes, [3, 7]), 'images');
        expect(t.data).toBeInstanceOf(type);
        expect(Array.from(t.data)).toEqual(Array.from(dtype === 0x0d ? Float32Array.from(values) : values));
      }
    }
  });

  it('rejects a bad magic, an unknown type, and dimensions that do not fit the part', async () => {
    const bad = await idxError(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), 'images');
    expect([bad.code, bad.kind]).toEqual(['invalid_idx', 'malformed']);
    expect(bad.message).toContain('50 4b 03 04');
    expect((await idxError(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), 'labels')).message).toContain('0x07');
    const swapped = await idxError(images, 'labels');
    expect(swapped.message).toContain('swapped');
    expect((await idxError(labels, 'images')).message).toContain('swapped');
    expect((await idxError(idxBytes(0x08, [1, 1, 1, 1, 1], [9]), 'images')).code).toBe('invalid_idx');
  });

  it('rejects a truncated header, truncated data and trailing bytes', async () => {
    const header = await idxError(images.subarray(0, 9), 'images');
    expect(header.message).toContain('header');
    const short = await idxError(images.subarray(0, images.length - 1), 'images');
    expect(short.message).toContain('truncated');
    expect(short.details).toMatchObject({ expected: 18, actual: 17 });
    const long = await idxError(new Uint8Array([...images, 0]), 'images');
    expect(long.message).toContain('after the 18 bytes');
    expect((await idxError(gz(new Uint8Array([...labels, 1, 2])), 'labels')).message).toContain('after');
  });

  it('rejects gzip garbage and truncated gzip as invalid_idx, an empty part as empty_dataset', async () => {
    const garbage = await idxError(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'images');
    expect([garbage.code, garbage.kind]).toEqual(['invalid_idx', 'malformed']);
    expect(garbage.message).toContain('gzip');
    const zipped = gz(images);
    const cut = await idxError(zipped.subarray(0, zipped.length - 6), 'images');
    expect(cut.code).toBe('invalid_idx');
    const empty = await idxError(new Uint8Array(0), 'labels');
    expect([empty.code, empty.kind]).toEqual(['empty_dataset', 'malformed']);
  });

  it('refuses a header announcing more than maxBytes before allocating it', async () => {
    const huge = idxBytes(0x08, [60000, 28, 28], []); // header only: 47 MB announced
    const err = await idxError(huge, 'images', { maxBytes: 1_000_000 });
    expect([err.code, err.kind]).toEqual(['payload_too_large', 'too_large']);
  });

  it('passes on errors of the upload itself unchanged, gzipped or not', async () => {
    const failure = new Error('client went away');
    for (const bytes of [images, gz(images)]) {
      const source = (async function* () {
        yield bytes.subarray(0, 4);
        throw failure;
      })();
      await expect(parseIdx(source, 'images')).rejects.toBe(failure);
    }
  });
});

describe('datasetFromIdx', () => {
  const tensor = (dims: number[], data: IdxTensor['data']): IdxTensor => ({ dims, data });

  it('pairs images with labels: bytes kept as they are, px names, numeric classes', async () => {
    const im = await parseIdx(streamOf(gz(images)), 'images');
    const d = datasetFromIdx(im, await parseIdx(streamOf(labels), 'labels'));
    expect(d.rows).toBe(3);
    expect(d.features).toBe(6);
    expect(d.featureNames).toEqual(['px0', 'px1', 'px2', 'px3', 'px4', 'px5']);
    expect(d.targetName).toBe('label');
    expect(d.x).toBe(im.data);
    expect(d.task).toBe('classification');
    expect(d.classes).toEqual([2, 7]);
    expect(Array.from(d.labels!)).toEqual([1, 0, 1]);
    expect(d.mean[0]).toBeCloseTo((0 + 10 + 250) / 3, 4);
  });

  it('stores other types as bytes when they fit, else as float32', () => {
    const l = tensor([2], new Uint8Array([0, 1]));
    expect(datasetFromIdx(tensor([2, 2], new Int16Array([0, 255, 3, 4])), l).x).toBeInstanceOf(Uint8Array);
    const f = datasetFromIdx(tensor([2, 2], new Float64Array([0.5, 255, 3, -4])), l);
    expect(f.x).toBeInstanceOf(Float32Array);
    expect(Array.from(f.x)).toEqual([0.5, 255, 3, -4]);
  });

  it('rejects mismatched counts, empty sets, non-finite values, shapes that do not fit, and a single class', () => {
    const mismatch = (() => {
      try {
        datasetFromIdx(tensor([3, 2], new Uint8Array(6)), tensor([2], new Uint8Array([0, 1])));
      } catch (err) {
        return err as DataError;
      }
    })();
    expect([mismatch?.code, mismatch?.kind]).toEqual(['idx_mismatch', 'unusable']);
    expect(mismatch?.details).toEqual({ images: 3, labels: 2 });
    expect(() => datasetFromIdx(tensor([0, 2], new Uint8Array(0)), tensor([0], new Uint8Array(0)))).toThrow(
      expect.objectContaining({ code: 'empty_dataset' }),
    );
    expect(() => datasetFromIdx(tensor([2, 1], new Float32Array([1, NaN])), tensor([2], new Uint8Array([0, 1])))).toThrow(
      expect.objectContaining({ code: 'invalid_idx' }),
    );
    expect(() => datasetFromIdx(tensor([2, 2], new Uint8Array(3)), tensor([2], new Uint8Array([0, 1])))).toThrow(
      expect.objectContaining({ code: 'invalid_idx' }),
    );
    expect(() => datasetFromIdx(tensor([2, 2], new Uint8Array(4)), tensor([2], new Uint8Array([5, 5])))).toThrow(
      expect.objectContaining({ code: 'single_class', kind: 'unusable' }),
    );
    expect(() => datasetFromIdx(tensor([3, 2], new Uint8Array(6)), tensor([3], new Uint8Array([0, 1, 2])), { maxRows: 2 })).toThrow(
      expect.objectContaining({ code: 'too_large', kind: 'too_large' }),
    );
  });
});
