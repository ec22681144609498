// The binary model and training-state formats: bit-exact round trips, and a typed error (never a crash
// or a wrong model) for any other bytes, including arbitrary ones from fast-check.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/engine/binary.js';
import { createPredictor, createTrainer, decodeModel, encodeModel, EngineError, type Model } from '../../src/engine/index.js';
import { createKernels, createReferenceKernels, createWasmKernels, type KernelChoice } from '../../src/engine/kernels/index.js';
import { paramLayout } from '../../src/engine/spec.js';
import type { NetworkSpec } from '../../src/engine/types.js';
import { blobNetwork, blobs, linear, trainingSpec } from './helpers.js';

function expectEngineError(fn: () => unknown, code: string): EngineError {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(EngineError);
  expect((caught as EngineError).code).toBe(code);
  return caught as EngineError;
}

function sampleModel(network = blobNetwork(0.25)): Model {
  const params = new Float32Array(paramLayout(network).paramCount).map((_, i) => Math.sin(i) * 0.5);
  params[3] = -0; // signed zero and denormals must survive too
  params[5] = 1e-40;
  return {
    network, meta: { classes: ['cat', 'dog', 'émeu'], note: null }, params,
    mean: new Float32Array([1, 2, 3, 4]), std: new Float32Array([0.5, 0, 2, 1]),
    targetMean: null, targetStd: null,
  };
}

describe('model format', () => {
  it('round-trips bit for bit', () => {
    const model = sampleModel();
    const bytes = encodeModel(model);
    const back = decodeModel(bytes);
    expect(back.network).toEqual(model.network);
    expect(back.meta).toEqual(model.meta);
    expect(new Uint8Array(back.params.buffer)).toEqual(new Uint8Array(model.params.buffer));
    expect(back.mean).toEqual(model.mean);
    expect(back.std).toEqual(model.std);
    expect(back.targetMean).toBeNull();
    expect(encodeModel(back)).toEqual(bytes);
  });

  it('keeps target standardisation, and decodes from an unaligned view', () => {
    const model = { ...sampleModel(), targetMean: new Float32Array([1, 2, 3]), targetStd: new Float32Array([4, 5, 6]) };
    const bytes = encodeModel(model);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = decodeModel(shifted.subarray(1));
    expect(back.targetStd).toEqual(model.targetStd);
    expect(back.params).toEqual(model.params);
  });

  it('stores a missing meta as null, and refuses meta that is not JSON', () => {
    const { meta: _, ...rest } = sampleModel();
    expect(decodeModel(encodeModel({ ...rest, meta: undefined })).meta).toBeNull();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(expectEngineError(() => encodeModel({ ...rest, meta: cyclic }), 'invalid_model').field).toBe('meta');
  });

  it('refuses a model whose arrays do not fit its network', () => {
    const model = sampleModel();
    expect(expectEngineError(() => encodeModel({ ...model, params: model.params.subarray(1) }), 'invalid_model').field).toBe('params');
    expect(expectEngineError(() => encodeModel({ ...model, std: null }), 'invalid_model').field).toBe('std');
    const bad = { ...model, network: { ...model.network, hidden: [{ units: 0, activation: 'relu' as const, dropout: 0 }] } };
    expect(expectEngineError(() => encodeModel(bad), 'invalid_model').field).toBe('network.hidden[0].units');
  });

  it('rejects every truncation and every single flipped bit', () => {
    const bytes = encodeModel(sampleModel({ ...blobNetwork(), hidden: [] }));
    for (let n = 0; n < bytes.length; n++) expectEngineError(() => decodeModel(bytes.subarray(0, n)), 'invalid_model');
    for (let i = 0; i < bytes.length; i++) {
      const corrupt = bytes.slice();
      corrupt[i] ^= 1 << (i % 8);
      expectEngineError(() => decodeModel(corrupt), 'invalid_model');
    }
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expectEngineError(() => decodeModel(longer), 'invalid_model');
  });

  it('names what is wrong: magic, version', () => {
    const bytes = encodeModel(sampleModel());
    const other = bytes.slice();
    other[0] = 'X'.charCodeAt(0);
    expect(expectEngineError(() => decodeModel(other), 'invalid_model').field).toBe('magic');
    const future = bytes.slice();
    future[4] = 9;
    expect(expectEngineError(() => decodeModel(future), 'invalid_model').message).toMatch(/version 9/);
  });

  it('throws only EngineError for arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expectEngineError(() => decodeModel(bytes), 'invalid_model');
    }), { numRuns: 500 });
  });

  it('throws only EngineError for arbitrary bodies behind a valid magic, version and checksum', () => {
    // Without a valid checksum random bytes stop at the first check; these reach the field parser.
    const header = new Uint8Array([0x4d, 0x4c, 0x50, 0x4d, 1, 0, 0, 0]);
    const withCrc = (body: Uint8Array) => {
      const out = new Uint8Array(8 + body.length + 4);
      out.set(header);
      out.set(body, 8);
      new DataView(out.buffer).setUint32(8 + body.length, crc32(out.subarray(0, 8 + body.length)), true);
      return out;
    };
    const json = new TextEncoder().encode(JSON.stringify({ network: blobNetwork(), meta: null }));
    const lengthPrefixed = (b: Uint8Array) => {
      const out = new Uint8Array(4 + b.length);
      new DataView(out.buffer).setUint32(0, b.length, true);
      out.set(b, 4);
      return out;
    };
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }).map((tail) => new Uint8Array([...lengthPrefixed(json), ...tail])),
        fc.string().map((s) => lengthPrefixed(new TextEncoder().encode(s))),
      ),
      (body) => {
        try {
          decodeModel(withCrc(body));
        } catch (e) {
          expect(e).toBeInstanceOf(EngineError);
          expect((e as EngineError).code).toBe('invalid_model');
        }
      },
    ), { numRuns: 500 });
  });
});

