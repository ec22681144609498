// Picks the fastest kernel this runtime supports; the reference kernel is the fallback.
import { createReferenceKernels } from './reference.js';
import type { Kernels } from './types.js';

export type { Kernels } from './types.js';
export { createReferenceKernels } from './reference.js';

export type KernelChoice = 'auto' | 'wasm-simd' | 'reference';

export function createKernels(choice: KernelChoice = 'auto'): Kernels {
  // The WebAssembly kernel plugs in here once it exists.
  if (choice === 'wasm-simd') throw new Error('the wasm-simd kernel is not built yet');
  return createReferenceKernels();
}
