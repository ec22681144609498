// A small seedable generator (sfc32: four uint32 words of state) for every random choice the engine
// makes: initial weights, the validation split, the per-epoch shuffle and dropout masks. Its whole state
// is those four words, so a training state can save it and a resumed run draws the same numbers.

/** The generator's state: exactly four uint32 words, advanced in place. */
export type RngState = Uint32Array;

/** Expands a seed (any safe integer) into a state with splitmix32, then discards the first outputs. */
export function rng_seed(seed: number): RngState {
  let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000) >>> 0, 0x9e3779b9);
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) | 0;
    let t = x ^ (x >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    s[i] = t ^ (t >>> 15);
  }
  // A fresh state's first outputs are poorly mixed (sfc32's authors discard them too).
  for (let i = 0; i < 12; i++) rng_u32(s);
  return s;
}

/** The next uint32 (sfc32, Chris Doty-Humphrey's Small Fast Counting generator). */
export function rng_u32(s: RngState): number {
  const a = s[0], b = s[1], c = s[2], d = s[3];
  const t = (((a + b) | 0) + d) | 0;
  s[3] = (d + 1) | 0;
  s[0] = b ^ (b >>> 9);
  s[1] = (c + (c << 3)) | 0;
  s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
  return t >>> 0;
}

/** Uniform in [0, 1), 32 bits of resolution. */
export function rng_uniform(s: RngState): number {
  return rng_u32(s) / 0x1_0000_0000;
}

/** Uniform integer in [0, n) for n ≤ 2³², by multiply-high (bias below 2⁻³²·n, irrelevant here). */
export function rng_below(s: RngState, n: number): number {
  return Math.floor((rng_u32(s) / 0x1_0000_0000) * n);
}

/** Fisher–Yates shuffle of order[0..n) in place. */
export function rng_shuffle(s: RngState, order: Int32Array, n: number = order.length): void {
  for (let i = n - 1; i > 0; i--) {
    const j = rng_below(s, i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}
