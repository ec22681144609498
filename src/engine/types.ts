// The engine's vocabulary: what a network is, how it is trained, and what it reports.
// Notation follows the seed tutorial: layer l computes a⁽ˡ⁾ = W⁽ˡ⁾ z⁽ˡ⁻¹⁾ + b⁽ˡ⁾, z⁽ˡ⁾ = h(a⁽ˡ⁾),
// z⁽⁰⁾ = x, ŷ = z⁽ᴸ⁾; W⁽ˡ⁾ is units(l) × units(l−1), row-major, w⁽ˡ⁾ⱼᵢ joins neuron i of l−1 to j of l.

export type HiddenActivation = 'sigmoid' | 'tanh' | 'relu';
export type OutputActivation = 'sigmoid' | 'softmax' | 'identity';
export type LossName = 'squared_error' | 'binary_cross_entropy' | 'categorical_cross_entropy';

export interface HiddenLayerSpec {
  units: number;
  activation: HiddenActivation;
  /** Probability of dropping a unit of this layer during training (inverted dropout), 0 ≤ p < 1. */
  dropout: number;
}

export interface NetworkSpec {
  inputs: number;
  hidden: HiddenLayerSpec[];
  /** Classes for softmax, 1 for a binary sigmoid output, the number of targets for regression. */
  outputs: number;
  output: OutputActivation;
  loss: LossName;
}

export type OptimizerName = 'sgd' | 'adam';

export interface TrainingSpec {
  batchSize: number;
  epochs: number;
  /**
   * 'sgd' (the default when absent): minibatch SGD with momentum and optionally Nesterov's look-ahead.
   * 'adam': Kingma & Ba's Adam with bias correction (momentum and nesterov are then unused).
   * Optional, like beta1, beta2, epsilon and clipNorm, so that a spec written before they existed
   * still means what it meant; see TRAINING_DEFAULTS for what an absent field stands for.
   */
  optimizer?: OptimizerName;
  /** η: the step size of either optimizer, μ in the seed's notation. */
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  /** Adam's decay rates of the first and second moment estimates, 0 ≤ β < 1 (0.9 and 0.999 when absent). */
  beta1?: number;
  beta2?: number;
  /** Adam's ε added to √v̂ (1e-8 when absent). */
  epsilon?: number;
  /**
   * When set, each minibatch's whole gradient (L2 term included) is scaled down to this Euclidean
   * norm if it is longer: g ← g·min(1, clipNorm/‖g‖). null (the default) leaves gradients alone.
   */
  clipNorm?: number | null;
  /** μₖ₊₁ = μₖ / (1 + decay), once per epoch or once per update. */
  decay: number;
  decayPer: 'epoch' | 'step';
  /** L2 weight decay λ: adds λ·w to ∂C/∂w (weights only, not biases). */
  l2: number;
  seed: number;
  /** Fraction of rows held out for validation, 0 ≤ f < 1, chosen once from the seed. */
  validationSplit: number;
  earlyStopping: { patience: number; minDelta: number } | null;
}

/** Training rows as the engine reads them; nothing is copied up front. */
export interface TrainingData {
  rows: number;
  features: number;
  /** rows × features, row-major, in the units uploaded. */
  x: Float32Array | Uint8Array;
  /**
   * Per-feature standardisation applied as rows are gathered: (x − mean)/s′ with the robust scale
   * s′ = max(std, (max − min)/10) over the rows (mlp.ts's robust_std), so no training value lands
   * beyond ±10; 0 where s′ = 0 (a constant column). The exported model's std is s′.
   */
  mean: Float32Array | null;
  std: Float32Array | null;
  /** Classification: class index per row (0/1 for a binary sigmoid output). */
  labels: Int32Array | null;
  /** Regression: rows × outputs, in the units uploaded. */
  targets: Float32Array | null;
  /** Regression: when given, the network trains on (t − mean)/std and reports errors in uploaded units. */
  targetMean: Float32Array | null;
  targetStd: Float32Array | null;
}

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  /** Mean cost per row over the epoch's training rows (including the L2 term), in trained units. */
  loss: number;
  valLoss: number | null;
  /** Classification only. */
  accuracy: number | null;
  valAccuracy: number | null;
  /** Regression only, in uploaded units (R² is unit-free). */
  mse: number | null;
  mae: number | null;
  r2: number | null;
  valMse: number | null;
  valMae: number | null;
  valR2: number | null;
  /** The learning rate in force when the epoch ended (after per-step decay, before per-epoch decay). */
  learningRate: number;
  durationMs: number;
  samplesPerSec: number;
}
