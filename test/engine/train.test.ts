// The training loop as a user sees it: it learns, it is reproducible and resumable bit for bit, and
// momentum, Nesterov, decay, L2, dropout and early stopping do exactly what their formulas say.
import { describe, expect, it } from 'vitest';
import { createPredictor, createTrainer, decodeModel, EngineError, type EpochMetrics } from '../../src/engine/index.js';
import { createKernels, createReferenceKernels, type Kernels } from '../../src/engine/kernels/index.js';
import { dropout_forward } from '../../src/engine/layers.js';
import { MAX_Z } from '../../src/engine/mlp.js';
import { rng_seed, rng_uniform } from '../../src/engine/rng.js';
import { paramLayout } from '../../src/engine/spec.js';
import { split_rows } from '../../src/engine/train.js';
import type { NetworkSpec, TrainingData, TrainingSpec } from '../../src/engine/types.js';
import { blobNetwork, blobs, linear, trainingSpec, withoutTiming } from './helpers.js';

const XOR: TrainingData = {
  rows: 4, features: 2, x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), mean: null, std: null,
  labels: new Int32Array([0, 1, 1, 0]), targets: null, targetMean: null, targetStd: null,
};

function runAll(trainer: ReturnType<typeof createTrainer>): EpochMetrics[] {
  const all: EpochMetrics[] = [];
  while (!trainer.done) all.push(trainer.runEpoch()!);
  return all;
}

describe('learning', () => {
  it('learns XOR with a 2-2-1 sigmoid network', () => {
    const network: NetworkSpec = {
      inputs: 2, hidden: [{ units: 2, activation: 'sigmoid', dropout: 0 }], outputs: 1, output: 'sigmoid',
      loss: 'binary_cross_entropy',
    };
    const trainer = createTrainer(network, trainingSpec({ batchSize: 4, epochs: 1000, learningRate: 0.5, momentum: 0.9, seed: 1 }), XOR);
    const metrics = runAll(trainer);
    expect(metrics.at(-1)!.accuracy).toBe(1);
    const p = createPredictor(decodeModel(trainer.exportModel())).predict(XOR.x as Float32Array, 4);
    expect(p[0]).toBeLessThan(0.5);
    expect(p[1]).toBeGreaterThan(0.5);
    expect(p[2]).toBeGreaterThan(0.5);
    expect(p[3]).toBeLessThan(0.5);
  });

  it('reports validation accuracy that the exported model reproduces on the validation rows', () => {
    const data = blobs(300);
    const spec = trainingSpec({ epochs: 4, validationSplit: 0.2, momentum: 0.9, learningRate: 0.05, seed: 9 });
    const trainer = createTrainer(blobNetwork(), spec, data);
    const last = runAll(trainer).at(-1)!;
    expect(last.valAccuracy).toBeGreaterThan(0.9);

    const { val } = split_rows(data.rows, 0.2, rng_seed(9));
    expect(val.length).toBe(60);
    const x = new Float32Array(val.length * 4);
    val.forEach((row, i) => x.set((data.x as Float32Array).subarray(row * 4, row * 4 + 4), i * 4));
    const p = createPredictor(decodeModel(trainer.exportModel())).predict(x, val.length);
    let correct = 0, cost = 0;
    val.forEach((row, i) => {
      const scores = Array.from(p.subarray(i * 3, i * 3 + 3));
      if (scores.indexOf(Math.max(...scores)) === data.labels![row]) correct++;
      cost -= Math.log(scores[data.labels![row]]);
    });
    expect(last.valAccuracy).toBe(correct / val.length);
    expect(last.valLoss!).toBeCloseTo(cost / val.length, 5);
  });

  it('reports regression errors in uploaded units and the loss in standardised units', () => {
    const data = linear(200);
    const network: NetworkSpec = { inputs: 2, hidden: [{ units: 8, activation: 'tanh', dropout: 0 }], outputs: 1, output: 'identity', loss: 'squared_error' };
    const trainer = createTrainer(network, trainingSpec({ epochs: 30, validationSplit: 0.25, momentum: 0.9, learningRate: 0.02, seed: 4 }), data);
    const last = runAll(trainer).at(-1)!;
    expect(last.accuracy).toBeNull();
    expect(last.valR2!).toBeGreaterThan(0.95);

    const { val } = split_rows(data.rows, 0.25, rng_seed(4));
    const x = new Float32Array(val.length * 2);
    val.forEach((row, i) => x.set((data.x as Float32Array).subarray(row * 2, row * 2 + 2), i * 2));
    const p = createPredictor(decodeModel(trainer.exportModel())).predict(x, val.length);
    let sse = 0, sae = 0, sst = 0, half = 0;
    const t = Array.from(val, (row) => data.targets![row]);
    const meanT = t.reduce((s, v) => s + v, 0) / t.length;
    val.forEach((_, i) => {
      const e = p[i] - t[i];
      sse += e * e;
      sae += Math.abs(e);
      sst += (t[i] - meanT) ** 2;
      half += 0.5 * (e / 40) ** 2;
    });
    expect(last.valMse!).toBeCloseTo(sse / val.length, 2);
    expect(last.valMae!).toBeCloseTo(sae / val.length, 3);
    expect(last.valR2!).toBeCloseTo(1 - sse / sst, 5);
    expect(last.valLoss!).toBeCloseTo(half / val.length, 6);
  });
});

