// The wasm kernels against the reference oracle: every transpose combination, ragged and
// engine-sized shapes, α and β, and the arena contract the engine relies on. The gemm checks run on
// both builds (wasm-simd, and wasm-fma where it fuses); the rest of the module is one source.
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  createKernels, createReferenceKernels, createWasmKernels, kernelAvailable, wasmFmaSupported, wasmSimdSupported,
} from '../../src/engine/kernels/index.js';
import type { WasmVariant } from '../../src/engine/kernels/wasm.js';
import { adamUpdateReference, gatherRowsReference, gemmReference, sgdUpdateReference } from '../../src/engine/kernels/reference.js';
import { rng } from '../helpers/data.js';

/** Deterministic uniform numbers in [−1, 1). */
function random(seed: number): () => number {
  const r = rng(seed);
  return () => r() * 2 - 1;
}

const U = 2 ** -24; // unit roundoff of float32

interface Case { transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number; beta: number }

/**
 * Runs one product on a fresh wasm kernel and checks every element of C against the float64
 * reference within the classical bound for a float32 dot product of length K:
 * |Δc| ≤ (K + 2)·u·(|α|·Σₖ|a·b| + |β·c|) + a few ulps for the final rounding.
 * Also checks that the 16 floats either side of C, and A and B themselves, are left alone.
 */
