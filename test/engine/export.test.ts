// Exported models run elsewhere and answer as /v1/predict does: the ONNX file in onnxruntime-node and
// the JSON layout through a twenty-line reader that knows only its documentation, for
// every hidden activation and every output kind, with raw-unit inputs (standardisation inside, a
// constant feature included), equals the engine's predictor within 1e-5: absolutely for probabilities
// and values up to 1, relatively beyond. A float32 of 250 is only known to within 1.5e-5 (its ulp), and
// onnxruntime sums a Gemm in another order than our kernel, so values in uploaded units (targets of a
// few hundred here) differ in their last bit (1 ulp, ~1e-7 relative, seen); an absolute 1e-5 there would
// demand bit-identical arithmetic.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportJson, type JsonExport } from '../../src/engine/export/json.js';
import { exportOnnx, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSET } from '../../src/engine/export/onnx.js';
import { proto_finish, proto_int, proto_message, proto_string } from '../../src/engine/export/protobuf.js';
import { createPredictor, createTrainer, decodeModel, EngineError, type Model } from '../../src/engine/index.js';
import { rng_seed, rng_uniform } from '../../src/engine/rng.js';
import type { HiddenActivation, HiddenLayerSpec, NetworkSpec, TrainingData } from '../../src/engine/types.js';
import { linear, trainingSpec } from './helpers.js';

type OutputKind = 'softmax' | 'binary' | 'regression';
const FEATURES = 4;
const TOLERANCE = 1e-5;

/**
 * Rows in raw units far from standardised: x₀ around 100 (±30), x₁ in [−2, 2], x₂ constant (std 0, so
 * the model sees 0 there whatever is sent), x₃ a "pixel" in 0…255. Standardisation from the rows'
 * own mean and std; regression targets standardised as the service does.
 */
function rawRows(rows: number, kind: OutputKind, seed = 7): TrainingData {
  const rng = rng_seed(seed);
  const x = new Float32Array(rows * FEATURES);
  const labels = new Int32Array(rows);
  const targets = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const x0 = 100 + 60 * (rng_uniform(rng) - 0.5), x1 = 4 * rng_uniform(rng) - 2, x3 = Math.floor(256 * rng_uniform(rng));
    x.set([x0, x1, 7, x3], r * FEATURES);
    const s = (x0 - 100) / 15 + x1 - (x3 - 128) / 100;
    labels[r] = kind === 'softmax' ? (s < -0.7 ? 0 : s < 0.7 ? 1 : 2) : s > 0 ? 1 : 0;
    targets[r] = 30 * x1 - 0.5 * x0 + 0.1 * x3 + 250 + 2 * (rng_uniform(rng) - 0.5);
  }
  const mean = new Float32Array(FEATURES), std = new Float32Array(FEATURES);
  for (let j = 0; j < FEATURES; j++) {
    let sum = 0, sq = 0;
    for (let r = 0; r < rows; r++) sum += x[r * FEATURES + j];
    mean[j] = sum / rows;
    for (let r = 0; r < rows; r++) sq += (x[r * FEATURES + j] - mean[j]) ** 2;
    std[j] = Math.sqrt(sq / rows);
  }
  expect(std[2]).toBe(0);
  if (kind !== 'regression') {
    return { rows, features: FEATURES, x, mean, std, labels, targets: null, targetMean: null, targetStd: null };
  }
  let tSum = 0, tSq = 0;
  for (const t of targets) tSum += t;
  for (const t of targets) tSq += (t - tSum / rows) ** 2;
  return {
    rows, features: FEATURES, x, mean, std, labels: null, targets,
    targetMean: Float32Array.of(tSum / rows), targetStd: Float32Array.of(Math.sqrt(tSq / rows)),
  };
}

function networkFor(hidden: HiddenLayerSpec[], kind: OutputKind): NetworkSpec {
  if (kind === 'softmax') return { inputs: FEATURES, hidden, outputs: 3, output: 'softmax', loss: 'categorical_cross_entropy' };
  if (kind === 'binary') return { inputs: FEATURES, hidden, outputs: 1, output: 'sigmoid', loss: 'binary_cross_entropy' };
  return { inputs: FEATURES, hidden, outputs: 1, output: 'identity', loss: 'squared_error' };
}

const META: Record<OutputKind, unknown> = {
  softmax: { task: 'classification', classes: ['low', 'mid', 'high'], featureNames: ['a', 'b', 'c', 'd'] },
  binary: { task: 'classification', classes: ['no', 'yes'], featureNames: ['a', 'b', 'c', 'd'] },
  regression: { task: 'regression', classes: null, featureNames: ['a', 'b', 'c', 'd'], targetName: 't' },
};

