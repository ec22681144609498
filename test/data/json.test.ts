// parseJsonDataset: the {features, labels} body, value by value.

import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.js';
import { parseJsonDataset, type JsonDatasetOptions } from '../../src/data/json.js';

function dataError(body: unknown, options?: JsonDatasetOptions): DataError {
  try {
    parseJsonDataset(body, options);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error('expected a DataError');
}

describe('parseJsonDataset', () => {
  it('reads numeric features and string labels into a classification dataset', () => {
    const d = parseJsonDataset(JSON.parse('{"features": [[0.5, 2], [1.5, 4], [2.5, 6]], "labels": ["b", "a", "b"]}'));
    expect(d.rows).toBe(3);
    expect(d.features).toBe(2);
    expect(d.featureNames).toEqual(['x0', 'x1']);
    expect(d.targetName).toBe('label');
    expect(d.x).toBeInstanceOf(Float32Array);
    expect(Array.from(d.x)).toEqual([0.5, 2, 1.5, 4, 2.5, 6]);
    expect(d.task).toBe('classification');
    expect(d.classes).toEqual(['a', 'b']);
    expect(Array.from(d.labels!)).toEqual([1, 0, 1]);
    expect(Array.from(d.mean)).toEqual([1.5, 4]);
    expect(d.std[0]).toBeCloseTo(Math.sqrt(2 / 3), 6);
  });

  it('stores byte-valued features as a Uint8Array', () => {
    const d = parseJsonDataset({ features: [[0, 255], [3, 4]], labels: [0.5, 1.5] });
    expect(d.x).toBeInstanceOf(Uint8Array);
    expect(Array.from(d.x)).toEqual([0, 255, 3, 4]);
    expect(d.task).toBe('regression');
    expect(Array.from(d.targets!)).toEqual([0.5, 1.5]);
  });

  it('infers the task from numeric labels and lets task override it', () => {
    const body = { features: [[1], [2], [3], [4]], labels: [1, 0, 1, 0] };
    expect(parseJsonDataset(body).task).toBe('classification');
    expect(parseJsonDataset(body).classes).toEqual([0, 1]);
    const reg = parseJsonDataset(body, { task: 'regression' });
    expect(reg.task).toBe('regression');
    expect(Array.from(reg.targets!)).toEqual([1, 0, 1, 0]);
  });

  it('treats "__proto__" and "constructor" as ordinary labels, and only own properties count', () => {
    const body = JSON.parse('{"__proto__": {"x": 1}, "features": [[1], [2]], "labels": ["__proto__", "constructor"]}');
    expect(parseJsonDataset(body).classes).toEqual(['__proto__', 'constructor']);
    const inherited = Object.create({ features: [[1], [2]], labels: [0, 1] }) as object;
    expect(dataError(inherited).details).toEqual({ field: 'features' });
  });

  it('rejects a body that is not an object {features, labels}', () => {
    for (const body of [null, undefined, 42, 'text', [[1, 2]], {}, { features: [[1]] }, { labels: [1] }, { features: 'x', labels: [] }]) {
      const err = dataError(body);
      expect([err.code, err.kind], JSON.stringify(body)).toEqual(['invalid_json_dataset', 'malformed']);
    }
  });

  it('rejects rows that are not arrays or not rectangular, naming the row', () => {
    expect(dataError({ features: [1, 2], labels: [0, 1] }).details).toMatchObject({ row: 0 });
    const ragged = dataError({ features: [[1, 2], [3, 4], [5]], labels: [0, 1, 0] });
    expect(ragged.details).toEqual({ field: 'features', row: 2, expected: 2, actual: 1 });
    expect(ragged.message).toContain('features[2]');
    expect(dataError({ features: [[1, 2], null], labels: [0, 1] }).details).toMatchObject({ row: 1 });
  });

  it('rejects values that are not finite float32 numbers, naming row and column', () => {
    for (const bad of ['1', null, NaN, Infinity, -Infinity, 1e39, true, {}, [1]]) {
      const err = dataError({ features: [[1, 2], [3, bad]], labels: [0, 1] });
      expect(err.code).toBe('invalid_json_dataset');
      expect(err.details).toEqual({ field: 'features', row: 1, column: 1 });
      expect(err.message).toContain('features[1][1]');
    }
    // A hole in a sparse array is not a number either.
    const sparse: number[] = [1];
    sparse[2] = 3;
    expect(dataError({ features: [[1, 2, 3], sparse], labels: [0, 1] }).details).toMatchObject({ row: 1, column: 1 });
  });

  it('rejects labels whose count, type or values are wrong', () => {
    const count = dataError({ features: [[1], [2]], labels: [0] });
    expect(count.details).toEqual({ field: 'labels', expected: 2, actual: 1 });
    expect(dataError({ features: [[1], [2]], labels: [0, 'a'] }).details).toEqual({ field: 'labels', index: 1 });
    expect(dataError({ features: [[1], [2]], labels: ['a', 0] }).details).toEqual({ field: 'labels', index: 1 });
    expect(dataError({ features: [[1], [2]], labels: [true, false] }).details).toEqual({ field: 'labels', index: 0 });
    expect(dataError({ features: [[1], [2]], labels: [null, 1] }).code).toBe('invalid_json_dataset');
    expect(dataError({ features: [[1], [2]], labels: [1, NaN] }).details).toEqual({ field: 'labels', index: 1 });
    expect(dataError({ features: [[1], [2]], labels: ['a', ''] }).details).toEqual({ field: 'labels', index: 1 });
    const sparse: number[] = [0];
    sparse[2] = 1;
    expect(dataError({ features: [[1], [2], [3]], labels: sparse }).details).toEqual({ field: 'labels', index: 1 });
  });

  it('calls well-formed but unusable bodies unusable', () => {
    expect([dataError({ features: [], labels: [] }).code, dataError({ features: [], labels: [] }).kind]).toEqual([
      'empty_dataset',
      'unusable',
    ]);
    expect(dataError({ features: [[], []], labels: [0, 1] }).code).toBe('no_features');
    expect(dataError({ features: [[1], [2]], labels: ['a', 'a'] }).code).toBe('single_class');
    const reg = dataError({ features: [[1], [2]], labels: ['a', 'b'] }, { task: 'regression' });
    expect([reg.code, reg.kind]).toEqual(['non_numeric_target', 'unusable']);
  });

  it('enforces maxRows, maxFeatures, maxCells and maxClasses', () => {
    const body = { features: [[1, 2], [3, 4], [5, 6]], labels: ['a', 'b', 'c'] };
    expect(dataError(body, { maxRows: 2 }).kind).toBe('too_large');
    expect(dataError(body, { maxFeatures: 1 }).code).toBe('too_large');
    expect(dataError(body, { maxCells: 5 }).code).toBe('too_large');
    expect(dataError(body, { maxClasses: 2 }).code).toBe('too_many_classes');
    expect(parseJsonDataset(body, { maxRows: 3, maxFeatures: 2, maxCells: 6, maxClasses: 3 }).rows).toBe(3);
  });
});
