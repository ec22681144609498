// One training job on several cores: each minibatch of B rows is split into T contiguous slices; slice k
// runs forward, δ⁽ᴸ⁾ and backward over rows ⌊kB/T⌋…⌊(k+1)B/T⌋ into its own gradient vector (scaled by
// 1/B, so each is its slice's share of the minibatch mean); then the gradients are summed in slice
// order, g = ((g₀ + g₁) + g₂) + …, and the one update applied. Same seed and T: same bits, every run.
//
// The sum and the update are elementwise, so they are split too, by parameter: range k sums and updates
// parameters ⌊kP/T⌋…⌊(k+1)P/T⌋ (rounded to cache lines), with the bits one thread doing all of them would
// get; the last slice's gradient is added inside the update kernel rather than by a pass of addInto. At
// batch 10 the update alone is a third of a step (it streams w, g and v, 1.2 MB for 784-128-10), so
// leaving it to one thread would cap two threads at about 1.3×. With clipNorm the norm needs the whole
// sum first: the caller then sums alone (reduce()) and updates as one thread does.
//
// The bits depend on the slices and ranges, never on which thread computes one: the T units of each phase
// are claimed from an atomic counter, first come first served, so a helper that is off the CPU when a
// phase opens costs the caller its unit of work rather than a wait. A thread preempted after claiming a
// unit still holds up the phase until it runs again: on a machine with more runnable threads than
// cores, two threads are slower than one (README, "One job on every core"), hence the service's rule
// that a node's jobs never ask for more threads than it has cores.
//
// What lives where. Everything a step touches is in the trainer's one arena, reserved shared (a shared
// WebAssembly.Memory for the wasm kernel, a SharedArrayBuffer for the reference one): the parameters and
// optimizer vectors, the minibatch's z⁽⁰⁾ and targets (gathered by the calling thread), every layer's a,
// z, δ and dropout mask (a slice uses its rows of them), each slice's gradient vector (slice 0's is the
// trainer's own, which ends up holding the sum) and each helper's gemm scratch. So helpers read the
// parameters and write gradients in place; nothing is copied or posted per step. The calling thread
// draws the dropout masks for the whole minibatch before it is split (mlp_dropout_masks: the numbers
// dropout_forward would draw, in its order), so T threads drop the very units one thread would, and a
// resumed run redraws them from the saved generator like any other.
//
// Synchronisation is one small Int32Array over a SharedArrayBuffer (the control word): the caller opens a
// phase (ROWS, then CLAIM ← phase·256, then GEN ← phase), every thread claims units by compare-and-swap on
// CLAIM until none is left and counts each finished one into DONE, and the caller waits for DONE = T.
// A thread polls for SPIN_MS before sleeping in Atomics.wait, and Atomics.notify is called only when the
// other side says it sleeps: notify alone took 46 µs a call here, a quarter of a step at batch 10.
//
// This file is pure computation, like the rest of the engine: it never starts a thread. Whoever owns
// threads (engine/parallel/threads.ts, which uses node:worker_threads) hands the trainer a HelperThreads,
// whose start() delivers each helper its HelperJob and makes it call helper_run(). Keeping the spawning
// out lets the same trainer run under Piscina, in a bench or in a test, and keeps the engine's core free
// of I/O; the price is that a caller asking for threads > 1 must also pass the helpers.
import { costFor, type Cost } from '../costs.js';
import { createKernels, type KernelChoice, type Kernels } from '../kernels/index.js';
import type { KernelShare } from '../kernels/types.js';
import type { Gemm } from '../layers.js';
import { mlp_backward, mlp_forward, pass_create, pass_slice, type Pass } from '../mlp.js';
import { optimizer_update, update_kernels, update_vectors_range, type UpdateKernels, type UpdateSettings, type UpdateVectors } from '../optim.js';
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

/** Everything a helper needs to find the buffers of any slice and range; structured-cloneable. */
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
  params: Span; velocity: Span; moment2: Span;
  /** Slice k's gradient vector (slice 0's is the trainer's, which ends up holding the sum). */
  sliceGrads: Span[];
  /** This helper's gemm scratch (null when the kernel needs none). */
  scratch: Span | null;
  /** The minibatch's targets and every layer's buffers, whole: a slice takes its rows of them. */
  y: Span;
  a: Span[]; z: Span[]; delta: Span[]; mask: Span[];
}

