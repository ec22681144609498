// WebAssembly SIMD single-precision gemm, C ← α·op(A)·op(B) + β·C over row-major matrices in this
// module's memory. Compiled by asc (asconfig.json) to ../gemm.wasm; ../wasm.ts lays out the memory
// and passes byte offsets. It allocates nothing: the caller reserves `scratchBytes()` for packing.
//
// The loop nest is GotoBLAS's, sized for 16 xmm registers and no FMA (wasm SIMD has none):
//   for each k-block of ≤ KC (K split evenly)       C is M×N, op(A) M×K, op(B) K×N
//     for each column block of ≤ NC                 pack op(B) into 8-column panels (L2)
//       for each row block of ≤ MC                  pack op(A) into 4-row strips (L2)
//         for each panel                            one panel, kb×8 floats, stays in L1
//           for each strip: 4×8 micro-kernel        8 f32x4 accumulators
// A·Bᵀ with long rows, few rows or few columns (the forward pass) goes instead to gemm_nt, which
// takes dot products straight from the rows of A and B (see there).
// Packing makes every transpose combination look the same to the micro-kernel (per k: one f32x4
// of A, two of B, at fixed offsets from two pointers), and zero-pads ragged edges so it never
// reads outside A or B. Per k the kernel issues 16 multiplies and adds on the two SIMD ports,
// about 8 flops a cycle, the ceiling without FMA.
//
// Two builds of this file (asconfig.json): gemm.wasm, plain SIMD, and gemm-fma.wasm, with relaxed
// SIMD, where every product a gemm accumulates is one f32x4.relaxed_madd (see madd). V8 emits a fused
// multiply-add for it where the CPU has one (x86-64 FMA3, every arm64), which doubles that ceiling
// and rounds once instead of twice; ../wasm.ts uses gemm-fma.wasm only where it checked that it fuses.
// The updates, the gather and the epilogues (α, β) are the same instructions in both builds.

const MR: i32 = 4; // rows of C per micro-kernel
const NR: i32 = 8; // columns of C per micro-kernel: two f32x4
const KC: i32 = 256; // a strip (4×KC) and a panel (KC×8) together take 12 KiB of L1
const NC: i32 = 256; // packed block of op(B): KC×NC floats = 256 KiB, in L2
const MC: i32 = 128; // packed block of op(A): MC×KC floats = 128 KiB, in L2

const PACK_B_BYTES: usize = <usize>(KC * NC * 4);
const PACK_A_BYTES: usize = <usize>(MC * KC * 4);
const TILE_BYTES: usize = <usize>(MR * NR * 4);

/** Bytes of scratch memory gemm needs at `scratch` (16-byte aligned), reserved once by the caller. */
export function scratchBytes(): i32 {
  return <i32>(PACK_B_BYTES + PACK_A_BYTES + TILE_BYTES);
}

/** First byte of memory free for the caller (after this module's static data). */
export function heapBase(): i32 {
  return <i32>__heap_base;
}

/**
 * C ← α·op(A)·op(B) + β·C. op(A) is M×K (A is K×M when transA), op(B) is K×N (B is N×K when
 * transB), C is M×N; A, B, C, scratch are byte offsets. β = 0 never reads C. M, N, K ≥ 1.
 */
