// One training job on several cores, by splitting the first layer's units across threads. Almost all of
// a step's work is in layer 1 when the input is wide (784-128-10: 99% of the FLOPs and of the
// parameters): its forward product z⁽⁰⁾W⁽¹⁾ᵀ, its gradient δ⁽¹⁾ᵀz⁽⁰⁾ and the update of W⁽¹⁾. Thread k
// owns units J_k = ⌊k·n⁽¹⁾/T⌋…⌊(k+1)·n⁽¹⁾/T⌋ of layer 1, that is rows J_k of W⁽¹⁾, ∂W⁽¹⁾ and the
// optimizer's vectors, and a step is two phases:
//
//   forward   (unit k)  a⁽¹⁾[:, J_k] = z⁽⁰⁾ W⁽¹⁾[J_k]ᵀ + b⁽¹⁾[J_k], z⁽¹⁾[:, J_k] = h(a⁽¹⁾[:, J_k]), dropout
//   caller alone        layers 2…L forward; the cost's δ⁽ᴸ⁾; backward down to W⁽²⁾ᵀδ⁽²⁾ and the gradients
//                       of layers 2…L (a few percent of the step for 784-128-10)
//   gradient  (unit k)  δ⁽¹⁾[:, J_k] (mask and h′ applied), ∂W⁽¹⁾[J_k] = (1/B)·δ⁽¹⁾[:, J_k]ᵀ z⁽⁰⁾, ∂b⁽¹⁾[J_k],
//                       then the update of W⁽¹⁾[J_k], b⁽¹⁾[J_k];   (unit T)  the update of layers 2…L
//
// This replaced splitting the minibatch by rows, where every slice wrote a whole ∂W (400 KB for
// 784-128-10) that then had to be summed: at batch 10 a 5-row slice cost about as much as the
// 10-row minibatch, and two threads were no faster than one. Split by units, nothing is summed,
// each thread reads and writes only its own half of the big vectors (which stay in its core's cache
// from one step to the next), and what crosses cores is z⁽⁰⁾, a⁽¹⁾ and δ⁽¹⁾ (B×784, B×128, B×128).
//
// Bits. Every number is computed by the same operations in the same order whichever thread computes
// it: a unit's product is the one-thread product restricted to its units' rows of W⁽¹⁾ (each output is
// one dot product over z⁽⁰⁾'s row or one sum over the minibatch's rows), the bias and ∂b loops are
// the ones dense_forward and dense_backward run, and the update is elementwise. So the bits depend on
// the seed and the thread count only (the README's rule), never on which thread claimed which unit.
// With clipNorm the norm needs the whole gradient first: the gradient phase then stops before the
// update, and the caller clips and updates as one thread does.
//
// The units of a phase are claimed from an atomic counter, first come first served, so a helper that
// is off the CPU when a phase opens costs the caller its unit of work rather than a wait. A thread
// preempted after claiming a unit still holds up the phase until it runs again: on a machine with more
// runnable threads than cores, two threads are slower than one (README, "One job on every core"), hence
// the service's rule that a node's jobs never ask for more threads than it has cores. The caller opens
// a phase and claims at once, so unit 0 is nearly always its own and unit 1 a helper's: each keeps
// working on the same rows of W⁽¹⁾.
//
// What lives where. Everything a step touches is in the trainer's one arena, reserved shared (a shared
// WebAssembly.Memory for the wasm kernel, a SharedArrayBuffer for the reference one): the parameters,
// the gradient and the optimizer vectors, z⁽⁰⁾ (gathered by the calling thread), a⁽¹⁾ and δ⁽¹⁾, a
// staging buffer (B × n⁽¹⁾: unit k's product lands in its own dense block there before it is spread into
// a⁽¹⁾'s columns, and δ⁽¹⁾'s columns are gathered there for ∂W⁽¹⁾) and each helper's gemm scratch. So
// helpers read and write in place; nothing is copied or posted per step. The calling thread draws the
// dropout masks for the whole minibatch (mlp_dropout_masks: the numbers dropout_forward would draw, in
// its order) and applies them itself, so T threads drop the very units one thread would.
//
// Synchronisation is one small Int32Array over a SharedArrayBuffer (the control word): the caller opens a
// phase (CLAIM ← phase·256, then KIND, ROWS, then GEN ← phase), every thread claims units by
// compare-and-swap on CLAIM until none is left and counts each finished one into DONE, and the caller
// waits for DONE = the phase's units. A thread polls for SPIN_MS before sleeping in Atomics.wait, and
// Atomics.notify is called only when the other side says it sleeps: notify alone took 46 µs a call here,
// a quarter of a step at batch 10.
//
// This file is pure computation, like the rest of the engine: it never starts a thread. Whoever owns
// threads (engine/parallel/threads.ts, which uses node:worker_threads) hands the trainer a HelperThreads,
// whose start() delivers each helper its HelperJob and makes it call helper_run(). Keeping the spawning
// out lets the same trainer run under Piscina, in a bench or in a test, and keeps the engine's core free
// of I/O; the price is that a caller asking for threads > 1 must also pass the helpers.
import { costFor } from '../costs.js';
import { createKernels, type KernelChoice, type Kernels } from '../kernels/index.js';
import type { KernelShare } from '../kernels/types.js';
import {
  activation_backward, activation_forward, activation_forward_span, dense_backward, dropout_apply, dropout_backward, type Gemm,
} from '../layers.js';
import { fused_kernel, mlp_backward, mlp_forward, type Fused, type Pass } from '../mlp.js';
import { optimizer_update, update_kernels, type UpdateKernels, type UpdateSettings, type UpdateVectors } from '../optim.js';
import { paramLayout, type ParamLayout } from '../spec.js';
import type { HiddenActivation, NetworkSpec } from '../types.js';