describe('predictor', () => {
  it('predicts in uploaded units and gives the same answer whatever the chunk size', () => {
    const data = linear(50);
    const network = { inputs: 2, hidden: [{ units: 5, activation: 'sigmoid' as const, dropout: 0 }], outputs: 1, output: 'identity' as const, loss: 'squared_error' as const };
    const trainer = createTrainer(network, trainingSpec({ epochs: 40, momentum: 0.9, learningRate: 0.05 }), data);
    while (!trainer.done) trainer.runEpoch();
    const model = decodeModel(trainer.exportModel());
    const whole = createPredictor(model, { kernels: createReferenceKernels() }).predict(data.x as Float32Array, 50);
    const chunked = createPredictor(model, { kernels: createReferenceKernels(), maxBatch: 7 }).predict(data.x as Float32Array, 50);
    expect(chunked).toEqual(whole);
    // Uploaded units: close to targets around 100, not to standardised values around 0.
    let mae = 0;
    for (let r = 0; r < 50; r++) mae += Math.abs(whole[r] - data.targets![r]) / 50;
    expect(mae).toBeLessThan(8);
  });

  it('returns softmax probabilities per row', () => {
    const data = blobs(40);
    const trainer = createTrainer(blobNetwork(), trainingSpec({ epochs: 1 }), data);
    trainer.runEpoch();
    const p = createPredictor(decodeModel(trainer.exportModel())).predict(data.x, 40);
    for (let r = 0; r < 40; r++) {
      expect(p[r * 3] + p[r * 3 + 1] + p[r * 3 + 2]).toBeCloseTo(1, 6);
    }
  });

  it('refuses input of the wrong width or with NaN', () => {
    const predictor = createPredictor(sampleModel());
    expect(expectEngineError(() => predictor.predict(new Float32Array(7), 2), 'invalid_data').field).toBe('x');
    expect(expectEngineError(() => predictor.predict(new Float32Array([1, 2, NaN, 4]), 1), 'invalid_data').field).toBe('x[2]');
    expect(predictor.predict(new Float32Array(0), 0)).toEqual(new Float32Array(0));
  });
});

describe('training state format', () => {
  const network = blobNetwork(0.1);
  const spec = trainingSpec({ epochs: 4, momentum: 0.9, validationSplit: 0.2, earlyStopping: { patience: 5, minDelta: 0 } });

  it('rejects corrupt, truncated and foreign bytes with invalid_state', () => {
    const trainer = createTrainer(network, spec, blobs(60));
    trainer.runEpoch();
    const state = trainer.saveState();
    for (const n of [0, 3, 8, 20, state.length - 5, state.length - 1]) {
      expectEngineError(() => createTrainer(network, spec, blobs(60), { state: state.subarray(0, n) }), 'invalid_state');
    }
    for (let i = 0; i < state.length; i += 97) {
      const corrupt = state.slice();
      corrupt[i] ^= 0x10;
      expectEngineError(() => createTrainer(network, spec, blobs(60), { state: corrupt }), 'invalid_state');
    }
    expectEngineError(() => createTrainer(network, spec, blobs(60), { state: trainer.exportModel() }), 'invalid_state');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      expectEngineError(() => createTrainer(network, spec, blobs(60), { state: bytes }), 'invalid_state');
    }), { numRuns: 100 });
  });

  it('refuses a state saved by a different run, naming the setting that differs', () => {
    const trainer = createTrainer(network, spec, blobs(60));
    const state = trainer.saveState();
    expect(expectEngineError(() => createTrainer(network, { ...spec, seed: 2 }, blobs(60), { state }), 'invalid_state').field)
      .toBe('training.seed');
    const wider = { ...network, hidden: [{ ...network.hidden[0], units: 7 }, network.hidden[1]] };
    expect(expectEngineError(() => createTrainer(wider, spec, blobs(60), { state }), 'invalid_state').field)
      .toBe('network.hidden[0].units');
    expect(expectEngineError(() => createTrainer(network, spec, blobs(61), { state }), 'invalid_state').field).toBe('data.rows');
  });
});

