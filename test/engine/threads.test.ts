// One job on several threads: layer 1 computed by units gives the whole minibatch's forward pass and
// gradient, a run on N threads is bit-identical to itself and to its own resume, and a
// run on one thread is exactly the trainer it always was. Helper threads run dist/: `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer, EngineError, savedThreads, type HelperThreads } from '../../src/engine/index.js';
import { createKernels, createReferenceKernels, type Kernels } from '../../src/engine/kernels/index.js';
import { reserve } from '../../src/engine/arena.js';
import { dense_backward } from '../../src/engine/layers.js';
import { costFor } from '../../src/engine/costs.js';
import {
  mlp_backward, mlp_dropout_masks, mlp_forward, params_init, pass_create, pass_request,
} from '../../src/engine/mlp.js';
import { range_forward, range_gradient, units_create } from '../../src/engine/parallel/data-parallel.js';
import { startHelperThreads, type OwnedHelperThreads } from '../../src/engine/parallel/threads.js';
import { rng_seed, rng_uniform } from '../../src/engine/rng.js';
import { paramLayout } from '../../src/engine/spec.js';
import type { NetworkSpec, TrainingData } from '../../src/engine/types.js';
import { blobNetwork, blobs, linear, trainingSpec, withoutTiming } from './helpers.js';

let one: OwnedHelperThreads, two: OwnedHelperThreads;
beforeAll(async () => {
  [one, two] = await Promise.all([startHelperThreads(1), startHelperThreads(2)]);
});
afterAll(async () => {
  await Promise.all([one?.close(), two?.close()]);
});

const helpersFor = (threads: number): HelperThreads | undefined => (threads === 1 ? undefined : threads === 2 ? one : two);

/** Trains `epochs` epochs (optionally from a state) and returns the state bytes and the metrics. */
function train(
  threads: number, opts: { network?: NetworkSpec; data?: TrainingData; epochs?: number; state?: Uint8Array; kernels?: () => Kernels;
    batchSize?: number; optimizer?: 'sgd' | 'adam'; clipNorm?: number; l2?: number } = {},
) {
  const spec = trainingSpec({
    epochs: opts.epochs ?? 3, batchSize: opts.batchSize ?? 10, momentum: 0.9, learningRate: 0.05, validationSplit: 0.2, seed: 7,
    l2: opts.l2 ?? 0, clipNorm: opts.clipNorm ?? null,
    ...(opts.optimizer === 'adam' ? { optimizer: 'adam' as const, learningRate: 0.01 } : {}),
  });
  const trainer = createTrainer(opts.network ?? blobNetwork(0.2), spec, opts.data ?? blobs(303), {
    threads, helpers: helpersFor(threads), state: opts.state, kernels: opts.kernels?.(),
  });
  try {
    const metrics = [];
    while (!trainer.done) metrics.push(withoutTiming(trainer.runEpoch()));
    return { state: trainer.saveState(), model: trainer.exportModel(), metrics };
  } finally {
    trainer.close();
  }
}

function paramsOf(state: Uint8Array, count: number): Float32Array {
  // The parameters are the f32s after the 4-byte count that precedes them; find the count by value.
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
  for (let o = 0; o + 4 <= state.length; o += 4) {
    if (view.getUint32(o, true) === count) return new Float32Array(state.slice(o + 4, o + 4 + count * 4).buffer);
  }
  throw new Error('no parameter count in the state');
}

