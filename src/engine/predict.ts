// Inference with a trained model: rows in uploaded units in, probabilities or values in uploaded units
// out, in chunks of maxBatch rows through buffers reserved once. No dropout at inference (it is inverted).
import { reserve } from './arena.js';
import { EngineError } from './errors.js';
import { createKernels, type Kernels } from './kernels/index.js';
import type { Gemm } from './layers.js';
import { fused_kernel, gather_kernel, mlp_forward, pass_create, pass_request, standardizer_init } from './mlp.js';
import { validateModel, type Model } from './model.js';
import { checkFinite, MAX_BATCH, paramLayout } from './spec.js';

export interface PredictorOptions {
  /** Defaults to createKernels(); a kernel instance serves one predictor. */
  kernels?: Kernels;
  /** Rows per forward pass (default 256): buffers hold this many rows, larger inputs go in chunks. */
  maxBatch?: number;
}

export interface Predictor {
  /**
   * x: rows × inputs in uploaded units (standardisation applied inside); returns rows × outputs:
   * probabilities for softmax/sigmoid outputs, values in uploaded units for regression.
   */
  predict(x: Float32Array | Uint8Array, rows: number): Float32Array;
}

/**
 * The kernel's gemm, except that the forward pass's products, A·Bᵀ, go through gemmRows when the kernel
 * has one: a fast gemm chooses its blocking from the number of rows, so without it a row's answer
 * would change with how many other rows share the request (and with the chunk it falls in).
 */
function rowwise_gemm(kernels: Kernels): Gemm<Float32Array> {
  const gemm = kernels.gemm.bind(kernels);
  if (kernels.gemmRows === undefined) return gemm;
  const rows = kernels.gemmRows.bind(kernels);
  return (transA, transB, M, N, K, alpha, A, B, beta, C) => {
    if (!transA && transB) rows(M, N, K, alpha, A, B, beta, C);
    else gemm(transA, transB, M, N, K, alpha, A, B, beta, C);
  };
}

/**
 * Finite inputs can still be too large for a model (3e38 times a weight overflows float32), and then
 * the outputs are ∞ or NaN. Those are never returned: the first such row is refused as invalid_data,
 * naming it, so a caller can answer 422 rather than serve NaN probabilities.
 */
function refuse_overflow(out: Float32Array, at: number, count: number, nOut: number): void {
  for (let i = at; i < at + count; i++) {
    if (!Number.isFinite(out[i])) {
      const row = Math.floor(i / nOut);
      throw new EngineError('invalid_data', `x[${row}]`, `row ${row} holds values too large for this model: its ` +
        `outputs overflow (${out[i]}). Send values in the range the model was trained on`);
    }
  }
}

export function createPredictor(model: Model, options: PredictorOptions = {}): Predictor {
  validateModel(model);
  const { network, targetMean, targetStd } = model;
  const maxBatch = options.maxBatch ?? 256;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_BATCH) {
    throw new EngineError('invalid_spec', 'maxBatch', `maxBatch must be an integer from 1 to ${MAX_BATCH}, got ${maxBatch}`);
  }
  const layout = paramLayout(network);
  const { sizes } = layout;
  const L = sizes.length - 1;
  const nIn = sizes[0], nOut = sizes[L];

  const kernels = options.kernels ?? createKernels();
  const gemm = rowwise_gemm(kernels);
  const gatherRows = gather_kernel(kernels);
  const fused = fused_kernel(kernels);
  const buf = reserve((lengths) => kernels.arena(lengths), {
    params: layout.paramCount, mean: nIn, invStd: nIn,
    ...pass_request(network, maxBatch, 'infer'),
  });
  buf.params.set(model.params);
  standardizer_init(buf.mean, buf.invStd, model.mean, model.std);
  const pass = pass_create(network, layout, buf.params, null, buf);

  return {
    predict(x, rows) {
      if (!Number.isInteger(rows) || rows < 0) {
        throw new EngineError('invalid_data', 'rows', `rows must be a non-negative integer, got ${rows}`);
      }
      if (!(x instanceof Float32Array) && !(x instanceof Uint8Array)) {
        throw new EngineError('invalid_data', 'x', 'x must be a Float32Array (or Uint8Array) of rows × inputs values');
      }
      if (x.length !== rows * nIn) {
        throw new EngineError('invalid_data', 'x', `x has ${x.length} values but ${rows} rows × ${nIn} inputs need ${rows * nIn}`);
      }
      if (x instanceof Float32Array) checkFinite(x, 'x', (i) => `row ${Math.floor(i / nIn)}, input ${i % nIn}`);
      const out = new Float32Array(rows * nOut);
      for (let start = 0; start < rows; start += maxBatch) {
        const n = Math.min(maxBatch, rows - start);
        gatherRows(pass.z[0], x, nIn, null, start, n, buf.mean, buf.invStd);
        mlp_forward(gemm, pass, n, null, 1, fused);
        const yHat = pass.z[L];
        const at = start * nOut;
        if (targetStd === null) {
          out.set(yHat.subarray(0, n * nOut), at);
        } else {
          // Back to uploaded units: the network was trained on (t − targetMean)/targetStd.
          for (let r = 0; r < n; r++) {
            for (let k = 0; k < nOut; k++) out[at + r * nOut + k] = yHat[r * nOut + k] * targetStd[k] + targetMean![k];
          }
        }
        refuse_overflow(out, at, n * nOut, nOut);
      }
      return out;
    },
  };
}