describe('training state: kernel and format version', () => {
  const network = blobNetwork();
  const spec = trainingSpec({ epochs: 4, momentum: 0.9, learningRate: 0.05, validationSplit: 0.2, seed: 7 });
  const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

  it('refuses a state written by the other kernel, saying which kernel to resume with', () => {
    const trainer = createTrainer(network, spec, blobs(60), { kernels: createWasmKernels() });
    trainer.runEpoch();
    const state = trainer.saveState();
    const error = expectEngineError(
      () => createTrainer(network, spec, blobs(60), { state, kernels: createReferenceKernels() }), 'invalid_state');
    expect(error.field).toBe('kernel');
    expect(error.message).toContain('"wasm-simd"');
    expect(createTrainer(network, spec, blobs(60), { state, kernels: createWasmKernels() }).epochsDone).toBe(1);
  });

  it('resumes on the kernel the state was written by, bit for bit, when none is given', () => {
    for (const name of ['wasm-simd', 'reference', createKernels().name] as KernelChoice[]) {
      const whole = createTrainer(network, spec, blobs(60), { kernels: createKernels(name) });
      whole.runEpoch();
      const state = whole.saveState();
      whole.runEpoch();
      // No kernels given: the trainer takes the state's, not the fastest here.
      const resumed = createTrainer(network, spec, blobs(60), { state });
      resumed.runEpoch();
      expect(decodeModel(resumed.exportModel()).params, name).toEqual(decodeModel(whole.exportModel()).params);
    }
  });

  it("refuses a state written by a kernel this machine lacks, saying what that kernel needs", () => {
    const trainer = createTrainer(network, spec, blobs(60), { kernels: createWasmKernels('simd') });
    trainer.runEpoch();
    const state = trainer.saveState();
    // The identity is JSON inside the state: name a kernel that exists nowhere, same length.
    const text = Buffer.from(state).toString('latin1');
    expect(text).toContain('"kernel":"wasm-simd"');
    const foreign = new Uint8Array(Buffer.from(text.replace('"kernel":"wasm-simd"', '"kernel":"wasm-sve2"'), 'latin1'));
    const end = foreign.length - 4; // the checksum of every byte before it
    new DataView(foreign.buffer).setUint32(end, crc32(foreign.subarray(0, end)), true);
    const error = expectEngineError(() => createTrainer(network, spec, blobs(60), { state: foreign }), 'invalid_state');
    expect(error.field).toBe('kernel');
    expect(error.message).toMatch(/"wasm-sve2" kernel, which cannot run here/);
  });

  // fixtures/v1-*.bin were written by the engine before format version 2 (reference kernel), with
  // this spec on blobs(60): a state after epoch 2 and after epoch 4, and the model after epoch 4.
  it('resumes a version-1 state as the SGD run it was, bit for bit', () => {
    const first = createTrainer(network, spec, blobs(60), { state: fixture('v1-state-epoch2.bin'), kernels: createReferenceKernels() });
    expect(first.epochsDone).toBe(2);
    first.runEpoch();
    // Saved again (as version 2) and resumed again: still the same run, on the same plain z-scores.
    const resumed = createTrainer(network, spec, blobs(60), { state: first.saveState(), kernels: createReferenceKernels() });
    resumed.runEpoch();
    const before = decodeModel(fixture('v1-model-epoch4.bin'));
    const now = decodeModel(resumed.exportModel(before.meta));
    expect(now.params).toEqual(before.params);
    expect(now).toEqual(before);
    const done = createTrainer(network, spec, blobs(60), { state: fixture('v1-state-epoch4.bin'), kernels: createReferenceKernels() });
    expect(done.done).toBe(true);
    // A version-1 state names no optimizer: it is refused by an Adam run, as any other different run.
    expect(expectEngineError(() => createTrainer(network, { ...spec, optimizer: 'adam' }, blobs(60),
      { state: fixture('v1-state-epoch2.bin'), kernels: createReferenceKernels() }), 'invalid_state').field).toBe('training.optimizer');
  });
});

