// Checks a network spec, a training spec and the rows against each other before any buffer exists,
// and lays out the parameters: one flat vector, all weights W⁽¹⁾…W⁽ᴸ⁾ first, then all biases.
import { invalidData, invalidSpec } from './errors.js';
import type { NetworkSpec, OptimizerName, TrainingData, TrainingSpec } from './types.js';

const HIDDEN_ACTIVATIONS = ['sigmoid', 'tanh', 'relu'] as const;
const OUTPUT_ACTIVATIONS = ['sigmoid', 'softmax', 'identity'] as const;
const LOSSES = ['squared_error', 'binary_cross_entropy', 'categorical_cross_entropy'] as const;

/**
 * What an absent optional training field stands for. An absent optimizer is 'sgd', so a spec written
 * before Adam existed trains as it did; Adam's constants are Kingma & Ba's (and PyTorch's, Keras's).
 */
export const TRAINING_DEFAULTS: {
  optimizer: OptimizerName; beta1: number; beta2: number; epsilon: number; clipNorm: number | null;
} = { optimizer: 'sgd', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, clipNorm: null };

/** A training spec with every optional field filled in from TRAINING_DEFAULTS. */
export type ResolvedTraining = Required<TrainingSpec>;

/** The spec's own fields, in a fixed order, each optional one filled in; call after validateTraining. */
export function resolveTraining(t: TrainingSpec): ResolvedTraining {
  const d = TRAINING_DEFAULTS;
  return {
    batchSize: t.batchSize, epochs: t.epochs, optimizer: t.optimizer ?? d.optimizer, learningRate: t.learningRate,
    momentum: t.momentum, nesterov: t.nesterov,
    beta1: t.beta1 ?? d.beta1, beta2: t.beta2 ?? d.beta2, epsilon: t.epsilon ?? d.epsilon,
    clipNorm: t.clipNorm ?? d.clipNorm,
    decay: t.decay, decayPer: t.decayPer, l2: t.l2, seed: t.seed, validationSplit: t.validationSplit,
    earlyStopping: t.earlyStopping === null ? null : { patience: t.earlyStopping.patience, minDelta: t.earlyStopping.minDelta },
  };
}

/** Beyond this a single buffer passes 64 MB and training would take days: almost surely a typo. */
export const MAX_PARAMS = 1 << 24;
export const MAX_BATCH = 1 << 16;

/** Where W⁽ˡ⁾ and b⁽ˡ⁾ sit in the flat parameter vector (the same layout serves gradients and velocities). */
export interface ParamLayout {
  /** n⁽⁰⁾ … n⁽ᴸ⁾: inputs, each hidden layer's units, outputs. */
  sizes: number[];
  /** Start of W⁽ˡ⁾ (n⁽ˡ⁾ × n⁽ˡ⁻¹⁾, row-major) for l = 1…L; index 0 is unused. */
  weightOffset: number[];
  /** Start of b⁽ˡ⁾ (n⁽ˡ⁾) for l = 1…L; index 0 is unused. */
  biasOffset: number[];
  /** Weights occupy [0, weightCount): the range L2 decays. Biases follow. */
  weightCount: number;
  paramCount: number;
}

// Every view starts on a multiple of 4 floats (16 bytes) so SIMD loads in a kernel stay aligned;
// the padding holds zeros whose gradient is zero, so it stays zero.
const align4 = (n: number) => (n + 3) & ~3;

/** n⁽⁰⁾ … n⁽ᴸ⁾: inputs, each hidden layer's units, outputs. */
export function layerSizes(network: NetworkSpec): number[] {
  return [network.inputs, ...network.hidden.map((h) => h.units), network.outputs];
}