describe('reproducibility', () => {
  const network = blobNetwork(0.2);
  const spec = trainingSpec({
    epochs: 5, momentum: 0.9, nesterov: true, decay: 0.01, decayPer: 'step', l2: 1e-3, validationSplit: 0.2,
    earlyStopping: { patience: 100, minDelta: 0 }, seed: 11,
  });

  it('gives bit-identical weights and metrics for the same data, spec and seed', () => {
    const a = createTrainer(network, spec, blobs(120));
    const b = createTrainer(network, spec, blobs(120));
    const ma = runAll(a).map(withoutTiming);
    const mb = runAll(b).map(withoutTiming);
    expect(mb).toEqual(ma);
    expect(b.saveState()).toEqual(a.saveState());
    expect(b.exportModel()).toEqual(a.exportModel());
  });

  // ReLU layers run their bias, h, mask and h′ in the kernel (biasRelu, reluGrad) when it has them; the
  // same kernel without them runs the JavaScript loops. Two ReLU layers, the first with dropout (its mask
  // is drawn by dropout_forward, so its forward stays in the loops; its backward is the kernel's), SGD and Adam.
  it.each([['sgd', spec], ['adam', { ...spec, optimizer: 'adam' as const, learningRate: 0.01 }]] as const)(
    "gives the JavaScript loops' bits with ReLU layers in the kernel (%s)", (_, s) => {
    const relu: NetworkSpec = {
      inputs: 4, outputs: 3, output: 'softmax', loss: 'categorical_cross_entropy',
      hidden: [{ units: 9, activation: 'relu', dropout: 0.2 }, { units: 7, activation: 'relu', dropout: 0 }],
    };
    const fused = createKernels();
    expect(fused.biasRelu && fused.reluGrad).toBeTruthy();
    const loops: Kernels = { ...createKernels(), biasRelu: undefined, reluGrad: undefined };
    const a = createTrainer(relu, s, blobs(120), { kernels: fused });
    const b = createTrainer(relu, s, blobs(120), { kernels: loops });
    expect(runAll(a).map(withoutTiming)).toEqual(runAll(b).map(withoutTiming));
    expect(a.exportModel()).toEqual(b.exportModel());
    // The same predictions too (inference takes the kernel's path as well).
    const x = blobs(50).x as Float32Array;
    expect(createPredictor(decodeModel(a.exportModel()), { kernels: createKernels() }).predict(x, 50))
      .toEqual(createPredictor(decodeModel(a.exportModel()), { kernels: { ...createKernels(), biasRelu: undefined, reluGrad: undefined } }).predict(x, 50));
  });

  // Once with the default kernel (wasm-fma or wasm-simd) and once with the reference fallback.
  it.each([['default', createKernels], ['reference', createReferenceKernels]] as const)(
    'resumes from a saved state bit for bit: 5 epochs = 2 + save + 3 (%s kernel)', (_, kernels) => {
    const straight = createTrainer(network, spec, blobs(120), { kernels: kernels() });
    const all = runAll(straight).map(withoutTiming);

    const first = createTrainer(network, spec, blobs(120), { kernels: kernels() });
    const head = [first.runEpoch(), first.runEpoch()].map(withoutTiming);
    const state = first.saveState();
    const second = createTrainer(network, spec, blobs(120), { state, kernels: kernels() });
    expect(second.epochsDone).toBe(2);
    const tail = runAll(second).map(withoutTiming);

    expect([...head, ...tail]).toEqual(all);
    expect(second.saveState()).toEqual(straight.saveState());
    expect(second.exportModel({ labels: ['a'] })).toEqual(straight.exportModel({ labels: ['a'] }));
  });

  // Adam keeps two moment vectors and a step count; with clipping and per-step decay on top.
  const adamSpec = { ...spec, optimizer: 'adam' as const, learningRate: 0.01, beta1: 0.85, clipNorm: 0.5 };
  it.each([['default', createKernels], ['reference', createReferenceKernels]] as const)(
    'resumes an Adam run from a saved state bit for bit (%s kernel)', (_, kernels) => {
    const straight = createTrainer(network, adamSpec, blobs(120), { kernels: kernels() });
    const all = runAll(straight).map(withoutTiming);

    const first = createTrainer(network, adamSpec, blobs(120), { kernels: kernels() });
    const head = [first.runEpoch(), first.runEpoch(), first.runEpoch()].map(withoutTiming);
    const second = createTrainer(network, adamSpec, blobs(120), { state: first.saveState(), kernels: kernels() });
    const tail = runAll(second).map(withoutTiming);

    expect([...head, ...tail]).toEqual(all);
    expect(second.saveState()).toEqual(straight.saveState());
    expect(second.exportModel()).toEqual(straight.exportModel());
    // And Adam really ran: SGD with the same settings ends elsewhere.
    const sgd = createTrainer(network, { ...adamSpec, optimizer: 'sgd' }, blobs(120), { kernels: kernels() });
    runAll(sgd);
    expect(sgd.exportModel()).not.toEqual(straight.exportModel());
  });

  it('lets a resumed run extend the number of epochs', () => {
    const five = createTrainer(network, spec, blobs(120));
    runAll(five);
    const resumed = createTrainer(network, { ...spec, epochs: 7 }, blobs(120), { state: five.saveState() });
    expect(resumed.done).toBe(false);
    expect(resumed.runEpoch()!.epoch).toBe(6);
  });

  it('abandons an epoch when shouldStop says so, keeping the last completed epoch', () => {
    const trainer = createTrainer(network, spec, blobs(120));
    trainer.runEpoch();
    const before = trainer.saveState();
    const model = trainer.exportModel();
    let asked = 0;
    expect(trainer.runEpoch({ shouldStop: () => ++asked > 3 })).toBeNull();
    expect(asked).toBe(4);
    expect(trainer.epochsDone).toBe(1);
    expect(trainer.saveState()).toEqual(before);
    expect(trainer.exportModel()).toEqual(model);

    // And the epoch, run again, is the one an uninterrupted trainer runs.
    const reference = createTrainer(network, spec, blobs(120));
    reference.runEpoch();
    expect(withoutTiming(trainer.runEpoch())).toEqual(withoutTiming(reference.runEpoch()));
  });

  it('reports progress as a growing fraction of the epoch', () => {
    const trainer = createTrainer(network, spec, blobs(120));
    const fractions: number[] = [];
    trainer.runEpoch({ onProgress: (f) => fractions.push(f), progressIntervalMs: 0 });
    expect(fractions.length).toBe(Math.ceil(96 / 8));
    expect(fractions.at(-1)).toBe(1);
    expect([...fractions].sort((x, y) => x - y)).toEqual(fractions);
  });
});

