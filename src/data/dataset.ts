// The shaping the CSV, JSON and IDX parsers share once the table is read: decide the task, encode the
// target as class indices or regression targets, store x as bytes when it can be, and compute the
// per-feature mean and std the trainer standardises with.

import { DataError } from './errors.js';
import type { ParsedDataset, Task } from './types.js';

/** Guards against uploads that would exhaust memory; each parser takes these as options. */
export interface DataLimits {
  maxRows?: number;
  maxFeatures?: number;
  /** rows × features; x takes 1 (bytes) or 4 (float32) bytes per cell. */
  maxCells?: number;
  /** Most classes a classification target may have. */
  maxClasses?: number;
}

const DATA_LIMITS: Readonly<Required<DataLimits>> = Object.freeze({
  maxRows: 1_000_000,
  maxFeatures: 10_000,
  maxCells: 100_000_000,
  maxClasses: 1_000,
});

/**
 * Task inference for numeric targets: classification when every label is an integer, there are at
 * most this many distinct values, and each class has on average at least two rows
 * (2 × distinct ≤ rows); anything else is regression. Text labels are always classification.
 */
const CLASSIFICATION_MAX_DISTINCT = 50;

/** The target column as a parser collected it. */
export type TargetColumn =
  /** One finite number per row. */
  | { kind: 'numbers'; values: Float64Array | Float32Array }
  /** ids[r] indexes names, the distinct labels in any order. */
  | { kind: 'strings'; ids: Int32Array; names: string[] };

export interface DatasetParts {
  rows: number;
  features: number;
  featureNames: string[];
  targetName: string;
  /** rows × features, row-major; a longer array (growth slack) is cut to a view of the first cells. */
  x: Float32Array | Uint8Array;
  target: TargetColumn;
  /** The uploader's choice; inferred when absent. */
  task?: Task;
  maxClasses?: number;
}

