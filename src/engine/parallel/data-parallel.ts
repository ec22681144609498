// One training job on several cores: each minibatch of B rows is split into T contiguous slices, thread t
// runs forward, δ⁽ᴸ⁾ and backward over rows ⌊tB/T⌋…⌊(t+1)B/T⌋ into its own gradient vector (scaled by
// 1/B, so each is its slice's share of the minibatch mean); then the gradients are summed in thread
// order, g = ((g₀ + g₁) + g₂) + …, and the one update applied. Same seed and T: same bits, every run.
// The sum and the update are elementwise, so they too are split, by parameter: thread t sums and updates
// parameters ⌊tP/T⌋…⌊(t+1)P/T⌋ (rounded to cache lines), which gives the bits one thread summing and
// updating them all would. At batch 10 the update alone is a third of a step (it streams w, g and v,
// 1.2 MB for 784-128-10), so leaving it to one thread would cap two threads at about 1.3×. With
// clipNorm the norm needs the whole sum first: the caller then sums and updates alone (reduce()).
//
// What lives where. Everything a step touches is in the trainer's one arena, reserved shared (a shared
// WebAssembly.Memory for the wasm kernel): the parameters, the minibatch's z⁽⁰⁾ and targets (gathered by
// the calling thread), every layer's a, z, δ and dropout mask (each thread uses its rows of them), and
// per helper its gradient vector and its gemm scratch. So a helper reads the parameters and writes its
// gradient in place; nothing is copied or posted per step. The calling thread draws the dropout masks
// for the whole minibatch before splitting it (mlp_dropout_masks: the numbers dropout_forward would
// draw, in its order), so T threads drop the very units one thread would, and a resumed run redraws them
// from the saved generator like any other.
//
// Synchronisation is one small Int32Array over a SharedArrayBuffer (the control word): the caller bumps
// GEN and notifies, helpers wake from Atomics.wait (after a short spin: a futex wake-up costs tens of
// microseconds, a step at batch 10 a few hundred), do their slice and count themselves into DONE.
//
// This file is pure computation, like the rest of the engine: it never starts a thread. Whoever owns
// threads (engine/parallel/threads.ts, which uses node:worker_threads) hands the trainer a HelperThreads,
// whose start() delivers each helper its HelperJob and makes it call helper_run(). Keeping the spawning
// out lets the same trainer run under Piscina, in a bench, or in a test, and keeps the engine's core free
// of I/O; the price is that a caller asking for threads > 1 must also pass the helpers.
import { costFor, type Cost } from '../costs.js';
import { createKernels, type KernelChoice, type Kernels } from '../kernels/index.js';
import type { KernelShare } from '../kernels/types.js';
import type { Gemm } from '../layers.js';
import { mlp_backward, mlp_forward, pass_create, pass_slice, type Pass } from '../mlp.js';
import { optimizer_update, update_kernels, update_vectors_range, type UpdateSettings, type UpdateVectors } from '../optim.js';
import { paramLayout, type ParamLayout } from '../spec.js';
import type { NetworkSpec } from '../types.js';

/** Helper threads a trainer may run its slices on; threads.ts makes them with node:worker_threads. */
export interface HelperThreads {
  /** How many helpers: a trainer with them runs on count + 1 threads (its own and theirs). */
  readonly count: number;
  /** Delivers jobs[i] to helper i, which runs helper_run(jobs[i]) until the trainer closes. */
  start(jobs: HelperJob[]): void;
}

/** A view into the shared memory, as (byte offset, length in floats): what crosses threads. */
type Span = [byteOffset: number, length: number];

/** Everything a helper needs to find its slice's buffers; structured-cloneable. */
export interface HelperJob {
  /** 1…threads−1 (the calling thread is 0). */
  index: number;
  threads: number;
  kernel: string;
  share: KernelShare;
  control: SharedArrayBuffer;
  /** Float64Array(SETTINGS_LENGTH): the update's settings for this step. */
  settings: SharedArrayBuffer;
  network: NetworkSpec;
  params: Span;
  /** The caller's gradient vector (slice 0's, then the sum), the optimizer's, and every helper's gradient. */
  grads: Span; velocity: Span; moment2: Span;
  helperGrads: Span[];
  /** This helper's gemm scratch (null when the kernel needs none). */
  scratch: Span | null;
  /** The minibatch's targets and every layer's buffers, whole: the helper takes its rows of them. */
  y: Span;
  a: Span[]; z: Span[]; delta: Span[]; mask: Span[];
}

