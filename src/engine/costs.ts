// The cost as a small strategy object, as in Nielsen's network2.py: `fn` is the cost of a batch and
// `delta` is δ⁽ᴸ⁾ = ∂C/∂a⁽ᴸ⁾, so the losses differ here and nowhere else.
//
// Squared error is C = ½‖y − ŷ‖² per sample. The ½ is there so that δ⁽ᴸ⁾ = (ŷ − y) ⊙ h′(a⁽ᴸ⁾) with no
// factor 2 (Nielsen's QuadraticCost); the seed's Σ‖y − ŷ‖² has the same minimiser and twice the gradient.
// With a cross-entropy and its own output activation h′ cancels and δ⁽ᴸ⁾ = ŷ − y.
import type { FloatArray } from './layers.js';
import type { LossName, OutputActivation } from './types.js';

export interface Cost {
  /** Σ over the batch's rows of C(ŷ, y); a, z = ŷ and y are (rows, n). Not averaged. */
  fn<T extends FloatArray>(a: T, z: T, y: T, rows: number, n: number): number;
  /** δ⁽ᴸ⁾ (rows, n) = ∂C/∂a⁽ᴸ⁾ for each row. Not averaged: dense_backward applies the 1/rows. */
  delta<T extends FloatArray>(delta: T, a: T, z: T, y: T, rows: number, n: number): void;
}

function squaredError(output: OutputActivation): Cost {
  return {
    fn(_a, z, y, rows, n) {
      let sum = 0;
      for (let i = 0; i < rows * n; i++) {
        const e = z[i] - y[i];
        sum += e * e;
      }
      return 0.5 * sum;
    },
    delta(delta, _a, z, y, rows, n) {
      const count = rows * n;
      switch (output) {
        case 'identity': // h′ = 1
          for (let i = 0; i < count; i++) delta[i] = z[i] - y[i];
          break;
        case 'sigmoid': // h′ = σ(1 − σ) = ŷ(1 − ŷ)
          for (let i = 0; i < count; i++) delta[i] = (z[i] - y[i]) * z[i] * (1 - z[i]);
          break;
        case 'softmax':
          // h′ is a Jacobian, ∂ŷⱼ/∂aᵢ = ŷⱼ([i = j] − ŷᵢ), so δᵢ = ŷᵢ (gᵢ − Σⱼ gⱼ ŷⱼ) with g = ŷ − y.
          for (let r = 0; r < rows; r++) {
            const row = r * n;
            let dot = 0;
            for (let j = 0; j < n; j++) dot += (z[row + j] - y[row + j]) * z[row + j];
            for (let i = 0; i < n; i++) delta[row + i] = z[row + i] * (z[row + i] - y[row + i] - dot);
          }
          break;
      }
    },
  };
}

/** Shared by both cross-entropies: with their own output activation h′ cancels. */
function outputMinusTarget<T extends FloatArray>(delta: T, _a: T, z: T, y: T, rows: number, n: number): void {
  for (let i = 0; i < rows * n; i++) delta[i] = z[i] - y[i];
}

// C = −Σ [y ln ŷ + (1 − y) ln(1 − ŷ)] with ŷ = σ(a). Computed from a as max(a, 0) − a·y + ln(1 + e^−|a|),
// which is the same value without ln(0) when σ saturates in float32.
const binaryCrossEntropy: Cost = {
  fn(a, _z, y, rows, n) {
    let sum = 0;
    for (let i = 0; i < rows * n; i++) {
      const ai = a[i];
      sum += (ai > 0 ? ai : 0) - ai * y[i] + Math.log1p(Math.exp(-Math.abs(ai)));
    }
    return sum;
  },
  delta: outputMinusTarget,
};

// C = −Σⱼ yⱼ ln ŷⱼ with ŷ = softmax(a), computed as Σⱼ yⱼ (logsumexp(a) − aⱼ) for the same reason.
const categoricalCrossEntropy: Cost = {
  fn(a, _z, y, rows, n) {
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const row = r * n;
      let max = -Infinity;
      for (let j = 0; j < n; j++) if (a[row + j] > max) max = a[row + j];
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(a[row + j] - max);
      const logSumExp = max + Math.log(s);
      for (let j = 0; j < n; j++) if (y[row + j] !== 0) sum += y[row + j] * (logSumExp - a[row + j]);
    }
    return sum;
  },
  delta: outputMinusTarget,
};

/** The cost for a pairing validateNetwork has accepted. */
export function costFor(loss: LossName, output: OutputActivation): Cost {
  switch (loss) {
    case 'squared_error': return squaredError(output);
    case 'binary_cross_entropy': return binaryCrossEntropy;
    case 'categorical_cross_entropy': return categoricalCrossEntropy;
  }
}