// The control word.
const GEN = 0; // the current phase's number, bumped by the caller to open it (and to stop)
const ROWS = 1; // the minibatch rows: > 0 a gradient phase; −rows the sum-and-update after it; 0 stop
const DONE = 2; // units of this phase finished
const FAILED = 3; // helpers that threw
const READY = 4; // helpers that attached
const HELPERS_ASLEEP = 5; // helpers in Atomics.wait on GEN: the caller notifies only when > 0
const CALLER_ASLEEP = 6; // 1 while the caller is in Atomics.wait on DONE
const CLAIM = 7; // (phase mod 2²³)·256 + units claimed so far
const MESSAGE = 8; // the first failure's message, UTF-8, from this Int32 on
const MESSAGE_BYTES = 512;
const CONTROL_BYTES = MESSAGE * 4 + MESSAGE_BYTES;
const PHASE_MASK = 0x7fffff;
// The update settings, as Float64Array: optimizer_update's fields (optimizer 0 = SGD, 1 = Adam; nesterov 0/1).
const S_OPTIMIZER = 0, S_LR = 1, S_MOMENTUM = 2, S_NESTEROV = 3, S_BETA1 = 4, S_BETA2 = 5, S_EPSILON = 6, S_L2 = 7, S_STEP = 8;
const SETTINGS_LENGTH = 9;

/** How long a thread polls before sleeping in Atomics.wait, in ms: about a futex round trip. */
const SPIN_MS = 0.05;
/** A helper that has not answered for this long is gone (the first step includes its start-up). */
const HELPER_TIMEOUT_MS = 60_000;

/** Rows k·rows/T … (k + 1)·rows/T, rounded down: contiguous, in order, sizes differing by ≤ 1. */
export const slice_start = (k: number, rows: number, threads: number) => Math.floor((k * rows) / threads);

/** Parameters ⌊kP/T⌋…, on 16-float (cache-line) boundaries, so two ranges never share a line. */
const range_start = (k: number, P: number, threads: number) => (k === threads ? P : Math.floor((k * P) / threads / 16) * 16);

/** What the trainer reserves in its arena for T threads: slices 1…T−1's gradients, helpers' scratch. */
export function helper_request(threads: number, paramCount: number, kernels: Kernels) {
  const helpers = threads - 1;
  return {
    helperGrads: Array.from({ length: helpers }, () => paramCount),
    helperScratch: Array.from({ length: helpers }, () => kernels.scratchLength),
  };
}

/** A slice of a minibatch of some size: its pass (views of its rows, its gradient vector) and targets. */
interface Slice { rows: number; pass: Pass<Float32Array>; y: Float32Array }

/**
 * A range of the update: views of its part of the vectors and of every slice's gradient, whole and
 * split where the weights end (as optimizer_update takes a second gradient).
 */
interface Range { vectors: UpdateVectors; sliceGrads: Float32Array[]; sliceParts: { weights: Float32Array; biases: Float32Array }[] }

/**
 * What any thread needs to do any unit: the slices of each minibatch size seen (an epoch has at most
 * two, the batch size and the last, shorter minibatch), made once per thread and reused so that a step
 * allocates nothing, and the T ranges of the update.
 */
interface Units {
  threads: number;
  kernels: Kernels;
  gemm: Gemm<Float32Array>;
  cost: Cost;
  updates: UpdateKernels;
  slices(rows: number): Slice[];
  ranges: Range[];
}

function units_create(
  kernels: Kernels, network: NetworkSpec, layout: ParamLayout, threads: number, full: Pass<Float32Array>, y: Float32Array,
  vectors: { params: Float32Array; velocity: Float32Array; moment2: Float32Array }, sliceGrads: Float32Array[],
): Units {
  const { params, velocity, moment2 } = vectors;
  const nOut = full.sizes[full.sizes.length - 1];
  const P = params.length;
  const made = new Map<number, Slice[]>();
  return {
    threads, kernels,
    gemm: kernels.gemm.bind(kernels),
    cost: costFor(network.loss, network.output),
    updates: update_kernels(kernels),
    slices(rows) {
      let slices = made.get(rows);
      if (slices === undefined) {
        slices = sliceGrads.map((g, k) => {
          const r0 = slice_start(k, rows, threads), r1 = slice_start(k + 1, rows, threads);
          return { rows: r1 - r0, pass: pass_slice(full, layout, g, r0, r1), y: y.subarray(r0 * nOut, r1 * nOut) };
        });
        made.set(rows, slices);
      }
      return slices;
    },
    ranges: sliceGrads.map((_, k) => {
      const p0 = range_start(k, P, threads), p1 = range_start(k + 1, P, threads);
      const wc = layout.weightCount;
      return {
        vectors: update_vectors_range(params, sliceGrads[0], velocity, moment2, wc, p0, p1),
        sliceGrads: sliceGrads.map((g) => g.subarray(p0, p1)),
        sliceParts: sliceGrads.map((g) => ({
          weights: g.subarray(Math.min(p0, wc), Math.min(p1, wc)), biases: g.subarray(Math.max(p0, wc), Math.max(p1, wc)),
        })),
      };
    }),
  };
}