describe('the update rules, against hand-computed values', () => {
  // One weight w and one bias b, ŷ = w·x + b, C = ½(ŷ − t)², two rows in one minibatch:
  // ∂C/∂w = mean((ŷ − t)·x), ∂C/∂b = mean(ŷ − t).
  const network: NetworkSpec = { inputs: 1, hidden: [], outputs: 1, output: 'identity', loss: 'squared_error' };
  const data: TrainingData = {
    rows: 2, features: 1, x: new Float32Array([1, 2]), mean: null, std: null, labels: null,
    targets: new Float32Array([1, 3]), targetMean: null, targetStd: null,
  };
  const bias = paramLayout(network).biasOffset[1];

  function simulate(w: number, b: number, steps: number, lr: number, m: number, nesterov: boolean, decay: number, l2: number) {
    let vw = 0, vb = 0;
    const trace: { w: number; b: number; lr: number }[] = [];
    for (let k = 0; k < steps; k++) {
      const e1 = w * 1 + b - 1, e2 = w * 2 + b - 3;
      const gw = (e1 * 1 + e2 * 2) / 2 + l2 * w, gb = (e1 + e2) / 2;
      vw = m * vw - lr * gw;
      vb = m * vb - lr * gb;
      w += nesterov ? m * vw - lr * gw : vw;
      b += nesterov ? m * vb - lr * gb : vb;
      trace.push({ w, b, lr });
      lr = lr / (1 + decay);
    }
    return trace;
  }

  for (const nesterov of [false, true]) {
    it(`${nesterov ? 'Nesterov momentum' : 'momentum'} with per-epoch decay`, () => {
      const spec = trainingSpec({ batchSize: 2, epochs: 4, learningRate: 0.1, momentum: 0.8, nesterov, decay: 0.5, seed: 3 });
      const trainer = createTrainer(network, spec, data);
      const initial = decodeModel(trainer.exportModel()).params;
      const expected = simulate(initial[0], initial[bias], 4, 0.1, 0.8, nesterov, 0.5, 0);
      expect(initial[bias]).toBe(0);
      for (const step of expected) {
        const m = trainer.runEpoch()!;
        const p = decodeModel(trainer.exportModel()).params;
        expect(p[0]).toBeCloseTo(step.w, 5);
        expect(p[bias]).toBeCloseTo(step.b, 5);
        expect(m.learningRate).toBe(step.lr);
      }
      // The two rules really differ here, so the test tells them apart.
      const other = simulate(initial[0], 0, 4, 0.1, 0.8, !nesterov, 0.5, 0);
      expect(Math.abs(other[3].w - expected[3].w)).toBeGreaterThan(1e-3);
    });
  }

  it('decays per step: μₖ₊₁ = μₖ/(1 + decay) after every update, reported at the end of the epoch', () => {
    const rows = 10;
    const lin = linear(rows);
    const spec = trainingSpec({ batchSize: 3, epochs: 3, learningRate: 0.1, decay: 0.1, decayPer: 'step' });
    const net: NetworkSpec = { inputs: 2, hidden: [], outputs: 1, output: 'identity', loss: 'squared_error' };
    const trainer = createTrainer(net, spec, lin);
    // 4 updates per epoch (3 + 3 + 3 + 1 rows; the last partial batch is trained on too).
    for (let epoch = 1; epoch <= 3; epoch++) {
      expect(trainer.runEpoch()!.learningRate).toBe(Array.from({ length: 4 * epoch }).reduce<number>((lr) => lr / 1.1, 0.1));
    }
  });

  /** Adam by hand on the same model, with L2 on w, and the gradient clipped to clipNorm first. */
  function simulateAdam(w: number, b: number, steps: number, lr: number, b1: number, b2: number, eps: number, l2: number, clipNorm: number | null) {
    let mw = 0, mb = 0, vw = 0, vb = 0;
    const trace: { w: number; b: number }[] = [];
    for (let t = 1; t <= steps; t++) {
      const e1 = w * 1 + b - 1, e2 = w * 2 + b - 3;
      let gw = (e1 * 1 + e2 * 2) / 2, gb = (e1 + e2) / 2;
      const norm = Math.hypot(gw, gb);
      if (clipNorm !== null && norm > clipNorm) {
        gw *= clipNorm / norm;
        gb *= clipNorm / norm;
      }
      gw += l2 * w;
      mw = b1 * mw + (1 - b1) * gw;
      mb = b1 * mb + (1 - b1) * gb;
      vw = b2 * vw + (1 - b2) * gw * gw;
      vb = b2 * vb + (1 - b2) * gb * gb;
      w -= (lr * mw / (1 - b1 ** t)) / (Math.sqrt(vw / (1 - b2 ** t)) + eps);
      b -= (lr * mb / (1 - b1 ** t)) / (Math.sqrt(vb / (1 - b2 ** t)) + eps);
      trace.push({ w, b });
    }
    return trace;
  }

  it.each([
    ['Adam', null, 0], ['Adam with L2', null, 0.3], ['Adam with the gradient clipped to norm 0.05', 0.05, 0],
  ] as const)('%s', (_, clipNorm, l2) => {
    const spec = trainingSpec({
      batchSize: 2, epochs: 6, optimizer: 'adam', learningRate: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6,
      l2, clipNorm, seed: 3,
    });
    const trainer = createTrainer(network, spec, data);
    const initial = decodeModel(trainer.exportModel()).params;
    const expected = simulateAdam(initial[0], initial[bias], 6, 0.1, 0.8, 0.99, 1e-6, l2, clipNorm);
    for (const step of expected) {
      trainer.runEpoch();
      const p = decodeModel(trainer.exportModel()).params;
      expect(p[0]).toBeCloseTo(step.w, 5);
      expect(p[bias]).toBeCloseTo(step.b, 5);
    }
    // Clipping really clipped: without it the run ends elsewhere.
    if (clipNorm !== null) {
      const free = simulateAdam(initial[0], 0, 6, 0.1, 0.8, 0.99, 1e-6, l2, null);
      expect(Math.abs(free[5].w - expected[5].w)).toBeGreaterThan(1e-3);
    }
  });

  it('L2 decays the weight but not the bias, and adds ½λ‖w‖² to the loss', () => {
    const l2 = 0.5, lr = 0.1;
    const trainer = createTrainer(network, trainingSpec({ batchSize: 2, epochs: 1, learningRate: lr, l2, seed: 3 }), data);
    const w0 = decodeModel(trainer.exportModel()).params[0];
    const m = trainer.runEpoch()!;
    const [step] = simulate(w0, 0, 1, lr, 0, false, 0, l2);
    const p = decodeModel(trainer.exportModel()).params;
    expect(p[0]).toBeCloseTo(step.w, 6);
    expect(p[bias]).toBeCloseTo(step.b, 6);
    const [noL2] = simulate(w0, 0, 1, lr, 0, false, 0, 0);
    expect(p[bias]).toBeCloseTo(noL2.b, 6);
    const dataLoss = (0.5 * (w0 - 1) ** 2 + 0.5 * (2 * w0 - 3) ** 2) / 2;
    expect(m.loss).toBeCloseTo(dataLoss + 0.5 * l2 * p[0] * p[0], 6);
  });
});

