// The job state machine as the repository enforces it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatasetRepository } from '../../src/store/datasets.js';
import { migrate, openDatabase, type Db } from '../../src/store/db.js';
import { createJobRepository, type EpochRecord } from '../../src/store/jobs.js';
import type { JobSpec } from '../../src/jobs/spec.js';

let db: Db;
let jobs: ReturnType<typeof createJobRepository>;
let datasetId: string;

const spec = (): JobSpec => ({
  datasetId, hidden: [{ units: 4, activation: 'relu', dropout: 0 }], output: 'softmax',
  loss: 'categorical_cross_entropy',
  optimizer: { learningRate: 0.1, momentum: 0.9, nesterov: false, decay: 0, decayPer: 'epoch' },
  batchSize: 2, epochs: 3, l2: 0, seed: 1, validationSplit: 0, earlyStopping: null, standardize: true,
  maxRuntimeSeconds: null,
});

const epoch = (n: number): EpochRecord => ({
  epoch: n, loss: 1 / n, valLoss: null, accuracy: 0.5, valAccuracy: null, mse: null, mae: null, r2: null,
  valMse: null, valMae: null, valR2: null, learningRate: 0.1, durationMs: 10, at: new Date().toISOString(),
});

const model = { task: 'classification', architecture: {}, metrics: {}, classes: ['a', 'b'], featureNames: ['x'], features: 1, bestEpoch: 3, bytes: new Uint8Array([1, 2, 3]) };

beforeEach(() => {
  db = openDatabase(':memory:');
  migrate(db);
  jobs = createJobRepository(db);
  datasetId = createDatasetRepository(db).create('d', {
    rows: 2, features: 1, featureNames: ['x'], targetName: 'y', x: new Float32Array([0, 1]),
    task: 'classification', classes: ['a', 'b'], labels: new Int32Array([0, 1]), targets: null,
    mean: new Float32Array([0.5]), std: new Float32Array([0.5]),
  }).id;
});
afterEach(() => db.close());

describe('job repository', () => {
  it('hands out queued jobs oldest first', () => {
    const a = jobs.create(spec());
    const b = jobs.create(spec());
    expect(jobs.nextQueued()!.id).toBe(a.id);
    expect(jobs.markRunning(a.id)).toBe(true);
    expect(jobs.nextQueued()!.id).toBe(b.id);
    expect(jobs.countQueued()).toBe(1);
  });

  it('records an epoch, its figures and its checkpoint together', () => {
    const job = jobs.create(spec());
    jobs.markRunning(job.id);
    jobs.recordEpoch(job.id, epoch(1), 100, new Uint8Array([9, 9]));
    const after = jobs.get(job.id)!;
    expect(after).toMatchObject({ status: 'running', epoch: 1, samplesPerSec: 100 });
    expect(after.progress).toBeCloseTo(1 / 3);
    expect(jobs.checkpoint(job.id)).toEqual({ epoch: 1, state: new Uint8Array([9, 9]) });
    expect(jobs.epochs(job.id, 0).map((e) => e.epoch)).toEqual([1]);
    // The same epoch twice is refused, and the refusal leaves the checkpoint as it was.
    expect(() => jobs.recordEpoch(job.id, epoch(1), 100, new Uint8Array([7]))).toThrow();
    expect(jobs.checkpoint(job.id)!.state).toEqual(new Uint8Array([9, 9]));
  });

  it('returns only the epochs after `since`', () => {
    const job = jobs.create(spec());
    jobs.markRunning(job.id);
    for (const n of [1, 2, 3]) jobs.recordEpoch(job.id, epoch(n), 1, new Uint8Array([n]));
    expect(jobs.epochs(job.id, 1).map((e) => e.epoch)).toEqual([2, 3]);
    expect(jobs.epochs(job.id, 3)).toEqual([]);
  });

  it('succeeds once: stores the model, drops the checkpoint, refuses a second ending', () => {
    const job = jobs.create(spec());
    jobs.markRunning(job.id);
    jobs.recordEpoch(job.id, epoch(1), 1, new Uint8Array([1]));
    const modelId = jobs.succeed(jobs.get(job.id)!, model, 'completed');
    expect(modelId).toBeTruthy();
    expect(jobs.get(job.id)).toMatchObject({ status: 'succeeded', modelId, progress: 1, stopReason: 'completed' });
    expect(jobs.checkpoint(job.id)).toBeNull();
    expect(jobs.cancel(job.id)).toBe(false);
    expect(jobs.fail(job.id, { code: 'x', message: 'y' })).toBe(false);
    expect(jobs.succeed(jobs.get(job.id)!, model, 'completed')).toBeNull();
  });

  it('cancels queued and running jobs but not finished ones', () => {
    const queued = jobs.create(spec());
    expect(jobs.cancel(queued.id)).toBe(true);
    expect(jobs.get(queued.id)!.status).toBe('cancelled');
    const running = jobs.create(spec());
    jobs.markRunning(running.id);
    expect(jobs.cancel(running.id)).toBe(true);
    expect(jobs.markRunning(running.id)).toBe(false);
  });

  it('puts running jobs back in the queue at their old place, keeping their checkpoint', () => {
    const first = jobs.create(spec());
    const second = jobs.create(spec());
    jobs.markRunning(first.id);
    jobs.recordEpoch(first.id, epoch(1), 1, new Uint8Array([5]));
    expect(jobs.requeueAllRunning()).toBe(1);
    expect(jobs.get(first.id)).toMatchObject({ status: 'queued', epoch: 1 });
    expect(jobs.nextQueued()!.id).toBe(first.id);
    expect(jobs.checkpoint(first.id)!.state).toEqual(new Uint8Array([5]));
    expect(second.status).toBe('queued');
  });

  it('lists newest first and filters by status', () => {
    const a = jobs.create(spec());
    const b = jobs.create(spec());
    jobs.cancel(a.id);
    expect(jobs.list({ limit: 10, offset: 0 }).items.map((j) => j.id)).toEqual([b.id, a.id]);
    expect(jobs.list({ status: 'cancelled', limit: 10, offset: 0 })).toMatchObject({ total: 1, items: [{ id: a.id }] });
    expect(jobs.list({ limit: 1, offset: 1 }).items.map((j) => j.id)).toEqual([a.id]);
  });
});