describe('a state the engine wrote always loads', () => {
  it('resumes after per-step decay has driven the learning rate to exactly 0', () => {
    // decay 1 per step halves the rate 1,200 times: 0.1/2¹²⁰⁰ underflows float64 to 0.
    const spec = trainingSpec({ batchSize: 1, epochs: 21, learningRate: 0.1, decay: 1, decayPer: 'step' });
    const trainer = createTrainer(blobNetwork(), spec, blobs(60));
    for (let e = 0; e < 20; e++) trainer.runEpoch();
    const state = trainer.saveState();
    const resumed = createTrainer(blobNetwork(), spec, blobs(60), { state });
    expect(resumed.epochsDone).toBe(20);
    expect(resumed.runEpoch()!.learningRate).toBe(0);
    // A rate of 0 leaves the weights where they were.
    expect(decodeModel(resumed.exportModel()).params).toEqual(decodeModel(trainer.exportModel()).params);
  });
});

describe("a row's prediction does not depend on the rows beside it", () => {
  // Tabular widths (inputs < 256, hidden ≥ 16) are where the wasm gemm switches from dot products
  // to packed blocks as the number of rows grows, which reorders the additions.
  const network: NetworkSpec = {
    inputs: 12, hidden: [{ units: 32, activation: 'relu', dropout: 0 }, { units: 24, activation: 'tanh', dropout: 0 }],
    outputs: 3, output: 'softmax', loss: 'categorical_cross_entropy',
  };
  const rows = 600;
  const x = new Float32Array(rows * 12).map((_, i) => Math.sin(i * 0.37) * 3 + (i % 5));

  it.each([['default', createKernels], ['reference', createReferenceKernels]] as const)(
    'gives the same bits one row at a time and in batches of 256 (%s kernel)', (_, kernels) => {
      const model = sampleModel(network);
      model.mean = new Float32Array(12).fill(1);
      model.std = new Float32Array(12).fill(2);
      const batched = createPredictor(model, { kernels: kernels(), maxBatch: 256 }).predict(x, rows);
      const single = createPredictor(model, { kernels: kernels(), maxBatch: 1 });
      const alone = new Float32Array(rows * 3);
      for (let r = 0; r < rows; r++) alone.set(single.predict(x.subarray(r * 12, (r + 1) * 12), 1), r * 3);
      let changed = 0;
      for (let i = 0; i < alone.length; i++) if (!Object.is(alone[i], batched[i])) changed++;
      expect(changed).toBe(0);
    });
});

describe('finite but huge inputs', () => {
  it.each([['classification', false], ['regression', true]] as const)(
    'are refused as invalid_data naming the row, never answered with NaN or ∞ (%s)', (_, regression) => {
      // ReLU passes the overflow on (tanh or sigmoid would saturate and hide it).
      const relu: NetworkSpec = { ...blobNetwork(), hidden: [{ units: 6, activation: 'relu', dropout: 0 }] };
      const model = sampleModel(regression ? { ...relu, outputs: 1, output: 'identity', loss: 'squared_error' } : relu);
      if (regression) {
        model.targetMean = new Float32Array([100]);
        model.targetStd = new Float32Array([40]);
      }
      const predictor = createPredictor(model, { maxBatch: 2 });
      const x = new Float32Array(6 * 4).fill(1);
      expect(Array.from(predictor.predict(x, 6)).every(Number.isFinite)).toBe(true);
      x[5 * 4] = 3e38; // ×1/std = 6e38 overflows float32 at once
      x[5 * 4 + 3] = 3e38;
      const error = expectEngineError(() => predictor.predict(x, 6), 'invalid_data');
      expect(error.field).toBe('x[5]');
      expect(error.message).toMatch(/row 5 .*too large/);
    });
});

describe('regressionScores', () => {
  it('gives MSE, MAE and R² in the units given', async () => {
    const engine = await import('../../src/engine/index.js');
    const predicted = new Float32Array([1, 2, 3, 5]);
    const targets = new Float32Array([1, 2, 3, 4]);
    const scores = engine.regressionScores(predicted, targets, 4, 1);
    expect(scores.mse).toBeCloseTo(0.25, 12);
    expect(scores.mae).toBeCloseTo(0.25, 12);
    expect(scores.r2).toBeCloseTo(1 - 1 / 5, 12);
  });
});