function check(variant: WasmVariant, { transA, transB, M, N, K, alpha, beta }: Case, seed = 1): void {
  const rnd = random(seed + M * 7919 + N * 104729 + K * 31);
  const guard = 16;
  const kernels = createWasmKernels(variant);
  const [A, B, Cwide] = kernels.arena([M * K, K * N, M * N + 2 * guard]);
  const C = Cwide.subarray(guard, guard + M * N);
  for (let i = 0; i < A.length; i++) A[i] = rnd();
  for (let i = 0; i < B.length; i++) B[i] = rnd();
  Cwide.fill(12345);
  for (let i = 0; i < C.length; i++) C[i] = beta === 0 ? NaN : rnd();
  const A0 = Float64Array.from(A);
  const B0 = Float64Array.from(B);
  const expected = Float64Array.from(C, (c) => (beta === 0 ? 0 : c));
  const bound = Float64Array.from(C, (c) => (beta === 0 ? 0 : Math.abs(beta * c)));
  gemmReference(transA, transB, M, N, K, alpha, A0, B0, beta, expected);
  gemmReference(transA, transB, M, N, K, Math.abs(alpha), A0.map(Math.abs), B0.map(Math.abs), 1, bound);

  kernels.gemm(transA, transB, M, N, K, alpha, A, B, beta, C);

  let worst = 0;
  let where = -1;
  for (let i = 0; i < C.length; i++) {
    const tolerance = (K + 2) * U * bound[i] + 4 * U * Math.abs(expected[i]) + 1e-30;
    const excess = Math.abs(C[i] - expected[i]) / tolerance;
    if (!(excess <= worst)) {
      worst = excess;
      where = i;
    }
  }
  const label = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}×${N}×${K} α=${alpha} β=${beta}`;
  expect(worst, `${label}: C[${where}] = ${C[where]}, expected ${expected[where]}`).toBeLessThanOrEqual(1);
  for (let i = 0; i < guard; i++) {
    expect(Cwide[i], `${label}: wrote before C`).toBe(12345);
    expect(Cwide[guard + M * N + i], `${label}: wrote past C`).toBe(12345);
  }
  expect(Array.from(A)).toEqual(Array.from(A0, Math.fround));
  expect(Array.from(B)).toEqual(Array.from(B0, Math.fround));
}

const combos = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

/** The CPU has a fused multiply-add V8 can use: x86-64's FMA3 (the `fma` flag), or any arm64. */
function cpuHasFma(): boolean {
  if (arch() === 'arm64') return true;
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

describe('the wasm-fma kernel', () => {
  it('is offered exactly where the CPU fuses multiply and add', () => {
    expect(wasmFmaSupported()).toBe(cpuHasFma());
    expect(kernelAvailable('wasm-fma')).toBe(wasmFmaSupported());
  });

  // Σₖ a·b over k = 0, 1 where the second product, (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴, rounds to 1 + 2⁻¹¹
  // on its own and the first cancels that: 2⁻²⁴ fused, 0 unfused. Through both of gemm's paths: dot
  // products (few rows) and the packed micro-kernel (A·B, 16 rows and columns); through gemmRows too.
  const x = 1 + 2 ** -12;
  for (const [variant, sum] of [['fma', 2 ** -24], ['simd', 0]] as const) {
    it.runIf(variant === 'simd' || wasmFmaSupported())(`accumulates products ${variant === 'fma' ? 'fused' : 'rounded one by one'} (wasm-${variant})`, () => {
      const k = createWasmKernels(variant);
      // Dot products: A 1×8, B 1×8 (transB), lane 0 sees k = 0 then k = 4.
      const [a, b, c, A, B, C] = k.arena([8, 8, 1, 16 * 2, 2 * 16, 16 * 16]);
      a[0] = 1; b[0] = -(1 + 2 ** -11); a[4] = x; b[4] = x;
      k.gemm(false, true, 1, 1, 8, 1, a, b, 0, c);
      expect(c[0]).toBe(sum);
      k.gemmRows!(1, 1, 8, 1, a, b, 0, c);
      expect(c[0]).toBe(sum);
      // Packed: A 16×2, B 2×16, every C[i][j] = 1·(−(1 + 2⁻¹¹)) + x·x.
      for (let i = 0; i < 16; i++) {
        A[2 * i] = 1; A[2 * i + 1] = x;
        B[i] = -(1 + 2 ** -11); B[16 + i] = x;
      }
      k.gemm(false, false, 16, 16, 2, 1, A, B, 0, C);
      expect(new Set(C)).toEqual(new Set([sum]));
    });
  }
});

// wasm-fma where this machine fuses (the test above says whether it should).
const variants: WasmVariant[] = wasmFmaSupported() ? ['simd', 'fma'] : ['simd'];

describe.each(variants)('wasm-%s gemm agrees with the reference', (variant) => {
  it('runs where WebAssembly SIMD validates', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  // Ragged sizes around the 4×8 micro-kernel and 4-wide SIMD, degenerate vectors, and sizes that
  // cross the packing blocks (KC = 256, NC = 256, MC = 128).
  const shapes: [number, number, number][] = [
    [1, 1, 1], [7, 13, 5], [1, 37, 9], [29, 1, 11], [3, 5, 2], [4, 8, 4], [5, 9, 3],
    [33, 17, 129], [17, 19, 301], [8, 16, 600], [130, 9, 3], [6, 300, 7], [131, 259, 9], [9, 12, 520],
  ];
  for (const [transA, transB] of combos) {
    for (const [M, N, K] of shapes) {
      it(`${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}×${N}×${K}`, () => {
        for (const [alpha, beta] of [[1, 0], [-0.75, 1], [2.5, 0.5]]) check(variant, { transA, transB, M, N, K, alpha, beta });
      });
    }
  }

  // The products one training step of a 784-128-10 network at batch 32 performs.
  const engineShapes: Case[] = [
    { transA: false, transB: true, M: 32, N: 128, K: 784, alpha: 1, beta: 0 },
    { transA: false, transB: true, M: 32, N: 10, K: 128, alpha: 1, beta: 0 },
    { transA: true, transB: false, M: 128, N: 784, K: 32, alpha: -0.01 / 32, beta: 0.9 },
    { transA: true, transB: false, M: 10, N: 128, K: 32, alpha: 1 / 32, beta: 0 },
    { transA: false, transB: false, M: 32, N: 128, K: 10, alpha: 1, beta: 0 },
  ];
  for (const c of engineShapes) {
    it(`engine shape ${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'} ${c.M}×${c.N}×${c.K}`, () => check(variant, c));
  }

  it('with β = 0 ignores NaN and ∞ in C', () => {
    const k = createWasmKernels(variant);
    const [A, B, C] = k.arena([6, 6, 9]);
    A.set([1, 2, 3, 4, 5, 6]);
    B.set([1, 0, 0, 1, 1, 1]);
    C.set([NaN, Infinity, -Infinity, NaN, NaN, NaN, NaN, NaN, NaN]);
    k.gemm(false, false, 3, 3, 2, 1, A, B, 0, C); // A 3×2, B 2×3
    expect(Array.from(C)).toEqual([3, 2, 2, 7, 4, 4, 11, 6, 6]);
  });

  it('accepts subarray views of its arena', () => {
    const k = createWasmKernels(variant);
    const [params, out] = k.arena([100, 12]);
    params.set(Array.from({ length: 100 }, (_, i) => i % 7));
    const A = params.subarray(3, 3 + 8); // 2×4
    const B = params.subarray(50, 50 + 24); // 4×6
    k.gemm(false, false, 2, 6, 4, 1, A, B, 0, out);
    const expected = new Float64Array(12);
    gemmReference(false, false, 2, 6, 4, 1, Float64Array.from(A), Float64Array.from(B), 0, expected);
    expect(Array.from(out)).toEqual(Array.from(expected));
  });

  it('gemmRows agrees with the reference A·Bᵀ, and gives each row the same bits whatever M', () => {
    const rnd = random(99);
    const M = 300, N = 40, K = 37;
    const k = createWasmKernels(variant);
    const [A, B, C, one] = k.arena([M * K, N * K, M * N, N]);
    for (let i = 0; i < A.length; i++) A[i] = rnd();
    for (let i = 0; i < B.length; i++) B[i] = rnd();
    k.gemmRows!(M, N, K, 1, A, B, 0, C);
    const expected = new Float64Array(M * N);
    gemmReference(false, true, M, N, K, 1, Float64Array.from(A), Float64Array.from(B), 0, expected);
    for (let i = 0; i < C.length; i++) expect(Math.abs(C[i] - expected[i])).toBeLessThan((K + 2) * U * K + 1e-6);
    for (const r of [0, 1, 17, 299]) {
      k.gemmRows!(1, N, K, 1, A.subarray(r * K, (r + 1) * K), B, 0, one);
      expect(Array.from(one)).toEqual(Array.from(C.subarray(r * N, (r + 1) * N)));
    }
    expect(() => k.gemmRows!(1, N, K, 1, new Float32Array(K), B, 0, one)).toThrow(/not a view/);
  });
});

