// The WebAssembly SIMD kernels: gemm.wasm and gemm-fma.wasm (built from ./assembly by `npm run build`)
// multiply matrices that live in their own linear memory, so the engine's buffers are views into that
// memory and a call passes byte offsets, never copies. One instance (and one memory) per arena().
//
// Two variants of one source. 'wasm-simd' (gemm.wasm) multiplies then adds; 'wasm-fma' (gemm-fma.wasm)
// accumulates every product of a gemm with relaxed SIMD's f32x4.relaxed_madd, which V8 compiles to a
// fused multiply-add where the CPU has one (x86-64 FMA3, arm64) and to a multiply and an add where it
// has none. So the same module rounds one way on one machine and another way on another: wasmFmaSupported()
// runs it on numbers whose product rounds differently fused, and the 'wasm-fma' kernel exists only
// where it fuses, which makes its name say exactly how it rounds. Node 20 has relaxed SIMD complete
// behind V8's --experimental-wasm-relaxed-simd (Node 22 ships it on); it is turned on the first time
// gemm-fma.wasm fails to compile without it, which changes nothing else in the process.
//
// The memory is created at its final size in arena(), never grown: growing detaches the old
// ArrayBuffer, and the first detach in a process makes V8 check for detachment on every typed-array
// access from then on, which slowed the engine's JavaScript loops by 60% here (4.2 → 6.9 ns per
// element of a Float32Array loop).
//
// A shared arena (for the data-parallel trainer, engine/parallel) is a shared WebAssembly.Memory that
// helper threads instantiate the same module on, so they read the parameters and write their gradients
// in place, with no copy per step. A module can only import a shared memory if its import says so;
// the built modules' says not, so sharedModule() compiles a copy whose memory import alone is rewritten
// to `shared, maximum 4 GiB` (the code needs nothing else: plain loads and stores are valid on shared
// memory, and the module has no data segments that each instance would rewrite). Patching the import
// beats two more asc targets: the instructions are byte for byte the ones tested.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { adamInvRootBias2, adamStepSize } from './reference.js';
import type { Kernels } from './types.js';

/** Which build of ./assembly a kernel runs: 'simd' (gemm.wasm) or 'fma' (gemm-fma.wasm). */
export type WasmVariant = 'simd' | 'fma';

interface GemmExports {
  heapBase(): number;
  scratchBytes(): number;
  gemm(
    transA: number, transB: number, M: number, N: number, K: number,
    alpha: number, A: number, B: number, beta: number, C: number, scratch: number,
  ): void;
  gemm_rows(
    M: number, N: number, K: number, alpha: number, A: number, B: number, beta: number, C: number, scratch: number,
  ): void;
  sgd_update(
    w: number, g: number, v: number, n: number,
    learningRate: number, momentum: number, l2: number, nesterov: number, h: number,
  ): void;
  adam_update(
    w: number, g: number, m: number, v: number, n: number,
    stepSize: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    epsilon: number, l2: number, invRootBias2: number, h: number,
  ): void;
  standardize_rows(z: number, rows: number, n: number, mean: number, invStd: number): void;
  standardize_bytes(z: number, rows: number, n: number, mean: number, invStd: number): void;
  bias_relu(s: number, b: number, a: number, z: number, mask: number, rows: number, n: number, ld: number, relu: number): void;
  relu_grad(delta: number, a: number, mask: number, s: number, gb: number, rows: number, n: number, ld: number, relu: number): void;
  add_into(dst: number, src: number, n: number): void;
}

const WASM_FILES: Record<WasmVariant, string> = { simd: 'gemm.wasm', fma: 'gemm-fma.wasm' };
const PAGE = 65536;
// Views start on cache-line boundaries (a multiple of the 16 bytes an f32x4 wants), so a row
// of W that is a multiple of 16 floats never straddles lines.
const ALIGN = 64;

interface Compiled { module: WebAssembly.Module; bytes: Uint8Array; heapBase: number; scratchBytes: number; shared?: WebAssembly.Module }

// Compiled once per process and variant, with the two constants arena() lays memory out by; instances are cheap.
const compiled = new Map<WasmVariant, Compiled>();

function wasmModule(variant: WasmVariant): Compiled {
  let c = compiled.get(variant);
  if (!c) {
    const url = new URL(`./${WASM_FILES[variant]}`, import.meta.url);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(url));
    } catch (cause) {
      throw new Error(`the wasm-${variant} kernel is not built (${url.pathname} is missing): run \`npm run build\``, { cause });
    }
    let valid = WebAssembly.validate(bytes);
    if (!valid && variant === 'fma') {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      valid = WebAssembly.validate(bytes);
    }
    if (!valid) {
      throw new Error(`the wasm-${variant} kernel needs WebAssembly ${variant === 'fma' ? 'relaxed SIMD' : 'SIMD'}, which this runtime lacks`);
    }
    const module = new WebAssembly.Module(bytes);
    const probe = instantiate(module, new WebAssembly.Memory({ initial: 1 }));
    c = { module, bytes, heapBase: probe.heapBase(), scratchBytes: probe.scratchBytes() };
    compiled.set(variant, c);
  }
  return c;
}

