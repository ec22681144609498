// From a search space to trials: the grid's combinations or seeded random draws, and each trial's job
// request (the base with the trial's values set at their paths). No I/O.
import { rng_seed, rng_uniform } from '../../engine/rng.js';
import type { SpaceEntry } from './spec.js';

export type Params = Record<string, unknown>;

const isRange = (e: SpaceEntry): e is Exclude<SpaceEntry, unknown[]> => !Array.isArray(e);

/** How many trials a grid holds (Infinity once past `limit`, to stop counting). */
export function gridSize(space: Record<string, SpaceEntry>, limit: number): number {
  let n = 1;
  for (const e of Object.values(space)) {
    n *= isRange(e) ? Infinity : e.length;
    if (n > limit) return Infinity;
  }
  return n;
}

/** Every combination, in order: the first path varies slowest, the last fastest. */
export function grid(space: Record<string, SpaceEntry>): Params[] {
  let trials: Params[] = [{}];
  for (const [path, entry] of Object.entries(space)) {
    const values = entry as unknown[];
    trials = trials.flatMap((t) => values.map((v) => ({ ...t, [path]: v })));
  }
  return trials;
}

/** `n` draws from one generator seeded by `seed`: the same seed draws the same trials. */
export function random(space: Record<string, SpaceEntry>, n: number, seed: number): Params[] {
  const rng = rng_seed(seed);
  const trials: Params[] = [];
  for (let i = 0; i < n; i++) {
    const t: Params = {};
    for (const [path, e] of Object.entries(space)) {
      const u = rng_uniform(rng);
      if (!isRange(e)) t[path] = e[Math.min(e.length - 1, Math.floor(u * e.length))];
      else {
        const v = e.log ? Math.exp(Math.log(e.min) + u * (Math.log(e.max) - Math.log(e.min))) : e.min + u * (e.max - e.min);
        t[path] = e.integer ? Math.round(v) : v;
      }
    }
    trials.push(t);
  }
  return trials;
}

/** The base with each value set at its path (containers made as needed: an array where the next key is an index). */
export function applyParams(base: Record<string, unknown>, params: Params): Record<string, unknown> {
  const spec = structuredClone(base);
  for (const [path, value] of Object.entries(params)) {
    const keys = path.split('.');
    let node = spec as Record<string, unknown>;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) {
        node[key] = structuredClone(value);
        return;
      }
      const next = node[key];
      if (next === null || typeof next !== 'object') node[key] = /^\d+$/.test(keys[i + 1]) ? [] : {};
      node = node[key] as Record<string, unknown>;
    });
  }
  return spec;
}

/** "hidden.0.units=64, optimizer.learningRate=0.01": a trial's values as a person reads them. */
export function describeParams(params: Params): string {
  return Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
}