/** Helper threads a trainer may run its units on; threads.ts makes them with node:worker_threads. */
export interface HelperThreads {
  /** How many helpers: a trainer with them runs on count + 1 threads (its own and theirs). */
  readonly count: number;
  /** Delivers jobs[i] to helper i, which runs helper_run(jobs[i]) until the trainer closes. */
  start(jobs: HelperJob[]): void;
}

/** A view into the shared memory, as (byte offset, length in floats): what crosses threads. */
type Span = [byteOffset: number, length: number];

/** Everything a helper needs to find the buffers of any unit; structured-cloneable. */
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
  params: Span; grads: Span; velocity: Span; moment2: Span;
  /** This helper's gemm scratch (null when the kernel needs none). */
  scratch: Span | null;
  /** z⁽⁰⁾ (batch, n⁽⁰⁾), a⁽¹⁾, z⁽¹⁾, δ⁽¹⁾ and mask⁽¹⁾ (batch, n⁽¹⁾; the mask empty without dropout), the staging buffer (batch·n⁽¹⁾). */
  z0: Span; a1: Span; z1: Span; delta1: Span; mask1: Span; stage: Span;
}

// The control word.
const GEN = 0; // the current phase's number, bumped by the caller to open it (and to stop)
const KIND = 1; // what the phase does: FORWARD, GRADIENT, GRADIENT_UPDATE, or STOP
const DONE = 2; // units of this phase finished
const FAILED = 3; // helpers that threw
const READY = 4; // helpers that attached
const HELPERS_ASLEEP = 5; // helpers in Atomics.wait on GEN: the caller notifies only when > 0
const CALLER_ASLEEP = 6; // 1 while the caller is in Atomics.wait on DONE
const CLAIM = 7; // (phase mod 2²³)·256 + units claimed so far
const ROWS = 8; // the minibatch's rows
const MESSAGE = 9; // the first failure's message, UTF-8, from this Int32 on
const MESSAGE_BYTES = 512;
const CONTROL_BYTES = MESSAGE * 4 + MESSAGE_BYTES;
const PHASE_MASK = 0x7fffff;
// Phase kinds.
const STOP = 0, FORWARD = 1, GRADIENT = 2, GRADIENT_UPDATE = 3;
// The update settings, as Float64Array: optimizer_update's fields (optimizer 0 = SGD, 1 = Adam; nesterov 0/1).
const S_OPTIMIZER = 0, S_LR = 1, S_MOMENTUM = 2, S_NESTEROV = 3, S_BETA1 = 4, S_BETA2 = 5, S_EPSILON = 6, S_L2 = 7, S_STEP = 8;
const SETTINGS_LENGTH = 9;

