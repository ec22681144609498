// Picks the fastest kernel this runtime supports; the reference kernel is the fallback.
import { createReferenceKernels } from './reference.js';
import { createWasmKernels, wasmFmaSupported, wasmKernelBuilt } from './wasm.js';
import type { Kernels } from './types.js';

export type { Kernels } from './types.js';
export { createReferenceKernels } from './reference.js';
export { createWasmKernels, wasmFmaSupported } from './wasm.js';

export type KernelChoice = 'auto' | 'wasm-fma' | 'wasm-simd' | 'reference';

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () → v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, // code section: one body, no locals, v128.const
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0x0b, // end
]);

/** True when this runtime validates WebAssembly SIMD (Node ≥ 16.4 does). */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/**
 * 'auto' returns the wasm-fma kernel where it fuses (wasmFmaSupported), else wasm-simd where SIMD
 * validates and gemm.wasm is built, else the reference kernel; a name insists (and throws saying why
 * when it cannot be had here).
 */
export function createKernels(choice: KernelChoice = 'auto'): Kernels {
  switch (choice) {
    case 'reference':
      return createReferenceKernels();
    case 'wasm-simd':
      if (!wasmSimdSupported()) throw new Error('the wasm-simd kernel needs WebAssembly SIMD, which this runtime lacks');
      return createWasmKernels('simd');
    case 'wasm-fma':
      if (!wasmFmaSupported()) throw new Error(kernelMissing('wasm-fma'));
      return createWasmKernels('fma');
    case 'auto':
      if (wasmFmaSupported()) return createWasmKernels('fma');
      return wasmSimdSupported() && wasmKernelBuilt('simd') ? createWasmKernels('simd') : createReferenceKernels();
    default:
      throw new Error(`unknown kernel '${String(choice)}'; expected 'auto', 'wasm-fma', 'wasm-simd' or 'reference'`);
  }
}

/** True when createKernels(name) works here: name is a kernel's `name`, as a training state records it. */
export function kernelAvailable(name: string): boolean {
  switch (name) {
    case 'reference': return true;
    case 'wasm-simd': return wasmSimdSupported() && wasmKernelBuilt('simd');
    case 'wasm-fma': return wasmFmaSupported();
    default: return false;
  }
}

/** Why a kernel cannot be had here, in words for whoever asked for it. */
export function kernelMissing(name: string): string {
  if (name === 'wasm-fma') {
    return 'the wasm-fma kernel needs WebAssembly relaxed SIMD (Node ≥ 20) on a CPU with fused multiply-add ' +
      '(x86-64 with FMA3, or arm64), and gemm-fma.wasm built by `npm run build`; this runtime lacks one of them';
  }
  if (name === 'wasm-simd') return 'the wasm-simd kernel needs WebAssembly SIMD and gemm.wasm built by `npm run build`';
  return `there is no kernel named ${JSON.stringify(name)}; the kernels are 'wasm-fma', 'wasm-simd' and 'reference'`;
}
