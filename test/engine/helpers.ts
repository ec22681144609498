// Small generated data sets and default specs for the engine tests.
import { rng_seed, rng_uniform, rng_below } from '../../src/engine/rng.js';
import type { NetworkSpec, TrainingData, TrainingSpec, EpochMetrics } from '../../src/engine/types.js';

export function trainingSpec(overrides: Partial<TrainingSpec> = {}): TrainingSpec {
  return {
    batchSize: 8, epochs: 5, learningRate: 0.1, momentum: 0, nesterov: false, decay: 0, decayPer: 'epoch',
    l2: 0, seed: 1, validationSplit: 0, earlyStopping: null, ...overrides,
  };
}

/** Three gaussian-ish blobs in `features` dimensions, labels 0..2, standardisation supplied. */
export function blobs(rows: number, features = 4, seed = 3): TrainingData {
  const rng = rng_seed(seed);
  const x = new Float32Array(rows * features);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = rng_below(rng, 3);
    labels[r] = c;
    for (let j = 0; j < features; j++) x[r * features + j] = 10 + (j % 3 === c ? 4 : 0) + 3 * (rng_uniform(rng) - 0.5) * 2;
  }
  const mean = new Float32Array(features).fill(11.3);
  const std = new Float32Array(features).fill(2.5);
  return { rows, features, x, mean, std, labels, targets: null, targetMean: null, targetStd: null };
}

export const blobNetwork = (dropout = 0, features = 4): NetworkSpec => ({
  inputs: features, hidden: [{ units: 6, activation: 'tanh', dropout }, { units: 5, activation: 'relu', dropout }],
  outputs: 3, output: 'softmax', loss: 'categorical_cross_entropy',
});

/** t = 30·x₀ − 20·x₁ + 100 + noise, in units far from standardised, with targetMean/targetStd given. */
export function linear(rows: number, seed = 5): TrainingData {
  const rng = rng_seed(seed);
  const x = new Float32Array(rows * 2);
  const targets = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    x[2 * r] = rng_uniform(rng) * 4 - 2;
    x[2 * r + 1] = rng_uniform(rng) * 4 - 2;
    targets[r] = 30 * x[2 * r] - 20 * x[2 * r + 1] + 100 + 4 * (rng_uniform(rng) - 0.5);
  }
  return {
    rows, features: 2, x, mean: null, std: null, labels: null, targets,
    targetMean: new Float32Array([100]), targetStd: new Float32Array([40]),
  };
}

/** The metrics without the wall-clock fields, which legitimately differ between identical runs. */
export function withoutTiming(m: EpochMetrics | null) {
  if (m === null) return null;
  const { durationMs: _d, samplesPerSec: _s, ...rest } = m;
  return rest;
}