/** How long a thread polls before sleeping in Atomics.wait, in ms: about a futex round trip. */
const SPIN_MS = 0.05;
/** A helper that has not answered for this long is gone (the first step includes its start-up). */
const HELPER_TIMEOUT_MS = 60_000;

/** Units ⌊k·n/T⌋…⌊(k+1)·n/T⌋ of layer 1: contiguous, in order, sizes differing by ≤ 1. */
export const unit_start = (k: number, n: number, threads: number) => Math.floor((k * n) / threads);

/** What the trainer reserves in its arena for T threads: the staging buffer, the helpers' gemm scratch. */
export function helper_request(threads: number, network: NetworkSpec, batch: number, kernels: Kernels) {
  const helpers = threads - 1;
  const n1 = network.hidden.length > 0 ? network.hidden[0].units : network.outputs;
  return {
    stage: helpers > 0 ? batch * n1 : 0,
    helperScratch: Array.from({ length: helpers }, () => kernels.scratchLength),
  };
}

/**
 * Units J = j0…j1 of layer 1: rows J of W⁽¹⁾ and of ∂W⁽¹⁾, and the update's vectors over W⁽¹⁾[J] and b⁽¹⁾[J];
 * b⁽¹⁾[J], ∂b⁽¹⁾[J], and a⁽¹⁾, z⁽¹⁾, δ⁽¹⁾ and the mask from column j0 on (for the kernel's epilogues).
 */
interface Range {
  j0: number; j1: number; W: Float32Array; gW: Float32Array; update: UpdateVectors;
  b: Float32Array; gb: Float32Array; a: Float32Array; z: Float32Array; delta: Float32Array; mask: Float32Array | null;
}

/** The buffers any thread needs to run any unit, as views of the shared memory; made once per thread. */
export interface Units {
  threads: number;
  gemm: Gemm<Float32Array>;
  updates: UpdateKernels;
  /** The kernel's forward epilogue and backward prologue (biasRelu, reluGrad) when it has them, for ReLU or an output layer 1. */
  fused: Fused | null;
  /** n⁽⁰⁾, n⁽¹⁾. */
  nIn: number; n1: number;
  /** Layer 1's h when it is a hidden layer (the units apply it, and h′), null when it is the output layer (the caller's). */
  act1: HiddenActivation | null;
  /** Layer 1's dropout masks, drawn by the caller; null without dropout. */
  mask1: Float32Array | null;
  z0: Float32Array; a1: Float32Array; z1: Float32Array; delta1: Float32Array; stage: Float32Array;
  b1: Float32Array; gb1: Float32Array;
  /** The T ranges of layer 1's units. */
  ranges: Range[];
  /** The update's vectors over the weights and biases of layers 2…L (unit T of a gradient phase); null when L = 1. */
  rest: UpdateVectors | null;
}

/** One part of the update: params, grads, velocity, moment2 over i0…i1 (moment2 may be empty: SGD). */
function part(v: { params: Float32Array; grads: Float32Array; velocity: Float32Array; moment2: Float32Array }, i0: number, i1: number) {
  return {
    w: v.params.subarray(i0, i1), g: v.grads.subarray(i0, i1), v: v.velocity.subarray(i0, i1),
    s: v.moment2.length === 0 ? v.moment2 : v.moment2.subarray(i0, i1),
  };
}