// The control word.
const GEN = 0; // bumped by the caller for every phase of a step (and for stop)
const ROWS = 1; // the minibatch rows of a gradient phase; UPDATE for the sum-and-update phase; 0 means stop
const DONE = 2; // helpers finished with this step
const FAILED = 3; // helpers that threw (they still count into DONE)
const READY = 4; // helpers that attached and are waiting for steps
const MESSAGE = 8; // the first failure's message, UTF-8, from this Int32 on
const MESSAGE_BYTES = 512;
const CONTROL_BYTES = MESSAGE * 4 + MESSAGE_BYTES;
const UPDATE = -1;
// The update settings, as Float64Array: optimizer_update's fields (optimizer 0 = SGD, 1 = Adam; nesterov 0/1).
const S_OPTIMIZER = 0, S_LR = 1, S_MOMENTUM = 2, S_NESTEROV = 3, S_BETA1 = 4, S_BETA2 = 5, S_EPSILON = 6, S_L2 = 7, S_STEP = 8;
const SETTINGS_LENGTH = 9;

/** Parameters ⌊tP/T⌋…, on 16-float (cache-line) boundaries, so two threads never write one line. */
const range_start = (t: number, P: number, threads: number) => (t === threads ? P : Math.floor((t * P) / threads / 16) * 16);

/**
 * One thread's part of the update: its range of the parameter, gradient and optimizer vectors, and of
 * every helper's gradient, as views made once.
 */
interface UpdateRange { vectors: UpdateVectors; grads: Float32Array; helperGrads: Float32Array[] }

function update_range(
  t: number, threads: number, weightCount: number, params: Float32Array, grads: Float32Array, velocity: Float32Array,
  moment2: Float32Array, helperGrads: Float32Array[],
): UpdateRange {
  const P = params.length;
  const p0 = range_start(t, P, threads), p1 = range_start(t + 1, P, threads);
  return {
    vectors: update_vectors_range(params, grads, velocity, moment2, weightCount, p0, p1),
    grads: grads.subarray(p0, p1),
    helperGrads: helperGrads.map((g) => g.subarray(p0, p1)),
  };
}

/** g ← g + g₁ + g₂ + … over one range, in thread order, skipping helpers that had no rows. */
function range_sum(kernels: Kernels, r: UpdateRange, rows: number, threads: number): void {
  for (let t = 1; t < threads; t++) {
    if (slice_start(t + 1, rows, threads) > slice_start(t, rows, threads)) kernels.addInto(r.grads, r.helperGrads[t - 1]);
  }
}

/** Polls before sleeping in Atomics.wait: about 20 µs here, less than a futex round trip. */
const SPIN = 2000;
/** A helper that has not answered for this long is gone (the first step includes its start-up). */
const HELPER_TIMEOUT_MS = 60_000;

/** Rows t·rows/threads … (t + 1)·rows/threads, rounded down: contiguous, in order, sizes differing by ≤ 1. */
export const slice_start = (t: number, rows: number, threads: number) => Math.floor((t * rows) / threads);

/** What the trainer needs to reserve in its arena for T threads, per helper. */
export function helper_request(threads: number, paramCount: number, kernels: Kernels) {
  const helpers = threads - 1;
  return {
    helperGrads: Array.from({ length: helpers }, () => paramCount),
    helperScratch: Array.from({ length: helpers }, () => kernels.scratchLength),
  };
}

/** One thread's view of a minibatch of `rows` rows: its slice's pass and targets. */
interface Slice<T extends Float32Array> { rows: number; pass: Pass<T>; y: T }

/**
 * The slices a thread works on, one per minibatch size seen (a training epoch has at most two: the
 * batch size and the last, shorter minibatch), made once and reused, so a step allocates nothing.
 */
function slice_cache(full: Pass<Float32Array>, y: Float32Array, layout: ParamLayout, grads: Float32Array, t: number, threads: number) {
  const nOut = full.sizes[full.sizes.length - 1];
  const made = new Map<number, Slice<Float32Array>>();
  return (rows: number): Slice<Float32Array> => {
    let slice = made.get(rows);
    if (slice === undefined) {
      const r0 = slice_start(t, rows, threads), r1 = slice_start(t + 1, rows, threads);
      slice = { rows: r1 - r0, pass: pass_slice(full, layout, grads, r0, r1), y: y.subarray(r0 * nOut, r1 * nOut) };
      made.set(rows, slice);
    }
    return slice;
  };
}

/**
 * One slice's share of the minibatch gradient: forward (with the masks already drawn), δ⁽ᴸ⁾ from the
 * cost, backward with scale 1/batchRows into the slice's gW, gb. The same code on every thread.
 */
function slice_gradient(gemm: Gemm<Float32Array>, cost: Cost, s: Slice<Float32Array>, batchRows: number): void {
  const { pass, rows } = s;
  const L = pass.sizes.length - 1;
  mlp_forward(gemm, pass, rows, 'drawn');
  cost.delta(pass.delta[L], pass.a[L], pass.z[L], s.y, rows, pass.sizes[L]);
  mlp_backward(gemm, pass, rows, 1 / batchRows);
}

