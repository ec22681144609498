// Nothing lost: a killed or stopped process resumes its jobs bit for bit, and a failing worker fails
// only its own job.
import { afterEach, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, linear, toCsv } from '../helpers/data.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const servers: RunningServer[] = [];
async function start(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer(options);
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers.splice(0)) {
    await s.stop('SIGKILL');
    s.cleanup();
  }
});

const spec = (datasetId: string) => ({
  datasetId, hidden: [{ units: 96, activation: 'tanh' }, { units: 48, activation: 'relu', dropout: 0.1 }],
  epochs: 12, batchSize: 4, seed: 1234, validationSplit: 0.1, optimizer: { learningRate: 0.01, momentum: 0.9, decay: 0.05 },
});

async function uploadBlobs(api: ReturnType<typeof client>, rows = 3000) {
  const res = await api.post('/v1/datasets?name=blobs', toCsv(blobs(rows, 24, ['a', 'b', 'c', 'd'], 11)), { 'content-type': 'text/csv' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function waitForEpoch(api: ReturnType<typeof client>, jobId: string, epoch: number) {
  for (;;) {
    const { body } = await api.get(`/v1/jobs/${jobId}`);
    if (body.epoch >= epoch) return body;
    if (body.status !== 'queued' && body.status !== 'running') throw new Error(`job ended early: ${body.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('crash-safe training', () => {
  it('resumes a job after SIGKILL from its checkpoint, bit-identical to an uninterrupted run', async () => {
    const first = await start();
    let api = client(first.url);
    const datasetId = await uploadBlobs(api);
    const job = (await api.post('/v1/jobs', spec(datasetId))).body;
    const before = await waitForEpoch(api, job.id, 3);
    expect(before.epoch).toBeLessThan(12);
    expect(await first.stop('SIGKILL')).toBeNull();

    const second = await start({ dataDir: first.dataDir });
    api = client(second.url);
    const resumed = await api.waitFor(job.id, ['succeeded', 'failed'], 120_000);
    expect(resumed.status).toBe('succeeded');
    const reference = await api.waitFor((await api.post('/v1/jobs', spec(datasetId))).body.id, ['succeeded', 'failed'], 120_000);

    const epochsOf = async (id: string) => (await api.get(`/v1/jobs/${id}/epochs`)).body.epochs
      .map(({ at, durationMs, ...figures }: { at: string; durationMs: number }) => figures);
    const resumedEpochs = await epochsOf(job.id);
    expect(resumedEpochs.map((e: { epoch: number }) => e.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(resumedEpochs).toEqual(await epochsOf(reference.id));

    const rows = blobs(20, 24, ['a', 'b', 'c', 'd'], 99).features;
    const a = (await api.post(`/v1/models/${resumed.modelId}/predict`, { instances: rows })).body;
    const b = (await api.post(`/v1/models/${reference.modelId}/predict`, { instances: rows })).body;
    expect(a).toEqual(b);
  });

  it('on SIGTERM hands a running job back to the queue within 10 s, and the next start finishes it', async () => {
    const first = await start();
    let api = client(first.url);
    const datasetId = await uploadBlobs(api);
    const job = (await api.post('/v1/jobs', { ...spec(datasetId), epochs: 40 })).body;
    await waitForEpoch(api, job.id, 2);
    const stoppedAt = Date.now();
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(first.output()).not.toMatch(/"level":(50|60)/);

    const second = await start({ dataDir: first.dataDir, env: { WORKERS: '1' } });
    api = client(second.url);
    const finished = await api.waitFor(job.id, ['succeeded', 'failed'], 180_000);
    expect(finished.status).toBe('succeeded');
    const epochs = (await api.get(`/v1/jobs/${job.id}/epochs`)).body.epochs.map((e: { epoch: number }) => e.epoch);
    expect(epochs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('does not let an open event stream hold a SIGTERM up', async () => {
    const server = await start();
    const api = client(server.url);
    const datasetId = await uploadBlobs(api, 1000);
    const job = (await api.post('/v1/jobs', { ...spec(datasetId), epochs: 10_000 })).body;
    await waitForEpoch(api, job.id, 1);
    const watching = await fetch(`${server.url}/v1/jobs/${job.id}/events`);
    const streamed = watching.text();
    const stoppedAt = Date.now();
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(await streamed).toContain('event: epoch');
  });
});

describe('faults fail only their own job', () => {
  it('a worker that exits, throws or runs out of memory fails its job with a clear code; the pool goes on', async () => {
    const server = await start({ env: { FAULT_INJECTION: '1', WORKERS: '2', WORKER_MAX_HEAP_MB: '96' } });
    const api = client(server.url);
    const datasetId = await uploadBlobs(api, 600);
    const healthy = (await api.post('/v1/jobs', { datasetId, epochs: 30, batchSize: 8 })).body;
    const cases = [
      { kind: 'crash', code: 'worker_crashed' },
      { kind: 'throw', code: 'worker_error' },
      { kind: 'oom', code: 'out_of_memory' },
    ];
    for (const c of cases) {
      const job = (await api.post('/v1/jobs', { datasetId, epochs: 5, faultInjection: { kind: c.kind, atEpoch: 2 } })).body;
      const failed = await api.waitFor(job.id, ['failed', 'succeeded'], 60_000);
      expect(failed.status).toBe('failed');
      expect(failed.error.code).toBe(c.code);
      expect(failed.error.message.length).toBeGreaterThan(20);
      expect(failed.modelId).toBeNull();
      // The epoch before the fault was recorded once.
      expect((await api.get(`/v1/jobs/${job.id}/epochs`)).body.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1]);
    }
    expect((await api.waitFor(healthy.id, ['succeeded', 'failed'], 120_000)).status).toBe('succeeded');
    const after = (await api.post('/v1/jobs', { datasetId, epochs: 2 })).body;
    expect((await api.waitFor(after.id, ['succeeded', 'failed'])).status).toBe('succeeded');
  });

  it('refuses faultInjection unless the service runs with FAULT_INJECTION=1', async () => {
    const server = await start();
    const api = client(server.url);
    const datasetId = await uploadBlobs(api, 100);
    const res = await api.post('/v1/jobs', { datasetId, faultInjection: { kind: 'crash', atEpoch: 1 } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.field).toBe('faultInjection');
  });

  it('fails a diverging job as diverged, naming the epoch and suggesting a lower rate, and stores no model', async () => {
    const server = await start();
    const api = client(server.url);
    const ds = (await api.post('/v1/datasets?name=lin', linear(200))).body;
    const job = (await api.post('/v1/jobs', {
      datasetId: ds.id, epochs: 50, batchSize: 4, optimizer: { learningRate: 10, momentum: 0.99 }, seed: 1,
    })).body;
    const failed = await api.waitFor(job.id, ['failed', 'succeeded']);
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('diverged');
    expect(failed.error.message).toMatch(/epoch \d+/);
    expect(failed.error.message).toMatch(/learning rate/i);
    expect(failed.modelId).toBeNull();
    expect((await api.get('/v1/models')).body.total).toBe(0);
  });

  it('stops a job at maxRuntimeSeconds and keeps the best model so far', async () => {
    const server = await start();
    const api = client(server.url);
    const datasetId = await uploadBlobs(api);
    const job = (await api.post('/v1/jobs', { ...spec(datasetId), epochs: 1000, maxRuntimeSeconds: 2 })).body;
    const done = await api.waitFor(job.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', stopReason: 'time_limit' });
    expect(done.epoch).toBeGreaterThan(0);
    expect(done.epoch).toBeLessThan(1000);
    expect((await api.get(`/v1/models/${done.modelId}`)).status).toBe(200);
  });
});

describe('access control', () => {
  const key = 'a-long-enough-test-key-1234567890';

  it('requires the bearer key on every route but health when API_KEY is set', async () => {
    const server = await start({ env: { API_KEY: key } });
    const anonymous = client(server.url);
    const authorised = client(server.url, { headers: { authorization: `Bearer ${key}` } });
    expect((await anonymous.get('/health')).status).toBe(200);
    expect((await anonymous.get('/v2/health/live')).status).not.toBe(401);
    const refused = await anonymous.get('/v1/datasets');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect((await anonymous.get('/v1/jobs', { authorization: `Bearer ${key}x` })).status).toBe(401);
    expect((await anonymous.get('/v1/jobs', { authorization: key })).status).toBe(401);
    expect((await anonymous.post('/v1/datasets', { features: [[1], [2]], labels: [0, 1] })).status).toBe(401);
    expect((await authorised.get('/v1/datasets')).status).toBe(200);
    expect((await authorised.post('/v1/datasets', { features: [[1], [2]], labels: [0, 1] })).status).toBe(201);
  });

  it('serves without a key when API_KEY is unset, on 127.0.0.1 by default, with security headers', async () => {
    const server = await start({ env: { HOST: '' } });
    const res = await fetch(`${server.url}/v1/datasets`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('rate-limits writes per client with 429 and Retry-After, and leaves reads alone', async () => {
    const server = await start({ env: { RATE_LIMIT_MAX: '3' } });
    const api = client(server.url);
    for (let i = 0; i < 3; i++) expect((await api.post('/v1/datasets', { features: [[1], [2]], labels: [0, 1] })).status).toBe(201);
    const limited = await api.post('/v1/datasets', { features: [[1], [2]], labels: [0, 1] });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await api.get('/v1/datasets')).status).toBe(200);
  });
});