describe('wasm-simd sgdUpdate', () => {
  // A length that is not a multiple of 4 exercises the scalar tail.
  const n = 1031;
  for (const nesterov of [false, true]) {
    it(`matches the reference update (${nesterov ? 'Nesterov' : 'momentum'}, with L2) to float32 rounding`, () => {
      const rnd = random(nesterov ? 7 : 8);
      const k = createWasmKernels();
      const [w, g, v] = k.arena([n, n, n]);
      for (let i = 0; i < n; i++) {
        w[i] = rnd();
        g[i] = rnd();
        v[i] = 0.1 * rnd();
      }
      const w2 = Float32Array.from(w), g2 = Float32Array.from(g), v2 = Float32Array.from(v);
      for (let step = 0; step < 3; step++) {
        k.sgdUpdate!(w, g, v, 0.05, 0.9, 1e-3, nesterov);
        sgdUpdateReference(w2, g2, v2, 0.05, 0.9, 1e-3, nesterov);
      }
      // float32 arithmetic in wasm against float64 in the reference: a few roundings per step on
      // values of order 1; a wrong term (a sign, λ, the Nesterov look-ahead) is off by ≥ 1e-3.
      for (let i = 0; i < n; i++) {
        expect(Math.abs(w[i] - w2[i])).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(v[i] - v2[i])).toBeLessThanOrEqual(1e-6);
      }
      expect(Array.from(g)).toEqual(Array.from(g2));
    });
  }

  it('updates as the formula says on a hand-worked example', () => {
    const k = createWasmKernels();
    const [w, g, v] = k.arena([5, 5, 5]);
    w.set([1, -2, 0.5, 0, 4]);
    g.set([0.5, 1, -1, 2, 0]);
    v.set([0.25, 0, 1, -1, 0.5]);
    // g̃ = g + 0.5·w = [1, 0, −0.75, 2, 2]; v ← 0.5·v − 0.25·g̃ = [−0.125, 0, 0.6875, −1, −0.25]
    k.sgdUpdate!(w, g, v, 0.25, 0.5, 0.5, false);
    expect(Array.from(v)).toEqual([-0.125, 0, 0.6875, -1, -0.25]);
    expect(Array.from(w)).toEqual([0.875, -2, 1.1875, -1, 3.75]);
  });

  it('refuses foreign or overlapping views', () => {
    const k = createWasmKernels();
    const [w, g, v] = k.arena([8, 8, 8]);
    expect(() => k.sgdUpdate!(w, new Float32Array(8), v, 0.1, 0.9, 0, false)).toThrow(/g is not a view/);
    expect(() => k.sgdUpdate!(w, g, g, 0.1, 0.9, 0, false)).toThrow(/overlap/);
    expect(() => k.sgdUpdate!(w, g, v.subarray(1), 0.1, 0.9, 0, false)).toThrow(/v holds 7 floats/);
  });
});

