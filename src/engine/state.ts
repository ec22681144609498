// The resumable training state, as of the end of an epoch: everything the rest of the run depends on,
// so that resuming from it is bit-identical to never having stopped.
//
// Layout (little-endian): "MLPS" | u32 version = 1 | u32 n, UTF-8 JSON of the run's identity, pad to 4 |
// u32 epochsDone | u32 epochs without improvement | i32 bestEpoch (−1: none) | u32 flags (bit 0: stopped
// early, bit 1: best weights present) | f64 learningRate | f64 bestLoss | u32 ×4 generator state |
// u32 paramCount | f32 params | f32 velocity | [f32 best params] | u32 CRC-32.
import { byteReader, byteWriter } from './binary.js';
import { EngineError } from './errors.js';

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
  params: Float32Array;
  velocity: Float32Array;
  bestParams: Float32Array | null;
}

/**
 * What must match for a state to belong to a trainer: the network, every training setting that shapes
 * the trajectory (all but epochs, which a resumed run may extend), and the shape of the data.
 */
export type RunIdentity = Record<string, unknown>;

const MAGIC = 'MLPS';
const VERSION = 1;
const STOPPED_EARLY = 1;
const HAS_BEST = 2;

const invalidState = (field: string | null, message: string) => new EngineError('invalid_state', field, message);

export function encodeState(identity: RunIdentity, s: TrainingState): Uint8Array {
  const w = byteWriter(MAGIC, VERSION);
  w.text(JSON.stringify(identity));
  w.u32(s.epochsDone);
  w.u32(s.wait);
  w.i32(s.bestEpoch ?? -1);
  w.u32((s.stoppedEarly ? STOPPED_EARLY : 0) | (s.bestParams !== null ? HAS_BEST : 0));
  w.f64(s.learningRate);
  w.f64(s.bestLoss);
  for (let i = 0; i < 4; i++) w.u32(s.rng[i]);
  w.u32(s.params.length);
  w.f32s(s.params);
  w.f32s(s.velocity);
  if (s.bestParams !== null) w.f32s(s.bestParams);
  return w.finish();
}

/** Decodes state bytes and checks they were saved by a run identical to `identity` (epochs aside). */
export function decodeState(bytes: Uint8Array, identity: RunIdentity, paramCount: number): TrainingState {
  const r = byteReader(bytes, MAGIC, VERSION, 'invalid_state', 'training state');
  let saved: unknown;
  try {
    saved = JSON.parse(r.text('identity'));
  } catch (e) {
    if (e instanceof EngineError) throw e;
    throw invalidState('identity', 'the training state header is not valid JSON');
  }
  const mismatch = firstDifference(saved, JSON.parse(JSON.stringify(identity)), '');
  if (mismatch !== null) {
    throw invalidState(mismatch.path, `this training state was saved by a different run: ${mismatch.path} was ` +
      `${JSON.stringify(mismatch.saved)} there and is ${JSON.stringify(mismatch.now)} here; resume with the same spec and data`);
  }
  const epochsDone = r.u32('epochsDone');
  const wait = r.u32('wait');
  const bestEpoch = r.i32('bestEpoch');
  const flags = r.u32('flags');
  if ((flags & ~(STOPPED_EARLY | HAS_BEST)) !== 0) throw invalidState('flags', `the training state has unknown flags ${flags}`);
  const learningRate = r.f64('learningRate');
  // Per-step decay can take the rate all the way to 0 (it underflows), and such a state must still load.
  if (!(learningRate >= 0) || !Number.isFinite(learningRate)) {
    throw invalidState('learningRate', `the training state's learning rate ${learningRate} is not a finite number ≥ 0`);
  }
  const bestLoss = r.f64('bestLoss');
  const rng = new Uint32Array(4);
  for (let i = 0; i < 4; i++) rng[i] = r.u32('rng');
  const count = r.u32('params');
  if (count !== paramCount) {
    throw invalidState('params', `the training state holds ${count} parameters but this network needs ${paramCount}`);
  }
  const params = r.f32s(count, 'params');
  const velocity = r.f32s(count, 'velocity');
  const bestParams = (flags & HAS_BEST) !== 0 ? r.f32s(count, 'bestParams') : null;
  r.end();
  return {
    epochsDone, learningRate, rng, bestEpoch: bestEpoch < 0 ? null : bestEpoch, bestLoss, wait,
    stoppedEarly: (flags & STOPPED_EARLY) !== 0, params, velocity, bestParams,
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
