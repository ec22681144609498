// The parameter update: minibatch SGD with momentum (optionally Nesterov's) and L2 weight decay, one
// flat loop over the parameter, gradient and velocity vectors, which share one layout.
//
// With g = ∂C/∂w (+ λ·w for weights; biases are not decayed) and μ the learning rate:
//   momentum:  v ← m·v − μ·g;  w ← w + v
//   Nesterov:  v ← m·v − μ·g;  w ← w + m·v − μ·g
// The Nesterov form is Sutskever's look-ahead rewritten for the parameters actually stored (the same
// rewrite Keras and PyTorch use); with m = 0 both are plain SGD, w ← w − μ·g.

export interface SgdSettings {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  /** λ, applied over [0, weightCount), the weights. */
  l2: number;
  weightCount: number;
}

export function sgd_update(w: Float32Array, g: Float32Array, v: Float32Array, s: SgdSettings): void {
  sgd_range(w, g, v, 0, s.weightCount, s.learningRate, s.momentum, s.nesterov, s.l2);
  sgd_range(w, g, v, s.weightCount, w.length, s.learningRate, s.momentum, s.nesterov, 0);
}

function sgd_range(
  w: Float32Array, g: Float32Array, v: Float32Array, from: number, to: number,
  lr: number, m: number, nesterov: boolean, l2: number,
): void {
  if (nesterov) {
    for (let i = from; i < to; i++) {
      const gi = g[i] + l2 * w[i];
      const vi = m * v[i] - lr * gi;
      v[i] = vi;
      w[i] += m * vi - lr * gi;
    }
  } else {
    for (let i = from; i < to; i++) {
      const vi = m * v[i] - lr * (g[i] + l2 * w[i]);
      v[i] = vi;
      w[i] += vi;
    }
  }
}

/** The seed's learning-rate decay, μₖ₊₁ = μₖ / (1 + decay). */
export function decayed(learningRate: number, decay: number): number {
  return learningRate / (1 + decay);
}
