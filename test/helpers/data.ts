// Small datasets made on the spot from a seeded generator, so every test knows what it uploads.

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

export interface Table { features: number[][]; labels: (string | number)[] }

/** Gaussian blobs around well-separated centres: a network should reach high accuracy quickly. */
export function blobs(rows: number, features: number, classes: string[], seed = 1): Table {
  const r = rng(seed);
  const centres = classes.map(() => Array.from({ length: features }, () => (r() - 0.5) * 8));
  const out: Table = { features: [], labels: [] };
  for (let i = 0; i < rows; i++) {
    const c = i % classes.length;
    out.features.push(centres[c].map((m) => +(m + (r() - 0.5) * 1.5).toFixed(4)));
    out.labels.push(classes[c]);
  }
  return out;
}

/** y = 3·x₀ − 2·x₁ + 0.5·x₂ + 10 with a little noise. */
export function linear(rows: number, seed = 2): Table {
  const r = rng(seed);
  const out: Table = { features: [], labels: [] };
  for (let i = 0; i < rows; i++) {
    const x = [r() * 4 - 2, r() * 4 - 2, r() * 4 - 2];
    out.features.push(x.map((v) => +v.toFixed(4)));
    out.labels.push(+(3 * x[0] - 2 * x[1] + 0.5 * x[2] + 10 + (r() - 0.5) * 0.1).toFixed(4));
  }
  return out;
}

export function toCsv(t: Table, names?: string[]): string {
  const width = t.features[0].length;
  const header = [...(names ?? Array.from({ length: width }, (_, i) => `f${i}`)), 'label'];
  return [header.join(','), ...t.features.map((row, i) => [...row, t.labels[i]].join(','))].join('\n') + '\n';
}

const SIZES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/** An IDX file: magic 00 00 <dtype> <ndims>, big-endian uint32 dims, big-endian values. */
export function idxBytes(dtype: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const size = SIZES[dtype];
  const out = new Uint8Array(4 + 4 * dims.length + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0, 0, dtype, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const at = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++) {
    const o = at + i * size;
    if (dtype === 0x08) view.setUint8(o, values[i]);
    else if (dtype === 0x09) view.setInt8(o, values[i]);
    else if (dtype === 0x0b) view.setInt16(o, values[i]);
    else if (dtype === 0x0c) view.setInt32(o, values[i]);
    else if (dtype === 0x0d) view.setFloat32(o, values[i]);
    else view.setFloat64(o, values[i]);
  }
  return out;
}

/** An unsigned-byte IDX file (MNIST's images and labels). */
export const idx = (dims: number[], data: Uint8Array): Buffer => Buffer.from(idxBytes(0x08, dims, data));