describe('Adam update', () => {
  const n = 1031; // not a multiple of 4: the scalar tail runs too
  it('wasm-simd matches the reference over 20 steps (with L2) to float32 rounding', () => {
    const rnd = random(21);
    const k = createWasmKernels();
    const [w, g, m, v] = k.arena([n, n, n, n]);
    for (let i = 0; i < n; i++) w[i] = rnd();
    const w2 = Float32Array.from(w), g2 = new Float32Array(n), m2 = new Float32Array(n), v2 = new Float32Array(n);
    for (let step = 1; step <= 20; step++) {
      // Gradients of mixed scale, some exactly 0, as a real network's are.
      for (let i = 0; i < n; i++) g[i] = i % 17 === 0 ? 0 : rnd() * 10 ** ((i % 5) - 3);
      g2.set(g);
      k.adamUpdate!(w, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1e-4, step);
      adamUpdateReference(w2, g2, m2, v2, 1e-3, 0.9, 0.999, 1e-8, 1e-4, step);
    }
    // Each step moves a weight by about η = 1e-3; float32 rounding of that is ~1e-10 per step, while a
    // wrong term (a bias correction, ε in the wrong place, λ) is off by 1e-5 or more.
    for (let i = 0; i < n; i++) {
      expect(Math.abs(w[i] - w2[i])).toBeLessThanOrEqual(2e-7);
      // m sums gradients of both signs, so its error is relative to their scale, not to m itself.
      const scale = 10 ** ((i % 5) - 3);
      expect(Math.abs(m[i] - m2[i])).toBeLessThanOrEqual(1e-6 * scale);
      expect(Math.abs(v[i] - v2[i])).toBeLessThanOrEqual(1e-5 * Math.abs(v2[i]) + 1e-20);
    }
    expect(Array.from(g)).toEqual(Array.from(g2));
  });

  it.each([['wasm-simd', () => createWasmKernels()], ['reference', () => createReferenceKernels()]] as const)(
    'takes a first step of η·g/(|g| + ε) and a second as the formula says, by hand (%s)', (_, make) => {
      const k = make();
      const [w, g, m, v] = k.arena([4, 4, 4, 4]);
      w.set([1, -2, 0.5, 3]);
      g.set([0.2, -4, 0, 1e-3]);
      // t = 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², so w ← w − η·g/(|g| + ε) ≈ w − η·sign(g).
      k.adamUpdate!(w, g, m, v, 0.01, 0.9, 0.999, 1e-8, 0, 1);
      const first = [1 - 0.01, -2 + 0.01, 0.5, 3 - 0.01 * 1e-3 / (1e-3 + 1e-8)];
      first.forEach((x, i) => expect(w[i]).toBeCloseTo(x, 6));
      [0.02, -0.4, 0, 1e-4].forEach((x, i) => expect(m[i]).toBeCloseTo(x, 7));
      // t = 2 with g = (1, 1, 1, 1) and λ = 0.5: g̃ = g + λw.
      const w1 = Float64Array.from(w), m1 = Float64Array.from(m), v1 = Float64Array.from(v);
      g.fill(1);
      k.adamUpdate!(w, g, m, v, 0.01, 0.9, 0.999, 1e-8, 0.5, 2);
      for (let i = 0; i < 4; i++) {
        const gt = 1 + 0.5 * w1[i];
        const mi = 0.9 * m1[i] + 0.1 * gt, vi = 0.999 * v1[i] + 0.001 * gt * gt;
        const mHat = mi / (1 - 0.9 ** 2), vHat = vi / (1 - 0.999 ** 2);
        expect(w[i]).toBeCloseTo(w1[i] - (0.01 * mHat) / (Math.sqrt(vHat) + 1e-8), 6);
        expect(m[i]).toBeCloseTo(mi, 7);
        expect(v[i]).toBeCloseTo(vi, 8);
      }
    });

  it('refuses overlapping views', () => {
    const k = createWasmKernels();
    const [a, b, c] = k.arena([8, 8, 8]);
    expect(() => k.adamUpdate!(a, b, c, c, 0.1, 0.9, 0.999, 1e-8, 0, 1)).toThrow(/overlap/);
  });
});

