// Running sums behind the per-epoch metrics: accuracy for classification, and MSE/MAE/R² in the
// units the targets were uploaded in for regression. Sums are float64 so 60,000 rows add up exactly enough.

export interface Tally {
  rows: number;
  /** Σ of the per-row cost, in trained (standardised) units. */
  cost: number;
  /** Classification: rows whose predicted class is the label. */
  correct: number;
  /** Regression, uploaded units: Σ|ŷ − y| over all outputs, and Σ(ŷ − y)² per output. */
  sae: number;
  sse: Float64Array;
}

export function tally_create(outputs: number): Tally {
  return { rows: 0, cost: 0, correct: 0, sae: 0, sse: new Float64Array(outputs) };
}

export function tally_reset(t: Tally): void {
  t.rows = 0;
  t.cost = 0;
  t.correct = 0;
  t.sae = 0;
  t.sse.fill(0);
}

/** Counts rows of ŷ (rows, n) whose class matches labels[order[start + r]]: argmax, or ŷ ≥ 0.5 for one output. */
export function tally_classes(
  t: Tally, z: Float32Array, labels: Int32Array, order: Int32Array, start: number, rows: number, n: number,
): void {
  for (let r = 0; r < rows; r++) {
    const row = r * n;
    let predicted = 0;
    if (n === 1) {
      predicted = z[row] >= 0.5 ? 1 : 0;
    } else {
      for (let j = 1; j < n; j++) if (z[row + j] > z[row + predicted]) predicted = j;
    }
    if (predicted === labels[order[start + r]]) t.correct++;
  }
}

/** Adds the errors of ŷ (rows, n, trained units) against the uploaded targets of rows order[start + r]. */
export function tally_regression(
  t: Tally, z: Float32Array, targets: Float32Array, order: Int32Array, start: number, rows: number, n: number,
  targetMean: Float32Array | null, targetStd: Float32Array | null,
): void {
  for (let r = 0; r < rows; r++) {
    const src = order[start + r] * n;
    for (let k = 0; k < n; k++) {
      const predicted = targetStd === null ? z[r * n + k] : z[r * n + k] * targetStd[k] + targetMean![k];
      const e = predicted - targets[src + k];
      t.sae += Math.abs(e);
      t.sse[k] += e * e;
    }
  }
}

/** Σ(y − ȳ)² per output over rows order[0…count): R²'s denominator, fixed for a set of rows. */
export function total_sum_of_squares(targets: Float32Array, order: Int32Array, count: number, n: number): Float64Array {
  const mean = new Float64Array(n);
  for (let i = 0; i < count; i++) for (let k = 0; k < n; k++) mean[k] += targets[order[i] * n + k];
  for (let k = 0; k < n; k++) mean[k] /= count;
  const sst = new Float64Array(n);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < n; k++) {
      const d = targets[order[i] * n + k] - mean[k];
      sst[k] += d * d;
    }
  }
  return sst;
}

/** Regression metrics from a tally; R² is averaged over outputs (1 for a constant target predicted exactly, else 0). */
export function regression_metrics(t: Tally, sst: Float64Array): { mse: number; mae: number; r2: number } {
  const n = t.sse.length;
  let sse = 0, r2 = 0;
  for (let k = 0; k < n; k++) {
    sse += t.sse[k];
    r2 += sst[k] > 0 ? 1 - t.sse[k] / sst[k] : t.sse[k] === 0 ? 1 : 0;
  }
  return { mse: sse / (t.rows * n), mae: t.sae / (t.rows * n), r2: r2 / n };
}

/**
 * MSE, MAE and R² of predictions already in uploaded units (rows, n) against their targets, with
 * the same definitions the per-epoch metrics use: what evaluating a model on a dataset reports.
 */
export function regressionScores(
  predicted: Float32Array, targets: Float32Array, rows: number, n: number,
): { mse: number; mae: number; r2: number } {
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  const t = tally_create(n);
  t.rows = rows;
  tally_regression(t, predicted, targets, order, 0, rows, n, null, null);
  return regression_metrics(t, total_sum_of_squares(targets, order, rows, n));
}
