// The whole network over one minibatch: the buffers of a pass (per-layer a, z, δ, dropout masks and
// views of W⁽ˡ⁾, b⁽ˡ⁾ and their gradients into the flat vectors), the forward and backward passes,
// weight initialisation, and gathering standardised rows into the input buffer.
import {
  activation_backward, activation_forward, dense_backward, dense_forward, dropout_apply, dropout_backward,
  dropout_draw, dropout_forward, type Activation, type FloatArray, type Gemm,
} from './layers.js';
import { gatherRowsReference } from './kernels/reference.js';
import type { Kernels } from './kernels/types.js';
import { rng_uniform, type RngState } from './rng.js';
import { layerSizes, type ParamLayout } from './spec.js';
import type { HiddenActivation, NetworkSpec } from './types.js';

/** Buffers for one pass over a minibatch. Per-layer arrays are indexed by l = 0…L as in the seed. */
export interface Pass<T extends FloatArray> {
  /** n⁽⁰⁾ … n⁽ᴸ⁾. */
  sizes: number[];
  /** h of layer l, l = 1…L (index 0 unused). */
  act: Activation[];
  /** Dropout probability of layer l's units (0 for the input and output layers). */
  dropout: number[];
  /** Views into the flat parameter and gradient vectors: W⁽ˡ⁾ (n⁽ˡ⁾, n⁽ˡ⁻¹⁾), b⁽ˡ⁾ (n⁽ˡ⁾). */
  W: T[]; b: T[]; gW: T[]; gb: T[];
  /** a⁽ˡ⁾, z⁽ˡ⁾ and δ⁽ˡ⁾, each (batch, n⁽ˡ⁾); z⁽⁰⁾ is the gathered input. mask⁽ˡ⁾ only where dropout > 0 in training. */
  a: T[]; z: T[]; delta: T[]; mask: T[];
}

const layerDropout = (network: NetworkSpec) => [0, ...network.hidden.map((h) => h.dropout), 0];

/** The per-layer buffer lengths a pass over up to `batch` rows needs, to go into the one arena request. */
export function pass_request(network: NetworkSpec, batch: number, mode: 'train' | 'infer') {
  const dropout = layerDropout(network);
  const training = mode === 'train';
  const sizes = layerSizes(network);
  return {
    a: sizes.map((n, l) => (l === 0 ? 0 : batch * n)),
    z: sizes.map((n) => batch * n),
    delta: sizes.map((n, l) => (l === 0 || !training ? 0 : batch * n)),
    mask: sizes.map((n, l) => (training && dropout[l] > 0 ? batch * n : 0)),
  };
}

/** Assembles a pass from the buffers pass_request reserved; grads is null for inference. */
export function pass_create<T extends FloatArray>(
  network: NetworkSpec, layout: ParamLayout, params: T, grads: T | null,
  buffers: { a: T[]; z: T[]; delta: T[]; mask: T[] },
): Pass<T> {
  const { sizes, weightOffset, biasOffset } = layout;
  const L = sizes.length - 1;
  const none = params.subarray(0, 0) as T;
  const W: T[] = [none], b: T[] = [none], gW: T[] = [none], gb: T[] = [none];
  for (let l = 1; l <= L; l++) {
    const wEnd = weightOffset[l] + sizes[l] * sizes[l - 1];
    const bEnd = biasOffset[l] + sizes[l];
    W.push(params.subarray(weightOffset[l], wEnd) as T);
    b.push(params.subarray(biasOffset[l], bEnd) as T);
    gW.push(grads === null ? none : (grads.subarray(weightOffset[l], wEnd) as T));
    gb.push(grads === null ? none : (grads.subarray(biasOffset[l], bEnd) as T));
  }
  return {
    sizes,
    act: ['identity', ...network.hidden.map((h) => h.activation), network.output],
    dropout: layerDropout(network),
    W, b, gW, gb,
    a: buffers.a, z: buffers.z, delta: buffers.delta, mask: buffers.mask,
  };
}

/**
 * The kernel's elementwise passes for ReLU layers (Kernels.biasRelu and reluGrad), which give the
 * JavaScript loops' bits several times faster: at batch 32 the loops of a 784-128-10 step took a fifth
 * of it. Whole layers here, blocks of layer 1's units in engine/parallel. Null where the kernel has
 * none (the reference kernel, and Float64 passes never get them).
 */
export interface Fused {
  biasRelu: NonNullable<Kernels['biasRelu']>;
  reluGrad: NonNullable<Kernels['reluGrad']>;
}

export function fused_kernel(kernels: Pick<Kernels, 'biasRelu' | 'reluGrad'>): Fused | null {
  return kernels.biasRelu && kernels.reluGrad
    ? { biasRelu: kernels.biasRelu.bind(kernels), reluGrad: kernels.reluGrad.bind(kernels) }
    : null;
}

