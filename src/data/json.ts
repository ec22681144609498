// A JSON upload, {"features": number[][], "labels": (number|string)[]}, already parsed by the HTTP
// layer, checked value by value and shaped like the CSV and IDX parsers' output. Features are named
// x0…x(n−1) and the target "label"; labels are all numbers or all strings, never a mix.

import { checkTask, finishDataset, isFloat32Finite, resolveLimits, type DataLimits, type TargetColumn } from './dataset.js';
import { DataError } from './errors.js';
import type { ParsedDataset, Task } from './types.js';

export interface JsonDatasetOptions extends DataLimits {
  task?: Task;
}

const invalid = (message: string, details?: Record<string, unknown>): DataError =>
  new DataError('invalid_json_dataset', 'malformed', message, details);

/** An own property only: an inherited or prototype-polluted `features` must not count. */
function own(body: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(body, key) ? (body as Record<string, unknown>)[key] : undefined;
}

export function parseJsonDataset(body: unknown, options: JsonDatasetOptions = {}): ParsedDataset {
  const task = checkTask(options.task);
  const limits = resolveLimits(options);
  if (body === undefined) throw invalid('the body is empty: send {"features": number[][], "labels": (number|string)[]}');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the body must be an object {"features": number[][], "labels": (number|string)[]}');
  }
  // __proto__ is refused at the HTTP edge before a body gets here; as a parsed own key it is never read.
  const unknown = Object.keys(body).filter((k) => k !== 'features' && k !== 'labels' && k !== '__proto__');
  if (unknown.length > 0) {
    throw invalid(`unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the body holds "features" and "labels" only `
      + '(name, target, task and classNames go in the query string)', { field: unknown[0], unknown });
  }
  const features = own(body, 'features');
  const labels = own(body, 'labels');
  if (!Array.isArray(features)) throw invalid('features must be an array of rows, each an array of numbers', { field: 'features' });
  if (!Array.isArray(labels)) throw invalid('labels must be an array of numbers or strings, one per row', { field: 'labels' });

  const rows = features.length;
  if (rows === 0) throw new DataError('empty_dataset', 'unusable', 'features has no rows', { field: 'features' });
  if (rows > limits.maxRows) {
    throw new DataError('too_large', 'too_large', `features has ${rows} rows, more than the limit of ${limits.maxRows}`, { maxRows: limits.maxRows });
  }
  const first: unknown = features[0];
  if (!Array.isArray(first)) throw invalid('features[0] must be an array of numbers', { field: 'features', row: 0 });
  const width = first.length;
  if (width === 0) throw new DataError('no_features', 'unusable', 'features[0] is empty; each row needs at least one number', { field: 'features' });
  if (width > limits.maxFeatures) {
    throw new DataError('too_large', 'too_large', `rows have ${width} features, more than the limit of ${limits.maxFeatures}`, {
      maxFeatures: limits.maxFeatures,
    });
  }
  if (rows * width > limits.maxCells) {
    throw new DataError('too_large', 'too_large', `features has ${rows * width} values, more than the limit of ${limits.maxCells}`, {
      maxCells: limits.maxCells,
    });
  }
  if (labels.length !== rows) {
    throw invalid(`labels has ${labels.length} entries but features has ${rows} rows; give one label per row`, {
      field: 'labels',
      expected: rows,
      actual: labels.length,
    });
  }

  // x: rows × features, row-major; finishDataset stores it as bytes if every value allows.
  const x = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const row: unknown = features[r];
    if (!Array.isArray(row)) throw invalid(`features[${r}] must be an array of numbers`, { field: 'features', row: r });
    if (row.length !== width) {
      throw invalid(`features[${r}] has ${row.length} values, expected ${width} like features[0]`, {
        field: 'features',
        row: r,
        expected: width,
        actual: row.length,
      });
    }
    for (let f = 0; f < width; f++) {
      const v: unknown = row[f];
      if (typeof v !== 'number' || !isFloat32Finite(v)) {
        throw invalid(`features[${r}][${f}] must be a finite number (within float32 range), got ${describe(v)}`, {
          field: 'features',
          row: r,
          column: f,
        });
      }
      x[r * width + f] = v;
    }
  }

  return finishDataset({
    rows,
    features: width,
    featureNames: Array.from({ length: width }, (_, f) => `x${f}`),
    targetName: 'label',
    x,
    target: targetColumn(labels),
    task,
    maxClasses: limits.maxClasses,
  });
}

function targetColumn(labels: unknown[]): TargetColumn {
  const kind = typeof labels[0];
  if (kind === 'number') {
    const values = new Float64Array(labels.length);
    for (let i = 0; i < labels.length; i++) {
      const v: unknown = labels[i];
      if (typeof v !== 'number') throw mixed(i, v);
      if (!isFloat32Finite(v)) {
        throw invalid(`labels[${i}] must be a finite number (within float32 range), got ${describe(v)}`, { field: 'labels', index: i });
      }
      values[i] = v;
    }
    return { kind: 'numbers', values };
  }
  if (kind === 'string') {
    const index = new Map<string, number>(); // a Map: labels such as "__proto__" are just names
    const names: string[] = [];
    const ids = new Int32Array(labels.length);
    for (let i = 0; i < labels.length; i++) {
      const v: unknown = labels[i];
      if (typeof v !== 'string') throw mixed(i, v);
      if (v === '') throw invalid(`labels[${i}] is an empty string`, { field: 'labels', index: i });
      let id = index.get(v);
      if (id === undefined) {
        id = names.length;
        index.set(v, id);
        names.push(v);
      }
      ids[i] = id;
    }
    return { kind: 'strings', ids, names };
  }
  throw invalid(`labels[0] must be a number or a string, got ${describe(labels[0])}`, { field: 'labels', index: 0 });
}

function mixed(i: number, v: unknown): DataError {
  return invalid(`labels[${i}] is ${describe(v)} but labels[0] is not; labels must be all numbers or all strings`, {
    field: 'labels',
    index: i,
  });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `a value of type ${typeof v}`;
}
