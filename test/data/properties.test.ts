// Property-based tests: generated tables round-trip through CSV and JSON; arbitrary bytes, strings
// and values either parse into a dataset consistent with what they say or throw a DataError.

import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { DataError } from '../../src/data/errors.js';
import { datasetFromIdx, parseIdx } from '../../src/data/idx.js';
import { parseJsonDataset } from '../../src/data/json.js';
import type { ParsedDataset } from '../../src/data/types.js';
import { idxBytes } from '../helpers/data.js';
import { bytesOf, streamOf } from './helpers.js';

// FC_RUNS_SCALE=20 npx vitest run test/data/properties.test.ts for a deeper search than CI's.
const SCALE = Number(process.env.FC_RUNS_SCALE ?? 1);
const runs = (n: number) => ({ numRuns: Math.round(n * SCALE) });
const RUNS = runs(150);

/** -0 and 0 are the same value here (a byte-stored x cannot keep the sign). */
const zeroed = (v: number): number => v + 0;

/** Whatever went wrong must be a DataError; returns the dataset or null. */
async function parsedOrDataError<T>(run: () => T | Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    expect(typeof err.code).toBe('string');
    expect(['malformed', 'too_large', 'unsupported', 'unusable']).toContain(err.kind);
    return null;
  }
}

/** What every dataset promises, whatever it came from. */
function checkInvariants(d: ParsedDataset): void {
  expect(d.rows).toBeGreaterThan(0);
  expect(d.features).toBeGreaterThan(0);
  expect(d.featureNames).toHaveLength(d.features);
  expect(new Set(d.featureNames).size).toBe(d.features);
  expect(d.x.length).toBe(d.rows * d.features);
  for (const v of d.x) expect(Number.isFinite(v)).toBe(true);
  if (d.x instanceof Float32Array) expect(Array.from(d.x).every((v) => v >= 0 && v <= 255 && Number.isInteger(v))).toBe(false);
  expect(d.mean).toHaveLength(d.features);
  expect(d.std).toHaveLength(d.features);
  for (let f = 0; f < d.features; f++) {
    expect(Number.isFinite(d.mean[f]) && d.std[f] >= 0).toBe(true);
  }
  if (d.task === 'classification') {
    expect(d.targets).toBeNull();
    expect(d.classes!.length).toBeGreaterThanOrEqual(2);
    expect(new Set(d.classes).size).toBe(d.classes!.length);
    expect(d.labels).toHaveLength(d.rows);
    for (const l of d.labels!) expect(l >= 0 && l < d.classes!.length).toBe(true);
    const sorted = [...d.classes!].sort((a, b) => (typeof a === 'number' ? a - (b as number) : a < b ? -1 : a > b ? 1 : 0));
    expect(d.classes).toEqual(sorted);
  } else {
    expect(d.classes).toBeNull();
    expect(d.labels).toBeNull();
    expect(d.targets).toHaveLength(d.rows);
  }
}

// A float32 value in the notations a CSV writer might use; each reads back to exactly that float32.
const float32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => Math.fround(v));
const notation = fc.constantFrom(
  (v: number) => String(v),
  (v: number) => v.toPrecision(9),
  (v: number) => v.toExponential(8),
  (v: number) => (Number.isInteger(v) && Math.abs(v) < 1e15 ? `${v}.` : String(v)),
  (v: number) => (v >= 0 ? `+${String(v)}` : String(v)),
);
const cuts = fc.array(fc.nat({ max: 4000 }), { maxLength: 6 });