// The import section asc writes for `importMemory`: one import, env.memory, limits {min 1}; and the
// same with limits {shared, min 1, max 65536 pages}.
const MEMORY_IMPORT = [0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01];
const SHARED_MEMORY_IMPORT = [0x02, 0x12, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x80, 0x80, 0x04];
const MAX_PAGES = 65536;

/** The variant's module with its memory import marked shared (see the top of this file). */
function sharedModule(variant: WasmVariant): WebAssembly.Module {
  const c = wasmModule(variant);
  if (!c.shared) {
    const { bytes } = c;
    // The import section follows the type section, whose length varies: find it by its bytes.
    let at = -1;
    for (let i = 8; i + MEMORY_IMPORT.length <= bytes.length && at < 0; i++) {
      if (MEMORY_IMPORT.every((b, k) => bytes[i + k] === b)) at = i;
    }
    if (at < 0) throw new Error(`${WASM_FILES[variant]} does not import its memory as \`env.memory {min 1}\`; asconfig.json changed, so update wasm.ts's sharedModule()`);
    const patched = new Uint8Array(bytes.length + SHARED_MEMORY_IMPORT.length - MEMORY_IMPORT.length);
    patched.set(bytes.subarray(0, at));
    patched.set(SHARED_MEMORY_IMPORT, at);
    patched.set(bytes.subarray(at + MEMORY_IMPORT.length), at + SHARED_MEMORY_IMPORT.length);
    c.shared = new WebAssembly.Module(patched);
  }
  return c.shared;
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): GemmExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
}

/** True when the variant's module is built and this runtime compiles it. */
export function wasmKernelBuilt(variant: WasmVariant = 'simd'): boolean {
  try {
    wasmModule(variant);
    return true;
  } catch {
    return false;
  }
}

let fused: boolean | undefined;

/**
 * True when gemm-fma.wasm is built, compiles here, and fuses: a 1×1×8 product whose second
 * accumulated product, (1 + 2⁻¹²)², rounds to 1 + 2⁻¹¹ on its own, gives 2⁻²⁴ only when multiply and add
 * round once together. Decided once per process (the CPU does not change).
 */
