// The jobs service without HTTP: submission resolves the one spec and runs the engine's checks before
// anything is queued; a job trains on the pool, its events arrive in order, cancel and the queue limit
// answer by kind.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/services/jobs/index.js';
import { resolveOptimizer } from '../../src/services/jobs/resolve.js';
import { blobs, linear, toCsv } from '../helpers/data.js';
import { csvUpload, jobRequest, services } from './helpers.js';

let s: Awaited<ReturnType<typeof services>>;
let datasetId: string;
beforeEach(async () => {
  s = await services({ MAX_QUEUED_JOBS: '2' });
  datasetId = (await s.datasets.upload(csvUpload(toCsv(blobs(120, 3, ['a', 'b', 'c']))))).id;
});
afterEach(async () => s.close());

const until = async (ok: () => Promise<boolean>, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('jobs service', () => {
  it('fills the defaults that depend on the dataset and records a seed', async () => {
    const job = await s.jobs.submit(jobRequest(datasetId));
    expect(job.spec).toMatchObject({
      output: 'softmax', loss: 'categorical_cross_entropy', hidden: [{ units: 128, activation: 'relu', dropout: 0 }], standardize: true,
      optimizer: { name: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, clipNorm: null },
      epochs: 100, // 120 rows: the most epochs a default run takes
    });
    expect(Number.isInteger(job.spec.seed)).toBe(true);
    const regression = (await s.datasets.upload(csvUpload(toCsv(linear(50))))).id;
    expect((await s.jobs.submit(jobRequest(regression))).spec).toMatchObject({ output: 'linear', loss: 'squared_error' });
  });

  it('keeps an optimizer given without a name as sgd, as before adam existed, and fills each optimizer\'s own rate', async () => {
    const old = await s.jobs.submit(jobRequest(datasetId, { optimizer: { learningRate: 0.05, momentum: 0.5 } }));
    expect(old.spec.optimizer).toMatchObject({ name: 'sgd', learningRate: 0.05, momentum: 0.5, nesterov: false });
    expect(resolveOptimizer({ name: 'sgd' }).learningRate).toBe(0.01);
    expect(resolveOptimizer({ name: 'adam', clipNorm: 1 })).toMatchObject({ name: 'adam', learningRate: 0.001, clipNorm: 1 });
    expect(resolveOptimizer(undefined)).toMatchObject({ name: 'adam', learningRate: 0.001 });
  });

  it('refuses before queueing what the engine would refuse, with the engine\'s words and the spec path', async () => {
    const before = (await s.jobs.list({ limit: 1, offset: 0 })).total;
    await expect(s.jobs.submit(jobRequest(datasetId, { hidden: [{ units: 4096 }, { units: 4096 }, { units: 4096 }] })))
      .rejects.toMatchObject({ kind: 'unusable', code: 'invalid_spec', details: { field: 'hidden' }, message: expect.stringMatching(/more than the 16777216 allowed/) });
    await expect(s.jobs.submit(jobRequest(datasetId, { loss: 'binary_cross_entropy' })))
      .rejects.toMatchObject({ code: 'invalid_spec', details: { field: 'loss' } });
    await expect(s.jobs.submit(jobRequest(datasetId, { earlyStopping: { patience: 2 } })))
      .rejects.toMatchObject({ code: 'invalid_spec', details: { field: 'earlyStopping' } });
    await expect(s.jobs.submit(jobRequest('nope'))).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'datasetId' } });
    expect((await s.jobs.list({ limit: 1, offset: 0 })).total).toBe(before);
  });

  it('trains a job; a follower sees every epoch once, in order, then the final status', async () => {
    const job = await s.jobs.submit(jobRequest(datasetId, { epochs: 4, seed: 3, hidden: [{ units: 8 }] }));
    const seen: JobEvent[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => { done = r; });
    const stop = await s.jobs.follow(job.id, 0, (e) => {
      seen.push(e);
      if (e.type === 'status' && e.data.status === 'succeeded') done();
    });
    await finished;
    stop();
    const epochs = seen.filter((e) => e.type === 'epoch').map((e) => e.data.epoch);
    expect(epochs).toEqual([1, 2, 3, 4]);
    const final = await s.jobs.get(job.id);
    expect(final).toMatchObject({ status: 'succeeded', epoch: 4, progress: 1, stopReason: 'completed' });
    expect((await s.jobs.epochs(job.id, 2)).map((e) => e.epoch)).toEqual([3, 4]);
    const model = await s.models.get(final.modelId!);
    expect(model).toMatchObject({ jobId: job.id, bestEpoch: 4, features: 3, classes: ['a', 'b', 'c'] });
    expect(model.metrics).toMatchObject({ epoch: 4 });
  });

  it('trains a job on two threads, the same bits run twice', async () => {
    const run = async () => {
      const job = await s.jobs.submit(jobRequest(datasetId, { epochs: 3, seed: 9, threads: 2, hidden: [{ units: 16 }] }));
      expect(job.spec.threads).toBe(2);
      await until(async () => (await s.jobs.get(job.id)).status !== 'queued' && (await s.jobs.get(job.id)).status !== 'running');
      const done = await s.jobs.get(job.id);
      expect(done.status).toBe('succeeded');
      return (await s.jobs.epochs(job.id, 0)).map(({ at: _at, durationMs: _d, ...figures }) => figures);
    };
    expect(await run()).toEqual(await run());
  });

  it('cancels a running job at once; a finished one is a conflict', async () => {
    const job = await s.jobs.submit(jobRequest(datasetId, { epochs: 10_000, batchSize: 1 }));
    await until(async () => (await s.jobs.get(job.id)).status === 'running');
    expect(await s.jobs.cancel(job.id)).toMatchObject({ status: 'cancelled', stopReason: 'cancelled' });
    await expect(s.jobs.cancel(job.id)).rejects.toMatchObject({ kind: 'conflict', code: 'job_finished' });
    await expect(s.jobs.get('nope')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('refuses past MAX_QUEUED_JOBS as busy, with a time to retry after', async () => {
    const running = await s.jobs.submit(jobRequest(datasetId, { epochs: 10_000, batchSize: 1 }));
    await until(async () => (await s.jobs.get(running.id)).status === 'running');
    await s.jobs.submit(jobRequest(datasetId));
    await s.jobs.submit(jobRequest(datasetId));
    await expect(s.jobs.submit(jobRequest(datasetId))).rejects.toMatchObject({ kind: 'busy', code: 'queue_full', retryAfterSeconds: 30 });
    await s.jobs.cancel(running.id);
  });
});