export function units_create(
  kernels: Kernels, network: NetworkSpec, layout: ParamLayout, threads: number,
  vectors: { params: Float32Array; grads: Float32Array; velocity: Float32Array; moment2: Float32Array },
  buffers: { z0: Float32Array; a1: Float32Array; z1: Float32Array; delta1: Float32Array; mask1: Float32Array; stage: Float32Array },
): Units {
  const { sizes, weightOffset, biasOffset, weightCount, paramCount } = layout;
  const nIn = sizes[0], n1 = sizes[1];
  const w1 = weightOffset[1], b1 = biasOffset[1];
  const hidden = network.hidden.length > 0;
  const act1 = hidden ? network.hidden[0].activation : null;
  const mask1 = hidden && network.hidden[0].dropout > 0 ? buffers.mask1 : null;
  return {
    threads, nIn, n1, ...buffers, act1, mask1,
    gemm: kernels.gemm.bind(kernels),
    updates: update_kernels(kernels),
    // The epilogues in the kernel do what the loops below do for ReLU (and for no activation at all).
    fused: act1 === 'relu' || act1 === null ? fused_kernel(kernels) : null,
    b1: vectors.params.subarray(b1, b1 + n1),
    gb1: vectors.grads.subarray(b1, b1 + n1),
    ranges: Array.from({ length: threads }, (_, k) => {
      const j0 = unit_start(k, n1, threads), j1 = unit_start(k + 1, n1, threads);
      return {
        j0, j1,
        W: vectors.params.subarray(w1 + j0 * nIn, w1 + j1 * nIn),
        gW: vectors.grads.subarray(w1 + j0 * nIn, w1 + j1 * nIn),
        update: { weights: part(vectors, w1 + j0 * nIn, w1 + j1 * nIn), biases: part(vectors, b1 + j0, b1 + j1) },
        b: vectors.params.subarray(b1 + j0, b1 + j1), gb: vectors.grads.subarray(b1 + j0, b1 + j1),
        a: buffers.a1.subarray(j0), z: buffers.z1.subarray(j0), delta: buffers.delta1.subarray(j0),
        mask: mask1 === null ? null : mask1.subarray(j0),
      };
    }),
    // Layer 1's weights come first and its biases first among the biases (spec.ts's layout).
    rest: sizes.length > 2
      ? { weights: part(vectors, w1 + n1 * nIn, weightCount), biases: part(vectors, b1 + n1, paramCount) }
      : null,
  };
}

/**
 * a⁽¹⁾[:, J] = z⁽⁰⁾ W⁽¹⁾[J]ᵀ + b⁽¹⁾[J] over `rows` rows: the product lands in the range's block of the
 * staging buffer, (rows, |J|), and is spread into a⁽¹⁾'s columns J with the bias, as dense_forward adds
 * it; then, for a hidden layer, z⁽¹⁾[:, J] = h(a⁽¹⁾[:, J]) and the drawn dropout, as mlp_forward applies them.
 */
export function range_forward(u: Units, r: Range, rows: number): void {
  const n = r.j1 - r.j0;
  if (n === 0 || rows === 0) return;
  const { a1, b1, n1, z0, z1, act1, mask1 } = u;
  const stage = u.stage.subarray(rows * r.j0, rows * r.j1);
  u.gemm(false, true, rows, n, u.nIn, 1, z0, r.W, 0, stage);
  if (u.fused !== null) {
    u.fused.biasRelu(stage, r.b, r.a, r.z, r.mask, rows, n, n1, act1 === 'relu');
    return;
  }
  for (let i = 0; i < rows; i++) {
    const src = i * n, dst = i * n1 + r.j0;
    for (let j = 0; j < n; j++) a1[dst + j] = stage[src + j] + b1[r.j0 + j];
    if (act1 === null) continue;
    activation_forward_span(act1, z1, a1, dst, dst + n);
    if (mask1 !== null) dropout_apply(z1, mask1, n, dst);
  }
}

/**
 * For a hidden layer 1, δ⁽¹⁾[:, J] ← (δ⁽¹⁾[:, J] ⊙ mask) ⊙ h′(a⁽¹⁾[:, J]) (the caller left W⁽²⁾ᵀδ⁽²⁾ there),
 * as mlp_backward applies them; then ∂W⁽¹⁾[J] = scale·δ⁽¹⁾[:, J]ᵀ z⁽⁰⁾ and ∂b⁽¹⁾[J] = scale·Σ δ⁽¹⁾[:, J],
 * as dense_backward computes them (δ⁽¹⁾'s columns J are gathered into the range's block of the staging
 * buffer, (rows, |J|), for the product).
 */