/** A model trained for a few epochs (Adam, so every layer moves) and decoded as the service reads it. */
function trainedModel(hidden: HiddenLayerSpec[], kind: OutputKind): Model {
  const trainer = createTrainer(networkFor(hidden, kind),
    trainingSpec({ epochs: 8, optimizer: 'adam', learningRate: 0.01, seed: 3 }), rawRows(200, kind));
  while (!trainer.done) trainer.runEpoch();
  return decodeModel(trainer.exportModel(META[kind]));
}

/** Rows to predict: unseen rows from the same ranges, plus some beyond them and a changed constant feature. */
function queryRows(kind: OutputKind): { x: Float32Array; rows: number } {
  const fresh = rawRows(64, kind, 99).x as Float32Array;
  const odd = Float32Array.of(
    0, 0, 0, 0,
    160, 3, 7, 300,
    40, -3, -5, -20,
    100, 0, 1e6, 128, // the constant feature far off: std 0 makes it count for nothing
  );
  const x = new Float32Array(fresh.length + odd.length);
  x.set(fresh);
  x.set(odd, fresh.length);
  return { x, rows: x.length / FEATURES };
}

/** What /v1/predict answers from the predictor's output: a binary sigmoid's p becomes (1 − p, p). */
function servicePrediction(model: Model, x: Float32Array, rows: number): Float64Array {
  const out = createPredictor(model).predict(x, rows);
  if (model.network.output !== 'sigmoid' || model.network.outputs !== 1 || model.targetMean !== null) return Float64Array.from(out);
  const two = new Float64Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    two[2 * r] = 1 - out[r];
    two[2 * r + 1] = out[r];
  }
  return two;
}

/** The largest |actual − expected| / max(1, |expected|): an absolute difference for values up to 1. */
function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  return max;
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number): Promise<{ name: string; dims: readonly number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    expect(session.inputNames).toEqual([ONNX_INPUT]);
    expect(session.outputNames.length).toBe(1);
    const name = session.outputNames[0];
    const result = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [rows, FEATURES]) });
    return { name, dims: result[name].dims, data: result[name].data as Float32Array };
  } finally {
    await session.release();
  }
}

const layer = (activation: HiddenActivation, units = 6, dropout = 0): HiddenLayerSpec => ({ units, activation, dropout });
const ARCHITECTURES: [string, HiddenLayerSpec[]][] = [
  ['relu', [layer('relu')]],
  ['tanh', [layer('tanh')]],
  ['sigmoid', [layer('sigmoid')]],
  ['tanh → relu (dropout at training)', [layer('tanh', 7, 0.2), layer('relu', 5, 0.1)]],
  ['relu → sigmoid', [layer('relu', 5), layer('sigmoid', 4)]],
  ['no hidden layer', []],
];
const KINDS: OutputKind[] = ['softmax', 'binary', 'regression'];
const CASES = ARCHITECTURES.flatMap(([name, hidden]) => KINDS.map((kind) => [name, kind, hidden] as const));

