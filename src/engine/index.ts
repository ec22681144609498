// The engine's public surface: train a multi-layer perceptron, save and resume its training, encode and
// decode models, and predict. Pure computation: no I/O, nothing imported from the service.
export { createTrainer } from './train.js';
export type { Trainer, TrainerOptions, RunEpochHooks } from './train.js';
export { encodeModel, decodeModel } from './model.js';
export type { Model } from './model.js';
export { createPredictor } from './predict.js';
export type { Predictor, PredictorOptions } from './predict.js';
export { EngineError } from './errors.js';
export { regression_scores } from './metrics.js';
export type { EngineErrorCode } from './errors.js';
export type { Kernels } from './kernels/index.js';
export type * from './types.js';
export { validateNetwork, validateTraining } from './spec.js';