describe('layer 1 split by units', () => {
  it('gives the forward pass and the gradient of the whole minibatch, bit for bit, on any split', () => {
    const network = blobNetwork(0.3, 7);
    const layout = paramLayout(network);
    const B = 13, nIn = 7, nOut = 3, n1 = layout.sizes[1];
    const k = createReferenceKernels();
    const buf = reserve((lengths) => k.arena(lengths), {
      params: layout.paramCount, grads: layout.paramCount, velocity: layout.paramCount, moment2: 0, stage: B * n1,
      a1: B * n1, z1: B * n1, delta1: B * n1, y: B * nOut, ...pass_request(network, B, 'train'),
    });
    const rng = rng_seed(3);
    params_init(buf.params, layout, network, rng);
    for (let i = 0; i < B * nIn; i++) buf.z[0][i] = 2 * rng_uniform(rng) - 1;
    for (let r = 0; r < B; r++) buf.y[r * nOut + (r % nOut)] = 1;
    const cost = costFor(network.loss, network.output);
    const gemm = k.gemm.bind(k);
    const full = pass_create(network, layout, buf.params, buf.grads, buf);
    mlp_dropout_masks(full, B, rng);

    // One thread: the whole minibatch, masks already drawn.
    mlp_forward(gemm, full, B, 'drawn');
    cost.delta(full.delta[3], full.a[3], full.z[3], buf.y, B, nOut);
    mlp_backward(gemm, full, B);
    const a1 = full.a[1].slice(), z1 = full.z[1].slice(), gW1 = full.gW[1].slice(), gb1 = full.gb[1].slice();
    // What the caller leaves the units: W⁽²⁾ᵀδ⁽²⁾, before layer 1's mask and h′.
    const delta1Raw = new Float32Array(B * n1);
    dense_backward(gemm, delta1Raw, new Float32Array(full.gW[2].length), new Float32Array(full.gb[2].length), full.delta[2], full.z[1],
      full.W[2], B, n1, layout.sizes[2], 1 / B);

    for (const threads of [1, 2, 4, 9]) {
      const u = units_create(k, network, layout, threads, buf, {
        z0: full.z[0], a1: buf.a1, z1: buf.z1, delta1: buf.delta1, mask1: full.mask[1], stage: buf.stage,
      });
      buf.a1.fill(NaN);
      buf.z1.fill(NaN);
      buf.delta1.set(delta1Raw);
      full.gW[1].fill(NaN);
      full.gb[1].fill(NaN);
      // Any thread may run any unit, in any order.
      for (const r of [...u.ranges].reverse()) {
        range_forward(u, r, B);
        range_gradient(u, r, B);
      }
      expect(buf.a1).toEqual(a1);
      expect(buf.z1).toEqual(z1);
      expect(buf.delta1).toEqual(full.delta[1]);
      expect(full.gW[1]).toEqual(gW1);
      expect(full.gb[1]).toEqual(gb1);
    }
    expect(gW1.some((g) => g !== 0)).toBe(true);
  });
});

describe('the kernels a shared arena needs', () => {
  it('wasm addInto adds as the reference does, bit for bit (odd lengths too)', () => {
    const k = createKernels('wasm-simd');
    const n = 1027;
    const [dst, src] = k.arena([n, n]);
    const rng = rng_seed(5);
    for (let i = 0; i < n; i++) { dst[i] = rng_uniform(rng) * 2 - 1; src[i] = (rng_uniform(rng) - 0.5) * 1e-3; }
    const expected = dst.slice();
    for (let i = 0; i < n; i++) expected[i] += src[i];
    k.addInto(dst, src);
    expect(dst).toEqual(expected);
  });

  it('an update given a second gradient h has the bits of addInto(g, h) and then the update, and agrees with the reference', () => {
    const n = 1031;
    for (const optimizer of ['sgd', 'adam'] as const) {
      const k = createKernels('wasm-simd');
      const [w1, g1, v1, m1, w2, g2, v2, m2, h] = k.arena([n, n, n, n, n, n, n, n, n]);
      const rng = rng_seed(11);
      for (let i = 0; i < n; i++) {
        w1[i] = w2[i] = rng_uniform(rng) - 0.5;
        g1[i] = g2[i] = (rng_uniform(rng) - 0.5) * 0.1;
        h[i] = (rng_uniform(rng) - 0.5) * 0.1;
        v1[i] = v2[i] = rng_uniform(rng) * 0.01;
        m1[i] = m2[i] = (rng_uniform(rng) - 0.5) * 0.01;
      }
      const ref = { w: w1.slice(), g: g1.slice(), v: v1.slice(), m: m1.slice() };
      const step = (w: Float32Array, g: Float32Array, v: Float32Array, m: Float32Array, hh: Float32Array | null, kk = k) =>
        optimizer === 'sgd' ? kk.sgdUpdate!(w, g, v, 0.05, 0.9, 1e-3, true, hh) : kk.adamUpdate!(w, g, m, v, 0.01, 0.9, 0.999, 1e-8, 1e-3, 3, hh);
      step(w1, g1, v1, m1, h);
      k.addInto(g2, h);
      step(w2, g2, v2, m2, null);
      expect(w1).toEqual(w2);
      expect(v1).toEqual(v2);
      expect(m1).toEqual(m2);
      step(ref.w, ref.g, ref.v, ref.m, h.slice(), createReferenceKernels());
      for (let i = 0; i < n; i++) expect(ref.w[i]).toBeCloseTo(w1[i], 6);
    }
  });

  it('an instance attached to a shared arena multiplies with the same bits as the one that reserved it', () => {
    const owner = createKernels('wasm-simd');
    const M = 13, N = 37, K = 300;
    const [A, B, C1, C2, scratch] = owner.arena([M * K, N * K, M * N, M * N, owner.scratchLength], { shared: true });
    const rng = rng_seed(9);
    for (let i = 0; i < A.length; i++) A[i] = rng_uniform(rng) - 0.5;
    for (let i = 0; i < B.length; i++) B[i] = rng_uniform(rng) - 0.5;
    const helper = createKernels('wasm-simd');
    helper.attach(owner.share(), scratch);
    owner.gemm(false, true, M, N, K, 1, A, B, 0, C1);
    helper.gemm(false, true, M, N, K, 1, A, B, 0, C2);
    expect(C2).toEqual(C1);
    expect(() => createKernels('wasm-simd').attach(owner.share(), null)).toThrow(/scratch/);
    expect(() => createKernels('wasm-simd').share()).toThrow(/no shared arena/);
  });
});