export function gemm(
  transA: bool, transB: bool,
  M: i32, N: i32, K: i32,
  alpha: f32, A: usize, B: usize,
  beta: f32, C: usize,
  scratch: usize,
): void {
  const packB = scratch;
  const packA = packB + PACK_B_BYTES;
  const tile = packA + PACK_A_BYTES;
  // A·Bᵀ as dot products skips packing, which pays back only over enough rows, columns and depth:
  // measured, dot products win for the forward pass of 784-128-10 (32×128×784, 32×10×128), for
  // small batches and single rows, and lose by 10–20% on 32×128×128.
  if (!transA && transB && (K >= 256 || M < 16 || N < 16)) {
    gemm_nt(M, N, K, alpha, A, B, beta, C, tile);
    return;
  }
  const ldc = <usize>N << 2;
  // K in equal blocks (784 → 4×196), so no block is a thin remainder.
  const kBlocks = (K + KC - 1) / KC;
  const kc = (K + kBlocks - 1) / kBlocks;
  for (let k0 = 0; k0 < K; k0 += kc) {
    const kb = min(kc, K - k0);
    // Later k-blocks add onto what the first one wrote.
    const betaK: f32 = k0 == 0 ? beta : 1;
    for (let j0 = 0; j0 < N; j0 += NC) {
      const nb = min(NC, N - j0);
      const panels = (nb + NR - 1) / NR;
      // op(B)[k][j] is B[j][k] (N×K) when transB, else B[k][j] (K×N).
      for (let p = 0; p < panels; p++) {
        const j = j0 + p * NR;
        const dst = packB + (<usize>(p * kb) << 5);
        if (transB) pack_rows(B, K, min(NR, N - j), j, k0, kb, dst, 8);
        else pack_cols(B, N, min(NR, N - j), j, k0, kb, dst, 8);
      }
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mb = min(MC, M - i0);
        const strips = (mb + MR - 1) / MR;
        // op(A)[i][k] is A[k][i] (K×M) when transA, else A[i][k] (M×K).
        for (let s = 0; s < strips; s++) {
          const i = i0 + s * MR;
          const dst = packA + (<usize>(s * kb) << 4);
          if (transA) pack_cols(A, M, min(MR, M - i), i, k0, kb, dst, 4);
          else pack_rows(A, K, min(MR, M - i), i, k0, kb, dst, 4);
        }
        for (let p = 0; p < panels; p++) {
          const j = j0 + p * NR;
          const cols = min(NR, N - j);
          const b = packB + (<usize>(p * kb) << 5);
          for (let s = 0; s < strips; s++) {
            const i = i0 + s * MR;
            micro_4x8(
              packA + (<usize>(s * kb) << 4), b, kb,
              C + <usize>i * ldc + (<usize>j << 2), ldc,
              alpha, betaK, min(MR, M - i), cols, tile,
            );
          }
        }
      }
    }
  }
}

/**
 * C[4×8] ← α·Σₖ a[k][0..4]ᵀ·b[k][0..8] + β·C over kb steps; a is a packed strip (16 bytes per k),
 * b a packed panel (32 bytes per k). rows < 4 or cols < 8 go through `tile` so only C's own
 * elements are written. β = 0 never reads C.
 */