/** Waits (spinning first) until control[i] is no longer `value`; false after timeoutMs. */
function wait_change(control: Int32Array, i: number, value: number, timeoutMs: number): boolean {
  for (let k = 0; k < SPIN; k++) if (Atomics.load(control, i) !== value) return true;
  const deadline = performance.now() + timeoutMs;
  while (Atomics.load(control, i) === value) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(control, i, value, Math.min(left, 1000));
  }
  return true;
}

export interface DataParallel {
  readonly threads: number;
  /**
   * Every thread's slice of the gradient of the minibatch of `rows` rows already in the full pass (z⁽⁰⁾
   * gathered, targets in y, dropout masks drawn): a⁽ˡ⁾, z⁽ˡ⁾ of all rows are then in the pass, and the
   * gradients, still unsummed, in the trainer's vector (slice 0) and the helpers'.
   */
  gradient(rows: number): void;
  /** After gradient(): the sum and the update (optimizer_update with s, advancing s.step), each thread its range. */
  update(s: UpdateSettings): void;
  /** After gradient(): the sum alone, on this thread, for a caller that must see the whole gradient (clipping). */
  reduce(): void;
  /** Ends the helpers' job (they return from helper_run and may take another). Idempotent. */
  close(): void;
}

/**
 * The calling thread's side. `pass`, `y` and the vectors are the trainer's (its full minibatch pass, its
 * targets, and the flat vectors; grads also holds slice 0's gradient); helperGrads and helperScratch
 * come from helper_request's part of the same shared arena.
 */
export function data_parallel_start(
  kernels: Kernels, network: NetworkSpec, layout: ParamLayout, pass: Pass<Float32Array>, y: Float32Array,
  vectors: { params: Float32Array; grads: Float32Array; velocity: Float32Array; moment2: Float32Array },
  helperGrads: Float32Array[], helperScratch: Float32Array[], helpers: HelperThreads,
): DataParallel {
  const { params, grads, velocity, moment2 } = vectors;
  const threads = helpers.count + 1;
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  const settings = new Float64Array(new SharedArrayBuffer(SETTINGS_LENGTH * 8));
  const span = (v: Float32Array): Span => [v.byteOffset, v.length];
  const share = kernels.share();
  helpers.start(helperGrads.map((_, i) => ({
    index: i + 1, threads, kernel: kernels.name, share, control: control.buffer as SharedArrayBuffer,
    settings: settings.buffer as SharedArrayBuffer, network,
    params: span(params), grads: span(grads), velocity: span(velocity), moment2: span(moment2),
    helperGrads: helperGrads.map(span), scratch: kernels.scratchLength > 0 ? span(helperScratch[i]) : null,
    y: span(y), a: pass.a.map(span), z: pass.z.map(span), delta: pass.delta.map(span), mask: pass.mask.map(span),
  })));
  const gemm: Gemm<Float32Array> = kernels.gemm.bind(kernels);
  const cost = costFor(network.loss, network.output);
  const updates = update_kernels(kernels);
  const mine = slice_cache(pass, y, layout, grads, 0, threads);
  const myRange = update_range(0, threads, layout.weightCount, params, grads, velocity, moment2, helperGrads);
  const all = update_range(0, 1, layout.weightCount, params, grads, velocity, moment2, helperGrads);
  let generation = 0;
  let lastRows = 0;
  let started = false;
  let closed = false;

  /** Starts a phase on every helper. */
  function signal(rows: number): void {
    if (closed) throw new Error('the data-parallel trainer is closed (or a helper failed); create another trainer');
    Atomics.store(control, ROWS, rows);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, GEN, ++generation);
    Atomics.notify(control, GEN);
  }

  /** Waits for every helper to count itself into DONE for this phase; throws what failed. */
  function join(): void {
    for (;;) {
      if (Atomics.load(control, FAILED) > 0) {
        closed = true;
        const bytes = new Uint8Array(control.buffer, MESSAGE * 4, MESSAGE_BYTES);
        const end = bytes.indexOf(0);
        throw new Error(`a helper thread failed: ${new TextDecoder().decode(bytes.slice(0, end < 0 ? MESSAGE_BYTES : end))}`);
      }
      const done = Atomics.load(control, DONE);
      if (done >= helpers.count) return;
      if (!wait_change(control, DONE, done, HELPER_TIMEOUT_MS)) {
        closed = true;
        throw new Error(`${started ? 'a helper thread stopped answering' : 'the helper threads did not start'} ` +
          `within ${HELPER_TIMEOUT_MS / 1000} s: ${Atomics.load(control, READY)} of ${helpers.count} attached`);
      }
    }
  }

  return {
    threads,
    gradient(rows) {
      signal(rows);
      lastRows = rows;
      const s = mine(rows);
      if (s.rows > 0) slice_gradient(gemm, cost, s, rows);
      else grads.fill(0);
      join();
      started = true;
    },
    update(s) {
      settings[S_OPTIMIZER] = s.optimizer === 'adam' ? 1 : 0;
      settings[S_LR] = s.learningRate;
      settings[S_MOMENTUM] = s.momentum;
      settings[S_NESTEROV] = s.nesterov ? 1 : 0;
      settings[S_BETA1] = s.beta1;
      settings[S_BETA2] = s.beta2;
      settings[S_EPSILON] = s.epsilon;
      settings[S_L2] = s.l2;
      settings[S_STEP] = s.step;
      signal(UPDATE);
      range_sum(kernels, myRange, lastRows, threads);
      optimizer_update(updates, myRange.vectors, s);
      join();
    },
    reduce() {
      range_sum(kernels, all, lastRows, threads);
    },
    close() {
      if (closed) return;
      closed = true;
      Atomics.store(control, ROWS, 0);
      Atomics.store(control, GEN, ++generation);
      Atomics.notify(control, GEN);
    },
  };
}

