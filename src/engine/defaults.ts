// What a job that names nothing but its data should train with, chosen by measurement: bench/defaults.ts
// over Fashion-MNIST and the small sets bundled with scikit-learn (README.md, "Learning quality", has the
// table). The engine never applies these by itself: an absent TrainingSpec field keeps the meaning it
// always had (spec.ts's TRAINING_DEFAULTS). The service fills a job's spec from these.
import type { HiddenLayerSpec, OptimizerName } from './types.js';

export const RECOMMENDED_DEFAULTS: {
  hidden: HiddenLayerSpec[];
  optimizer: OptimizerName;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  clipNorm: number | null;
  /** For optimizer 'sgd' only: its learning rate when none is given (0.05 with momentum 0.9 diverged on Fashion-MNIST). */
  sgdLearningRate: number;
  momentum: number;
  nesterov: boolean;
  decay: number;
  decayPer: 'epoch' | 'step';
  l2: number;
  batchSize: number;
  validationSplit: number;
  earlyStopping: null;
} = {
  hidden: [{ units: 128, activation: 'relu', dropout: 0 }],
  optimizer: 'adam',
  learningRate: 0.001,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  clipNorm: null,
  sgdLearningRate: 0.01,
  momentum: 0.9,
  nesterov: false,
  decay: 0,
  decayPer: 'epoch',
  l2: 0,
  batchSize: 32,
  // Holding rows out for early stopping cost 1-3 points on the small tables (iris keeps 11 rows).
  validationSplit: 0,
  earlyStopping: null,
};

/** Rows visited by a default run, in all its epochs; see recommendedEpochs. */
export const EPOCH_ROW_BUDGET = 600_000;
export const MIN_EPOCHS = 10;
export const MAX_EPOCHS = 100;

/**
 * Epochs for a run on `trainingRows` rows (after any validation split): about EPOCH_ROW_BUDGET rows
 * visited, between MIN_EPOCHS and MAX_EPOCHS. One fixed count cannot serve both ends: Fashion-MNIST
 * (60,000 rows) reaches 0.88 in 10 epochs, while iris (112 rows, 4 minibatches an epoch) needs a few
 * hundred Adam steps, and past 100 epochs the small regression set only overfits.
 */
export function recommendedEpochs(trainingRows: number): number {
  return Math.min(MAX_EPOCHS, Math.max(MIN_EPOCHS, Math.ceil(EPOCH_ROW_BUDGET / Math.max(1, trainingRows))));
}