function micro_4x8(
  a: usize, b: usize, kb: i32,
  c: usize, ldc: usize, alpha: f32, beta: f32, rows: i32, cols: i32, tile: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  // One k per iteration: unrolling does not pay here, because TurboFan hoists every load of the
  // unrolled body to the top and then spills accumulators to the stack. A's four values come in
  // one load and are broadcast by shuffles, which run on a port the multiplies and adds do not use.
  const aEnd = a + (<usize>kb << 4);
  for (; a < aEnd; a += 16) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const av = v128.load(a);
    let x = v128.shuffle<f32>(av, av, 0, 0, 0, 0);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.shuffle<f32>(av, av, 1, 1, 1, 1);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.shuffle<f32>(av, av, 2, 2, 2, 2);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.shuffle<f32>(av, av, 3, 3, 3, 3);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    b += 32;
  }

  const va = f32x4.splat(alpha);
  if (rows == MR && cols == NR) {
    if (beta == 0) {
      v128.store(c, f32x4.mul(va, c00));
      v128.store(c, f32x4.mul(va, c01), 16);
      c += ldc;
      v128.store(c, f32x4.mul(va, c10));
      v128.store(c, f32x4.mul(va, c11), 16);
      c += ldc;
      v128.store(c, f32x4.mul(va, c20));
      v128.store(c, f32x4.mul(va, c21), 16);
      c += ldc;
      v128.store(c, f32x4.mul(va, c30));
      v128.store(c, f32x4.mul(va, c31), 16);
    } else {
      const vb = f32x4.splat(beta);
      v128.store(c, f32x4.add(f32x4.mul(va, c00), f32x4.mul(vb, v128.load(c))));
      v128.store(c, f32x4.add(f32x4.mul(va, c01), f32x4.mul(vb, v128.load(c, 16))), 16);
      c += ldc;
      v128.store(c, f32x4.add(f32x4.mul(va, c10), f32x4.mul(vb, v128.load(c))));
      v128.store(c, f32x4.add(f32x4.mul(va, c11), f32x4.mul(vb, v128.load(c, 16))), 16);
      c += ldc;
      v128.store(c, f32x4.add(f32x4.mul(va, c20), f32x4.mul(vb, v128.load(c))));
      v128.store(c, f32x4.add(f32x4.mul(va, c21), f32x4.mul(vb, v128.load(c, 16))), 16);
      c += ldc;
      v128.store(c, f32x4.add(f32x4.mul(va, c30), f32x4.mul(vb, v128.load(c))));
      v128.store(c, f32x4.add(f32x4.mul(va, c31), f32x4.mul(vb, v128.load(c, 16))), 16);
    }
    return;
  }
  v128.store(tile, f32x4.mul(va, c00));
  v128.store(tile, f32x4.mul(va, c01), 16);
  v128.store(tile, f32x4.mul(va, c10), 32);
  v128.store(tile, f32x4.mul(va, c11), 48);
  v128.store(tile, f32x4.mul(va, c20), 64);
  v128.store(tile, f32x4.mul(va, c21), 80);
  v128.store(tile, f32x4.mul(va, c30), 96);
  v128.store(tile, f32x4.mul(va, c31), 112);
  for (let r = 0; r < rows; r++) {
    const t = tile + (<usize>r << 5);
    const cr = c + <usize>r * ldc;
    for (let q = 0; q < cols; q++) {
      const o = <usize>q << 2;
      const v = load<f32>(t + o);
      store<f32>(cr + o, beta == 0 ? v : v + beta * load<f32>(cr + o));
    }
  }
}

/**
 * Packs `valid` rows of a row-major matrix X (leading dimension ld floats), rows r0.., columns
 * k0..k0+kb, transposed into dst as kb groups of `width` floats: dst[k·width + r] = X[r0+r][k0+k],
 * zero for r ≥ valid. (op(B) when transB, op(A) when not transA.) 4×4 blocks are transposed in
 * registers; the ragged k tail and missing rows go element by element.
 */