/**
 * A helper thread's side: attaches kernels to the shared memory, then does its slice of every step
 * until the caller closes. Blocks its thread meanwhile, however long the caller pauses between steps
 * (between epochs a service saves its state): a helper whose trainer is gone is its owner's to end.
 */
export function helper_run(job: HelperJob): void {
  const control = new Int32Array(job.control);
  const memory = job.share instanceof SharedArrayBuffer ? job.share : job.share.buffer;
  const view = ([offset, length]: Span) => new Float32Array(memory, offset, length);
  // A job's control word starts at 0; the caller may have begun its first step before this thread got here.
  let generation = 0;
  try {
    const kernels = createKernels(job.kernel as KernelChoice);
    kernels.attach(job.share, job.scratch === null ? null : view(job.scratch));
    const layout = paramLayout(job.network);
    const params = view(job.params);
    const helperGrads = job.helperGrads.map(view);
    const full = pass_create(job.network, layout, params, helperGrads[job.index - 1], {
      a: job.a.map(view), z: job.z.map(view), delta: job.delta.map(view), mask: job.mask.map(view),
    });
    const mine = slice_cache(full, view(job.y), layout, helperGrads[job.index - 1], job.index, job.threads);
    const range = update_range(job.index, job.threads, layout.weightCount, params, view(job.grads), view(job.velocity),
      view(job.moment2), helperGrads);
    const gemm: Gemm<Float32Array> = kernels.gemm.bind(kernels);
    const cost = costFor(job.network.loss, job.network.output);
    const updates = update_kernels(kernels);
    const settings = new Float64Array(job.settings);
    const s: UpdateSettings = {
      optimizer: 'sgd', learningRate: 0, momentum: 0, nesterov: false, beta1: 0, beta2: 0, epsilon: 0, l2: 0, step: 0,
    };
    let lastRows = 0;
    Atomics.add(control, READY, 1);
    for (;;) {
      wait_change(control, GEN, generation, Infinity);
      generation = Atomics.load(control, GEN);
      const rows = Atomics.load(control, ROWS);
      if (rows === 0) return;
      if (rows === UPDATE) {
        s.optimizer = settings[S_OPTIMIZER] === 1 ? 'adam' : 'sgd';
        s.learningRate = settings[S_LR];
        s.momentum = settings[S_MOMENTUM];
        s.nesterov = settings[S_NESTEROV] === 1;
        s.beta1 = settings[S_BETA1];
        s.beta2 = settings[S_BETA2];
        s.epsilon = settings[S_EPSILON];
        s.l2 = settings[S_L2];
        s.step = settings[S_STEP];
        range_sum(kernels, range, lastRows, job.threads);
        optimizer_update(updates, range.vectors, s);
      } else {
        lastRows = rows;
        const slice = mine(rows);
        if (slice.rows > 0) slice_gradient(gemm, cost, slice, rows);
      }
      Atomics.add(control, DONE, 1);
      Atomics.notify(control, DONE);
    }
  } catch (err) {
    if (Atomics.add(control, FAILED, 1) === 0) {
      const text = new TextEncoder().encode(`helper ${job.index}: ${err instanceof Error ? err.message : String(err)}`);
      new Uint8Array(control.buffer, MESSAGE * 4, MESSAGE_BYTES - 1).set(text.subarray(0, MESSAGE_BYTES - 1));
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}
