// The model file: architecture, weights, input standardisation, target standardisation and the
// service's JSON metadata (class labels...), in a compact binary that round-trips bit for bit.
//
// Layout (little-endian): "MLPM" | u32 version = 1 | u32 n, UTF-8 JSON {network, meta}, pad to 4 |
// u32 flags (bit 0: mean and std present, bit 1: targetMean and targetStd present) |
// u32 paramCount | f32 params (spec.ts's layout: all W⁽ˡ⁾, then all b⁽ˡ⁾, each 16-byte aligned) |
// [f32 mean, f32 std: inputs each] | [f32 targetMean, f32 targetStd: outputs each] | u32 CRC-32.
import { byteReader, byteWriter } from './binary.js';
import { EngineError } from './errors.js';
import { canonicalNetwork, paramLayout, validateNetwork } from './spec.js';
import type { NetworkSpec } from './types.js';

export interface Model {
  network: NetworkSpec;
  /** Any JSON value the service keeps with the model (class labels, feature names); null when none. */
  meta: unknown;
  /** paramLayout(network).paramCount values: all weights W⁽¹⁾…W⁽ᴸ⁾, then all biases. */
  params: Float32Array;
  /**
   * Input standardisation, one per input: x is used as (x − mean)/std (0 where std = 0). A trainer
   * exports the scale it actually trained with (its robust std, see TrainingData), so a predictor
   * applies the same rule by applying this one.
   */
  mean: Float32Array | null;
  std: Float32Array | null;
  /** Regression: the network predicts (t − targetMean)/targetStd; one per output. */
  targetMean: Float32Array | null;
  targetStd: Float32Array | null;
}

const MAGIC = 'MLPM';
const VERSION = 1;
const HAS_STANDARDISATION = 1;
const HAS_TARGET_STANDARDISATION = 2;

const invalidModel = (field: string | null, message: string) => new EngineError('invalid_model', field, message);

/** validateNetwork, reporting through 'invalid_model' and a field path under "network.". */
function validateModelNetwork(network: NetworkSpec): void {
  try {
    validateNetwork(network);
  } catch (e) {
    if (e instanceof EngineError) throw invalidModel(`network.${e.field}`, `the model's network is invalid: ${e.message}`);
    throw e;
  }
}

/** Checks that a model's arrays fit its network; throws EngineError 'invalid_model'. */
export function validateModel(model: Model): void {
  validateModelNetwork(model.network);
  const { inputs, outputs } = model.network;
  const check = (a: Float32Array | null, n: number, field: string) => {
    if (a !== null && (!(a instanceof Float32Array) || a.length !== n)) {
      throw invalidModel(field, `${field} must be a Float32Array of ${n} values`);
    }
  };
  if (!(model.params instanceof Float32Array)) throw invalidModel('params', 'params must be a Float32Array');
  check(model.params, paramLayout(model.network).paramCount, 'params');
  if ((model.mean === null) !== (model.std === null)) throw invalidModel('std', 'a model has both mean and std, or neither');
  if ((model.targetMean === null) !== (model.targetStd === null)) {
    throw invalidModel('targetStd', 'a model has both targetMean and targetStd, or neither');
  }
  check(model.mean, inputs, 'mean');
  check(model.std, inputs, 'std');
  check(model.targetMean, outputs, 'targetMean');
  check(model.targetStd, outputs, 'targetStd');
}

export function encodeModel(model: Model): Uint8Array {
  validateModel(model);
  let json: string;
  try {
    json = JSON.stringify({ network: canonicalNetwork(model.network), meta: model.meta ?? null });
  } catch (e) {
    throw invalidModel('meta', `meta must be JSON-serialisable: ${(e as Error).message}`);
  }
  const w = byteWriter(MAGIC, VERSION);
  w.text(json);
  w.u32((model.mean !== null ? HAS_STANDARDISATION : 0) | (model.targetMean !== null ? HAS_TARGET_STANDARDISATION : 0));
  w.u32(model.params.length);
  w.f32s(model.params);
  if (model.mean !== null) {
    w.f32s(model.mean);
    w.f32s(model.std!);
  }
  if (model.targetMean !== null) {
    w.f32s(model.targetMean);
    w.f32s(model.targetStd!);
  }
  return w.finish();
}

/** Decodes and validates model bytes; anything malformed throws EngineError 'invalid_model'. */
export function decodeModel(bytes: Uint8Array): Model {
  const r = byteReader(bytes, MAGIC, [VERSION], 'invalid_model', 'model');
  const text = r.text('network');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw invalidModel('network', 'the model header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || !('network' in header)) {
    throw invalidModel('network', 'the model header has no network');
  }
  const { network, meta } = header as { network: NetworkSpec; meta?: unknown };
  validateModelNetwork(network);
  const flags = r.u32('flags');
  if ((flags & ~(HAS_STANDARDISATION | HAS_TARGET_STANDARDISATION)) !== 0) {
    throw invalidModel('flags', `the model has unknown flags ${flags}`);
  }
  const paramCount = r.u32('params');
  const expected = paramLayout(network).paramCount;
  if (paramCount !== expected) {
    throw invalidModel('params', `the model holds ${paramCount} parameters but its network needs ${expected}`);
  }
  const params = r.f32s(paramCount, 'params');
  const standardised = (flags & HAS_STANDARDISATION) !== 0;
  const mean = standardised ? r.f32s(network.inputs, 'mean') : null;
  const std = standardised ? r.f32s(network.inputs, 'std') : null;
  const targetStandardised = (flags & HAS_TARGET_STANDARDISATION) !== 0;
  const targetMean = targetStandardised ? r.f32s(network.outputs, 'targetMean') : null;
  const targetStd = targetStandardised ? r.f32s(network.outputs, 'targetStd') : null;
  r.end();
  return { network: canonicalNetwork(network), meta: meta ?? null, params, mean, std, targetMean, targetStd };
}