function pack_rows(X: usize, ld: i32, valid: i32, r0: i32, k0: i32, kb: i32, dst: usize, width: i32): void {
  const ldx = <usize>ld << 2;
  const rowBytes = <usize>width << 2;
  const kb4 = kb & ~3;
  for (let q = 0; q < width; q += 4) {
    const d = dst + (<usize>q << 2);
    const have = valid - q; // rows of this group of 4 that exist
    if (have >= 4) {
      const s0 = X + <usize>(r0 + q) * ldx + (<usize>k0 << 2);
      const s1 = s0 + ldx;
      const s2 = s1 + ldx;
      const s3 = s2 + ldx;
      let k = 0;
      for (; k < kb4; k += 4) {
        const o = <usize>k << 2;
        const x0 = v128.load(s0 + o);
        const x1 = v128.load(s1 + o);
        const x2 = v128.load(s2 + o);
        const x3 = v128.load(s3 + o);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        const dk = d + <usize>k * rowBytes;
        v128.store(dk, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(dk + rowBytes, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        v128.store(dk + 2 * rowBytes, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
        v128.store(dk + 3 * rowBytes, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      }
      for (; k < kb; k++) {
        const o = <usize>k << 2;
        const dk = d + <usize>k * rowBytes;
        store<f32>(dk, load<f32>(s0 + o));
        store<f32>(dk, load<f32>(s1 + o), 4);
        store<f32>(dk, load<f32>(s2 + o), 8);
        store<f32>(dk, load<f32>(s3 + o), 12);
      }
    } else {
      for (let k = 0; k < kb; k++) {
        const dk = d + <usize>k * rowBytes;
        for (let r = 0; r < 4; r++) {
          const v: f32 = r < have ? load<f32>(X + <usize>(r0 + q + r) * ldx + (<usize>(k0 + k) << 2)) : 0;
          store<f32>(dk + (<usize>r << 2), v);
        }
      }
    }
  }
}

/**
 * Packs `valid` columns c0.. of a row-major matrix X (leading dimension ld floats), rows
 * k0..k0+kb, into dst as kb groups of `width` floats: dst[k·width + c] = X[k0+k][c0+c], zero for
 * c ≥ valid. (op(B) when not transB, op(A) when transA.) Full groups are straight v128 copies.
 */
function pack_cols(X: usize, ld: i32, valid: i32, c0: i32, k0: i32, kb: i32, dst: usize, width: i32): void {
  const ldx = <usize>ld << 2;
  const rowBytes = <usize>width << 2;
  let src = X + (<usize>k0 * <usize>ld + <usize>c0) * 4;
  let d = dst;
  if (valid == width) {
    if (width == 8) {
      for (let k = 0; k < kb; k++) {
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += ldx;
        d += 32;
      }
    } else {
      for (let k = 0; k < kb; k++) {
        v128.store(d, v128.load(src));
        src += ldx;
        d += rowBytes;
      }
    }
    return;
  }
  for (let k = 0; k < kb; k++) {
    for (let c = 0; c < width; c++) {
      store<f32>(d + (<usize>c << 2), c < valid ? load<f32>(src + (<usize>c << 2)) : 0);
    }
    src += ldx;
    d += rowBytes;
  }
}

/**
 * The fused SGD-with-momentum update over n floats at w, g, v (byte offsets):
 *   g̃ = g + λ·w;  v ← μ·v − η·g̃;  w ← w + v      (nesterov: w ← w + μ·v − η·g̃, with the new v)
 * One pass, four parameters per step; in JavaScript this loop costs as much as the gemms. When h is
 * not 0 it is a second gradient (byte offset) added first, g̃ = (g + h) + λ·w: the data-parallel
 * trainer's last slice, summed on the way instead of by a pass of add_into (the same f32 operations
 * in the same order, so the same bits, and one stream fewer over memory).
 */
export function sgd_update(
  w: usize, g: usize, v: usize, n: i32,
  learningRate: f32, momentum: f32, l2: f32, nesterov: bool, h: usize,
): void {
  const eta = f32x4.splat(learningRate);
  const mu = f32x4.splat(momentum);
  const lambda = f32x4.splat(l2);
  const end = <usize>(n & ~3) << 2;
  let o: usize = 0;
  if (h != 0) {
    for (; o < end; o += 16) {
      const wi = v128.load(w + o);
      const gi = f32x4.add(f32x4.add(v128.load(g + o), v128.load(h + o)), f32x4.mul(lambda, wi));
      const vi = f32x4.sub(f32x4.mul(mu, v128.load(v + o)), f32x4.mul(eta, gi));
      v128.store(v + o, vi);
      v128.store(w + o, nesterov ? f32x4.add(wi, f32x4.sub(f32x4.mul(mu, vi), f32x4.mul(eta, gi))) : f32x4.add(wi, vi));
    }
  } else if (nesterov) {
    for (; o < end; o += 16) {
      const wi = v128.load(w + o);
      const gi = f32x4.add(v128.load(g + o), f32x4.mul(lambda, wi));
      const vi = f32x4.sub(f32x4.mul(mu, v128.load(v + o)), f32x4.mul(eta, gi));
      v128.store(v + o, vi);
      v128.store(w + o, f32x4.add(wi, f32x4.sub(f32x4.mul(mu, vi), f32x4.mul(eta, gi))));
    }
  } else {
    for (; o < end; o += 16) {
      const wi = v128.load(w + o);
      const gi = f32x4.add(v128.load(g + o), f32x4.mul(lambda, wi));
      const vi = f32x4.sub(f32x4.mul(mu, v128.load(v + o)), f32x4.mul(eta, gi));
      v128.store(v + o, vi);
      v128.store(w + o, f32x4.add(wi, vi));
    }
  }
  const tail = <usize>n << 2;
  for (; o < tail; o += 4) {
    const wi = load<f32>(w + o);
    const gh = h != 0 ? load<f32>(g + o) + load<f32>(h + o) : load<f32>(g + o);
    const gi = gh + l2 * wi;
    const vi = momentum * load<f32>(v + o) - learningRate * gi;
    store<f32>(v + o, vi);
    store<f32>(w + o, wi + (nesterov ? momentum * vi - learningRate * gi : vi));
  }
}

/**
 * The fused Adam update over n floats at w, g, m, v (byte offsets), with the bias corrections folded
 * into two scalars the caller computes for step t (PyTorch's arrangement of Kingma & Ba's algorithm):
 *   g̃ = g + λ·w;  m ← β₁·m + (1 − β₁)·g̃;  v ← β₂·v + (1 − β₂)·g̃²
 *   w ← w − stepSize·m / (√v·invRootBias2 + ε),   stepSize = η/(1 − β₁ᵗ), invRootBias2 = 1/√(1 − β₂ᵗ)
 * which is w ← w − η·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). One pass, four at a time.
 * h, when not 0, is a second gradient added first, as in sgd_update.
 */
export function adam_update(
  w: usize, g: usize, m: usize, v: usize, n: i32,
  stepSize: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32,
  epsilon: f32, l2: f32, invRootBias2: f32, h: usize,
): void {
  // 1 − β comes from the caller, computed in float64: in float32, 1 − 0.999 is 1.3e-5 off in relative terms.
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(oneMinusBeta2);
  const alpha = f32x4.splat(stepSize), eps = f32x4.splat(epsilon);
  const lambda = f32x4.splat(l2), root = f32x4.splat(invRootBias2);
  const end = <usize>(n & ~3) << 2;
  let o: usize = 0;
  // Two loops rather than a select per step, so the one-gradient update loads nothing more than it did.
  if (h != 0) {
    for (; o < end; o += 16) {
      adam4(w + o, f32x4.add(v128.load(g + o), v128.load(h + o)), m + o, v + o, b1, c1, b2, c2, alpha, eps, lambda, root);
    }
  } else {
    for (; o < end; o += 16) adam4(w + o, v128.load(g + o), m + o, v + o, b1, c1, b2, c2, alpha, eps, lambda, root);
  }
  const tail = <usize>n << 2;
  for (; o < tail; o += 4) {
    const wi = load<f32>(w + o);
    const gh = h != 0 ? load<f32>(g + o) + load<f32>(h + o) : load<f32>(g + o);
    const gi = gh + l2 * wi;
    const mi = beta1 * load<f32>(m + o) + oneMinusBeta1 * gi;
    const vi = beta2 * load<f32>(v + o) + oneMinusBeta2 * (gi * gi);
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(w + o, wi - (stepSize * mi) / (sqrt<f32>(vi) * invRootBias2 + epsilon));
  }
}

/** Four parameters of adam_update, given their gradient g (before L2). */
// @ts-ignore: decorator
@inline function adam4(
  w: usize, g: v128, m: usize, v: usize,
  b1: v128, c1: v128, b2: v128, c2: v128, alpha: v128, eps: v128, lambda: v128, root: v128,
): void {
  const wi = v128.load(w);
  const gi = f32x4.add(g, f32x4.mul(lambda, wi));
  const mi = f32x4.add(f32x4.mul(b1, v128.load(m)), f32x4.mul(c1, gi));
  const vi = f32x4.add(f32x4.mul(b2, v128.load(v)), f32x4.mul(c2, f32x4.mul(gi, gi)));
  v128.store(m, mi);
  v128.store(v, vi);
  const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), root), eps);
  v128.store(w, f32x4.sub(wi, f32x4.div(f32x4.mul(alpha, mi), denom)));
}

/**
 * z ← (z − mean) ⊙ invStd for each of `rows` rows of n floats (mean and invStd hold n floats):
 * the standardisation of a gathered minibatch, after its rows were copied in.
 */
export function standardize_rows(z: usize, rows: i32, n: i32, mean: usize, invStd: usize): void {
  const end4 = <usize>(n & ~3) << 2;
  const end = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    let o: usize = 0;
    for (; o < end4; o += 16) {
      v128.store(z + o, f32x4.mul(f32x4.sub(v128.load(z + o), v128.load(mean + o)), v128.load(invStd + o)));
    }
    for (; o < end; o += 4) {
      store<f32>(z + o, (load<f32>(z + o) - load<f32>(mean + o)) * load<f32>(invStd + o));
    }
    z += end;
  }
}