describe('threads', () => {
  it('threads 1 is the single-threaded trainer, bit for bit', () => {
    const plain = createTrainer(blobNetwork(0.2), trainingSpec({ epochs: 2, momentum: 0.9, seed: 7 }), blobs(200));
    const one = createTrainer(blobNetwork(0.2), trainingSpec({ epochs: 2, momentum: 0.9, seed: 7 }), blobs(200), { threads: 1 });
    plain.runEpoch();
    one.runEpoch();
    plain.runEpoch();
    one.runEpoch();
    expect(one.saveState()).toEqual(plain.saveState());
    expect(savedThreads(one.saveState())).toBe(1);
  });

  for (const threads of [2, 3]) {
    it(`threads ${threads}: two runs give the same bits, and the same weights as one thread within rounding`, () => {
      const a = train(threads), b = train(threads), single = train(1);
      expect(a.state).toEqual(b.state);
      expect(a.model).toEqual(b.model);
      expect(savedThreads(a.state)).toBe(threads);
      const count = paramLayout(blobNetwork()).paramCount;
      const p = paramsOf(a.state, count), q = paramsOf(single.state, count);
      let worst = 0;
      for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
      expect(worst).toBeLessThan(1e-4);
      // Dropout drew the same masks: the metrics agree to rounding, epoch by epoch.
      for (let e = 0; e < 3; e++) {
        expect(a.metrics[e]!.loss).toBeCloseTo(single.metrics[e]!.loss, 5);
        expect(a.metrics[e]!.valLoss!).toBeCloseTo(single.metrics[e]!.valLoss!, 5);
      }
    });
  }

  it('threads 2: a run saved and resumed equals the uninterrupted run, bit for bit (SGD and Adam)', () => {
    for (const optimizer of ['sgd', 'adam'] as const) {
      const whole = train(2, { epochs: 4, optimizer });
      const first = train(2, { epochs: 2, optimizer });
      const resumed = train(2, { epochs: 4, optimizer, state: first.state });
      expect(resumed.state).toEqual(whole.state);
      expect(resumed.model).toEqual(whole.model);
      expect(resumed.metrics).toEqual(whole.metrics.slice(2));
    }
  });

  it('Adam with L2 and with clipNorm (the caller then sums alone) agrees with one thread, and repeats bit for bit', () => {
    for (const clipNorm of [undefined, 0.5]) {
      const opts = { optimizer: 'adam' as const, l2: 1e-3, clipNorm };
      const a = train(2, opts), b = train(2, opts), single = train(1, opts);
      expect(a.state).toEqual(b.state);
      for (let e = 0; e < 3; e++) expect(a.metrics[e]!.loss).toBeCloseTo(single.metrics[e]!.loss, 4);
    }
  });

  it('the update split by parameter across threads gives the bits of one thread summing and updating all of them', () => {
    // clipNorm that never clips takes the caller-sums-alone path; without it the threads split the update.
    for (const optimizer of ['sgd', 'adam'] as const) {
      const split = train(2, { optimizer, l2: 1e-3 }), alone = train(2, { optimizer, l2: 1e-3, clipNorm: 1e30 });
      expect(split.model).toEqual(alone.model);
    }
  });

  it('runs on the reference kernel too (a SharedArrayBuffer arena), agreeing with one thread', () => {
    const a = train(2, { kernels: createReferenceKernels }), b = train(2, { kernels: createReferenceKernels });
    const single = train(1, { kernels: createReferenceKernels });
    expect(a.state).toEqual(b.state);
    for (let e = 0; e < 3; e++) expect(a.metrics[e]!.loss).toBeCloseTo(single.metrics[e]!.loss, 5);
  });

  it('copes with minibatches smaller than the thread count (batch 2 on 3 threads, a last minibatch of 1 row)', () => {
    const a = train(3, { batchSize: 2, data: blobs(51) }), single = train(1, { batchSize: 2, data: blobs(51) });
    for (let e = 0; e < 3; e++) expect(a.metrics[e]!.loss).toBeCloseTo(single.metrics[e]!.loss, 5);
  });

  it('refuses to resume a state on another thread count, saying which', () => {
    const first = train(2, { epochs: 1 });
    for (const threads of [1, 3]) {
      const err = (() => {
        try { train(threads, { state: first.state }); } catch (e) { return e; }
        return null;
      })();
      expect(err).toBeInstanceOf(EngineError);
      expect(err).toMatchObject({ code: 'invalid_state', field: 'threads' });
      expect((err as Error).message).toMatch(/resume it with threads 2/);
    }
  });

  it('asks for helper threads when threads > 1 comes without them', () => {
    expect(() => createTrainer(blobNetwork(), trainingSpec(), blobs(50), { threads: 2 }))
      .toThrow(/threads 2 needs 1 helper threads/);
    expect(() => createTrainer(blobNetwork(), trainingSpec(), blobs(50), { threads: 0 })).toThrow(/threads must be/);
  });

  it('a helper that fails fails the epoch with its message, instead of hanging, and the trainer stays closed', () => {
    const broken: HelperThreads = { count: 1, start: (jobs) => one.start(jobs.map((j) => ({ ...j, kernel: 'no-such-kernel' }))) };
    // Long enough an epoch (12,500 steps) that the helper fails within it: the caller can claim every
    // unit itself, so a short epoch may end before the helper has even read its job.
    const trainer = createTrainer(blobNetwork(), trainingSpec({ epochs: 2 }), blobs(100_000), { threads: 2, helpers: broken });
    const before = trainer.saveState();
    expect(() => trainer.runEpoch()).toThrow(/a helper thread failed: helper 1: unknown kernel 'no-such-kernel'/);
    expect(trainer.saveState()).toEqual(before);
    expect(() => trainer.runEpoch()).toThrow(/closed/);
    trainer.close();
  });

  it('a trainer that cannot be created leaves its helpers free for the next one', () => {
    // As train.test.ts's 'rows too large to train on': the untrained network's loss is already infinite.
    const network: NetworkSpec = {
      inputs: 2, hidden: [{ units: 8, activation: 'relu', dropout: 0 }], outputs: 1, output: 'identity', loss: 'squared_error',
    };
    const data = linear(40);
    data.x[7] = 3e38;
    expect(() => createTrainer(network, trainingSpec(), data, { threads: 2, helpers: one })).toThrow(/too large to train on/);
    // The helper takes the next job (else it would still be waiting on the first one's control word and
    // the caller would quietly do every unit alone): a job it cannot run fails the next epoch.
    const broken: HelperThreads = { count: 1, start: (jobs) => one.start(jobs.map((j) => ({ ...j, kernel: 'no-such-kernel' }))) };
    const next = createTrainer(blobNetwork(), trainingSpec({ epochs: 1 }), blobs(100_000), { threads: 2, helpers: broken });
    expect(() => next.runEpoch()).toThrow(/a helper thread failed/);
    next.close();
  });

  it('a helper set serves one trainer after another', () => {
    const a = train(2, { kernels: () => createKernels() }), b = train(2, { kernels: () => createKernels() });
    expect(a.state).toEqual(b.state);
  });
});
