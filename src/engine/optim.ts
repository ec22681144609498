// The parameter update: minibatch SGD with momentum (optionally Nesterov's) and L2 weight decay over
// the flat parameter, gradient and velocity vectors, which share one layout (weights first, then biases).
//
// With g = ∂C/∂w (+ λ·w for weights; biases are not decayed) and μ the learning rate:
//   momentum:  v ← m·v − μ·g;  w ← w + v
//   Nesterov:  v ← m·v − μ·g;  w ← w + m·v − μ·g
// The Nesterov form is Sutskever's look-ahead rewritten for the parameters actually stored (the same
// rewrite Keras and PyTorch use); with m = 0 both are plain SGD, w ← w − μ·g.
// The loop itself is the kernel's sgdUpdate when it has one (in JavaScript it costs as much as all the
// gemms of a 784-128-10 step), else the reference kernel's.
import type { Kernels } from './kernels/index.js';
import { sgdUpdateReference } from './kernels/reference.js';

export type SgdUpdate = NonNullable<Kernels['sgdUpdate']>;

export interface SgdSettings {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  /** λ, applied to the weights only. */
  l2: number;
}

/** The flat vectors split where the weights end, once, so that a step is two calls and allocates nothing. */
export interface SgdVectors {
  weights: { w: Float32Array; g: Float32Array; v: Float32Array };
  biases: { w: Float32Array; g: Float32Array; v: Float32Array };
}

export function sgd_vectors(params: Float32Array, grads: Float32Array, velocity: Float32Array, weightCount: number): SgdVectors {
  const split = (a: Float32Array) => [a.subarray(0, weightCount), a.subarray(weightCount)] as const;
  const [pw, pb] = split(params), [gw, gb] = split(grads), [vw, vb] = split(velocity);
  return { weights: { w: pw, g: gw, v: vw }, biases: { w: pb, g: gb, v: vb } };
}

/** The kernel's fused loop when it has one, else the reference kernel's. */
export function sgd_kernel(kernels: Kernels): SgdUpdate {
  return kernels.sgdUpdate !== undefined ? kernels.sgdUpdate.bind(kernels) : sgdUpdateReference;
}

/** One step over vectors split by sgd_vectors: L2 on the weights, none on the biases. */
export function sgd_update(update: SgdUpdate, vectors: SgdVectors, s: SgdSettings): void {
  const { weights: W, biases: b } = vectors;
  update(W.w, W.g, W.v, s.learningRate, s.momentum, s.l2, s.nesterov);
  update(b.w, b.g, b.v, s.learningRate, s.momentum, 0, s.nesterov);
}

/** The seed's learning-rate decay, μₖ₊₁ = μₖ / (1 + decay). */
export function decayed(learningRate: number, decay: number): number {
  return learningRate / (1 + decay);
}