/**
 * Forward pass over z⁽⁰⁾'s first `rows` rows: a⁽ˡ⁾ = z⁽ˡ⁻¹⁾W⁽ˡ⁾ᵀ + b⁽ˡ⁾, z⁽ˡ⁾ = h(a⁽ˡ⁾), then dropout on
 * hidden layers when rng is given (training); rng null means inference, with no dropout at all, and
 * 'drawn' applies the masks mlp_dropout_masks already put in pass.mask. `from` > 1 starts at that layer,
 * z⁽ᶠʳᵒᵐ⁻¹⁾ being already there (the data-parallel trainer computes layer 1 on several threads).
 */
export function mlp_forward<T extends FloatArray>(
  gemm: Gemm<T>, pass: Pass<T>, rows: number, rng: RngState | 'drawn' | null, from = 1, fused: Fused | null = null,
): void {
  const { sizes, act, W, b, a, z } = pass;
  const L = sizes.length - 1;
  for (let l = from; l <= L; l++) {
    // A ReLU layer in the kernel: bias, h and a drawn mask in one pass. A mask drawn here stays with
    // dropout_forward, which scales by 1/(1 − p) in float64 where the mask holds it in float32.
    if (fused !== null && act[l] === 'relu' && (rng === null || rng === 'drawn' || !(pass.dropout[l] > 0))) {
      const p = pass as unknown as Pass<Float32Array>;
      gemm(false, true, rows, sizes[l], sizes[l - 1], 1, z[l - 1], W[l], 0, a[l]);
      const mask = rng !== null && pass.dropout[l] > 0 ? p.mask[l] : null;
      fused.biasRelu(p.a[l], p.b[l], p.a[l], p.z[l], mask, rows, sizes[l], sizes[l], true);
      continue;
    }
    dense_forward(gemm, a[l], z[l - 1], W[l], b[l], rows, sizes[l - 1], sizes[l]);
    activation_forward(act[l], z[l], a[l], rows, sizes[l]);
    if (rng === null || !(pass.dropout[l] > 0)) continue;
    if (rng === 'drawn') dropout_apply(z[l], pass.mask[l], rows * sizes[l]);
    else dropout_forward(z[l], pass.mask[l], rows * sizes[l], pass.dropout[l], rng);
  }
}

/**
 * Every dropout mask of a forward pass over `rows` rows, drawn layer by layer in the order
 * mlp_forward(…, rng) draws them, so a minibatch split across threads drops the same units.
 */
export function mlp_dropout_masks<T extends FloatArray>(pass: Pass<T>, rows: number, rng: RngState): void {
  for (let l = 1; l < pass.sizes.length; l++) {
    if (pass.dropout[l] > 0) dropout_draw(pass.mask[l], rows * pass.sizes[l], pass.dropout[l], rng);
  }
}

/**
 * Backward pass, given δ⁽ᴸ⁾ in delta[L] (from the cost): fills every gW⁽ˡ⁾, gb⁽ˡ⁾ with minibatch averages
 * (scale = 1/rows), or, for a slice of a minibatch of 1/scale rows, with the slice's share of them.
 * δ⁽ˡ⁻¹⁾ = h′(a⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾ᵀ δ⁽ˡ⁾), with the dropout mask applied first; δ⁽⁰⁾ is never computed.
 * `lowest` > 1 stops after layer `lowest`, leaving δ⁽ˡᵒʷᵉˢᵗ⁻¹⁾ (the data-parallel trainer's layer 1).
 */
export function mlp_backward<T extends FloatArray>(
  gemm: Gemm<T>, pass: Pass<T>, rows: number, scale = 1 / rows, lowest = 1, fused: Fused | null = null,
): void {
  const { sizes, act, W, gW, gb, a, z, delta } = pass;
  const L = sizes.length - 1;
  // True when the kernel already summed δ⁽ˡ⁾ over the rows into gb⁽ˡ⁾ (applying h′ of a ReLU layer).
  let summed = false;
  for (let l = L; l >= lowest; l--) {
    const gPrev = l > 1 ? delta[l - 1] : null;
    dense_backward(gemm, gPrev, gW[l], gb[l], delta[l], z[l - 1], W[l], rows, sizes[l - 1], sizes[l], scale, summed);
    summed = false;
    if (gPrev !== null && fused !== null && act[l - 1] === 'relu') {
      const p = pass as unknown as Pass<Float32Array>;
      const n = sizes[l - 1];
      summed = l - 1 >= lowest;
      fused.reluGrad(p.delta[l - 1], p.a[l - 1], pass.dropout[l - 1] > 0 ? p.mask[l - 1] : null, null,
        summed ? p.gb[l - 1] : null, rows, n, n, true);
    } else if (gPrev !== null) {
      const count = rows * sizes[l - 1];
      if (pass.dropout[l - 1] > 0) dropout_backward(gPrev, pass.mask[l - 1], count);
      activation_backward(act[l - 1] as HiddenActivation, gPrev, a[l - 1], count);
    }
  }
}