describe('wasm-simd gatherRows', () => {
  // 13 features: three f32x4 and a scalar tail per row.
  const features = 13, dataRows = 20, rows = 6;
  const rnd = random(21);
  const bytes = Uint8Array.from({ length: dataRows * features }, () => Math.floor(128 * (rnd() + 1)));
  const floats = Float32Array.from({ length: dataRows * features }, () => 100 * rnd());
  const order = Int32Array.from([19, 3, 3, 0, 7, 12, 5, 1]);
  for (const [label, x] of [['bytes', bytes], ['floats', floats]] as const) {
    for (const shuffled of [true, false]) {
      it(`standardises ${shuffled ? 'shuffled' : 'consecutive'} rows of ${label} as the reference does`, () => {
        const k = createWasmKernels();
        const [z0, mean, invStd] = k.arena([(rows + 1) * features, features, features]);
        for (let j = 0; j < features; j++) {
          mean[j] = 50 * rnd();
          invStd[j] = j === 4 ? 0 : 1 / (1 + Math.abs(30 * rnd())); // a constant feature maps to 0
        }
        z0.fill(-7);
        const expected = new Float32Array(z0.length).fill(-7);
        const start = shuffled ? 1 : 9;
        k.gatherRows!(z0, x, features, shuffled ? order : null, start, rows, mean, invStd);
        gatherRowsReference(expected, x, features, shuffled ? order : null, start, rows, mean, invStd);
        for (let i = 0; i < z0.length; i++) {
          // Two float32 roundings in wasm against one in the reference.
          expect(Math.abs(z0[i] - expected[i]), `z0[${i}]`).toBeLessThanOrEqual(2 ** -22 * Math.abs(expected[i]));
        }
        expect(z0[rows * features]).toBe(-7); // the row past the minibatch is untouched
      });
    }
  }

  it('refuses rows outside x and a z0 from elsewhere', () => {
    const k = createWasmKernels();
    const [z0, mean, invStd] = k.arena([2 * features, features, features]);
    expect(() => k.gatherRows!(z0, bytes, features, Int32Array.from([0, dataRows]), 0, 2, mean, invStd)).toThrow(/outside x/);
    expect(() => k.gatherRows!(new Float32Array(2 * features), bytes, features, null, 0, 2, mean, invStd)).toThrow(/z0 is not a view/);
  });
});

