// The resumable training state, as of the end of an epoch: everything the rest of the run depends on,
// so that resuming from it is bit-identical to never having stopped.
//
// Layout (little-endian): "MLPS" | u32 version = 2 | u32 n, UTF-8 JSON of the run's identity, pad to 4 |
// u32 epochsDone | u32 epochs without improvement | i32 bestEpoch (−1: none) | u32 flags (bit 0: stopped
// early, bit 1: best weights present, bit 2: Adam's second moment present) | f64 learningRate |
// f64 bestLoss | f64 updates so far (Adam's t) | f64 reference loss (the untrained network's, which
// divergence is measured against) | u32 ×4 generator state | u32 paramCount | f32 params |
// f32 velocity (SGD's v, or Adam's first moment m) | [f32 Adam's second moment v] | [f32 best params] |
// u32 CRC-32.
// Version 1 (before Adam) had no update count, no reference loss and no second moment, and its identity named neither the
// optimizer's settings, nor the kernel, nor the input scaling (plain z-scores then); it still loads, as
// the SGD run with plain standardisation it was.
import { byteReader, byteWriter } from './binary.js';
import { EngineError } from './errors.js';
import { TRAINING_DEFAULTS } from './spec.js';

export interface TrainingState {
  epochsDone: number;
  /** The rate for the next update, after any decay so far. */
  learningRate: number;
  rng: Uint32Array;
  bestEpoch: number | null;
  /** Lowest validation loss so far (Infinity before the first epoch). */
  bestLoss: number;
  /** Epochs since the best one, for early stopping's patience. */
  wait: number;
  stoppedEarly: boolean;
  /** Parameter updates applied so far (Adam's t); 0 in a version-1 state, which had only SGD. */
  step: number;
  /** Mean loss per row of the untrained network, the yardstick of divergence; NaN in a version-1 state. */
  referenceLoss: number;
  params: Float32Array;
  /** SGD's velocity, or Adam's first moment m. */
  velocity: Float32Array;
  /** Adam's second moment v; null under SGD. */
  moment2: Float32Array | null;
  bestParams: Float32Array | null;
}

/**
 * What must match for a state to belong to a trainer: the network, every training setting that shapes
 * the trajectory (all but epochs, which a resumed run may extend), and the shape of the data.
 */
export type RunIdentity = Record<string, unknown>;

const MAGIC = 'MLPS';
const VERSION = 2;
const STOPPED_EARLY = 1;
const HAS_BEST = 2;
const HAS_MOMENT2 = 4;

const invalidState = (field: string | null, message: string) => new EngineError('invalid_state', field, message);

export function encodeState(identity: RunIdentity, s: TrainingState): Uint8Array {
  const w = byteWriter(MAGIC, VERSION);
  w.text(JSON.stringify(identity));
  w.u32(s.epochsDone);
  w.u32(s.wait);
  w.i32(s.bestEpoch ?? -1);
  w.u32((s.stoppedEarly ? STOPPED_EARLY : 0) | (s.bestParams !== null ? HAS_BEST : 0) | (s.moment2 !== null ? HAS_MOMENT2 : 0));
  w.f64(s.learningRate);
  w.f64(s.bestLoss);
  w.f64(s.step);
  w.f64(s.referenceLoss);
  for (let i = 0; i < 4; i++) w.u32(s.rng[i]);
  w.u32(s.params.length);
  w.f32s(s.params);
  w.f32s(s.velocity);
  if (s.moment2 !== null) w.f32s(s.moment2);
  if (s.bestParams !== null) w.f32s(s.bestParams);
  return w.finish();
}

/**
 * What a version-1 identity meant in version 2's terms: SGD with the optional settings at their
 * defaults, plain z-scores, and whichever kernel runs now (version 1 did not record it; the service
 * always ran the same one).
 */
function upgradeV1Identity(saved: unknown, now: RunIdentity): unknown {
  if (typeof saved !== 'object' || saved === null) return saved;
  const s = saved as Record<string, unknown>;
  const training = typeof s.training === 'object' && s.training !== null ? s.training : {};
  const t = training as Record<string, unknown>;
  const data = (typeof s.data === 'object' && s.data !== null ? s.data : {}) as Record<string, unknown>;
  return {
    ...s,
    training: {
      ...t, optimizer: 'sgd', beta1: TRAINING_DEFAULTS.beta1, beta2: TRAINING_DEFAULTS.beta2,
      epsilon: TRAINING_DEFAULTS.epsilon, clipNorm: null,
    },
    kernel: now.kernel,
    data: { ...data, inputScaling: data.standardised === true ? 'standard' : 'none' },
  };
}

/**
 * The input scaling a saved run was trained on ('standard' for a standardised version-1 run, which
 * began on plain z-scores, and for any run resumed from one), or null when the bytes do not say
 * (decodeState then says why): a resumed run must keep the scaling its weights were learnt on.
 */
export function savedInputScaling(bytes: Uint8Array): string | null {
  try {
    const r = byteReader(bytes, MAGIC, [1, VERSION], 'invalid_state', 'training state');
    const saved = JSON.parse(r.text('identity')) as { data?: { standardised?: unknown; inputScaling?: unknown } };
    const scaling = r.version === 1 ? (saved.data?.standardised === true ? 'standard' : 'none') : saved.data?.inputScaling;
    return typeof scaling === 'string' ? scaling : null;
  } catch {
    return null;
  }
}

/**
 * The thread count a saved run computed its gradients on (1 for every state from before threads, or
 * that does not decode: decodeState then says why). A run resumes bit for bit only on that many.
 */
