// GFLOP/s of each matrix kernel on the shapes one training step of a 784-128-10 network at batch 32
// performs (plus a few odd ones), so a kernel change can be judged by figures, not by feel.
// Usage: npx tsx bench/gemm.ts [--tfjs] [--reference] [--seconds 0.3]
//   --tfjs       also time tf.matMul on tfjs's wasm backend (XNNPACK), the peer the kernel is held to
//   --reference  also time the plain TypeScript oracle (slow; one short run per shape)
import { parseArgs } from 'node:util';
import { createReferenceKernels } from '../src/engine/kernels/reference.js';
import { createWasmKernels } from '../src/engine/kernels/wasm.js';
import type { Kernels } from '../src/engine/kernels/types.js';

interface Shape { label: string; transA: boolean; transB: boolean; M: number; N: number; K: number }

const shapes: Shape[] = [
  { label: 'fwd  a1 = x W1ᵀ', transA: false, transB: true, M: 32, N: 128, K: 784 },
  { label: 'fwd  a2 = z1 W2ᵀ', transA: false, transB: true, M: 32, N: 10, K: 128 },
  { label: 'bwd  ∂W1 = δ1ᵀ x', transA: true, transB: false, M: 128, N: 784, K: 32 },
  { label: 'bwd  ∂W2 = δ2ᵀ z1', transA: true, transB: false, M: 10, N: 128, K: 32 },
  { label: 'bwd  δ1 = δ2 W2', transA: false, transB: false, M: 32, N: 128, K: 10 },
  { label: 'fwd  batch 10', transA: false, transB: true, M: 10, N: 128, K: 784 },
  { label: 'bwd  batch 10', transA: true, transB: false, M: 128, N: 784, K: 10 },
  { label: 'predict 1000 rows', transA: false, transB: true, M: 1000, N: 128, K: 784 },
  { label: 'square NN 256', transA: false, transB: false, M: 256, N: 256, K: 256 },
  { label: 'odd 33×17×129 TT', transA: true, transB: true, M: 33, N: 17, K: 129 },
];

const { values: opts } = parseArgs({
  options: {
    tfjs: { type: 'boolean', default: false },
    reference: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '0.3' },
  },
});
const seconds = Number(opts.seconds);

/** Runs fn in rounds of `reps` calls for about `seconds`; returns GFLOP/s of the best and median round. */
function time(fn: () => void, flops: number, budget: number): { best: number; median: number } {
  for (let i = 0; i < 3; i++) fn(); // compile and warm caches
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t > budget * 100) break; // a round of ≥ budget/10 seconds
    reps *= 2;
  }
  const rates: number[] = [];
  const end = performance.now() + budget * 1000;
  do {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    rates.push((flops * reps) / ((performance.now() - t) * 1e6));
  } while (performance.now() < end || rates.length < 3);
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1], median: rates[rates.length >> 1] };
}

function kernelRunner(k: Kernels, s: Shape): () => void {
  const [A, B, C] = k.arena([s.M * s.K, s.K * s.N, s.M * s.N]);
  for (let i = 0; i < A.length; i++) A[i] = Math.random() - 0.5;
  for (let i = 0; i < B.length; i++) B[i] = Math.random() - 0.5;
  return () => k.gemm(s.transA, s.transB, s.M, s.N, s.K, 1, A, B, 0, C);
}

type Tf = typeof import('@tensorflow/tfjs');
async function loadTfjs(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
  const { createRequire } = await import('node:module');
  const { dirname } = await import('node:path');
  const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + '/';
  wasmBackend.setWasmPaths(dist);
  await tf.setBackend('wasm');
  await tf.ready();
  return tf;
}

function tfjsRunner(tf: Tf, s: Shape): () => void {
  const a = tf.randomUniform(s.transA ? [s.K, s.M] : [s.M, s.K]);
  const b = tf.randomUniform(s.transB ? [s.N, s.K] : [s.K, s.N]);
  // dataSync forces the product, as the training step would use it.
  return () => {
    const c = tf.matMul(a, b, s.transA, s.transB);
    c.dataSync();
    c.dispose();
  };
}

const tf = opts.tfjs ? await loadTfjs() : null;
const rows: Record<string, string | number>[] = [];
for (const s of shapes) {
  const flops = 2 * s.M * s.N * s.K;
  const row: Record<string, string | number> = {
    shape: `${s.label} (${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'} ${s.M}×${s.N}×${s.K})`,
  };
  const wasm = time(kernelRunner(createWasmKernels(), s), flops, seconds);
  row['wasm GFLOP/s'] = wasm.median.toFixed(2);
  row['wasm best'] = wasm.best.toFixed(2);
  if (opts.reference) row['reference'] = time(kernelRunner(createReferenceKernels(), s), flops, seconds / 3).median.toFixed(2);
  if (tf) row['tfjs-wasm'] = time(tfjsRunner(tf, s), flops, seconds).median.toFixed(2);
  rows.push(row);
}
console.table(rows);