describe('wasm epilogues of a data-parallel unit (biasRelu, reluGrad)', () => {
  // A block of n = 13 units (three f32x4 and a tail) at column 5 of rows 21 wide, 4 rows; values
  // include 0, −0, NaN and negatives, so [a > 0] is tested where it differs from max(a, 0).
  const rows = 4, n = 13, ld = 21, j0 = 5;
  const special = [0, -0, NaN, -1e-30, 2.5, -3, Infinity, -Infinity];
  const fill = (v: Float32Array, seed: number) => {
    const rnd = random(seed);
    for (let i = 0; i < v.length; i++) v[i] = i % 5 === 0 ? special[(i / 5) % special.length] : rnd() * 4;
  };
  const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

  for (const relu of [true, false]) {
    for (const masked of [true, false]) {
      it(`biasRelu gives the JavaScript loops' bits (${relu ? 'ReLU' : 'no activation'}${masked ? ', dropout' : ''})`, () => {
        const k = createWasmKernels();
        const [s, b, a, z, mask] = k.arena([rows * n, n, rows * ld, rows * ld, rows * ld]);
        fill(s, 1); fill(b, 2); fill(mask, 3); a.fill(7); z.fill(7);
        const a2 = Float32Array.from(a), z2 = Float32Array.from(z);
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < n; j++) {
            const at = i * ld + j0 + j;
            a2[at] = s[i * n + j] + b[j];
            if (relu) z2[at] = (a2[at] > 0 ? a2[at] : 0) * (masked ? mask[at] : 1);
          }
        }
        k.biasRelu!(s, b, a.subarray(j0), z.subarray(j0), masked ? mask.subarray(j0) : null, rows, n, ld, relu);
        expect(bits(a)).toEqual(bits(a2));
        expect(bits(z)).toEqual(bits(z2));
      });

      it(`reluGrad gives the JavaScript loops' bits (${relu ? 'ReLU' : 'no activation'}${masked ? ', dropout' : ''})`, () => {
        const k = createWasmKernels();
        const [delta, a, mask, s, gb] = k.arena([rows * ld, rows * ld, rows * ld, rows * n, n]);
        fill(delta, 4); fill(a, 5); fill(mask, 6); gb.fill(99);
        const delta2 = Float32Array.from(delta), s2 = new Float32Array(rows * n), gb2 = new Float32Array(n);
        for (let i = 0; i < rows; i++) {
          const src = i * ld + j0;
          if (masked) for (let j = 0; j < n; j++) delta2[src + j] *= mask[src + j];
          if (relu) for (let j = 0; j < n; j++) if (!(a[src + j] > 0)) delta2[src + j] = 0;
          for (let j = 0; j < n; j++) {
            s2[i * n + j] = delta2[src + j];
            gb2[j] += delta2[src + j];
          }
        }
        const before = Float32Array.from(delta);
        k.reluGrad!(delta.subarray(j0), a.subarray(j0), masked ? mask.subarray(j0) : null, s, gb, rows, n, ld, relu);
        expect(bits(delta)).toEqual(bits(delta2));
        expect(bits(s)).toEqual(bits(s2));
        expect(bits(gb)).toEqual(bits(gb2));
        // Without s and gb (the one-thread trainer's ReLU layers): δ alone, the same bits, s and gb untouched.
        delta.set(before); s.fill(5); gb.fill(5);
        k.reluGrad!(delta.subarray(j0), a.subarray(j0), masked ? mask.subarray(j0) : null, null, null, rows, n, ld, relu);
        expect(bits(delta)).toEqual(bits(delta2));
        expect(new Set(s)).toEqual(new Set([5]));
        expect(new Set(gb)).toEqual(new Set([5]));
      });
    }
  }

  it('refuses views too short for the block', () => {
    const k = createWasmKernels();
    const [s, b, a] = k.arena([rows * n, n, rows * ld]);
    expect(() => k.biasRelu!(s, b, a.subarray(ld), a, null, rows, n, ld, false)).toThrow(/a holds/);
    expect(() => k.reluGrad!(a, a, null, s, b.subarray(1), rows, n, ld, false)).toThrow(/gb holds/);
  });
});