export function wasmFmaSupported(): boolean {
  if (fused === undefined) {
    fused = false;
    if (wasmKernelBuilt('fma')) {
      const k = createWasmKernels('fma');
      const [a, b, c] = k.arena([8, 8, 1]);
      a[0] = 1; b[0] = -(1 + 2 ** -11);
      a[4] = 1 + 2 ** -12; b[4] = 1 + 2 ** -12;
      k.gemm(false, true, 1, 1, 8, 1, a, b, 0, c);
      fused = c[0] === 2 ** -24;
    }
  }
  return fused;
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** A kernel on the variant's module ('fma' computes whatever V8 makes of relaxed_madd here: see wasmFmaSupported). */
export function createWasmKernels(variant: WasmVariant = 'simd'): Kernels {
  const { module, heapBase, scratchBytes } = wasmModule(variant);
  // Set by arena() or attach(), once.
  let wasm: GemmExports | null = null;
  let buffer: ArrayBufferLike | null = null;
  /** The whole memory as bytes, for gatherRows' copies (the memory never grows, so this view stays valid). */
  let bytes: Uint8Array = new Uint8Array(0);
  let scratch = 0;
  let shared: WebAssembly.Memory | null = null;

  function check(op: string, name: string, m: Float32Array, needed: number): void {
    if (m.buffer !== buffer) {
      throw new Error(`${op}: ${name} is not a view of this kernel's memory; allocate it with this instance's arena()`);
    }
    if (m.length < needed) {
      throw new Error(`${op}: ${name} holds ${m.length} floats but the shapes need ${needed}`);
    }
  }

  /** The instance, once the shapes are whole and A, B, C are long enough, of this memory and disjoint. */
  function checkProduct(
    op: string, M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array,
  ): GemmExports {
    if (!wasm) throw new Error(`${op}: call arena() first; A, B and C must be views it returned`);
    if (!(M >= 1 && N >= 1 && K >= 1) || !Number.isInteger(M) || !Number.isInteger(N) || !Number.isInteger(K)) {
      throw new Error(`${op}: M, N and K must be whole numbers ≥ 1, got ${M}×${N}×${K}`);
    }
    check(op, 'A', A, M * K);
    check(op, 'B', B, K * N);
    check(op, 'C', C, M * N);
    if (overlaps(A, M * K, C, M * N) || overlaps(B, K * N, C, M * N)) {
      throw new Error(`${op}: C overlaps A or B; the product needs a separate output buffer`);
    }
    return wasm;
  }

  function overlaps(x: Float32Array, xLen: number, c: Float32Array, cLen: number): boolean {
    return x.byteOffset < c.byteOffset + cLen * 4 && c.byteOffset < x.byteOffset + xLen * 4;
  }

  return {
    name: `wasm-${variant}`,
    scratchLength: scratchBytes / 4,

    arena(lengths, options = {}) {
      if (buffer) throw new Error('arena() may be called once per kernel instance; create another instance');
      for (const n of lengths) {
        if (!Number.isInteger(n) || n < 0) throw new Error(`arena: every length must be a whole number ≥ 0, got ${n}`);
      }
      const offsets: number[] = [];
      let end = alignUp(heapBase);
      for (const n of lengths) {
        offsets.push(end);
        end = alignUp(end + n * 4);
      }
      scratch = end;
      end += scratchBytes;
      let memory: WebAssembly.Memory;
      const pages = Math.ceil(end / PAGE);
      try {
        if (pages > MAX_PAGES) throw new RangeError(`${pages} pages is past WebAssembly's 4 GiB`);
        memory = options.shared
          ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
          : new WebAssembly.Memory({ initial: pages });
      } catch (cause) {
        throw new Error(`arena: cannot reserve ${Math.ceil(end / 2 ** 20)} MiB of WebAssembly memory`, { cause });
      }
      wasm = instantiate(options.shared ? sharedModule(variant) : module, memory);
      if (options.shared) shared = memory;
      // A new memory is zero-filled, so the views start at zero.
      const buf = memory.buffer;
      buffer = buf;
      bytes = new Uint8Array(buf);
      return lengths.map((n, i) => new Float32Array(buf, offsets[i], n));
    },

    share() {
      if (shared === null) throw new Error('share(): this instance has no shared arena; reserve it with arena(lengths, { shared: true })');
      return shared;
    },

    attach(share, scratchView) {
      if (buffer) throw new Error('attach() replaces arena(): call one of them, once, per kernel instance');
      if (!(share instanceof WebAssembly.Memory) || !(share.buffer instanceof SharedArrayBuffer)) {
        throw new Error(`attach(): the wasm-${variant} kernel shares a shared WebAssembly.Memory, from another instance's share()`);
      }
      if (scratchView === null || scratchView.buffer !== share.buffer || scratchView.length * 4 < scratchBytes ||
          scratchView.byteOffset % 16 !== 0) {
        throw new Error(`attach(): scratch must be a 16-byte-aligned view of the shared memory holding ${scratchBytes / 4} floats`);
      }
      wasm = instantiate(sharedModule(variant), share);
      buffer = share.buffer;
      bytes = new Uint8Array(share.buffer);
      scratch = scratchView.byteOffset;
    },

    addInto(dst, src) {
      if (!wasm) throw new Error('addInto: call arena() first; dst and src must be views it returned');
      const n = dst.length;
      check('addInto', 'dst', dst, n);
      check('addInto', 'src', src, n);
      if (overlaps(dst, n, src, n)) throw new Error('addInto: dst and src must not overlap');
      wasm.add_into(dst.byteOffset, src.byteOffset, n);
    },

    gemm(transA, transB, M, N, K, alpha, A, B, beta, C) {
      const exports = checkProduct('gemm', M, N, K, A, B, C);
      exports.gemm(
        transA ? 1 : 0, transB ? 1 : 0, M, N, K,
        alpha, A.byteOffset, B.byteOffset, beta, C.byteOffset, scratch,
      );
    },

    gemmRows(M, N, K, alpha, A, B, beta, C) {
      const exports = checkProduct('gemmRows', M, N, K, A, B, C);
      exports.gemm_rows(M, N, K, alpha, A.byteOffset, B.byteOffset, beta, C.byteOffset, scratch);
    },

    sgdUpdate(w, g, v, learningRate, momentum, l2, nesterov, h = null) {
      if (!wasm) throw new Error('sgdUpdate: call arena() first; w, g and v must be views it returned');
      const n = w.length;
      check('sgdUpdate', 'w', w, n);
      check('sgdUpdate', 'g', g, n);
      check('sgdUpdate', 'v', v, n);
      if (overlaps(w, n, g, n) || overlaps(w, n, v, n) || overlaps(g, n, v, n)) {
        throw new Error('sgdUpdate: w, g and v must not overlap');
      }
      if (h !== null) {
        check('sgdUpdate', 'h', h, n);
        if (overlaps(h, n, w, n) || overlaps(h, n, v, n) || overlaps(h, n, g, n)) throw new Error('sgdUpdate: h must not overlap w, g or v');
      }
      wasm.sgd_update(w.byteOffset, g.byteOffset, v.byteOffset, n, learningRate, momentum, l2, nesterov ? 1 : 0, h === null ? 0 : h.byteOffset);
    },

    adamUpdate(w, g, m, v, learningRate, beta1, beta2, epsilon, l2, step, h = null) {
      if (!wasm) throw new Error('adamUpdate: call arena() first; w, g, m and v must be views it returned');
      const n = w.length;
      check('adamUpdate', 'w', w, n);
      check('adamUpdate', 'g', g, n);
      check('adamUpdate', 'm', m, n);
      check('adamUpdate', 'v', v, n);
      if (overlaps(w, n, g, n) || overlaps(w, n, m, n) || overlaps(w, n, v, n) ||
          overlaps(g, n, m, n) || overlaps(g, n, v, n) || overlaps(m, n, v, n)) {
        throw new Error('adamUpdate: w, g, m and v must not overlap');
      }
      if (h !== null) {
        check('adamUpdate', 'h', h, n);
        if (overlaps(h, n, w, n) || overlaps(h, n, m, n) || overlaps(h, n, v, n) || overlaps(h, n, g, n)) {
          throw new Error('adamUpdate: h must not overlap w, g, m or v');
        }
      }
      wasm.adam_update(
        w.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, n,
        adamStepSize(learningRate, beta1, step), beta1, 1 - beta1, beta2, 1 - beta2, epsilon, l2,
        adamInvRootBias2(beta2, step), h === null ? 0 : h.byteOffset,
      );
    },

    gatherRows(z0, x, features, order, start, rows, mean, invStd) {
      if (!wasm) throw new Error('gatherRows: call arena() first; z0, mean and invStd must be views it returned');
      check('gatherRows', 'z0', z0, rows * features);
      check('gatherRows', 'mean', mean, features);
      check('gatherRows', 'invStd', invStd, features);
      // TypedArray.set copies a row in native code, ten times the JavaScript loop; it needs the row as a
      // view, one small object per row. Bytes are copied as bytes into the last quarter of z0 and widened
      // there by standardize_bytes: converting on the way in costs twice as much into a shared memory.
      const asBytes = x instanceof Uint8Array;
      const base = z0.byteOffset + 3 * rows * features;
      for (let r = 0; r < rows; r++) {
        const src = (order === null ? start + r : order[start + r]) * features;
        if (!(src >= 0 && src + features <= x.length)) {
          throw new Error(`gatherRows: row ${src / features} is outside x, which holds ${x.length / features} rows`);
        }
        if (asBytes) bytes.set(x.subarray(src, src + features), base + r * features);
        else z0.set(x.subarray(src, src + features), r * features);
      }
      if (asBytes) wasm.standardize_bytes(z0.byteOffset, rows, features, mean.byteOffset, invStd.byteOffset);
      else wasm.standardize_rows(z0.byteOffset, rows, features, mean.byteOffset, invStd.byteOffset);
    },

    biasRelu(s, b, a, z, mask, rows, n, ld, relu) {
      if (!wasm) throw new Error('biasRelu: call arena() first');
      check('biasRelu', 's', s, rows * n);
      check('biasRelu', 'b', b, n);
      const span = rows === 0 ? 0 : (rows - 1) * ld + n;
      check('biasRelu', 'a', a, span);
      if (relu) check('biasRelu', 'z', z, span);
      if (mask !== null) check('biasRelu', 'mask', mask, span);
      wasm.bias_relu(s.byteOffset, b.byteOffset, a.byteOffset, z.byteOffset, mask === null ? 0 : mask.byteOffset, rows, n, ld, relu ? 1 : 0);
    },

    reluGrad(delta, a, mask, s, gb, rows, n, ld, relu) {
      if (!wasm) throw new Error('reluGrad: call arena() first');
      const span = rows === 0 ? 0 : (rows - 1) * ld + n;
      check('reluGrad', 'delta', delta, span);
      if (relu) check('reluGrad', 'a', a, span);
      if (mask !== null) check('reluGrad', 'mask', mask, span);
      if (s !== null) check('reluGrad', 's', s, rows * n);
      if (gb !== null) check('reluGrad', 'gb', gb, n);
      wasm.relu_grad(delta.byteOffset, a.byteOffset, mask === null ? 0 : mask.byteOffset, s === null ? 0 : s.byteOffset,
        gb === null ? 0 : gb.byteOffset, rows, n, ld, relu ? 1 : 0);
    },
  };
}