/**
 * One slice's share of the minibatch gradient: forward (with the masks already drawn), δ⁽ᴸ⁾ from the
 * cost, backward with scale 1/batchRows into the slice's gradient vector.
 */
function slice_gradient(u: Units, s: Slice, batchRows: number): void {
  const { pass, rows } = s;
  if (rows === 0) return;
  const L = pass.sizes.length - 1;
  mlp_forward(u.gemm, pass, rows, 'drawn');
  u.cost.delta(pass.delta[L], pass.a[L], pass.z[L], s.y, rows, pass.sizes[L]);
  mlp_backward(u.gemm, pass, rows, 1 / batchRows);
}

const has_rows = (k: number, rows: number, threads: number) => slice_start(k + 1, rows, threads) > slice_start(k, rows, threads);

/** The last slice after slice 0 that had rows (0 when none did). */
function last_slice(rows: number, threads: number): number {
  let last = 0;
  for (let k = 1; k < threads; k++) if (has_rows(k, rows, threads)) last = k;
  return last;
}

/**
 * g ← g₀ + g₁ + g₂ + … over one range, in slice order, skipping slices that had no rows, up to slice
 * `upTo` (exclusive; the update adds the last one itself).
 */
function range_sum(u: Units, r: Range, rows: number, upTo: number): void {
  const g = r.sliceGrads[0];
  if (!has_rows(0, rows, u.threads)) g.fill(0);
  for (let k = 1; k < upTo; k++) if (has_rows(k, rows, u.threads)) u.kernels.addInto(g, r.sliceGrads[k]);
}

/** Unit k of a phase: slice k's gradient (rows > 0), or range k's sum and update (rows < 0, after −rows). */
function unit_run(u: Units, k: number, rows: number, s: UpdateSettings): void {
  if (rows > 0) {
    slice_gradient(u, u.slices(rows)[k], rows);
  } else {
    const r = u.ranges[k];
    const last = last_slice(-rows, u.threads);
    range_sum(u, r, -rows, last);
    // optimizer_update advances step; every range must use the same one.
    const step = s.step;
    optimizer_update(u.updates, r.vectors, s, last > 0 ? r.sliceParts[last] : null);
    s.step = step;
  }
}

/**
 * Claims and runs units of phase `phase` until none is left (or the phase is over: a thread that
 * slept through it must not touch the next one's buffers with this one's rows).
 */
function claim_units(control: Int32Array, phase: number, u: Units, rows: number, s: UpdateSettings): void {
  const tag = (phase & PHASE_MASK) << 8;
  for (;;) {
    const c = Atomics.load(control, CLAIM);
    if ((c & ~0xff) !== tag || (c & 0xff) >= u.threads) return;
    if (Atomics.compareExchange(control, CLAIM, c, c + 1) !== c) continue;
    unit_run(u, c & 0xff, rows, s);
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
   * Every slice's gradient of the minibatch of `rows` rows already in the full pass (z⁽⁰⁾ gathered,
   * targets in y, dropout masks drawn): a⁽ˡ⁾, z⁽ˡ⁾ of all rows are then in the pass, and the gradients,
   * still unsummed, in the trainer's vector (slice 0) and the others'.
   */
  gradient(rows: number): void;
  /** After gradient(): the sum and the update (optimizer_update with s, advancing s.step), by range. */
  update(s: UpdateSettings): void;
  /** After gradient(): the sum alone, into the trainer's vector, for a caller that must see it whole (clipping). */
  reduce(): void;
  /** Ends the helpers' job (they return from helper_run and may take another). Idempotent. */
  close(): void;
}