export function range_gradient(u: Units, r: Range, rows: number): void {
  const n = r.j1 - r.j0;
  if (n === 0 || rows === 0) return;
  const { delta1, gb1, n1, a1, act1, mask1 } = u;
  const scale = 1 / rows;
  const stage = u.stage.subarray(rows * r.j0, rows * r.j1);
  // ∂b is summed row after row, as dense_backward sums it, in the pass that gathers the columns.
  if (u.fused !== null) {
    u.fused.reluGrad(r.delta, r.a, r.mask, stage, r.gb, rows, n, n1, act1 === 'relu');
  } else {
    gb1.fill(0, r.j0, r.j1);
    for (let i = 0; i < rows; i++) {
      const src = i * n1 + r.j0, dst = i * n;
      if (act1 !== null) {
        if (mask1 !== null) dropout_backward(delta1, mask1, n, src);
        activation_backward(act1, delta1, a1, n, src);
      }
      for (let j = 0; j < n; j++) {
        const d = delta1[src + j];
        stage[dst + j] = d;
        gb1[r.j0 + j] += d;
      }
    }
  }
  u.gemm(true, false, n, u.nIn, rows, scale, stage, u.z0, 0, r.gW);
  for (let j = r.j0; j < r.j1; j++) gb1[j] *= scale;
}

/** optimizer_update over some of the vectors, leaving s.step as it was (every unit must use the same one). */
function update_part(u: Units, vectors: UpdateVectors, s: UpdateSettings): void {
  const step = s.step;
  optimizer_update(u.updates, vectors, s);
  s.step = step;
}

/** How many units a phase of this kind has: a range per thread, and the update of layers 2…L. */
const unit_count = (u: Units, kind: number) => u.threads + (kind === GRADIENT_UPDATE && u.rest !== null ? 1 : 0);

/** Unit k of a phase. */
function unit_run(u: Units, kind: number, k: number, rows: number, s: UpdateSettings): void {
  if (kind === FORWARD) {
    range_forward(u, u.ranges[k], rows);
  } else if (k === u.threads) {
    update_part(u, u.rest!, s);
  } else {
    const r = u.ranges[k];
    range_gradient(u, r, rows);
    if (kind === GRADIENT_UPDATE && r.j1 > r.j0) update_part(u, r.update, s);
  }
}

/**
 * Claims and runs units of phase `phase` until none is left (or the phase is over: a thread that
 * slept through it must not touch the next one's buffers with this one's rows).
 */
function claim_units(control: Int32Array, phase: number, u: Units, kind: number, rows: number, s: UpdateSettings): void {
  const tag = (phase & PHASE_MASK) << 8;
  const units = unit_count(u, kind);
  for (;;) {
    const c = Atomics.load(control, CLAIM);
    if ((c & ~0xff) !== tag || (c & 0xff) >= units) return;
    if (Atomics.compareExchange(control, CLAIM, c, c + 1) !== c) continue;
    unit_run(u, kind, c & 0xff, rows, s);
    Atomics.add(control, DONE, 1);
    if (Atomics.load(control, CALLER_ASLEEP) > 0) Atomics.notify(control, DONE);
  }
}

/**
 * Waits until control[i] is no longer `value`: polls for SPIN_MS, then sleeps in Atomics.wait with
 * control[asleep] raised so the other side knows to notify. False after timeoutMs.
 */
function wait_change(control: Int32Array, i: number, value: number, asleep: number, timeoutMs: number): boolean {
  const now = performance.now();
  const spinEnd = now + SPIN_MS;
  for (let k = 1; ; k++) {
    if (Atomics.load(control, i) !== value) return true;
    if ((k & 63) === 0 && performance.now() > spinEnd) break;
  }
  const deadline = now + timeoutMs;
  Atomics.add(control, asleep, 1);
  try {
    // Atomics.wait compares before it sleeps, and the other side stores before it reads `asleep`: no
    // wake-up is lost between our raising `asleep` and sleeping.
    while (Atomics.load(control, i) === value) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(control, i, value, Math.min(left, 1000));
    }
    return true;
  } finally {
    Atomics.sub(control, asleep, 1);
  }
}

