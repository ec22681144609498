// Predictor throughput with the kernel's row-independent product (gemmRows, what createPredictor
// uses) against its shape-dependent gemm, side by side in one process: what it costs that a row's
// answer no longer depends on its neighbours.
//
//   npx tsx bench/predict.ts [--rows 20000] [--repeats 5]
import { parseArgs } from 'node:util';
import { createPredictor, type Model } from '../src/engine/index.js';
import { createWasmKernels } from '../src/engine/kernels/index.js';
import { paramLayout } from '../src/engine/spec.js';
import type { NetworkSpec } from '../src/engine/types.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, repeats: { type: 'string', default: '5' } } });
const rows = Number(args.rows), repeats = Number(args.repeats);

function model(inputs: number, hidden: number[], outputs: number): Model {
  const network: NetworkSpec = {
    inputs, hidden: hidden.map((units) => ({ units, activation: 'relu', dropout: 0 })), outputs, output: 'softmax',
    loss: 'categorical_cross_entropy',
  };
  const params = new Float32Array(paramLayout(network).paramCount).map((_, i) => Math.sin(i) * 0.1);
  return { network, meta: null, params, mean: null, std: null, targetMean: null, targetStd: null };
}

for (const [inputs, hidden, outputs] of [[784, [128], 10], [30, [128, 128], 3], [13, [128], 3]] as const) {
  const m = model(inputs, [...hidden], outputs);
  const x = new Float32Array(rows * inputs).map((_, i) => Math.cos(i));
  const rowsKernel = createWasmKernels();
  const plainKernel = createWasmKernels();
  delete (plainKernel as { gemmRows?: unknown }).gemmRows; // the predictor then multiplies with gemm
  const timed = { gemmRows: createPredictor(m, { kernels: rowsKernel }), gemm: createPredictor(m, { kernels: plainKernel }) };
  const best: Record<string, number> = { gemmRows: Infinity, gemm: Infinity };
  for (let r = 0; r < repeats; r++) {
    for (const [name, p] of Object.entries(timed)) {
      const t = performance.now();
      p.predict(x, rows);
      best[name] = Math.min(best[name], performance.now() - t);
    }
  }
  const rate = (ms: number) => Math.round(rows / (ms / 1000)).toLocaleString('en');
  console.log(`${inputs}-${hidden.join('-')}-${outputs}, batch 256: gemmRows ${rate(best.gemmRows)} rows/s, ` +
    `gemm ${rate(best.gemm)} rows/s (${((best.gemmRows / best.gemm - 1) * 100).toFixed(0)}% time)`);
}