describe('ONNX export, run in onnxruntime-node', () => {
  it.each(CASES)('hidden %s, %s output: equals the predictor within 1e-5', async (_, kind, hidden) => {
    const model = trainedModel(hidden, kind);
    const { x, rows } = queryRows(kind);
    const expected = servicePrediction(model, x, rows);
    const onnx = await runOnnx(exportOnnx(model), x, rows);

    const columns = kind === 'softmax' ? 3 : kind === 'binary' ? 2 : 1;
    expect(onnx.name).toBe(kind === 'regression' ? 'value' : 'probabilities');
    expect(onnx.dims).toEqual([rows, columns]);
    expect(maxDifference(onnx.data, expected)).toBeLessThanOrEqual(TOLERANCE);
    // Not trivially equal: the model learnt something, so the rows' answers differ.
    expect(new Set(Array.from(expected.subarray(0, 64 * columns), (v) => v.toFixed(3))).size).toBeGreaterThan(10);
  });

  it('holds at the service\'s default size: 784 pixels in 0…255, 128 ReLU units, 10 classes', async () => {
    // Longer sums (784 terms per unit) in another order than our kernel's: the case most likely to drift.
    const rows = 256, features = 784;
    const rng = rng_seed(5);
    const x = new Float32Array(rows * features);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      labels[r] = r % 10;
      for (let j = 0; j < features; j++) {
        // Mostly-dark images with a class-dependent bright band, and a border that is always 0.
        const border = j < 28 || j % 28 === 0;
        x[r * features + j] = border ? 0 : Math.floor(Math.abs(j / 78.4 - labels[r]) < 1 ? 255 * rng_uniform(rng) : 40 * rng_uniform(rng));
      }
    }
    const mean = new Float32Array(features), std = new Float32Array(features);
    for (let j = 0; j < features; j++) {
      let sum = 0, sq = 0;
      for (let r = 0; r < rows; r++) sum += x[r * features + j];
      mean[j] = sum / rows;
      for (let r = 0; r < rows; r++) sq += (x[r * features + j] - mean[j]) ** 2;
      std[j] = Math.sqrt(sq / rows);
    }
    const network: NetworkSpec = {
      inputs: features, hidden: [layer('relu', 128)], outputs: 10, output: 'softmax', loss: 'categorical_cross_entropy',
    };
    const trainer = createTrainer(network, trainingSpec({ epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.001 }),
      { rows, features, x, mean, std, labels, targets: null, targetMean: null, targetStd: null });
    while (!trainer.done) trainer.runEpoch();
    const model = decodeModel(trainer.exportModel());
    const expected = createPredictor(model).predict(x, rows);
    const session = await ort.InferenceSession.create(exportOnnx(model));
    const out = await session.run({ input: new ort.Tensor('float32', x, [rows, features]) });
    await session.release();
    expect(maxDifference(out.probabilities.data as Float32Array, expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('runs a model trained without standardisation, one row or many', async () => {
    const data = linear(150);
    const network: NetworkSpec = { inputs: 2, hidden: [layer('tanh', 8)], outputs: 1, output: 'identity', loss: 'squared_error' };
    const trainer = createTrainer(network, trainingSpec({ epochs: 10, learningRate: 0.02, momentum: 0.9 }), data);
    while (!trainer.done) trainer.runEpoch();
    const model = decodeModel(trainer.exportModel());
    expect(model.mean).toBeNull();
    const session = await ort.InferenceSession.create(exportOnnx(model));
    const x = (data.x as Float32Array).subarray(0, 40);
    const expected = createPredictor(model).predict(x, 20);
    for (const rows of [1, 20]) {
      const out = await session.run({ input: new ort.Tensor('float32', x.slice(0, rows * 2), [rows, 2]) });
      expect(out.value.dims).toEqual([rows, 1]);
      expect(maxDifference(out.value.data as Float32Array, expected.subarray(0, rows))).toBeLessThanOrEqual(TOLERANCE);
    }
    await session.release();
  });

  it('exports the engine\'s other pairings too: several sigmoid classes, a sigmoid regression', async () => {
    // The service makes neither (sigmoid means two classes there), but the engine trains both.
    const data = rawRows(200, 'softmax');
    const multi = createTrainer({ ...networkFor([layer('tanh')], 'softmax'), output: 'sigmoid', loss: 'squared_error' },
      trainingSpec({ epochs: 4, optimizer: 'adam', learningRate: 0.01 }), data);
    while (!multi.done) multi.runEpoch();
    const reg = rawRows(200, 'regression');
    const sigmoidRegression = createTrainer({ ...networkFor([layer('relu')], 'regression'), output: 'sigmoid' },
      trainingSpec({ epochs: 4, optimizer: 'adam', learningRate: 0.01 }), reg);
    while (!sigmoidRegression.done) sigmoidRegression.runEpoch();

    for (const [trainer, name, columns] of [[multi, 'probabilities', 3], [sigmoidRegression, 'value', 1]] as const) {
      const model = decodeModel(trainer.exportModel()); // no meta: the task comes from the target standardisation
      const { x, rows } = queryRows('softmax');
      const expected = createPredictor(model).predict(x, rows);
      const onnx = await runOnnx(exportOnnx(model), x, rows);
      expect(onnx.name).toBe(name);
      expect(onnx.dims).toEqual([rows, columns]);
      expect(maxDifference(onnx.data, expected)).toBeLessThanOrEqual(TOLERANCE);
      const fromJson = predictFromJson(JSON.parse(JSON.stringify(exportJson(model))) as JsonExport, x, rows);
      expect(maxDifference(fromJson, expected)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('declares ONNX IR 8, opset 13, the producer and the service metadata', async () => {
    const bytes = exportOnnx(trainedModel([layer('relu')], 'softmax'));
    // The ModelProto's first fields, as written: ir_version (field 1, varint) then opset_import (field 8).
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0x08, ONNX_IR_VERSION]);
    const opset = proto_message();
    proto_string(opset, 1, '');
    proto_int(opset, 2, ONNX_OPSET);
    const opsetBytes = proto_finish(opset);
    expect(Array.from(bytes.subarray(2, 4 + opsetBytes.length))).toEqual([0x42, opsetBytes.length, ...opsetBytes]);
    const text = new TextDecoder().decode(bytes);
    expect(text).toContain('mlp-service');
    expect(text).toContain('["low","mid","high"]');
    expect(text).toContain('["a","b","c","d"]');
  });

  it('refuses a model whose arrays do not fit its network', () => {
    const model = trainedModel([layer('relu')], 'binary');
    expect(() => exportOnnx({ ...model, params: model.params.subarray(1) })).toThrow(EngineError);
  });
});

/**
 * Predictions from the JSON export alone, in float64, following the steps its layout documents:
 * rows × columns (probabilities, two for a binary sigmoid, or values).
 */
function predictFromJson(exported: JsonExport, x: ArrayLike<number>, rows: number): number[] {
  const { preprocessing, layers, output, target } = exported;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let z = preprocessing.mean.map((m, j) => (x[r * exported.inputs + j] - m) * preprocessing.scale[j]);
    for (const { weights, biases, activation } of layers) {
      const a = weights.map((w, j) => w.reduce((s, wi, i) => s + wi * z[i], biases[j]));
      if (activation === 'softmax') {
        const max = Math.max(...a);
        const e = a.map((v) => Math.exp(v - max));
        const sum = e.reduce((s, v) => s + v, 0);
        z = e.map((v) => v / sum);
      } else {
        z = a.map((v) => activation === 'relu' ? Math.max(0, v) : activation === 'tanh' ? Math.tanh(v)
          : activation === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : v);
      }
    }
    if (output.binary) z = [1 - z[0], z[0]];
    if (target !== null) z = z.map((v, k) => v * target.std[k] + target.mean[k]);
    out.push(...z);
  }
  return out;
}

describe('JSON export', () => {
  it.each(CASES)('hidden %s, %s output: a reader of the layout equals the predictor within 1e-5', (_, kind, hidden) => {
    const model = trainedModel(hidden, kind);
    // Through text, as a client receives it.
    const exported = JSON.parse(JSON.stringify(exportJson(model))) as JsonExport;
    const { x, rows } = queryRows(kind);
    const expected = servicePrediction(model, x, rows);
    expect(exported.output.columns * rows).toBe(expected.length);
    expect(maxDifference(predictFromJson(exported, x, rows), expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('documents the preprocessing, the layers and the output, with the service\'s names', () => {
    const model = trainedModel([layer('tanh', 7), layer('relu', 5)], 'binary');
    const exported = exportJson(model);
    expect(exported).toMatchObject({
      format: 'mlp-service/json', version: 1, task: 'classification', classes: ['no', 'yes'],
      featureNames: ['a', 'b', 'c', 'd'], inputs: 4,
      output: { name: 'probabilities', activation: 'sigmoid', columns: 2, binary: true },
      target: null,
    });
    expect(exported.layers.map((l) => [l.inputs, l.units, l.activation])).toEqual([[4, 7, 'tanh'], [7, 5, 'relu'], [5, 1, 'sigmoid']]);
    expect(exported.layers[1].weights.length).toBe(5);
    expect(exported.layers[1].weights[0].length).toBe(7);
    // The constant feature: std 0 and scale 0, as the predictor treats it; the others in float32.
    expect(exported.preprocessing.std[2]).toBe(0);
    expect(exported.preprocessing.scale[2]).toBe(0);
    expect(exported.preprocessing.mean).toEqual(Array.from(model.mean!));
    expect(exported.preprocessing.scale[0]).toBe(Math.fround(1 / model.std![0]));
    expect(exported.preprocessing.rule).toContain('0 where std[j] = 0');

    const regression = exportJson(trainedModel([layer('relu')], 'regression'));
    expect(regression).toMatchObject({ task: 'regression', classes: null, output: { name: 'value', activation: 'identity', columns: 1, binary: false } });
    expect(regression.target!.std[0]).toBeGreaterThan(1);
  });

  it('gives a model trained without standardisation mean 0 and scale 1', () => {
    const trainer = createTrainer(
      { inputs: 2, hidden: [layer('relu', 3)], outputs: 1, output: 'identity', loss: 'squared_error' },
      trainingSpec({ epochs: 1 }), linear(20));
    trainer.runEpoch();
    const exported = exportJson(decodeModel(trainer.exportModel()));
    expect(exported.preprocessing).toMatchObject({ mean: [0, 0], std: [1, 1], scale: [1, 1] });
    expect(exported).toMatchObject({ classes: null, featureNames: null, task: 'regression' });
  });
});

describe('protobuf writer', () => {
  it('writes varints, including 64-bit negatives, as protobuf does', () => {
    const m = proto_message();
    proto_int(m, 1, 300);
    proto_int(m, 2, -1);
    proto_string(m, 3, 'é');
    expect(Array.from(proto_finish(m))).toEqual([
      0x08, 0xac, 0x02,
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x1a, 0x02, 0xc3, 0xa9,
    ]);
  });
});
