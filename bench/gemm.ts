// GFLOP/s of each matrix kernel on the shapes one training step of a 784-128-10 network at batch 32
// performs (plus a few odd ones), so a kernel change can be judged by figures, not by feel.
// Prints GFLOP/s (best and median round) per shape, then the fused SGD update's time.
// Usage: npx tsx bench/gemm.ts [--tfjs] [--reference] [--seconds 0.3]
//   --tfjs       also time tf.matMul on tfjs's wasm backend (XNNPACK), the peer the kernel is held to
//   --reference  also time the plain TypeScript oracle (slow; one short run per shape)
import { parseArgs } from 'node:util';
import { createReferenceKernels, gatherRowsReference, sgdUpdateReference } from '../src/engine/kernels/reference.js';
import { createWasmKernels, wasmFmaSupported } from '../src/engine/kernels/wasm.js';
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

/**
 * Runs fn in short rounds (≥ 5 ms each) for about `budget` seconds; returns the seconds per call of
 * the fastest and the median round. Short rounds because this machine is shared: the fastest round
 * is one nobody else's process interrupted, the median is what a busy machine gives.
 */
function time(fn: () => void, budget: number): { best: number; median: number } {
  for (let i = 0; i < 3; i++) fn(); // compile and warm caches
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t >= 5) break;
    reps *= 2;
  }
  const perCall: number[] = [];
  const end = performance.now() + budget * 1000;
  do {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    perCall.push((performance.now() - t) / 1000 / reps);
  } while (performance.now() < end || perCall.length < 5);
  perCall.sort((a, b) => a - b);
  return { best: perCall[0], median: perCall[perCall.length >> 1] };
}

const gflops = (flops: number, seconds: number) => (flops / seconds / 1e9).toFixed(2);

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
  const wasm = time(kernelRunner(createWasmKernels('simd'), s), seconds);
  row['wasm-simd best'] = gflops(flops, wasm.best);
  row['wasm-simd median'] = gflops(flops, wasm.median);
  if (wasmFmaSupported()) {
    const fma = time(kernelRunner(createWasmKernels('fma'), s), seconds);
    row['wasm-fma best'] = gflops(flops, fma.best);
    row['wasm-fma median'] = gflops(flops, fma.median);
  }
  if (tf) {
    const peer = time(tfjsRunner(tf, s), seconds);
    row['tfjs best'] = gflops(flops, peer.best);
    row['tfjs median'] = gflops(flops, peer.median);
  }
  if (opts.reference) row['reference best'] = gflops(flops, time(kernelRunner(createReferenceKernels(), s), seconds / 3).best);
  rows.push(row);
}
console.table(rows);

// The update after every minibatch, over all 101,770 parameters of 784-128-10: the JavaScript loop
// (the reference kernel's, which the engine falls back to) against the wasm kernel's.
{
  const P = 784 * 128 + 128 + 128 * 10 + 10;
  const js = (() => {
    const [w, g, v] = createReferenceKernels().arena([P, P, P]);
    g.fill(0.001);
    return time(() => sgdUpdateReference(w, g, v, 0.01, 0.9, 0, false), seconds);
  })();
  const k = createWasmKernels();
  const [w, g, v] = k.arena([P, P, P]);
  g.fill(0.001);
  const fused = time(() => k.sgdUpdate!(w, g, v, 0.01, 0.9, 0, false), seconds);

  // The minibatch gather: 32 shuffled rows of 784 bytes, standardised.
  const F = 784, dataRows = 60000, rows = 32;
  const x = Uint8Array.from({ length: dataRows * F }, (_, i) => (i * 2654435761) >>> 24);
  const order = Int32Array.from({ length: dataRows }, (_, i) => (i * 7919) % dataRows);
  const [z0, mean, invStd] = createReferenceKernels().arena([rows * F, F, F]);
  const gk = createWasmKernels();
  const [gz0, gmean, ginvStd] = gk.arena([rows * F, F, F]);
  ginvStd.fill(1 / 255);
  invStd.fill(1 / 255);
  let start = 0;
  const next = () => (start = (start + rows) % (dataRows - rows));
  const gatherJs = time(() => gatherRowsReference(z0, x, F, order, next(), rows, mean, invStd), seconds);
  const gatherWasm = time(() => gk.gatherRows!(gz0, x, F, order, next(), rows, gmean, ginvStd), seconds);

  const us = (t: number) => (t * 1e6).toFixed(1);
  console.table([
    { 'elementwise work': `reference sgdUpdate (JavaScript), ${P} params`, 'µs best': us(js.best), 'µs median': us(js.median) },
    { 'elementwise work': `wasm-simd sgdUpdate, ${P} params`, 'µs best': us(fused.best), 'µs median': us(fused.median) },
    { 'elementwise work': `reference gatherRows (JavaScript), ${rows}×${F} bytes`, 'µs best': us(gatherJs.best), 'µs median': us(gatherJs.median) },
    { 'elementwise work': `wasm-simd gatherRows, ${rows}×${F} bytes`, 'µs best': us(gatherWasm.best), 'µs median': us(gatherWasm.median) },
  ]);
}