describe('dropout', () => {
  it('keeps units with probability 1 − p and scales them by 1/(1 − p), preserving the expectation', () => {
    const n = 200_000, p = 0.3;
    const z = new Float32Array(n).fill(2);
    const mask = new Float32Array(n);
    dropout_forward(z, mask, n, p, rng_seed(1));
    const kept = mask.filter((m) => m !== 0);
    expect(kept.length / n).toBeCloseTo(1 - p, 2);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / (1 - p))]));
    expect(z.reduce((s, v) => s + v, 0) / n).toBeCloseTo(2, 1);
  });

  it('is off at inference: a model trained with dropout predicts like the same weights without it', () => {
    const data = blobs(60);
    const trainer = createTrainer(blobNetwork(0.5), trainingSpec({ epochs: 2 }), data);
    runAll(trainer);
    const model = decodeModel(trainer.exportModel());
    const plain = createPredictor({ ...model, network: blobNetwork(0) }).predict(data.x as Float32Array, 60);
    expect(createPredictor(model).predict(data.x as Float32Array, 60)).toEqual(plain);
    // Training with dropout really drew masks: the same run without dropout ends elsewhere.
    const without = createTrainer(blobNetwork(0), trainingSpec({ epochs: 2 }), data);
    runAll(without);
    expect(decodeModel(without.exportModel()).params).not.toEqual(model.params);
  });
});