/**
 * Draws every W⁽ˡ⁾ uniformly from ±r, biases zero: He (r = √(6/n⁽ˡ⁻¹⁾)) for ReLU layers, whose
 * half-zero outputs need the larger variance, Glorot/Xavier (r = √(6/(n⁽ˡ⁻¹⁾ + n⁽ˡ⁾))) for the rest.
 */
export function params_init<T extends FloatArray>(params: T, layout: ParamLayout, network: NetworkSpec, rng: RngState): void {
  const { sizes, weightOffset } = layout;
  const acts = [...network.hidden.map((h) => h.activation), network.output];
  params.fill(0);
  for (let l = 1; l < sizes.length; l++) {
    const fanIn = sizes[l - 1], fanOut = sizes[l];
    const r = acts[l - 1] === 'relu' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
    const start = weightOffset[l];
    for (let i = 0; i < fanIn * fanOut; i++) params[start + i] = (2 * rng_uniform(rng) - 1) * r;
  }
}

/**
 * Robust standardisation's bound: no training value is standardised to more than this many (effective)
 * standard deviations from the mean.
 */
export const MAX_Z = 10;

/**
 * The scale the engine standardises feature j by, sⱼ' = max(sⱼ, (maxⱼ − minⱼ)/MAX_Z), from the given
 * std and the rows' range. Plain z-scores turn a near-constant column into huge values: a
 * Fashion-MNIST border pixel that is 0 in all but a few images has std 1.4 and range 255, so its rare
 * nonzero values become z ≈ 185, and an SGD step on them explodes. With the floor every training
 * value lands within ±MAX_Z (|x − mean| ≤ range ≤ MAX_Z·s'), while a column whose range is under
 * MAX_Z standard deviations (any roughly normal one: 60,000 normal draws span about 9) keeps its std
 * exactly. The rule is linear, so the model stores s' as its std and predicts with the same scaling.
 * A constant column (range 0) keeps std 0, and standardises to 0.
 */
export function robust_std(x: Float32Array | Uint8Array, rows: number, features: number, std: Float32Array): Float32Array {
  const min = new Float64Array(features).fill(Infinity);
  const max = new Float64Array(features).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    const row = r * features;
    for (let j = 0; j < features; j++) {
      const v = x[row + j];
      if (v < min[j]) min[j] = v;
      if (v > max[j]) max[j] = v;
    }
  }
  const out = new Float32Array(features);
  for (let j = 0; j < features; j++) out[j] = Math.max(std[j], Math.fround((max[j] - min[j]) / MAX_Z));
  return out;
}

/** mean and invStd for gather_kernel's loader: (x − mean)·(1/std), 0 where std = 0, identity when not standardising. */
export function standardizer_init(
  mean: Float32Array, invStd: Float32Array, dataMean: Float32Array | null, dataStd: Float32Array | null,
): void {
  for (let j = 0; j < mean.length; j++) {
    mean[j] = dataMean === null ? 0 : dataMean[j];
    const s = dataStd === null ? 1 : dataStd[j];
    invStd[j] = s > 0 ? 1 / s : 0;
  }
}

export type GatherRows = typeof gatherRowsReference;

/**
 * The loader of z⁽⁰⁾ (rows, features) ← standardised rows of x (row order[start + r] when order is
 * given, a shuffled minibatch, else row start + r): the kernel's native gather when it has one (a
 * native row copy, then a SIMD standardise), else the reference kernel's loop.
 */
export function gather_kernel(kernels: { gatherRows?: GatherRows }): GatherRows {
  return kernels.gatherRows ? kernels.gatherRows.bind(kernels) : gatherRowsReference;
}

/**
 * y (rows, n) ← what the network should output for rows order[start + r]: the label itself for one
 * sigmoid output, a one-hot row for several outputs, or the target standardised to (t − mean)/std.
 */
export function gather_targets(
  y: Float32Array, n: number, order: Int32Array, start: number, rows: number,
  labels: Int32Array | null, targets: Float32Array | null,
  targetMean: Float32Array | null, targetStd: Float32Array | null,
): void {
  if (labels !== null) {
    if (n === 1) {
      for (let r = 0; r < rows; r++) y[r] = labels[order[start + r]];
    } else {
      y.fill(0, 0, rows * n);
      for (let r = 0; r < rows; r++) y[r * n + labels[order[start + r]]] = 1;
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const src = order[start + r] * n;
    for (let k = 0; k < n; k++) {
      const t = targets![src + k];
      y[r * n + k] = targetStd === null ? t : (t - targetMean![k]) / targetStd[k];
    }
  }
}