/**
 * Standardises `rows` rows of n bytes that the caller copied into the last quarter of z's own
 * floats (at z + 3·rows·n bytes), widening each to a float in place: z[r][j] = (byte − mean[j])·invStd[j].
 * Copying bytes into a shared memory costs half what converting them on the way in does (V8 copies
 * element by element into a shared buffer), and this pass replaces standardize_rows'. Each group of
 * four is loaded before its 16 bytes of floats are stored, and the bytes not yet read lie beyond
 * them (4k + 16 ≤ 3·rows·n + k + 4 for every k but the last group's, already loaded).
 */
export function standardize_bytes(z: usize, rows: i32, n: i32, mean: usize, invStd: usize): void {
  let src = z + <usize>(3 * rows * n);
  const end4 = <usize>(n & ~3) << 2;
  const end = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    let o: usize = 0;
    for (; o < end4; o += 16) {
      const q = f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(src))));
      v128.store(z + o, f32x4.mul(f32x4.sub(q, v128.load(mean + o)), v128.load(invStd + o)));
      src += 4;
    }
    for (; o < end; o += 4) {
      store<f32>(z + o, (<f32>load<u8>(src) - load<f32>(mean + o)) * load<f32>(invStd + o));
      src += 1;
    }
    z += end;
  }
}

