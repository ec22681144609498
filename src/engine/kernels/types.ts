// The contract every matrix kernel meets. The engine asks for all of its buffers once, through
// `arena`, so that a WebAssembly kernel can hand out views into its own linear memory and then
// multiply them in place, with no copy per call.

export interface Kernels {
  /** 'reference' (plain TypeScript, the oracle) or 'wasm-simd'. */
  readonly name: string;
  /**
   * Reserves every buffer the caller will use, once: returns one zero-filled Float32Array view per
   * requested length, all in one allocation. Calling it a second time on the same instance throws.
   */
  arena(lengths: readonly number[]): Float32Array[];
  /**
   * C ← α·op(A)·op(B) + β·C, all row-major and dense (the leading dimension is the column count).
   * op(A) is M×K (A is K×M when transA), op(B) is K×N (B is N×K when transB), C is M×N.
   * With β = 0, C's previous contents are ignored (NaN in C does not leak through).
   * A, B and C must come from this instance's arena; C must not overlap A or B.
   */
  gemm(
    transA: boolean, transB: boolean,
    M: number, N: number, K: number,
    alpha: number, A: Float32Array, B: Float32Array,
    beta: number, C: Float32Array,
  ): void;
}
