// The shared shaping: stats, task inference, label encoding, byte compaction.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { finishDataset, inferTask, standardStats } from '../../src/data/dataset.js';
import { DataError } from '../../src/data/errors.js';

/** The textbook definition in float64, to compare against. */
function reference(x: ArrayLike<number>, rows: number, features: number) {
  const mean: number[] = [];
  const std: number[] = [];
  for (let f = 0; f < features; f++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * features + f];
    const m = s / rows;
    let ss = 0;
    for (let r = 0; r < rows; r++) ss += (x[r * features + f] - m) ** 2;
    mean.push(m);
    std.push(Math.sqrt(ss / rows));
  }
  return { mean, std };
}

describe('standardStats', () => {
  it('matches the float64 definition for bytes and floats, and the two storages agree', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((features) =>
          fc.tuple(fc.constant(features), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: features, maxLength: features * 30 })),
        ),
        ([features, values]) => {
          const rows = Math.floor(values.length / features);
          const bytes = Uint8Array.from(values.slice(0, rows * features));
          const floats = Float32Array.from(bytes);
          const ref = reference(bytes, rows, features);
          const a = standardStats(bytes, rows, features);
          const b = standardStats(floats, rows, features);
          for (let f = 0; f < features; f++) {
            expect(a.mean[f]).toBe(Math.fround(ref.mean[f]));
            expect(a.std[f]).toBeCloseTo(ref.std[f], 4);
            expect(b.mean[f]).toBeCloseTo(a.mean[f], 4);
            expect(b.std[f]).toBeCloseTo(a.std[f], 4);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps a small spread on a large offset, and gives a constant feature std exactly 0', () => {
    const x = Float32Array.from([1e6 + 0.5, 7.25, 1e6 - 0.5, 7.25, 1e6 + 0.5, 7.25, 1e6 - 0.5, 7.25]);
    const { mean, std } = standardStats(x, 4, 2);
    expect(mean[0]).toBe(1e6);
    expect(std[0]).toBeCloseTo(0.5, 6);
    expect(mean[1]).toBe(7.25);
    expect(std[1]).toBe(0);
    const bytes = standardStats(Uint8Array.from([9, 9, 9]), 3, 1);
    expect([bytes.mean[0], bytes.std[0]]).toEqual([9, 0]);
  });
});

describe('inferTask', () => {
  it('classification only for integers with ≤ 50 distinct values and 2 × distinct ≤ rows', () => {
    expect(inferTask([0, 1, 0, 1], 4)).toBe('classification');
    expect(inferTask([0, 1, 2], 3)).toBe('regression');
    expect(inferTask([0, 1, 0, 1.5], 4)).toBe('regression');
    expect(inferTask(Array.from({ length: 200 }, (_, i) => i % 50), 200)).toBe('classification');
    expect(inferTask(Array.from({ length: 200 }, (_, i) => i % 51), 200)).toBe('regression');
    expect(inferTask([-3, 7, -3, 7], 4)).toBe('classification');
  });
});

describe('finishDataset', () => {
  const base = { rows: 4, features: 1, featureNames: ['a'], targetName: 'y', x: Float32Array.from([1, 2, 3, 4, 99, 99]) };

  it('trims growth slack, compacts to bytes, sorts text classes and remaps their indices', () => {
    const d = finishDataset({ ...base, target: { kind: 'strings', ids: Int32Array.from([0, 1, 2, 1]), names: ['b', 'c', 'a'] } });
    expect(d.x).toBeInstanceOf(Uint8Array);
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4]);
    expect(d.classes).toEqual(['a', 'b', 'c']);
    expect(Array.from(d.labels!)).toEqual([1, 2, 0, 2]);
  });

  it('sorts numeric classes numerically, not as text', () => {
    const d = finishDataset({ ...base, target: { kind: 'numbers', values: Float64Array.from([10, 9, 10, 9]) } });
    expect(d.classes).toEqual([9, 10]);
    expect(Array.from(d.labels!)).toEqual([1, 0, 1, 0]);
  });

  it('guards the number of classes', () => {
    const many = { ...base, target: { kind: 'numbers' as const, values: Float64Array.from([1, 2, 3, 4]) }, task: 'classification' as const };
    expect(finishDataset({ ...many, maxClasses: 4 }).classes).toHaveLength(4);
    let err: unknown;
    try {
      finishDataset({ ...many, maxClasses: 3 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect([(err as DataError).code, (err as DataError).kind]).toEqual(['too_many_classes', 'unusable']);
  });
});