describe('early stopping', () => {
  // Labels that are pure noise: the training loss falls while the validation loss soon rises.
  const noisy = blobs(80, 4, 21);
  noisy.labels = noisy.labels!.map((_, i) => (i * 7919) % 3);
  const network: NetworkSpec = {
    inputs: 4, hidden: [{ units: 32, activation: 'relu', dropout: 0 }], outputs: 3, output: 'softmax',
    loss: 'categorical_cross_entropy',
  };
  const base = trainingSpec({ epochs: 200, learningRate: 0.1, momentum: 0.9, validationSplit: 0.25, seed: 2 });

  it('stops after `patience` epochs without improvement and exports the best epoch\'s weights', () => {
    const patience = 3;
    const trainer = createTrainer(network, { ...base, earlyStopping: { patience, minDelta: 0.001 } }, noisy);
    const metrics = runAll(trainer);
    expect(trainer.stoppedEarly).toBe(true);
    expect(metrics.length).toBeLessThan(200);

    // Replay the rule on the reported validation losses.
    let best = Infinity, bestEpoch = 0;
    for (const m of metrics) if (m.valLoss! < best - 0.001) { best = m.valLoss!; bestEpoch = m.epoch; }
    expect(trainer.bestEpoch).toBe(bestEpoch);
    expect(metrics.length).toBe(bestEpoch + patience);

    // Early stopping changes nothing but the end: a run without it, stopped at the best epoch, has the same weights.
    const plain = createTrainer(network, { ...base, epochs: bestEpoch }, noisy);
    const plainMetrics = runAll(plain);
    expect(plainMetrics.map(withoutTiming)).toEqual(metrics.slice(0, bestEpoch).map(withoutTiming));
    expect(decodeModel(trainer.exportModel()).params).toEqual(decodeModel(plain.exportModel()).params);
    expect(() => trainer.runEpoch()).toThrow(EngineError);
  });
});