/**
 * The calling thread's side. `pass`, `y` and the vectors are the trainer's (its full minibatch pass, its
 * targets, and the flat vectors; grads is slice 0's gradient, then the sum); helperGrads (slices 1…T−1)
 * and helperScratch come from helper_request's part of the same shared arena.
 */
export function data_parallel_start(
  kernels: Kernels, network: NetworkSpec, layout: ParamLayout, pass: Pass<Float32Array>, y: Float32Array,
  vectors: { params: Float32Array; grads: Float32Array; velocity: Float32Array; moment2: Float32Array },
  helperGrads: Float32Array[], helperScratch: Float32Array[], helpers: HelperThreads,
): DataParallel {
  const threads = helpers.count + 1;
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  const settings = new Float64Array(new SharedArrayBuffer(SETTINGS_LENGTH * 8));
  const sliceGrads = [vectors.grads, ...helperGrads];
  const span = (v: Float32Array): Span => [v.byteOffset, v.length];
  const share = kernels.share();
  helpers.start(helperGrads.map((_, i) => ({
    index: i + 1, threads, kernel: kernels.name, share, control: control.buffer as SharedArrayBuffer,
    settings: settings.buffer as SharedArrayBuffer, network,
    params: span(vectors.params), velocity: span(vectors.velocity), moment2: span(vectors.moment2),
    sliceGrads: sliceGrads.map(span), scratch: kernels.scratchLength > 0 ? span(helperScratch[i]) : null,
    y: span(y), a: pass.a.map(span), z: pass.z.map(span), delta: pass.delta.map(span), mask: pass.mask.map(span),
  })));
  const u = units_create(kernels, network, layout, threads, pass, y, vectors, sliceGrads);
  let phase = 0;
  let lastRows = 0;
  let started = false;
  let closed = false;

  /** Opens a phase, works on it alongside the helpers, and returns once all T units are done. */
  function run_phase(rows: number, s: UpdateSettings | null): void {
    if (closed) throw new Error('the data-parallel trainer is closed (or a helper failed); create another trainer');
    phase++;
    Atomics.store(control, ROWS, rows);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, CLAIM, (phase & PHASE_MASK) << 8);
    Atomics.store(control, GEN, phase);
    if (Atomics.load(control, HELPERS_ASLEEP) > 0) Atomics.notify(control, GEN);
    claim_units(control, phase, u, rows, s!);
    join();
    started = true;
  }

  /** Waits for DONE = T; throws what failed. */
  function join(): void {
    for (;;) {
      if (Atomics.load(control, FAILED) > 0) {
        closed = true;
        const bytes = new Uint8Array(control.buffer, MESSAGE * 4, MESSAGE_BYTES);
        const end = bytes.indexOf(0);
        throw new Error(`a helper thread failed: ${new TextDecoder().decode(bytes.slice(0, end < 0 ? MESSAGE_BYTES : end))}`);
      }
      const done = Atomics.load(control, DONE);
      if (done >= threads) return;
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
      run_phase(rows, null);
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
      run_phase(-lastRows, s);
      s.step++;
    },
    reduce() {
      for (const r of u.ranges) range_sum(u, r, lastRows, threads);
    },
    close() {
      if (closed) return;
      closed = true;
      phase++;
      Atomics.store(control, ROWS, 0);
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
    const layout = paramLayout(job.network);
    const sliceGrads = job.sliceGrads.map(view);
    const params = view(job.params);
    const full = pass_create(job.network, layout, params, sliceGrads[0], {
      a: job.a.map(view), z: job.z.map(view), delta: job.delta.map(view), mask: job.mask.map(view),
    });
    const u = units_create(kernels, job.network, layout, job.threads, full, view(job.y),
      { params, velocity: view(job.velocity), moment2: view(job.moment2) }, sliceGrads);
    const settings = new Float64Array(job.settings);
    const s: UpdateSettings = {
      optimizer: 'sgd', learningRate: 0, momentum: 0, nesterov: false, beta1: 0, beta2: 0, epsilon: 0, l2: 0, step: 0,
    };
    Atomics.add(control, READY, 1);
    for (;;) {
      wait_change(control, GEN, phase, HELPERS_ASLEEP, Infinity);
      phase = Atomics.load(control, GEN);
      const rows = Atomics.load(control, ROWS);
      if (rows === 0) return;
      if (rows < 0) {
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
      claim_units(control, phase, u, rows, s);
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
