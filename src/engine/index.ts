// The engine's public surface: train a multi-layer perceptron, save and resume its training, encode and
// decode models, and predict. Pure computation: no I/O, nothing imported from the service.
// What is exported here is named in camelCase like the rest of the service's TypeScript; inside the
// engine the layer and loop functions keep llm.c's snake_case (dense_forward, mlp_backward, …) so
// that they read like the C they were modelled on.
export { createTrainer, MAX_THREADS } from './train.js';
export { savedThreads } from './state.js';
export type { HelperThreads } from './parallel/data-parallel.js';
export type { Trainer, TrainerOptions, RunEpochHooks } from './train.js';
export { encodeModel, decodeModel } from './model.js';
export type { Model } from './model.js';
export { createPredictor } from './predict.js';
export type { Predictor, PredictorOptions } from './predict.js';
export { EngineError } from './errors.js';
export { RECOMMENDED_DEFAULTS, recommendedEpochs } from './defaults.js';
export { TRAINING_DEFAULTS } from './spec.js';
export { DIVERGENCE_FACTOR } from './train.js';
export { MAX_Z } from './mlp.js';
export { regressionScores } from './metrics.js';
export type { EngineErrorCode } from './errors.js';
export type { Kernels } from './kernels/index.js';
export type * from './types.js';
export { validateNetwork, validateTraining } from './spec.js';
export { exportOnnx, ONNX_INPUT, ONNX_PROBABILITIES, ONNX_VALUE, ONNX_OPSET, ONNX_IR_VERSION } from './export/onnx.js';
export { exportJson, JSON_EXPORT_FORMAT, JSON_EXPORT_VERSION } from './export/json.js';
export type { JsonExport } from './export/json.js';
