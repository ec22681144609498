// The contract every matrix kernel meets. The engine asks for all of its buffers once, through
// `arena`, so that a WebAssembly kernel can hand out views into its own linear memory and then
// multiply them in place, with no copy per call. With `shared`, that memory is shared with helper
// threads (engine/parallel), whose own kernel instances attach() to it instead of reserving an arena.

/** What a helper thread's kernels attach to: a shared WebAssembly.Memory, or a SharedArrayBuffer (reference). */
export type KernelShare = WebAssembly.Memory | SharedArrayBuffer;

export interface Kernels {
  /** 'reference' (plain TypeScript, the oracle) or 'wasm-simd'. */
  readonly name: string;
  /**
   * Reserves every buffer the caller will use, once: returns one zero-filled Float32Array view per
   * requested length, all in one allocation. Calling it a second time on the same instance throws.
   */
  arena(lengths: readonly number[], options?: { shared?: boolean }): Float32Array[];
  /**
   * Floats of scratch memory a gemm on another thread needs of its own (0 when none), to be reserved in
   * the shared arena and handed to attach(): two threads multiplying at once must not share scratch.
   */
  readonly scratchLength: number;
  /** After arena(…, { shared: true }): the memory to hand helper threads. Throws when the arena is not shared. */
  share(): KernelShare;
  /**
   * Instead of arena(), on a helper thread: works on views of `share` (from another instance's share()),
   * using `scratch` (a view of it, scratchLength floats) as this instance's own gemm scratch.
   */
  attach(share: KernelShare, scratch: Float32Array | null): void;
  /** dst ← dst + src, elementwise over dst.length floats (views from this arena): the gradients' reduction. */
  addInto(dst: Float32Array, src: Float32Array): void;
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
  /**
   * Optional C ← α·A·Bᵀ + β·C (A is M×K, B is N×K, as gemm(false, true, …)) computing every element
   * of C from its own row of A and row of B with the same operations whatever M, so that a row's
   * result has the same bits alone or among thousands of rows. gemm need not promise this (a fast
   * gemm picks its blocking from the shapes); where it is missing, gemm itself must keep the promise.
   * The predictor multiplies through this so that an answer never depends on the request's other rows.
   */
  gemmRows?(M: number, N: number, K: number, alpha: number, A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void;
  /**
   * Optional fused parameter update, one pass over w, g, v (views from this arena, the length of w):
   *   g̃ = g + λ·w;  v ← μ·v − η·g̃;  w ← w + v        (nesterov: w ← w + μ·v − η·g̃, with the new v)
   * the engine's SGD with momentum, in float32. Elementwise work in JavaScript costs as much as the
   * whole gemm at batch 32 for a 784-128-10 network, so a kernel that can do it faster says so here.
   * h, when given (a view like g), is a second gradient added to g first, g̃ = (g + h) + λ·w, with the
   * bits of addInto(g, h) followed by the update: the data-parallel trainer's last slice.
   */
  sgdUpdate?(
    w: Float32Array, g: Float32Array, v: Float32Array,
    learningRate: number, momentum: number, l2: number, nesterov: boolean, h?: Float32Array | null,
  ): void;
  /**
   * Optional fused Adam update for update number `step` (t ≥ 1), one pass over w, g, m, v (views from
   * this arena, the length of w):
   *   g̃ = g + λ·w;  m ← β₁·m + (1 − β₁)·g̃;  v ← β₂·v + (1 − β₂)·g̃²;  w ← w − η·m̂/(√v̂ + ε)
   * with m̂ = m/(1 − β₁ᵗ) and v̂ = v/(1 − β₂ᵗ) (the bias corrections, as reference.ts's adamStepSize and adamInvRootBias2).
   * h as in sgdUpdate.
   */
  adamUpdate?(
    w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    learningRate: number, beta1: number, beta2: number, epsilon: number, l2: number, step: number, h?: Float32Array | null,
  ): void;
  /**
   * Optional minibatch gather: z0 (rows, features), a view from this arena, ← the standardised
   * rows of x, z0[r][j] = (x[i][j] − mean[j])·invStd[j] with i = order[start + r] (or start + r
   * when order is null); mean and invStd (features) are views from this arena. x may live anywhere.
   * In JavaScript this loop costs about a quarter of the gemms at batch 32.
   */
  gatherRows?(
    z0: Float32Array, x: Float32Array | Uint8Array, features: number,
    order: Int32Array | null, start: number, rows: number,
    mean: Float32Array, invStd: Float32Array,
  ): void;
  /**
   * Optional, the data-parallel trainer's forward epilogue for a block of n units (engine/parallel), and
   * the one-thread trainer's and the predictor's for whole ReLU layers (s = a, ld = n):
   * for each of `rows` rows i and j < n, a[i·ld + j] = s[i·n + j] + b[j], and with relu also
   * z[i·ld + j] = (a > 0 ? a : 0)·mask[i·ld + j] (mask null: no dropout), in float32: the bits of the
   * JavaScript loops. a, z and mask are views starting at the block's first column (z is not written
   * without relu); all are views from this arena.
   */
  biasRelu?(
    s: Float32Array, b: Float32Array, a: Float32Array, z: Float32Array, mask: Float32Array | null,
    rows: number, n: number, ld: number, relu: boolean,
  ): void;
  /**
   * Optional, its backward prologue for the same block: for each row i in order and j < n,
   * d = δ[i·ld + j]·mask[i·ld + j] (mask null: none), 0 where !(a[i·ld + j] > 0) (with relu), then
   * δ[i·ld + j] = d, s[i·n + j] = d (unless s is null) and gb[j] = Σᵢ d (summed in row order from 0;
   * unless gb is null): the bits of the JavaScript loops. Views from this arena, as in biasRelu.
   * The one-thread trainer calls both for whole ReLU layers (ld = n, s null, and biasRelu with s = a).
   */
  reluGrad?(
    delta: Float32Array, a: Float32Array, mask: Float32Array | null, s: Float32Array | null, gb: Float32Array | null,
    rows: number, n: number, ld: number, relu: boolean,
  ): void;
}
