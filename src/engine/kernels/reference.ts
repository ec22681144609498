// The plain TypeScript kernel: obviously correct, used as the oracle the WebAssembly kernel is
// tested against, and as the fallback where WebAssembly SIMD is missing. Accumulates in float64.
import type { Kernels } from './types.js';

export function createReferenceKernels(): Kernels {
  let reserved = false;
  let shared: SharedArrayBuffer | null = null;
  return {
    name: 'reference',
    scratchLength: 0,
    arena(lengths, options = {}) {
      if (reserved) throw new Error('arena() may be called once per kernel instance; create another instance');
      reserved = true;
      const total = lengths.reduce((s, n) => s + n, 0);
      const buffer = options.shared ? (shared = new SharedArrayBuffer(total * 4)) : new ArrayBuffer(total * 4);
      let offset = 0;
      return lengths.map((n) => {
        const view = new Float32Array(buffer, offset * 4, n);
        offset += n;
        return view;
      });
    },
    share() {
      if (shared === null) throw new Error('share(): this instance has no shared arena; reserve it with arena(lengths, { shared: true })');
      return shared;
    },
    attach(share) {
      if (reserved) throw new Error('attach() replaces arena(): call one of them, once, per kernel instance');
      if (!(share instanceof SharedArrayBuffer)) throw new Error('attach(): the reference kernel shares a SharedArrayBuffer');
      reserved = true;
    },
    addInto: addIntoReference,
    gemm: gemmReference,
    sgdUpdate: sgdUpdateReference,
    adamUpdate: adamUpdateReference,
    gatherRows: gatherRowsReference,
  };
}

/** The reduction of Kernels.addInto, element by element (in float32, as the sum is stored). */
export function addIntoReference(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/** The gather of Kernels.gatherRows, element by element. */
export function gatherRowsReference(
  z0: Float32Array, x: Float32Array | Uint8Array, features: number,
  order: Int32Array | null, start: number, rows: number,
  mean: Float32Array, invStd: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const src = (order === null ? start + r : order[start + r]) * features;
    const dst = r * features;
    for (let j = 0; j < features; j++) z0[dst + j] = (x[src + j] - mean[j]) * invStd[j];
  }
}

/**
 * The fused update of Kernels.sgdUpdate, element by element (float64 arithmetic, float32 storage; g + h
 * rounded to float32 first, as addInto would store it).
 */
export function sgdUpdateReference(
  w: Float32Array, g: Float32Array, v: Float32Array,
  learningRate: number, momentum: number, l2: number, nesterov: boolean, h: Float32Array | null = null,
): void {
  for (let i = 0; i < w.length; i++) {
    const gi = (h === null ? g[i] : Math.fround(g[i] + h[i])) + l2 * w[i];
    const vi = momentum * v[i] - learningRate * gi;
    v[i] = vi;
    w[i] += nesterov ? momentum * vi - learningRate * gi : vi;
  }
}

/**
 * Adam's bias corrections for update number `step` (t, from 1), folded into two scalars:
 * stepSize = η/(1 − β₁ᵗ) and invRootBias2 = 1/√(1 − β₂ᵗ). Computed in float64, once per step,
 * by both kernels, so they agree on them exactly. (Two functions, not one returning an object: the
 * training loop allocates nothing.)
 */
export const adamStepSize = (learningRate: number, beta1: number, step: number) => learningRate / (1 - Math.pow(beta1, step));
export const adamInvRootBias2 = (beta2: number, step: number) => 1 / Math.sqrt(1 - Math.pow(beta2, step));

/**
 * The fused update of Kernels.adamUpdate, element by element (float64 arithmetic, float32 storage):
 *   g̃ = g + λ·w;  m ← β₁·m + (1 − β₁)·g̃;  v ← β₂·v + (1 − β₂)·g̃²;  w ← w − η·m̂/(√v̂ + ε)
 * with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), folded as adamStepSize and adamInvRootBias2 say.
 */
export function adamUpdateReference(
  w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  learningRate: number, beta1: number, beta2: number, epsilon: number, l2: number, step: number,
  h: Float32Array | null = null,
): void {
  const stepSize = adamStepSize(learningRate, beta1, step);
  const invRootBias2 = adamInvRootBias2(beta2, step);
  for (let i = 0; i < w.length; i++) {
    const gi = (h === null ? g[i] : Math.fround(g[i] + h[i])) + l2 * w[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= (stepSize * mi) / (Math.sqrt(vi) * invRootBias2 + epsilon);
  }
}

/** C ← α·op(A)·op(B) + β·C over any float arrays (Float64Array works too, for gradient checks). */
export function gemmReference<T extends Float32Array | Float64Array>(
  transA: boolean, transB: boolean,
  M: number, N: number, K: number,
  alpha: number, A: T, B: T,
  beta: number, C: T,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + i] : A[i * K + k];
        const b = transB ? B[j * K + k] : B[k * N + j];
        sum += a * b;
      }
      C[i * N + j] = beta === 0 ? alpha * sum : alpha * sum + beta * C[i * N + j];
    }
  }
}