describe('wasm-simd arena', () => {
  it('returns zero-filled, distinct views of the requested lengths, each 16-byte aligned', () => {
    const k = createWasmKernels();
    const lengths = [1, 7, 0, 101_770, 3, 32 * 784];
    const views = k.arena(lengths);
    expect(views.map((v) => v.length)).toEqual(lengths);
    const spans = views.map((v) => [v.byteOffset, v.byteOffset + v.byteLength] as const).sort((a, b) => a[0] - b[0]);
    for (const v of views) {
      expect(v.byteOffset % 16).toBe(0);
      expect(v.every((x) => x === 0)).toBe(true);
      expect(v.buffer).toBe(views[0].buffer);
    }
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    // Writing one view leaves the others alone.
    views[3].fill(1);
    expect(views[4].every((x) => x === 0) && views[5].every((x) => x === 0)).toBe(true);
  });

  it('can be reserved only once per instance', () => {
    const k = createWasmKernels();
    k.arena([4]);
    expect(() => k.arena([4])).toThrow(/once/);
  });

  it('refuses matrices that are not views of its own memory', () => {
    const k = createWasmKernels();
    const [A, B, C] = k.arena([4, 4, 4]);
    const foreign = new Float32Array(4);
    expect(() => k.gemm(false, false, 2, 2, 2, 1, foreign, B, 0, C)).toThrow(/A is not a view/);
    expect(() => k.gemm(false, false, 2, 2, 2, 1, A, foreign, 0, C)).toThrow(/B is not a view/);
    expect(() => k.gemm(false, false, 2, 2, 2, 1, A, B, 0, foreign)).toThrow(/C is not a view/);
    const [other] = createWasmKernels().arena([4]);
    expect(() => k.gemm(false, false, 2, 2, 2, 1, other, B, 0, C)).toThrow(/A is not a view/);
  });

  it('refuses views too short for the shapes, and an output overlapping an input', () => {
    const k = createWasmKernels();
    const [A, B, C] = k.arena([4, 4, 4]);
    expect(() => k.gemm(false, false, 2, 3, 2, 1, A, B, 0, C)).toThrow(/B holds 4 floats/);
    expect(() => k.gemm(false, false, 2, 2, 2, 1, A, B, 0, A)).toThrow(/overlaps/);
  });

  it('refuses to multiply before the arena exists', () => {
    const k = createWasmKernels();
    const x = new Float32Array(1);
    expect(() => k.gemm(false, false, 1, 1, 1, 1, x, x, 0, x)).toThrow(/arena/);
  });
});

describe('createKernels', () => {
  it("'auto' picks the fastest kernel here (wasm-fma where it fuses), and every name is honoured", () => {
    expect(createKernels('auto').name).toBe(wasmFmaSupported() ? 'wasm-fma' : 'wasm-simd');
    expect(createKernels('wasm-simd').name).toBe('wasm-simd');
    expect(createKernels('reference').name).toBe('reference');
    expect(createReferenceKernels().name).toBe('reference');
    if (wasmFmaSupported()) expect(createKernels('wasm-fma').name).toBe('wasm-fma');
    else expect(() => createKernels('wasm-fma')).toThrow(/fused multiply-add/);
    expect(kernelAvailable('wasm-simd') && kernelAvailable('reference')).toBe(true);
    expect(kernelAvailable('wasm-avx')).toBe(false);
  });
});