export interface DataParallel {
  readonly threads: number;
  /**
   * The forward pass and the backward pass down to δ⁽¹⁾ over the minibatch of `rows` rows already in
   * the pass (z⁽⁰⁾ gathered, targets in y, dropout masks drawn): a⁽ˡ⁾, z⁽ˡ⁾ of all rows are then in the
   * pass, as are the gradients of layers 2…L; layer 1's comes with update() or complete().
   */
  gradient(rows: number): void;
  /** After gradient(): layer 1's gradient and the whole update (optimizer_update with s, advancing s.step). */
  update(s: UpdateSettings): void;
  /** After gradient(): layer 1's gradient alone, so the trainer's vector holds the whole gradient (for clipping). */
  complete(): void;
  /** Ends the helpers' job (they return from helper_run and may take another). Idempotent. */
  close(): void;
}

/**
 * The calling thread's side. `pass` and `y` are the trainer's (its minibatch pass and targets), the
 * vectors its flat ones; stage and helperScratch come from helper_request's part of the same shared arena.
 */
export function data_parallel_start(
  kernels: Kernels, network: NetworkSpec, layout: ParamLayout, pass: Pass<Float32Array>, y: Float32Array,
  vectors: { params: Float32Array; grads: Float32Array; velocity: Float32Array; moment2: Float32Array },
  stage: Float32Array, helperScratch: Float32Array[], helpers: HelperThreads,
): DataParallel {
  const threads = helpers.count + 1;
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  const settings = new Float64Array(new SharedArrayBuffer(SETTINGS_LENGTH * 8));
  const span = (v: Float32Array): Span => [v.byteOffset, v.length];
  const share = kernels.share();
  helpers.start(helperScratch.map((scratch, i) => ({
    index: i + 1, threads, kernel: kernels.name, share, control: control.buffer as SharedArrayBuffer,
    settings: settings.buffer as SharedArrayBuffer, network,
    params: span(vectors.params), grads: span(vectors.grads), velocity: span(vectors.velocity), moment2: span(vectors.moment2),
    scratch: kernels.scratchLength > 0 ? span(scratch) : null,
    z0: span(pass.z[0]), a1: span(pass.a[1]), z1: span(pass.z[1]), delta1: span(pass.delta[1]), mask1: span(pass.mask[1]),
    stage: span(stage),
  })));
  const u = units_create(kernels, network, layout, threads, vectors, {
    z0: pass.z[0], a1: pass.a[1], z1: pass.z[1], delta1: pass.delta[1], mask1: pass.mask[1], stage,
  });
  const gemm = u.gemm;
  const cost = costFor(network.loss, network.output);
  const { sizes } = pass;
  const L = sizes.length - 1;
  let phase = 0;
  let lastRows = 0;
  let started = false;
  let closed = false;

  /** Opens a phase, works on it alongside the helpers, and returns once all its units are done. */
  function run_phase(kind: number, rows: number, s: UpdateSettings | null): void {
    if (closed) throw new Error('the data-parallel trainer is closed (or a helper failed); create another trainer');
    phase++;
    // CLAIM first: a helper still on the last phase that reads this one's KIND must find that phase's
    // units gone (its kind may have fewer units than this one's, whose last would then look unclaimed).
    Atomics.store(control, CLAIM, (phase & PHASE_MASK) << 8);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, KIND, kind);
    Atomics.store(control, ROWS, rows);
    Atomics.store(control, GEN, phase);
    if (Atomics.load(control, HELPERS_ASLEEP) > 0) Atomics.notify(control, GEN);
    claim_units(control, phase, u, kind, rows, s!);
    join(unit_count(u, kind));
    started = true;
  }

  /** Waits for DONE = units; throws what failed. */
  function join(units: number): void {
    for (;;) {
      if (Atomics.load(control, FAILED) > 0) {
        closed = true;
        const bytes = new Uint8Array(control.buffer, MESSAGE * 4, MESSAGE_BYTES);
        const end = bytes.indexOf(0);
        throw new Error(`a helper thread failed: ${new TextDecoder().decode(bytes.slice(0, end < 0 ? MESSAGE_BYTES : end))}`);
      }
      const done = Atomics.load(control, DONE);
      if (done >= units) return;
      if (!wait_change(control, DONE, done, CALLER_ASLEEP, HELPER_TIMEOUT_MS)) {
        closed = true;
        throw new Error(`${started ? 'a helper thread stopped answering' : 'the helper threads did not start'} ` +
          `within ${HELPER_TIMEOUT_MS / 1000} s: ${Atomics.load(control, READY)} of ${helpers.count} attached`);
      }
    }
  }

  return {
    threads,
    gradient(rows) {
      lastRows = rows;
      run_phase(FORWARD, rows, null);
      // Layers 2…L, as mlp_forward and mlp_backward run them (an output layer 1 is activated here, a
      // hidden one was by the units, which also apply its mask and h′ to W⁽²⁾ᵀδ⁽²⁾).
      if (L === 1) activation_forward(pass.act[1], pass.z[1], pass.a[1], rows, sizes[1]);
      mlp_forward(gemm, pass, rows, 'drawn', 2);
      cost.delta(pass.delta[L], pass.a[L], pass.z[L], y, rows, sizes[L]);
      mlp_backward(gemm, pass, rows, 1 / rows, 3);
      if (L >= 2) {
        dense_backward(gemm, pass.delta[1], pass.gW[2], pass.gb[2], pass.delta[2], pass.z[1], pass.W[2], rows, sizes[1], sizes[2], 1 / rows);
      }
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
      run_phase(GRADIENT_UPDATE, lastRows, s);
      s.step++;
    },
    complete() {
      run_phase(GRADIENT, lastRows, null);
    },
    close() {
      if (closed) return;
      closed = true;
      phase++;
      Atomics.store(control, KIND, STOP);
      Atomics.store(control, GEN, phase);
      Atomics.notify(control, GEN);
    },
  };
}