/**
 * The data-parallel trainer's forward epilogue for a block of n units over `rows` rows: the product
 * sits in s (rows, n); for each row i and j < n, a[i·ld + j] = s[i·n + j] + b[j], and with relu also
 * z[i·ld + j] = (a > 0 ? a : 0)·mask[i·ld + j] (mask 0: no dropout). a, z, mask point at the block's
 * first column. The bits of the JavaScript loops (a float32 sum, [a > 0]·a, a float32 product). The
 * one-thread trainer and the predictor use it for a whole ReLU layer, in place (s = a, ld = n).
 */
export function bias_relu(s: usize, b: usize, a: usize, z: usize, mask: usize, rows: i32, n: i32, ld: i32, relu: bool): void {
  const end4 = <usize>(n & ~3) << 2;
  const end = <usize>n << 2;
  const ldb = <usize>ld << 2;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let o: usize = 0;
    for (; o < end4; o += 16) {
      const x = f32x4.add(v128.load(s + o), v128.load(b + o));
      v128.store(a + o, x);
      if (!relu) continue;
      let y = v128.and(x, f32x4.gt(x, zero));
      if (mask != 0) y = f32x4.mul(y, v128.load(mask + o));
      v128.store(z + o, y);
    }
    for (; o < end; o += 4) {
      const x = load<f32>(s + o) + load<f32>(b + o);
      store<f32>(a + o, x);
      if (!relu) continue;
      let y: f32 = x > 0 ? x : 0;
      if (mask != 0) y *= load<f32>(mask + o);
      store<f32>(z + o, y);
    }
    s += end;
    a += ldb;
    z += ldb;
    if (mask != 0) mask += ldb;
  }
}

