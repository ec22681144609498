// Picks the fastest kernel this runtime supports; the reference kernel is the fallback.
import { createReferenceKernels } from './reference.js';
import { createWasmKernels, wasmKernelBuilt } from './wasm.js';
import type { Kernels } from './types.js';

export type { Kernels } from './types.js';
export { createReferenceKernels } from './reference.js';
export { createWasmKernels } from './wasm.js';

export type KernelChoice = 'auto' | 'wasm-simd' | 'reference';

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
 * 'auto' returns the wasm-simd kernel where SIMD validates and gemm.wasm is built, else the
 * reference kernel; 'wasm-simd' insists (and throws saying why when it cannot).
 */
export function createKernels(choice: KernelChoice = 'auto'): Kernels {
  switch (choice) {
    case 'reference':
      return createReferenceKernels();
    case 'wasm-simd':
      if (!wasmSimdSupported()) throw new Error('the wasm-simd kernel needs WebAssembly SIMD, which this runtime lacks');
      return createWasmKernels();
    case 'auto':
      return wasmSimdSupported() && wasmKernelBuilt() ? createWasmKernels() : createReferenceKernels();
    default:
      throw new Error(`unknown kernel '${String(choice)}'; expected 'auto', 'wasm-simd' or 'reference'`);
  }
}