export function paramLayout(network: NetworkSpec): ParamLayout {
  const sizes = layerSizes(network);
  const L = sizes.length - 1;
  const weightOffset = [0];
  const biasOffset = [0];
  let offset = 0;
  for (let l = 1; l <= L; l++) {
    weightOffset.push(offset);
    offset = align4(offset + sizes[l] * sizes[l - 1]);
  }
  const weightCount = offset;
  for (let l = 1; l <= L; l++) {
    biasOffset.push(offset);
    offset = align4(offset + sizes[l]);
  }
  return { sizes, weightOffset, biasOffset, weightCount, paramCount: offset };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkInteger(v: unknown, field: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidSpec(field, `${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
}

/** A finite number with min ≤ v, and v < max (or v ≤ max when maxInclusive). */
function checkNumber(v: unknown, field: string, min: number, max: number, maxInclusive: boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (maxInclusive ? v > max : v >= max)) {
    const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}${maxInclusive ? ']' : ')'}`;
    throw invalidSpec(field, `${field} must be a finite number ${range}, got ${JSON.stringify(v)}`);
  }
}

function checkOneOf(v: unknown, allowed: readonly string[], field: string): void {
  if (typeof v !== 'string' || !allowed.includes(v)) {
    throw invalidSpec(field, `${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  }
}

export function validateNetwork(network: NetworkSpec): void {
  const n: unknown = network;
  if (!isRecord(n)) throw invalidSpec('network', 'the network spec must be an object');
  checkInteger(n.inputs, 'inputs', 1, MAX_PARAMS);
  if (!Array.isArray(n.hidden)) throw invalidSpec('hidden', 'hidden must be an array of layers (it may be empty)');
  n.hidden.forEach((h: unknown, i: number) => {
    if (!isRecord(h)) throw invalidSpec(`hidden[${i}]`, `hidden[${i}] must be an object with units, activation and dropout`);
    checkInteger(h.units, `hidden[${i}].units`, 1, MAX_PARAMS);
    checkOneOf(h.activation, HIDDEN_ACTIVATIONS, `hidden[${i}].activation`);
    checkNumber(h.dropout, `hidden[${i}].dropout`, 0, 1, false);
  });
  checkInteger(n.outputs, 'outputs', 1, MAX_PARAMS);
  checkOneOf(n.output, OUTPUT_ACTIVATIONS, 'output');
  checkOneOf(n.loss, LOSSES, 'loss');

  // The cross-entropies' output delta simplifies to ŷ − y only with their own output activation.
  if (network.loss === 'categorical_cross_entropy' && network.output !== 'softmax') {
    throw invalidSpec('loss', `loss 'categorical_cross_entropy' needs a softmax output, but output is '${network.output}'; ` +
      `use binary_cross_entropy with a sigmoid output, or squared_error`);
  }
  if (network.loss === 'binary_cross_entropy' && network.output !== 'sigmoid') {
    throw invalidSpec('loss', `loss 'binary_cross_entropy' needs a sigmoid output, but output is '${network.output}'; ` +
      `use categorical_cross_entropy with a softmax output, or squared_error`);
  }
  if (network.output === 'softmax' && network.outputs < 2) {
    throw invalidSpec('outputs', 'a softmax output needs at least 2 outputs, one per class; ' +
      'for two classes use 1 sigmoid output with binary_cross_entropy');
  }
  const { paramCount } = paramLayout(network);
  if (paramCount > MAX_PARAMS) {
    throw invalidSpec('hidden', `the network has ${paramCount} parameters, more than the ${MAX_PARAMS} allowed; use fewer hidden units`);
  }
}

export function validateTraining(training: TrainingSpec): void {
  const t: unknown = training;
  if (!isRecord(t)) throw invalidSpec('training', 'the training spec must be an object');
  checkInteger(t.batchSize, 'batchSize', 1, MAX_BATCH);
  checkInteger(t.epochs, 'epochs', 1, 1_000_000);
  if (t.optimizer !== undefined) checkOneOf(t.optimizer, ['sgd', 'adam'], 'optimizer');
  checkNumber(t.learningRate, 'learningRate', Number.MIN_VALUE, Infinity, true);
  // momentum and nesterov are SGD's, and still checked under Adam (which ignores them) so that a
  // typo is caught whichever optimizer is chosen.
  checkNumber(t.momentum, 'momentum', 0, 1, false);
  if (typeof t.nesterov !== 'boolean') throw invalidSpec('nesterov', 'nesterov must be true or false');
  if (t.beta1 !== undefined) checkNumber(t.beta1, 'beta1', 0, 1, false);
  if (t.beta2 !== undefined) checkNumber(t.beta2, 'beta2', 0, 1, false);
  if (t.epsilon !== undefined) checkNumber(t.epsilon, 'epsilon', Number.MIN_VALUE, Infinity, true);
  if (t.clipNorm !== undefined && t.clipNorm !== null) checkNumber(t.clipNorm, 'clipNorm', Number.MIN_VALUE, Infinity, true);
  checkNumber(t.decay, 'decay', 0, Infinity, true);
  checkOneOf(t.decayPer, ['epoch', 'step'], 'decayPer');
  checkNumber(t.l2, 'l2', 0, Infinity, true);
  checkInteger(t.seed, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  checkNumber(t.validationSplit, 'validationSplit', 0, 1, false);
  const es = t.earlyStopping;
  if (es !== null) {
    if (!isRecord(es)) throw invalidSpec('earlyStopping', 'earlyStopping must be null or { patience, minDelta }');
    checkInteger(es.patience, 'earlyStopping.patience', 1, 1_000_000);
    checkNumber(es.minDelta, 'earlyStopping.minDelta', 0, Infinity, true);
    if (training.validationSplit === 0) {
      throw invalidSpec('earlyStopping', 'earlyStopping watches the validation loss: set validationSplit > 0 (e.g. 0.1)');
    }
  }
}

const isFloatArray = (v: unknown): v is Float32Array => v instanceof Float32Array;

function checkLength(v: ArrayLike<number>, expected: number, field: string, what: string): void {
  if (v.length !== expected) {
    throw invalidData(field, `${field} has ${v.length} values but ${what} needs ${expected}`);
  }
}

/** Throws invalid_data naming the first NaN or ±∞ in v as field[i], with describe(i) saying where it is. */
export function checkFinite(v: Float32Array, field: string, describe: (i: number) => string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw invalidData(`${field}[${i}]`, `${field}[${i}] (${describe(i)}) is ${v[i]}; every value must be finite`);
  }
}

/** Checks the rows against an already valid network. Returns the number of classes, or 0 for regression. */
export function validateData(network: NetworkSpec, data: TrainingData): number {
  const d: unknown = data;
  if (!isRecord(d)) throw invalidData('data', 'the training data must be an object');
  if (typeof data.rows !== 'number' || !Number.isInteger(data.rows) || data.rows < 1) {
    throw invalidData('rows', `rows must be a positive integer, got ${JSON.stringify(data.rows)}`);
  }
  if (data.features !== network.inputs) {
    throw invalidData('features', `the data has ${data.features} features but the network's inputs is ${network.inputs}; they must match`);
  }
  const { rows, features } = data;
  if (!(data.x instanceof Float32Array) && !(data.x instanceof Uint8Array)) {
    throw invalidData('x', 'x must be a Float32Array or a Uint8Array of rows × features values');
  }
  checkLength(data.x, rows * features, 'x', `${rows} rows × ${features} features`);
  if (data.x instanceof Float32Array) {
    checkFinite(data.x, 'x', (i) => `row ${Math.floor(i / features)}, feature ${i % features}`);
  }
  if ((data.mean === null) !== (data.std === null)) {
    throw invalidData(data.mean === null ? 'mean' : 'std', 'give both mean and std for standardisation, or neither');
  }
  if (data.mean !== null && data.std !== null) {
    if (!isFloatArray(data.mean)) throw invalidData('mean', 'mean must be a Float32Array');
    if (!isFloatArray(data.std)) throw invalidData('std', 'std must be a Float32Array');
    checkLength(data.mean, features, 'mean', `${features} features`);
    checkLength(data.std, features, 'std', `${features} features`);
    checkFinite(data.mean, 'mean', (i) => `feature ${i}`);
    checkFinite(data.std, 'std', (i) => `feature ${i}`);
    const negative = data.std.findIndex((s) => s < 0);
    if (negative >= 0) throw invalidData(`std[${negative}]`, `std[${negative}] is negative; a standard deviation is ≥ 0`);
  }

  if ((data.labels === null) === (data.targets === null)) {
    throw invalidData('labels', 'give labels (classification) or targets (regression): exactly one of them');
  }
  if (data.labels !== null) {
    if (network.output === 'identity') {
      throw invalidSpec('output', "classification needs a softmax or sigmoid output, not output 'identity'");
    }
    if (data.targetMean !== null || data.targetStd !== null) {
      throw invalidData('targetMean', 'targetMean and targetStd are for regression targets; leave them null with labels');
    }
    if (!(data.labels instanceof Int32Array)) throw invalidData('labels', 'labels must be an Int32Array of class indices');
    checkLength(data.labels, rows, 'labels', `${rows} rows`);
    const classes = network.outputs === 1 ? 2 : network.outputs;
    for (let i = 0; i < rows; i++) {
      const c = data.labels[i];
      if (c < 0 || c >= classes) {
        throw invalidData(`labels[${i}]`, `labels[${i}] is ${c} but the network has ${network.outputs} output(s), ` +
          `so labels run from 0 to ${classes - 1}`);
      }
    }
    return classes;
  }

  const targets = data.targets!;
  if (network.output === 'softmax') {
    throw invalidSpec('output', "output 'softmax' predicts classes: give labels, or use an 'identity' output for regression");
  }
  if (network.loss === 'binary_cross_entropy') {
    throw invalidSpec('loss', "loss 'binary_cross_entropy' is for labels 0/1; regression uses squared_error");
  }
  if (!isFloatArray(targets)) throw invalidData('targets', 'targets must be a Float32Array of rows × outputs values');
  checkLength(targets, rows * network.outputs, 'targets', `${rows} rows × ${network.outputs} outputs`);
  checkFinite(targets, 'targets', (i) => `row ${Math.floor(i / network.outputs)}, output ${i % network.outputs}`);
  if ((data.targetMean === null) !== (data.targetStd === null)) {
    throw invalidData(data.targetMean === null ? 'targetMean' : 'targetStd', 'give both targetMean and targetStd, or neither');
  }
  if (data.targetMean !== null && data.targetStd !== null) {
    if (!isFloatArray(data.targetMean)) throw invalidData('targetMean', 'targetMean must be a Float32Array');
    if (!isFloatArray(data.targetStd)) throw invalidData('targetStd', 'targetStd must be a Float32Array');
    checkLength(data.targetMean, network.outputs, 'targetMean', `${network.outputs} outputs`);
    checkLength(data.targetStd, network.outputs, 'targetStd', `${network.outputs} outputs`);
    checkFinite(data.targetMean, 'targetMean', (i) => `output ${i}`);
    checkFinite(data.targetStd, 'targetStd', (i) => `output ${i}`);
    const bad = data.targetStd.findIndex((s) => !(s > 0));
    if (bad >= 0) throw invalidData(`targetStd[${bad}]`, `targetStd[${bad}] is ${data.targetStd[bad]}; it must be > 0 (it divides the targets)`);
  }
  return 0;
}

/** A copy holding only the spec's own fields, in a fixed order: what models and states store. */
export function canonicalNetwork(network: NetworkSpec): NetworkSpec {
  return {
    inputs: network.inputs,
    hidden: network.hidden.map((h) => ({ units: h.units, activation: h.activation, dropout: h.dropout })),
    outputs: network.outputs,
    output: network.output,
    loss: network.loss,
  };
}