/**
 * The data-parallel trainer's backward prologue for the same block: for each row i in order and
 * j < n, d = δ[i·ld + j]·mask[i·ld + j] (mask 0: none), zeroed where !(a[i·ld + j] > 0) (with relu);
 * δ[i·ld + j] = d, s[i·n + j] = d (s 0: not kept) and gb[j] += d, gb zeroed first (gb 0: not summed).
 * The bits of the JavaScript loops. The one-thread trainer uses it without s for a whole ReLU layer.
 */
export function relu_grad(delta: usize, a: usize, mask: usize, s: usize, gb: usize, rows: i32, n: i32, ld: i32, relu: bool): void {
  const end4 = <usize>(n & ~3) << 2;
  const end = <usize>n << 2;
  const ldb = <usize>ld << 2;
  const zero = f32x4.splat(0);
  if (gb != 0) memory.fill(gb, 0, end);
  for (let r = 0; r < rows; r++) {
    let o: usize = 0;
    for (; o < end4; o += 16) {
      let d = v128.load(delta + o);
      if (mask != 0) d = f32x4.mul(d, v128.load(mask + o));
      if (relu) d = v128.and(d, f32x4.gt(v128.load(a + o), zero));
      v128.store(delta + o, d);
      if (s != 0) v128.store(s + o, d);
      if (gb != 0) v128.store(gb + o, f32x4.add(v128.load(gb + o), d));
    }
    for (; o < end; o += 4) {
      let d = load<f32>(delta + o);
      if (mask != 0) d *= load<f32>(mask + o);
      if (relu && !(load<f32>(a + o) > 0)) d = 0;
      store<f32>(delta + o, d);
      if (s != 0) store<f32>(s + o, d);
      if (gb != 0) store<f32>(gb + o, load<f32>(gb + o) + d);
    }
    if (s != 0) s += end;
    delta += ldb;
    a += ldb;
    if (mask != 0) mask += ldb;
  }
}

/**
 * C ← α·A·Bᵀ + β·C (A is M×K, B is N×K) by gemm_nt whatever the shapes: each element of C comes from
 * its own row of A and row of B by the same operations in the same order, so a row's result has the
 * same bits whether it is multiplied alone or among thousands. gemm picks packing or dot products by
 * M, N and K, which changes the order of the additions; inference must not depend on a row's neighbours.
 */
export function gemm_rows(
  M: i32, N: i32, K: i32, alpha: f32, A: usize, B: usize, beta: f32, C: usize, scratch: usize,
): void {
  gemm_nt(M, N, K, alpha, A, B, beta, C, scratch + PACK_B_BYTES + PACK_A_BYTES);
}

/**
 * C ← α·A·Bᵀ + β·C without packing (A is M×K, B is N×K: both rows run along k), as dot products:
 * 2 rows of A against 4 rows of B, 8 f32x4 accumulators over k, reduced across lanes at the end.
 * The forward pass multiplies by Wᵀ this way; packing W into panels would cost as much again.
 */
function gemm_nt(
  M: i32, N: i32, K: i32, alpha: f32, A: usize, B: usize, beta: f32, C: usize, tile: usize,
): void {
  const ld = <usize>K << 2;
  const ldc = <usize>N << 2;
  for (let i0 = 0; i0 < M; i0 += MC_DOT) {
    const iEnd = min(i0 + MC_DOT, M);
    for (let j = 0; j < N; j += 4) {
      const cols = min(4, N - j);
      // Columns past N use row N−1 of B again; their results are dropped.
      const b0 = B + <usize>j * ld;
      const b1 = b0 + <usize>min(1, cols - 1) * ld;
      const b2 = b0 + <usize>min(2, cols - 1) * ld;
      const b3 = b0 + <usize>min(3, cols - 1) * ld;
      for (let i = i0; i < iEnd; i += 2) {
        const rows = min(2, M - i);
        const a0 = A + <usize>i * ld;
        dot_2x4(a0, a0 + <usize>(rows - 1) * ld, b0, b1, b2, b3, K,
          C + <usize>i * ldc + (<usize>j << 2), ldc, alpha, beta, rows, cols, tile);
      }
    }
  }
}

