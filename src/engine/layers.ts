// The layers of a multi-layer perceptron as free functions over flat row-major buffers holding a whole
// minibatch (one row per sample): dense, activations and dropout, each backward beside its forward.
// Generic over Float32Array (training) and Float64Array (the gradient checks), with the gemm passed in.
import type { HiddenActivation, OutputActivation } from './types.js';
import { rng_uniform, type RngState } from './rng.js';

export type FloatArray = Float32Array | Float64Array;
/** C ← α·op(A)·op(B) + β·C, row-major, as in the Kernels interface. */
export type Gemm<T extends FloatArray> = (
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  alpha: number, A: T, B: T, beta: number, C: T,
) => void;
export type Activation = HiddenActivation | OutputActivation;

// ----------------------------------------------------------------------------------------------
// dense: a⁽ˡ⁾ = W⁽ˡ⁾ z⁽ˡ⁻¹⁾ + b⁽ˡ⁾, for every row of the batch at once

/** a is (rows, nOut), zPrev is (rows, nIn), W is (nOut, nIn), b is (nOut). A = Z·Wᵀ + 1·bᵀ. */
export function dense_forward<T extends FloatArray>(
  gemm: Gemm<T>, a: T, zPrev: T, W: T, b: T, rows: number, nIn: number, nOut: number,
): void {
  gemm(false, true, rows, nOut, nIn, 1, zPrev, W, 0, a);
  for (let r = 0; r < rows; r++) {
    const row = r * nOut;
    for (let j = 0; j < nOut; j++) a[row + j] += b[j];
  }
}

/**
 * delta is δ⁽ˡ⁾ (rows, nOut), one row per sample. Writes the minibatch averages
 * ∂C/∂W⁽ˡ⁾ = (1/rows) Σ δ z⁽ˡ⁻¹⁾ᵀ into gW (nOut, nIn) and ∂C/∂b⁽ˡ⁾ = (1/rows) Σ δ into gb (nOut)
 * (with `scale` in place of 1/rows when these rows are a slice of a minibatch of 1/scale rows),
 * and, unless gPrev is null (layer 1: the input needs no gradient), gPrev (rows, nIn) = δ W⁽ˡ⁾,
 * which is W⁽ˡ⁾ᵀ δ⁽ˡ⁾ per sample: ∂C/∂z⁽ˡ⁻¹⁾, still to be multiplied by h′(a⁽ˡ⁻¹⁾).
 */
export function dense_backward<T extends FloatArray>(
  gemm: Gemm<T>, gPrev: T | null, gW: T, gb: T, delta: T, zPrev: T, W: T,
  rows: number, nIn: number, nOut: number, scale = 1 / rows, gbSummed = false,
): void {
  gemm(true, false, nOut, nIn, rows, scale, delta, zPrev, 0, gW);
  // gbSummed: gb already holds Σ δ over the rows, summed in this order (by the kernel's reluGrad).
  if (!gbSummed) {
    gb.fill(0, 0, nOut);
    for (let r = 0; r < rows; r++) {
      const row = r * nOut;
      for (let j = 0; j < nOut; j++) gb[j] += delta[row + j];
    }
  }
  for (let j = 0; j < nOut; j++) gb[j] *= scale;
  if (gPrev !== null) gemm(false, false, rows, nIn, nOut, 1, delta, W, 0, gPrev);
}

// ----------------------------------------------------------------------------------------------
// activations: z = h(a)

/** z = h(a) over (rows, n); softmax normalises each row, the others work elementwise. */
export function activation_forward<T extends FloatArray>(act: Activation, z: T, a: T, rows: number, n: number): void {
  const count = rows * n;
  switch (act) {
    case 'sigmoid':
    case 'tanh':
    case 'relu':
      activation_forward_span(act, z, a, 0, count);
      break;
    case 'identity':
      z.set(a.subarray(0, count));
      break;
    case 'softmax':
      for (let r = 0; r < rows; r++) {
        const row = r * n;
        // Shifting by the row's max keeps exp() from overflowing; the ratio is unchanged.
        let max = -Infinity;
        for (let j = 0; j < n; j++) if (a[row + j] > max) max = a[row + j];
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.exp(a[row + j] - max);
          z[row + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < n; j++) z[row + j] *= inv;
      }
      break;
  }
}

/** z = h(a) over values start…end of a hidden layer's buffers (h elementwise, so any span of them). */
export function activation_forward_span<T extends FloatArray>(act: HiddenActivation, z: T, a: T, start: number, end: number): void {
  switch (act) {
    case 'sigmoid':
      for (let i = start; i < end; i++) z[i] = 1 / (1 + Math.exp(-a[i]));
      break;
    case 'tanh':
      for (let i = start; i < end; i++) z[i] = Math.tanh(a[i]);
      break;
    case 'relu':
      for (let i = start; i < end; i++) z[i] = a[i] > 0 ? a[i] : 0;
      break;
  }
}

/**
 * δ ← δ ⊙ h′(a) over count values (from `start`), for a hidden layer. h′ is computed from a, not z, because dropout
 * has already rescaled z in place: σ′ = σ(1−σ), tanh′ = 1 − tanh², ReLU′ = [a > 0].
 */
export function activation_backward<T extends FloatArray>(act: HiddenActivation, delta: T, a: T, count: number, start = 0): void {
  const end = start + count;
  switch (act) {
    case 'sigmoid':
      for (let i = start; i < end; i++) {
        const s = 1 / (1 + Math.exp(-a[i]));
        delta[i] *= s * (1 - s);
      }
      break;
    case 'tanh':
      for (let i = start; i < end; i++) {
        const t = Math.tanh(a[i]);
        delta[i] *= 1 - t * t;
      }
      break;
    case 'relu':
      for (let i = start; i < end; i++) if (!(a[i] > 0)) delta[i] = 0;
      break;
  }
}

// ----------------------------------------------------------------------------------------------
// dropout (inverted): at training time each unit is kept with probability 1 − p and scaled by
// 1/(1 − p), so the expected activation is unchanged and inference needs no correction at all.

/** Draws mask (0 or 1/(1−p) per value) and applies it to z in place, over count values. */
export function dropout_forward<T extends FloatArray>(z: T, mask: T, count: number, p: number, rng: RngState): void {
  const keep = 1 / (1 - p);
  for (let i = 0; i < count; i++) {
    const m = rng_uniform(rng) < p ? 0 : keep;
    mask[i] = m;
    z[i] *= m;
  }
}

/**
 * dropout_forward in two halves, for the data-parallel trainer: the caller draws the whole minibatch's
 * masks (the same numbers, in the same order, as dropout_forward would), each thread applies its rows'.
 */
export function dropout_draw<T extends FloatArray>(mask: T, count: number, p: number, rng: RngState): void {
  const keep = 1 / (1 - p);
  for (let i = 0; i < count; i++) mask[i] = rng_uniform(rng) < p ? 0 : keep;
}

/** z ← z ⊙ mask over count values (from `start`): dropout with masks already drawn. */
export function dropout_apply<T extends FloatArray>(z: T, mask: T, count: number, start = 0): void {
  for (let i = start; i < start + count; i++) z[i] *= mask[i];
}

/** g ← g ⊙ mask (count values from `start`): a dropped unit passed nothing forward, so it passes no gradient back. */
export function dropout_backward<T extends FloatArray>(g: T, mask: T, count: number, start = 0): void {
  for (let i = start; i < start + count; i++) g[i] *= mask[i];
}
