// The WebAssembly SIMD kernel: gemm.wasm (built from ./assembly by `npm run build`) multiplies
// matrices that live in its own linear memory, so the engine's buffers are views into that memory
// and a call passes byte offsets, never copies. One instance (and one memory) per createWasmKernels().
import { readFileSync } from 'node:fs';
import type { Kernels } from './types.js';

interface GemmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchBytes(): number;
  gemm(
    transA: number, transB: number, M: number, N: number, K: number,
    alpha: number, A: number, B: number, beta: number, C: number, scratch: number,
  ): void;
  sgd_update(
    w: number, g: number, v: number, n: number,
    learningRate: number, momentum: number, l2: number, nesterov: number,
  ): void;
  standardize_rows(z: number, rows: number, n: number, mean: number, invStd: number): void;
}

const WASM_URL = new URL('./gemm.wasm', import.meta.url);
const PAGE = 65536;
// Views start on cache-line boundaries (a multiple of the 16 bytes an f32x4 wants), so a row
// of W that is a multiple of 16 floats never straddles lines.
const ALIGN = 64;

// Compiled once per process; instances are cheap.
let compiled: WebAssembly.Module | undefined;

function wasmModule(): WebAssembly.Module {
  if (!compiled) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(WASM_URL));
    } catch (cause) {
      throw new Error(`the wasm-simd kernel is not built (${WASM_URL.pathname} is missing): run \`npm run build\``, { cause });
    }
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

/** True when gemm.wasm exists next to this file (it is a build output, not checked in). */
export function wasmKernelBuilt(): boolean {
  try {
    wasmModule();
    return true;
  } catch {
    return false;
  }
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export function createWasmKernels(): Kernels {
  const wasm = new WebAssembly.Instance(wasmModule(), {}).exports as unknown as GemmExports;
  const memory = wasm.memory;
  // Set by arena(); growing the memory detaches every earlier view, so it happens exactly once.
  let buffer: ArrayBuffer | null = null;
  let scratch = 0;

  function check(op: string, name: string, m: Float32Array, needed: number): void {
    if (m.buffer !== buffer) {
      throw new Error(`${op}: ${name} is not a view of this kernel's memory; allocate it with this instance's arena()`);
    }
    if (m.length < needed) {
      throw new Error(`${op}: ${name} holds ${m.length} floats but the shapes need ${needed}`);
    }
  }

  function overlaps(x: Float32Array, xLen: number, c: Float32Array, cLen: number): boolean {
    return x.byteOffset < c.byteOffset + cLen * 4 && c.byteOffset < x.byteOffset + xLen * 4;
  }

  return {
    name: 'wasm-simd',

    arena(lengths) {
      if (buffer) throw new Error('arena() may be called once per kernel instance; create another instance');
      for (const n of lengths) {
        if (!Number.isInteger(n) || n < 0) throw new Error(`arena: every length must be a whole number ≥ 0, got ${n}`);
      }
      const offsets: number[] = [];
      let end = alignUp(wasm.heapBase());
      for (const n of lengths) {
        offsets.push(end);
        end = alignUp(end + n * 4);
      }
      scratch = end;
      end += wasm.scratchBytes();
      const pages = Math.ceil(end / PAGE) - memory.buffer.byteLength / PAGE;
      if (pages > 0) {
        try {
          memory.grow(pages);
        } catch (cause) {
          throw new Error(`arena: cannot grow WebAssembly memory to ${Math.ceil(end / 2 ** 20)} MiB`, { cause });
        }
      }
      // Memory past __heap_base has never been written, so the views start zero-filled.
      const buf = memory.buffer;
      buffer = buf;
      return lengths.map((n, i) => new Float32Array(buf, offsets[i], n));
    },

    gemm(transA, transB, M, N, K, alpha, A, B, beta, C) {
      if (!buffer) throw new Error('gemm: call arena() first; A, B and C must be views it returned');
      if (!(M >= 1 && N >= 1 && K >= 1) || !Number.isInteger(M) || !Number.isInteger(N) || !Number.isInteger(K)) {
        throw new Error(`gemm: M, N and K must be whole numbers ≥ 1, got ${M}×${N}×${K}`);
      }
      check('gemm', 'A', A, M * K);
      check('gemm', 'B', B, K * N);
      check('gemm', 'C', C, M * N);
      if (overlaps(A, M * K, C, M * N) || overlaps(B, K * N, C, M * N)) {
        throw new Error('gemm: C overlaps A or B; the product needs a separate output buffer');
      }
      wasm.gemm(
        transA ? 1 : 0, transB ? 1 : 0, M, N, K,
        alpha, A.byteOffset, B.byteOffset, beta, C.byteOffset, scratch,
      );
    },

    sgdUpdate(w, g, v, learningRate, momentum, l2, nesterov) {
      if (!buffer) throw new Error('sgdUpdate: call arena() first; w, g and v must be views it returned');
      const n = w.length;
      check('sgdUpdate', 'w', w, n);
      check('sgdUpdate', 'g', g, n);
      check('sgdUpdate', 'v', v, n);
      if (overlaps(w, n, g, n) || overlaps(w, n, v, n) || overlaps(g, n, v, n)) {
        throw new Error('sgdUpdate: w, g and v must not overlap');
      }
      wasm.sgd_update(w.byteOffset, g.byteOffset, v.byteOffset, n, learningRate, momentum, l2, nesterov ? 1 : 0);
    },

    gatherRows(z0, x, features, order, start, rows, mean, invStd) {
      if (!buffer) throw new Error('gatherRows: call arena() first; z0, mean and invStd must be views it returned');
      check('gatherRows', 'z0', z0, rows * features);
      check('gatherRows', 'mean', mean, features);
      check('gatherRows', 'invStd', invStd, features);
      // TypedArray.set copies a row, converting bytes to floats when x is a Uint8Array, in native
      // code: ten times the JavaScript loop. It needs the row as a view, one small object per row.
      for (let r = 0; r < rows; r++) {
        const src = (order === null ? start + r : order[start + r]) * features;
        if (!(src >= 0 && src + features <= x.length)) {
          throw new Error(`gatherRows: row ${src / features} is outside x, which holds ${x.length / features} rows`);
        }
        z0.set(x.subarray(src, src + features), r * features);
      }
      wasm.standardize_rows(z0.byteOffset, rows, features, mean.byteOffset, invStd.byteOffset);
    },
  };
}