/** Fills in the defaults and checks each limit is a positive integer, naming the option if not. */
export function resolveLimits(limits: DataLimits = {}): Required<DataLimits> {
  const resolved = { ...DATA_LIMITS };
  for (const key of Object.keys(DATA_LIMITS) as (keyof DataLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`option ${key} must be a positive integer, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  return resolved;
}

/** The `task` a client sent, or undefined; anything else is malformed, naming the field. */
export function checkTask(task: unknown): Task | undefined {
  if (task === undefined || task === 'classification' || task === 'regression') return task;
  throw new DataError('invalid_task', 'malformed', `task must be "classification" or "regression", got ${JSON.stringify(task)}`, {
    field: 'task',
  });
}

/** Finite once stored as float32: 1e39 is a finite double but overflows to Infinity in x. */
export function isFloat32Finite(v: number): boolean {
  return Number.isFinite(Math.fround(v));
}

export function inferTask(values: ArrayLike<number>, rows: number): Task {
  const distinct = new Set<number>();
  for (let r = 0; r < rows; r++) {
    const v = values[r];
    if (!Number.isInteger(v)) return 'regression';
    distinct.add(v);
    if (distinct.size > CLASSIFICATION_MAX_DISTINCT) return 'regression';
  }
  return 2 * distinct.size <= rows ? 'classification' : 'regression';
}

/** True when every value is an integer in 0..255, so x can be stored in a quarter of the space. */
export function fitsInBytes(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!(v >= 0 && v <= 255 && Math.floor(v) === v)) return false;
  }
  return true;
}

/**
 * Per-feature population mean and standard deviation of x (rows × features), in float64. A constant
 * feature gets its value as mean and std exactly 0, which the trainer maps to 0 rather than divide by.
 */
export function standardStats(
  x: Float32Array | Uint8Array,
  rows: number,
  features: number,
): { mean: Float32Array; std: Float32Array } {
  const mean = new Float32Array(features);
  const std = new Float32Array(features);
  if (rows === 0) return { mean, std };
  // Two specialised loops: one function reading both array types would be polymorphic and slow.
  if (x instanceof Uint8Array) byteStats(x, rows, features, mean, std);
  else floatStats(x, rows, features, mean, std);
  return { mean, std };
}

/** Bytes: one pass counting each value per feature, then mean and variance from the 256 counts. */
function byteStats(x: Uint8Array, rows: number, features: number, mean: Float32Array, std: Float32Array): void {
  const counts = new Int32Array(features * 256); // counts[f·256 + v]; rows < 2³¹
  for (let r = 0; r < rows; r++) {
    const row = r * features;
    for (let f = 0; f < features; f++) counts[(f << 8) | x[row + f]]++;
  }
  for (let f = 0; f < features; f++) {
    const c = counts.subarray(f << 8, (f + 1) << 8);
    let sum = 0;
    let distinct = 0;
    for (let v = 0; v < 256; v++) {
      sum += v * c[v];
      if (c[v] > 0) distinct++;
    }
    const mu = sum / rows; // sum is an exact integer, so a constant feature gets its value back
    let ss = 0;
    if (distinct > 1) for (let v = 0; v < 256; v++) ss += c[v] * (v - mu) * (v - mu);
    mean[f] = mu;
    std[f] = Math.sqrt(ss / rows);
  }
}

/**
 * Floats: two passes, the first summing deviations from the first row (so a constant feature sums to
 * exactly 0 and large offsets do not swallow small spreads), the second the squared deviations.
 */
function floatStats(x: Float32Array, rows: number, features: number, mean: Float32Array, std: Float32Array): void {
  const x0 = new Float64Array(x.subarray(0, features));
  const sum = new Float64Array(features);
  for (let r = 0; r < rows; r++) {
    const row = r * features;
    for (let f = 0; f < features; f++) sum[f] += x[row + f] - x0[f];
  }
  const mu = new Float64Array(features);
  for (let f = 0; f < features; f++) mu[f] = x0[f] + sum[f] / rows;
  const ss = new Float64Array(features);
  for (let r = 0; r < rows; r++) {
    const row = r * features;
    for (let f = 0; f < features; f++) {
      const d = x[row + f] - mu[f];
      ss[f] += d * d;
    }
  }
  for (let f = 0; f < features; f++) {
    mean[f] = mu[f];
    std[f] = Math.sqrt(ss[f] / rows);
  }
}

const compareNumbers = (a: number, b: number): number => a - b;
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Distinct numeric labels → sorted classes and one class index per row. */
function encodeNumericClasses(
  values: ArrayLike<number>,
  rows: number,
  maxClasses: number,
): { classes: number[]; labels: Int32Array } {
  const seen = new Map<number, number>();
  for (let r = 0; r < rows; r++) {
    if (!seen.has(values[r])) {
      if (seen.size === maxClasses) throw tooManyClasses(maxClasses);
      seen.set(values[r], 0);
    }
  }
  const classes = [...seen.keys()].sort(compareNumbers);
  classes.forEach((c, i) => seen.set(c, i));
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) labels[r] = seen.get(values[r])!;
  return { classes, labels };
}

/** Text labels (ids into first-seen names) → sorted classes and remapped indices. */
function encodeTextClasses(
  ids: Int32Array,
  names: string[],
  rows: number,
  maxClasses: number,
): { classes: string[]; labels: Int32Array } {
  if (names.length > maxClasses) throw tooManyClasses(maxClasses);
  const order = names.map((_, i) => i).sort((a, b) => compareStrings(names[a], names[b]));
  const remap = new Int32Array(names.length);
  order.forEach((id, i) => (remap[id] = i));
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) labels[r] = remap[ids[r]];
  return { classes: order.map((id) => names[id]), labels };
}

function tooManyClasses(maxClasses: number): DataError {
  return new DataError(
    'too_many_classes',
    'unusable',
    `the target has more than ${maxClasses} distinct values, too many for classification; ` +
      'choose another target or task=regression',
    { maxClasses },
  );
}

/** Turns what a parser read into the dataset the store and trainer take. */
export function finishDataset(parts: DatasetParts): ParsedDataset {
  const { rows, features, target } = parts;
  const maxClasses = parts.maxClasses ?? DATA_LIMITS.maxClasses;
  if (rows === 0) throw new DataError('empty_dataset', 'unusable', 'the dataset has no rows');
  if (features === 0) {
    throw new DataError('no_features', 'unusable', 'the dataset has no feature columns besides the target');
  }
  if (parts.featureNames.length !== features) {
    throw new RangeError(`featureNames has ${parts.featureNames.length} names for ${features} features`);
  }
  const cells = rows * features;
  if (parts.x.length < cells) throw new RangeError(`x holds ${parts.x.length} values, rows × features is ${cells}`);

  // A view, not a copy: the growth slack is at most the data's size again and lives only until the
  // dataset is stored, while copying would need both at once. Readers honour byteOffset/byteLength.
  let x: Float32Array | Uint8Array = parts.x.length === cells ? parts.x : parts.x.subarray(0, cells);
  if (x instanceof Float32Array && fitsInBytes(x)) x = Uint8Array.from(x);

  let task: Task;
  let classes: (string | number)[] | null = null;
  let labels: Int32Array | null = null;
  let targets: Float32Array | null = null;
  if (target.kind === 'strings') {
    if (parts.task === 'regression') {
      const example = target.names.find((name) => Number.isNaN(Number(name))) ?? target.names[0];
      throw new DataError(
        'non_numeric_target',
        'unusable',
        `task=regression needs a numeric target, but "${parts.targetName}" holds text such as ${JSON.stringify(example)}`,
        { target: parts.targetName },
      );
    }
    task = 'classification';
    ({ classes, labels } = encodeTextClasses(target.ids, target.names, rows, maxClasses));
  } else {
    task = parts.task ?? inferTask(target.values, rows);
    if (task === 'classification') {
      ({ classes, labels } = encodeNumericClasses(target.values, rows, maxClasses));
    } else {
      targets = target.values instanceof Float32Array ? target.values.slice(0, rows) : Float32Array.from(target.values.subarray(0, rows));
    }
  }
  if (classes !== null && classes.length < 2) {
    throw new DataError(
      'single_class',
      'unusable',
      `every row has the same ${parts.targetName} (${JSON.stringify(classes[0])}); classification needs at least two classes`,
      { target: parts.targetName, class: classes[0] },
    );
  }

  const { mean, std } = standardStats(x, rows, features);
  return {
    rows,
    features,
    featureNames: parts.featureNames,
    targetName: parts.targetName,
    x,
    task,
    classes,
    labels,
    targets,
    mean,
    std,
  };
}
