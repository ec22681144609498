// How a model's raw outputs read as answers, the same for /v1 and the V2 protocol: per-class
// probabilities (a binary sigmoid's one column p(class 1) becomes two), the label of the largest.
import type { ModelInfo } from '../../store/types.js';

export interface Classified {
  /** rows × classes, row-major, in the order of the model's classes. */
  probabilities: Float32Array | Float64Array;
  /** The index of each row's largest probability, the first of equal maxima. */
  best: Int32Array;
  classes: number;
}

/** out is rows × k: k = classes for softmax, 1 for a binary sigmoid. */
export function classify(info: Pick<ModelInfo, 'classes'>, out: Float32Array, rows: number): Classified {
  const c = info.classes!.length;
  const k = out.length / rows;
  // 1 − p in double precision, as the sigmoid's own column is read.
  const probabilities = k === 1 ? new Float64Array(rows * 2) : out;
  if (k === 1) {
    for (let i = 0; i < rows; i++) {
      probabilities[i * 2] = 1 - out[i];
      probabilities[i * 2 + 1] = out[i];
    }
  }
  const best = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let b = 0;
    for (let j = 1; j < c; j++) if (probabilities[i * c + j] > probabilities[i * c + b]) b = j;
    best[i] = b;
  }
  return { probabilities, best, classes: c };
}

/** Regression: the value of each row (one output). */
export function values(out: Float32Array, rows: number): number[] {
  const k = out.length / rows;
  const v = new Array<number>(rows);
  for (let i = 0; i < rows; i++) v[i] = out[i * k];
  return v;
}