/**
 * A helper thread's side: attaches kernels to the shared memory, then claims units of every phase
 * until the caller closes. Blocks its thread meanwhile, however long the caller pauses between steps
 * (between epochs a service saves its state): a helper whose trainer is gone is its owner's to end.
 */
export function helper_run(job: HelperJob): void {
  const control = new Int32Array(job.control);
  const memory = job.share instanceof SharedArrayBuffer ? job.share : job.share.buffer;
  const view = ([offset, length]: Span) => new Float32Array(memory, offset, length);
  // A job's control word starts at phase 0; the caller may have opened phase 1 before this thread got here.
  let phase = 0;
  try {
    const kernels = createKernels(job.kernel as KernelChoice);
    kernels.attach(job.share, job.scratch === null ? null : view(job.scratch));
    const u = units_create(kernels, job.network, paramLayout(job.network), job.threads,
      { params: view(job.params), grads: view(job.grads), velocity: view(job.velocity), moment2: view(job.moment2) },
      { z0: view(job.z0), a1: view(job.a1), z1: view(job.z1), delta1: view(job.delta1), mask1: view(job.mask1), stage: view(job.stage) });
    const settings = new Float64Array(job.settings);
    const s: UpdateSettings = {
      optimizer: 'sgd', learningRate: 0, momentum: 0, nesterov: false, beta1: 0, beta2: 0, epsilon: 0, l2: 0, step: 0,
    };
    Atomics.add(control, READY, 1);
    for (;;) {
      wait_change(control, GEN, phase, HELPERS_ASLEEP, Infinity);
      phase = Atomics.load(control, GEN);
      const kind = Atomics.load(control, KIND);
      if (kind === STOP) return;
      const rows = Atomics.load(control, ROWS);
      if (kind === GRADIENT_UPDATE) {
        s.optimizer = settings[S_OPTIMIZER] === 1 ? 'adam' : 'sgd';
        s.learningRate = settings[S_LR];
        s.momentum = settings[S_MOMENTUM];
        s.nesterov = settings[S_NESTEROV] === 1;
        s.beta1 = settings[S_BETA1];
        s.beta2 = settings[S_BETA2];
        s.epsilon = settings[S_EPSILON];
        s.l2 = settings[S_L2];
        s.step = settings[S_STEP];
      }
      claim_units(control, phase, u, kind, rows, s);
    }
  } catch (err) {
    if (Atomics.add(control, FAILED, 1) === 0) {
      const text = new TextEncoder().encode(`helper ${job.index}: ${err instanceof Error ? err.message : String(err)}`);
      new Uint8Array(control.buffer, MESSAGE * 4, MESSAGE_BYTES - 1).set(text.subarray(0, MESSAGE_BYTES - 1));
    }
    // Moves DONE so that a caller polling it looks, and finds FAILED before it counts DONE.
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}