describe('CSV properties', () => {
  it('a numeric table written as CSV parses back to the same float32 values, however it is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }).chain((features) =>
          fc.tuple(
            fc.constant(features),
            fc.array(fc.array(float32, { minLength: features + 1, maxLength: features + 1 }), { minLength: 1, maxLength: 12 }),
          ),
        ),
        notation,
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        cuts,
        async ([features, table], write, eol, finalEol, at) => {
          const header = [...Array.from({ length: features }, (_, i) => `f${i}`), 'y'].join(',');
          const lines = [header, ...table.map((row) => row.map(write).join(','))];
          const text = lines.join(eol) + (finalEol ? eol : '');
          const d = await parseCsv(streamOf(text, at), { task: 'regression' });
          expect(d.rows).toBe(table.length);
          expect(Array.from(d.x, zeroed)).toEqual(table.flatMap((row) => row.slice(0, features)).map(zeroed));
          expect(Array.from(d.targets!, zeroed)).toEqual(table.map((row) => zeroed(row[features])));
        },
      ),
      RUNS,
    );
  });

  it('CSV-shaped strings parse consistently with a reference reading, or throw a DataError', async () => {
    const cell = fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^-?\d{1,3}(\.\d{0,2})?$/) },
      { weight: 4, arbitrary: fc.constantFrom(' 1 ', '1e3', '.5', '"2"', 'cat', '"q"', '"a,b"', '"say ""hi"""', '"l1\nl2"') },
      { weight: 1, arbitrary: fc.constantFrom('', 'nan', 'x', '"', '"a"b', '1,', ' ') },
    );
    const line = fc.oneof(
      { weight: 12, arbitrary: fc.array(cell, { minLength: 3, maxLength: 3 }) },
      { weight: 1, arbitrary: fc.array(cell, { minLength: 0, maxLength: 4 }) },
    );
    const csv = fc
      .tuple(fc.array(line, { minLength: 1, maxLength: 8 }), fc.constantFrom('\n', '\r\n', '\r'), fc.boolean(), fc.boolean())
      .map(
        ([lines, eol, bom, finalEol]) =>
          (bom ? '\ufeff' : '') + ['a,b,y', ...lines.map((l) => l.join(','))].join(eol) + (finalEol ? eol : ''),
      );
    let parsed = 0;
    await fc.assert(
      fc.asyncProperty(csv, cuts, async (text, at) => {
        const d = await parsedOrDataError(() => parseCsv(streamOf(text, at)));
        if (d !== null) {
          parsed++;
          checkInvariants(d);
          checkAgainstReference(d, text);
        }
      }),
      runs(300),
    );
    expect(parsed).toBeGreaterThan(15); // the property must exercise the success path, not only errors
  });

  it('arbitrary bytes and strings give a consistent dataset or a DataError, never another error', async () => {
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('0', '1', '9', '.', '-', '+', 'e', ',', '"', '\n', '\r', ' ', 'a', '\ufeff'), maxLength: 80 }).map(bytesOf),
      fc.string({ unit: 'binary', maxLength: 60 }).map(bytesOf),
    );
    await fc.assert(
      fc.asyncProperty(noise, cuts, async (bytes, at) => {
        const d = await parsedOrDataError(() => parseCsv(streamOf(bytes, at), { maxFieldBytes: 64 }));
        if (d !== null) checkInvariants(d);
      }),
      runs(400),
    );
  });
});

/** A plain, character-at-a-time RFC 4180 reading, to compare parseCsv's accepted output with. */
function referenceRecords(text: string): { value: string; quoted: boolean }[][] {
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const records: { value: string; quoted: boolean }[][] = [];
  let record: { value: string; quoted: boolean }[] = [];
  let value = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    record.push({ value, quoted });
    value = '';
    quoted = false;
  };
  while (i < text.length) {
    const c = text[i];
    if (value === '' && !quoted && c === '"') {
      quoted = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      continue;
    }
    if (c === ',') {
      endField();
      i++;
    } else if (c === '\n' || c === '\r') {
      endField();
      records.push(record);
      record = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      value += c;
      i++;
    }
  }
  if (value !== '' || quoted || record.length > 0) {
    endField();
    records.push(record);
  }
  // Blank lines (one empty unquoted field) are not records.
  return records.filter((r) => !(r.length === 1 && r[0].value === '' && !r[0].quoted));
}

function checkAgainstReference(d: ParsedDataset, text: string): void {
  const [header, ...rows] = referenceRecords(text);
  const cellText = (c: { value: string; quoted: boolean }) => (c.quoted ? c.value : c.value.replace(/^[ \t]+|[ \t]+$/g, ''));
  expect([...d.featureNames, d.targetName]).toEqual(header.map(cellText));
  expect(d.rows).toBe(rows.length);
  rows.forEach((row, r) => {
    expect(row).toHaveLength(header.length);
    for (let f = 0; f < d.features; f++) {
      expect(zeroed(d.x[r * d.features + f])).toBe(zeroed(Math.fround(Number(row[f].value.trim()))));
    }
    const label = cellText(row[header.length - 1]);
    if (d.task === 'classification') {
      const cls = d.classes![d.labels![r]];
      if (typeof cls === 'number') expect(cls).toBe(Number(label));
      else expect(cls).toBe(label);
    } else expect(zeroed(d.targets![r])).toBe(zeroed(Math.fround(Number(label))));
  });
}

