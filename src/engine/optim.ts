// The parameter update over the flat parameter, gradient and optimizer vectors, which share one layout
// (weights first, then biases): minibatch SGD with momentum (optionally Nesterov's), or Adam, with L2
// weight decay on the weights, and optional clipping of the gradient's norm.
//
// With g = ∂C/∂w (+ λ·w for weights; biases are not decayed) and η the learning rate:
//   momentum:  v ← m·v − η·g;  w ← w + v
//   Nesterov:  v ← m·v − η·g;  w ← w + m·v − η·g
//   Adam:      m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;  w ← w − η·m̂/(√v̂ + ε),
//              m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ) at update t = 1, 2, …
// The Nesterov form is Sutskever's look-ahead rewritten for the parameters actually stored (the same
// rewrite Keras and PyTorch use); with m = 0 both are plain SGD, w ← w − η·g. L2 is added to the
// gradient (coupled, as PyTorch's Adam weight_decay, not AdamW). SGD's velocity and Adam's first
// moment share one buffer, `velocity`; Adam's second moment has its own, `moment2`.
// Each loop is the kernel's fused update when it has one (in JavaScript it costs as much as all the
// gemms of a 784-128-10 step), else the reference kernel's.
import type { Kernels } from './kernels/index.js';
import { adamUpdateReference, sgdUpdateReference } from './kernels/reference.js';
import type { OptimizerName } from './types.js';

export type SgdUpdate = NonNullable<Kernels['sgdUpdate']>;
export type AdamUpdate = NonNullable<Kernels['adamUpdate']>;

export interface UpdateSettings {
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** λ, applied to the weights only. */
  l2: number;
  /** Updates applied so far: Adam's t is step + 1 during the next one. */
  step: number;
}

/** One part (weights or biases) of the flat vectors: w, its gradient g, and the optimizer's v (SGD's velocity or Adam's m) and s (Adam's v). */
interface Part { w: Float32Array; g: Float32Array; v: Float32Array; s: Float32Array }

/** The flat vectors split where the weights end, once, so that a step is two calls and allocates nothing. */
export interface UpdateVectors { weights: Part; biases: Part }

/** moment2 may be empty (SGD keeps no second moment). */
export function update_vectors(
  params: Float32Array, grads: Float32Array, velocity: Float32Array, moment2: Float32Array, weightCount: number,
): UpdateVectors {
  const split = (a: Float32Array) => a.length === 0 ? [a, a] as const : [a.subarray(0, weightCount), a.subarray(weightCount)] as const;
  const [pw, pb] = split(params), [gw, gb] = split(grads), [vw, vb] = split(velocity), [sw, sb] = split(moment2);
  return { weights: { w: pw, g: gw, v: vw, s: sw }, biases: { w: pb, g: gb, v: vb, s: sb } };
}

/**
 * update_vectors for parameters p0…p1 only (either part may come out empty): the update is elementwise,
 * so threads updating disjoint ranges compute exactly what one thread updating all of them would.
 */
export function update_vectors_range(
  params: Float32Array, grads: Float32Array, velocity: Float32Array, moment2: Float32Array, weightCount: number,
  p0: number, p1: number,
): UpdateVectors {
  const w0 = Math.min(p0, weightCount), w1 = Math.min(p1, weightCount);
  const b0 = Math.max(p0, weightCount), b1 = Math.max(p1, weightCount);
  const part = (i0: number, i1: number): Part => ({
    w: params.subarray(i0, i1), g: grads.subarray(i0, i1), v: velocity.subarray(i0, i1),
    s: moment2.length === 0 ? moment2 : moment2.subarray(i0, i1),
  });
  return { weights: part(w0, w1), biases: part(b0, b1) };
}

export interface UpdateKernels { sgd: SgdUpdate; adam: AdamUpdate }

/** The kernel's fused loops when it has them, else the reference kernel's. */
export function update_kernels(kernels: Kernels): UpdateKernels {
  return {
    sgd: kernels.sgdUpdate !== undefined ? kernels.sgdUpdate.bind(kernels) : sgdUpdateReference,
    adam: kernels.adamUpdate !== undefined ? kernels.adamUpdate.bind(kernels) : adamUpdateReference,
  };
}

/**
 * One update over vectors split by update_vectors: L2 on the weights, none on the biases. Advances s.step.
 * extra, when given, is a second gradient (split the same way) added to g first, in the kernel.
 */
export function optimizer_update(
  k: UpdateKernels, vectors: UpdateVectors, s: UpdateSettings, extra: { weights: Float32Array; biases: Float32Array } | null = null,
): void {
  const { weights: W, biases: b } = vectors;
  s.step++;
  if (s.optimizer === 'adam') {
    k.adam(W.w, W.g, W.v, W.s, s.learningRate, s.beta1, s.beta2, s.epsilon, s.l2, s.step, extra?.weights);
    k.adam(b.w, b.g, b.v, b.s, s.learningRate, s.beta1, s.beta2, s.epsilon, 0, s.step, extra?.biases);
  } else {
    k.sgd(W.w, W.g, W.v, s.learningRate, s.momentum, s.l2, s.nesterov, extra?.weights);
    k.sgd(b.w, b.g, b.v, s.learningRate, s.momentum, 0, s.nesterov, extra?.biases);
  }
}

/**
 * g ← g·(clipNorm/‖g‖) when ‖g‖ > clipNorm, over the whole gradient of the data loss (every layer's
 * weights and biases; the L2 term is added later, by the update, as with PyTorch's clip_grad_norm_
 * before a weight_decay step). Returns ‖g‖ before clipping.
 */
export function grad_clip(g: Float32Array, clipNorm: number): number {
  let sum = 0;
  for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  const norm = Math.sqrt(sum);
  if (norm > clipNorm) {
    const scale = clipNorm / norm;
    for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
  return norm;
}

/** The seed's learning-rate decay, μₖ₊₁ = μₖ / (1 + decay). */
export function decayed(learningRate: number, decay: number): number {
  return learningRate / (1 + decay);
}