describe('divergence', () => {
  it("stops with 'diverged', the epoch and a hint, keeping the last good epoch", () => {
    const network: NetworkSpec = { inputs: 2, hidden: [{ units: 4, activation: 'relu', dropout: 0 }], outputs: 1, output: 'identity', loss: 'squared_error' };
    const data = linear(64);
    const good = createTrainer(network, trainingSpec({ epochs: 50, learningRate: 0.05 }), data);
    expect(runAll(good).every((m) => Number.isFinite(m.loss))).toBe(true);

    const wild = createTrainer(network, trainingSpec({ epochs: 50, learningRate: 1e4 }), data);
    let caught: unknown = null;
    try {
      runAll(wild);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EngineError);
    const error = caught as EngineError;
    expect(error.code).toBe('diverged');
    expect(error.epoch).toBe(wild.epochsDone + 1);
    expect(error.message).toContain(`epoch ${error.epoch}`);
    expect(error.message).toMatch(/Lower the learning rate/);
    const p = decodeModel(wild.exportModel()).params;
    expect(p.every(Number.isFinite)).toBe(true);
  });
});

describe('divergence without NaN', () => {
  const network: NetworkSpec = {
    inputs: 4, hidden: [{ units: 32, activation: 'relu', dropout: 0 }], outputs: 3, output: 'softmax', loss: 'categorical_cross_entropy',
  };

  it("stops a loss that grows far above the untrained network's as 'diverged', with the epoch and advice", () => {
    // SGD at learning rate 1 with momentum 0.9: the loss climbs to 10⁹ while staying finite, and
    // used to end as a success at 66% accuracy.
    const trainer = createTrainer(network, trainingSpec({ epochs: 6, learningRate: 1, momentum: 0.9 }), blobs(300));
    let caught: unknown = null;
    try {
      runAll(trainer);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EngineError);
    const error = caught as EngineError;
    expect(error.code).toBe('diverged');
    expect(error.field).toBe('learningRate');
    expect(error.epoch).toBe(trainer.epochsDone + 1);
    expect(error.message).toContain(`epoch ${error.epoch}`);
    expect(error.message).toMatch(/Lower the learning rate .*optimizer 'adam'/);
    // The trainer rolled back to the last good epoch, whose state and model are still sound.
    expect(decodeModel(trainer.exportModel()).params.every(Number.isFinite)).toBe(true);
    const resumed = createTrainer(network, trainingSpec({ epochs: 6, learningRate: 1, momentum: 0.9 }), blobs(300), { state: trainer.saveState() });
    expect(resumed.epochsDone).toBe(trainer.epochsDone);
  });

  it('advises clipNorm when Adam itself diverges', () => {
    const trainer = createTrainer(network, trainingSpec({ epochs: 6, optimizer: 'adam', learningRate: 50 }), blobs(300));
    expect(() => runAll(trainer)).toThrow(/clipNorm/);
  });

  // Ordinary training, noisy or not, must never trip it: seeds × data × optimizers, small batches.
  const runs: [string, NetworkSpec, TrainingData, Partial<TrainingSpec>][] = [];
  for (const seed of [1, 2, 3, 4]) {
    runs.push([`blobs, momentum 0.9, seed ${seed}`, network, blobs(200, 4, seed + 10), { momentum: 0.9, learningRate: 0.05, seed }]);
    runs.push([`blobs with dropout, Nesterov, seed ${seed}`, blobNetwork(0.5), blobs(200, 4, seed + 20), { momentum: 0.9, nesterov: true, learningRate: 0.1, seed }]);
    runs.push([`blobs, Adam, batch 1, seed ${seed}`, network, blobs(200, 4, seed + 30), { optimizer: 'adam', learningRate: 0.01, batchSize: 1, seed }]);
    runs.push([`regression, Adam, seed ${seed}`, { inputs: 2, hidden: [{ units: 16, activation: 'relu', dropout: 0 }], outputs: 1, output: 'identity', loss: 'squared_error' },
      linear(300, seed + 40), { optimizer: 'adam', learningRate: 0.003, batchSize: 4, seed }]);
    runs.push([`noisy labels, SGD, seed ${seed}`, network, { ...blobs(200, 4, seed + 50), labels: new Int32Array(200).map((_, i) => (i * 7919 + seed) % 3) },
      { momentum: 0.9, learningRate: 0.1, batchSize: 4, seed }]);
  }
  it.each(runs)('does not fire on ordinary training: %s', (_, net, data, overrides) => {
    const trainer = createTrainer(net, trainingSpec({ epochs: 15, ...overrides }), data);
    expect(runAll(trainer).length).toBe(15);
  });
});