// Rows of A per pass of gemm_nt over B: 32 rows of 784 floats (100 KiB) stay in L2.
const MC_DOT: i32 = 32;

/** C[2×4] ← α·(a_r · b_c) + β·C for r < rows, c < cols; each a_r, b_c is K floats. */
function dot_2x4(
  a0: usize, a1: usize, b0: usize, b1: usize, b2: usize, b3: usize, K: i32,
  c: usize, ldc: usize, alpha: f32, beta: f32, rows: i32, cols: i32, tile: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const end4 = <usize>(K & ~3) << 2;
  for (let o: usize = 0; o < end4; o += 16) {
    const x0 = v128.load(a0 + o), x1 = v128.load(a1 + o);
    let y = v128.load(b0 + o);
    c00 = madd(x0, y, c00); c10 = madd(x1, y, c10);
    y = v128.load(b1 + o);
    c01 = madd(x0, y, c01); c11 = madd(x1, y, c11);
    y = v128.load(b2 + o);
    c02 = madd(x0, y, c02); c12 = madd(x1, y, c12);
    y = v128.load(b3 + o);
    c03 = madd(x0, y, c03); c13 = madd(x1, y, c13);
  }
  // Lane sums: s_r = [a_r·b0, a_r·b1, a_r·b2, a_r·b3].
  let s0 = hsum4(c00, c01, c02, c03);
  let s1 = hsum4(c10, c11, c12, c13);
  // The k tail past the last multiple of 4.
  const end = <usize>K << 2;
  for (let o = end4; o < end; o += 4) {
    let y = v128.load32_zero(b0 + o);
    y = v128.load32_lane(b1 + o, y, 1);
    y = v128.load32_lane(b2 + o, y, 2);
    y = v128.load32_lane(b3 + o, y, 3);
    s0 = madd(v128.load32_splat(a0 + o), y, s0);
    s1 = madd(v128.load32_splat(a1 + o), y, s1);
  }
  const va = f32x4.splat(alpha);
  s0 = f32x4.mul(va, s0);
  s1 = f32x4.mul(va, s1);
  if (cols == 4) {
    if (beta != 0) s0 = f32x4.add(s0, f32x4.mul(f32x4.splat(beta), v128.load(c)));
    v128.store(c, s0);
    if (rows == 2) {
      if (beta != 0) s1 = f32x4.add(s1, f32x4.mul(f32x4.splat(beta), v128.load(c + ldc)));
      v128.store(c + ldc, s1);
    }
    return;
  }
  v128.store(tile, s0);
  v128.store(tile, s1, 16);
  for (let r = 0; r < rows; r++) {
    const t = tile + (<usize>r << 4);
    const cr = c + <usize>r * ldc;
    for (let q = 0; q < cols; q++) {
      const o = <usize>q << 2;
      const v = load<f32>(t + o);
      store<f32>(cr + o, beta == 0 ? v : v + beta * load<f32>(cr + o));
    }
  }
}

/**
 * c + x·y, lane by lane: fused (one rounding) in the relaxed-SIMD build, else a multiply then an add,
 * the instructions gemm.wasm always had. Only products a gemm accumulates go through here.
 */
// @ts-ignore: decorator
@inline function madd(x: v128, y: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, c);
  return f32x4.add(c, f32x4.mul(x, y));
}

/** [Σ lanes of x0, Σ x1, Σ x2, Σ x3] by two rounds of pairwise shuffles and adds. */
// @ts-ignore: decorator
@inline function hsum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), v128.shuffle<f32>(x0, x1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(x2, x3, 0, 4, 1, 5), v128.shuffle<f32>(x2, x3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

/**
 * dst ← dst + src over n floats (byte offsets): the data-parallel trainer's reduction, one helper
 * thread's gradient added onto the caller's, four at a time.
 */
export function add_into(dst: usize, src: usize, n: i32): void {
  const end4 = <usize>(n & ~3) << 2;
  const end = <usize>n << 2;
  let o: usize = 0;
  for (; o < end4; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  for (; o < end; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
}