describe('JSON properties', () => {
  it('a generated table parses to the same float32 values and labels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((width) =>
          fc.array(fc.tuple(fc.array(float32, { minLength: width, maxLength: width }), fc.constantFrom('a', 'b', '__proto__')), {
            minLength: 2,
            maxLength: 10,
          }),
        ),
        (rows) => {
          const features = rows.map(([x]) => x);
          const labels = rows.map(([, l]) => l);
          const d = parsedOrDataErrorSync(() => parseJsonDataset({ features, labels }));
          if (new Set(labels).size < 2) {
            expect(d).toBeNull();
            return;
          }
          expect(d).not.toBeNull();
          checkInvariants(d!);
          expect(Array.from(d!.x, zeroed)).toEqual(features.flat().map(zeroed));
          expect(labels.map((_, r) => d!.classes![d!.labels![r]])).toEqual(labels);
        },
      ),
      RUNS,
    );
  });

  it('any JSON value either parses consistently or throws a DataError', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ features: fc.jsonValue(), labels: fc.jsonValue() }),
      fc.record({
        features: fc.array(fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(null)), { maxLength: 3 }), { maxLength: 4 }),
        labels: fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b', '')), { maxLength: 4 }),
      }),
    );
    fc.assert(
      fc.property(body, (b) => {
        const d = parsedOrDataErrorSync(() => parseJsonDataset(b));
        if (d !== null) checkInvariants(d);
      }),
      runs(400),
    );
  });
});

function parsedOrDataErrorSync<T>(run: () => T): T | null {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    return null;
  }
}

describe('IDX properties', () => {
  const pair = fc.integer({ min: 1, max: 6 }).chain((n) =>
    fc.record({
      dims: fc.tuple(fc.constant(n), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
      pixels: fc.uint8Array({ minLength: n * 16, maxLength: n * 16 }),
      labels: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
    }),
  );

  it('images and labels round-trip, gzipped or not, however cut', async () => {
    await fc.assert(
      fc.asyncProperty(pair, fc.boolean(), cuts, async ({ dims, pixels, labels }, zipped, at) => {
        const count = dims[0] * dims[1] * dims[2];
        let im = idxBytes(0x08, dims, pixels.subarray(0, count));
        let lb = idxBytes(0x08, [dims[0]], labels);
        if (zipped) [im, lb] = [new Uint8Array(gzipSync(im)), new Uint8Array(gzipSync(lb))];
        const images = await parseIdx(streamOf(im, at), 'images');
        const targets = await parseIdx(streamOf(lb, at), 'labels');
        expect(images.dims).toEqual(dims);
        expect(Array.from(images.data)).toEqual(Array.from(pixels.subarray(0, count)));
        const d = parsedOrDataErrorSync(() => datasetFromIdx(images, targets));
        if (new Set(labels).size < 2) expect(d).toBeNull();
        else {
          checkInvariants(d!);
          expect(labels.map((_, r) => d!.classes![d!.labels![r]])).toEqual(labels);
        }
      }),
      RUNS,
    );
  });

  it('any truncation of a valid file, or bytes appended, is a DataError', async () => {
    await fc.assert(
      fc.asyncProperty(pair, fc.boolean(), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), async ({ dims, pixels }, zipped, cutAt, extra) => {
        const count = dims[0] * dims[1] * dims[2];
        const raw = idxBytes(0x08, dims, pixels.subarray(0, count));
        const full = zipped ? new Uint8Array(gzipSync(raw)) : raw;
        const truncated = full.subarray(0, cutAt % full.length);
        await expect(parseIdx(streamOf(truncated), 'images')).rejects.toBeInstanceOf(DataError);
        await expect(parseIdx(streamOf(new Uint8Array([...raw, ...extra])), 'images')).rejects.toBeInstanceOf(DataError);
      }),
      RUNS,
    );
  });

  it('arbitrary bytes, with or without a plausible header, give a consistent tensor or a DataError', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc
        .tuple(fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x07), fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 64 }))
        .map(([t, nd, rest]) => new Uint8Array([0, 0, t, nd, ...rest])),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.boolean(), fc.constantFrom<'images' | 'labels'>('images', 'labels'), async (b, zipped, what) => {
        const t = await parsedOrDataError(() => parseIdx(streamOf(zipped ? new Uint8Array(gzipSync(b)) : b, [2, 5]), what));
        if (t !== null) {
          expect(t.data.length).toBe(t.dims.reduce((a, c) => a * c, 1));
          expect(what === 'labels' ? t.dims.length === 1 : t.dims.length >= 2).toBe(true);
        }
      }),
      runs(300),
    );
  });
});