describe('robust input scaling', () => {
  // Ten normal-ish columns and four near-constant ones (0 but for one row of 255), which plain
  // z-scores would turn into values near 40 standard deviations.
  const rows = 2000, F = 14;
  const rng = rng_seed(4);
  const x = new Float32Array(rows * F);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    labels[r] = r % 3;
    for (let j = 0; j < 10; j++) x[r * F + j] = 100 + 40 * (j % 3 === r % 3 ? 1 : 0) + 30 * (rng_uniform(rng) - 0.5);
  }
  for (let j = 10; j < F; j++) x[(j * 131) * F + j] = 255;
  const mean = new Float32Array(F), std = new Float32Array(F);
  for (let j = 0; j < F; j++) {
    let s = 0, q = 0;
    for (let r = 0; r < rows; r++) s += x[r * F + j];
    mean[j] = s / rows;
    for (let r = 0; r < rows; r++) q += (x[r * F + j] - mean[j]) ** 2;
    std[j] = Math.sqrt(q / rows);
  }
  std[9] = 0; // as if constant: stays 0, and the column is read as 0
  const data: TrainingData = { rows, features: F, x, mean, std, labels, targets: null, targetMean: null, targetStd: null };
  const network: NetworkSpec = {
    inputs: F, hidden: [{ units: 16, activation: 'relu', dropout: 0 }], outputs: 3, output: 'softmax', loss: 'categorical_cross_entropy',
  };

  it('keeps every training value within ±MAX_Z, leaves ordinary columns alone, and the model carries the scale', () => {
    const trainer = createTrainer(network, trainingSpec({ epochs: 1 }), data);
    const model = decodeModel(trainer.exportModel());
    expect(model.mean).toEqual(mean);
    for (let j = 0; j < 9; j++) expect(model.std![j]).toBe(std[j]);
    expect(model.std![9]).toBeGreaterThan(0); // range 30/MAX_Z: the floor also covers a std given as 0
    for (let j = 10; j < F; j++) {
      expect((255 - mean[j]) / std[j]).toBeGreaterThan(40);
      expect(model.std![j]).toBe(Math.fround(255 / MAX_Z));
    }
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      const j = i % F;
      worst = Math.max(worst, Math.abs((x[i] - model.mean![j]) / model.std![j]));
    }
    expect(worst).toBeLessThanOrEqual(MAX_Z);
    // The predictor applies the same scale: it reproduces the trainer's accuracy on these rows.
    const m = trainer.runEpoch()!;
    const p = createPredictor(decodeModel(trainer.exportModel())).predict(x, rows);
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const row = Array.from(p.subarray(r * 3, r * 3 + 3));
      if (row.indexOf(Math.max(...row)) === labels[r]) correct++;
    }
    expect(correct / rows).toBeGreaterThan(0.9);
    expect(m.accuracy).toBeGreaterThan(0.5);
  });
});

describe('rows too large to train on', () => {
  it('are invalid_data before any update, not a divergence blamed on the learning rate', () => {
    const network: NetworkSpec = {
      inputs: 2, hidden: [{ units: 8, activation: 'relu', dropout: 0 }], outputs: 1, output: 'identity', loss: 'squared_error',
    };
    const data = linear(40);
    data.x[7] = 3e38; // finite, unstandardised
    let caught: unknown = null;
    try {
      createTrainer(network, trainingSpec(), data);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect((caught as EngineError).code).toBe('invalid_data');
    expect((caught as EngineError).message).toMatch(/too large/);
  });
});