export function savedThreads(bytes: Uint8Array): number {
  try {
    const r = byteReader(bytes, MAGIC, [1, VERSION], 'invalid_state', 'training state');
    const threads = (JSON.parse(r.text('identity')) as { threads?: unknown }).threads;
    return typeof threads === 'number' && Number.isInteger(threads) && threads > 1 ? threads : 1;
  } catch {
    return 1;
  }
}

/**
 * The kernel a saved run computed on ('wasm-fma', 'wasm-simd', 'reference'), or null for a state from
 * before kernels were recorded, or that does not decode (decodeState then says why). A run resumes bit
 * for bit only on that kernel.
 */
export function savedKernel(bytes: Uint8Array): string | null {
  try {
    const r = byteReader(bytes, MAGIC, [1, VERSION], 'invalid_state', 'training state');
    const kernel = (JSON.parse(r.text('identity')) as { kernel?: unknown }).kernel;
    return typeof kernel === 'string' ? kernel : null;
  } catch {
    return null;
  }
}

/**
 * Decodes state bytes and checks they were saved by a run identical to `identity` (epochs aside), on
 * the same kernel: the kernels round differently, so a run resumed on another would not be the same run.
 */
export function decodeState(bytes: Uint8Array, identity: RunIdentity, paramCount: number): TrainingState {
  const r = byteReader(bytes, MAGIC, [1, VERSION], 'invalid_state', 'training state');
  let saved: unknown;
  try {
    saved = JSON.parse(r.text('identity'));
  } catch (e) {
    if (e instanceof EngineError) throw e;
    throw invalidState('identity', 'the training state header is not valid JSON');
  }
  const now = JSON.parse(JSON.stringify(identity)) as RunIdentity;
  if (r.version === 1) saved = upgradeV1Identity(saved, now);
  const savedKernel = (saved as RunIdentity | null)?.kernel;
  if (savedKernel !== now.kernel) {
    throw invalidState('kernel', `this training state was written by the ${JSON.stringify(savedKernel)} kernel, and this ` +
      `trainer runs on ${JSON.stringify(now.kernel)}; the kernels round differently, so the run would not continue ` +
      `as it began: resume it with the ${JSON.stringify(savedKernel)} kernel`);
  }
  const savedThreads = (saved as RunIdentity | null)?.threads ?? 1;
  const nowThreads = now.threads ?? 1;
  if (savedThreads !== nowThreads) {
    throw invalidState('threads', `this training state was saved by a run on ${savedThreads} thread(s), and this trainer ` +
      `runs on ${nowThreads}; the gradient is summed in another order on another thread count, so the run would not ` +
      `continue as it began: resume it with threads ${savedThreads}`);
  }
  const mismatch = firstDifference(saved, now, '');
  if (mismatch !== null) {
    throw invalidState(mismatch.path, `this training state was saved by a different run: ${mismatch.path} was ` +
      `${JSON.stringify(mismatch.saved)} there and is ${JSON.stringify(mismatch.now)} here; resume with the same spec and data`);
  }
  const epochsDone = r.u32('epochsDone');
  const wait = r.u32('wait');
  const bestEpoch = r.i32('bestEpoch');
  const flags = r.u32('flags');
  const known = r.version === 1 ? STOPPED_EARLY | HAS_BEST : STOPPED_EARLY | HAS_BEST | HAS_MOMENT2;
  if ((flags & ~known) !== 0) throw invalidState('flags', `the training state has unknown flags ${flags}`);
  const learningRate = r.f64('learningRate');
  // Per-step decay can take the rate all the way to 0 (it underflows), and such a state must still load.
  if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
    throw invalidState('learningRate', `the training state's learning rate ${learningRate} is not a finite number ≥ 0`);
  }
  const bestLoss = r.f64('bestLoss');
  const step = r.version === 1 ? 0 : r.f64('step');
  if (!Number.isInteger(step) || step < 0) throw invalidState('step', `the training state's update count ${step} is not a whole number ≥ 0`);
  const referenceLoss = r.version === 1 ? NaN : r.f64('referenceLoss');
  const rng = new Uint32Array(4);
  for (let i = 0; i < 4; i++) rng[i] = r.u32('rng');
  const count = r.u32('params');
  if (count !== paramCount) {
    throw invalidState('params', `the training state holds ${count} parameters but this network needs ${paramCount}`);
  }
  const adam = (now.training as { optimizer?: unknown } | undefined)?.optimizer === 'adam';
  if (((flags & HAS_MOMENT2) !== 0) !== adam) {
    throw invalidState('flags', adam ? "the training state has no second moment, which optimizer 'adam' needs"
      : "the training state holds a second moment, which only optimizer 'adam' keeps");
  }
  const params = r.f32s(count, 'params');
  const velocity = r.f32s(count, 'velocity');
  const moment2 = adam ? r.f32s(count, 'moment2') : null;
  const bestParams = (flags & HAS_BEST) !== 0 ? r.f32s(count, 'bestParams') : null;
  r.end();
  return {
    epochsDone, learningRate, rng, bestEpoch: bestEpoch < 0 ? null : bestEpoch, bestLoss, wait,
    stoppedEarly: (flags & STOPPED_EARLY) !== 0, step, referenceLoss, params, velocity, moment2, bestParams,
  };
}

/** The first path at which two JSON values differ, or null when they are equal. */
function firstDifference(saved: unknown, now: unknown, path: string): { path: string; saved: unknown; now: unknown } | null {
  if (typeof saved === 'object' && saved !== null && typeof now === 'object' && now !== null &&
      Array.isArray(saved) === Array.isArray(now)) {
    const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
    for (const key of keys) {
      const sub = Array.isArray(now) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
      const d = firstDifference((saved as Record<string, unknown>)[key], (now as Record<string, unknown>)[key], sub);
      if (d !== null) return d;
    }
    return null;
  }
  return Object.is(saved, now) ? null : { path: path || 'identity', saved, now };
}
