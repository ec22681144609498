// Many nodes on one PostgreSQL database, as an operator runs them: one api node and two worker nodes,
// real processes. Jobs are claimed once each, events and cancels cross nodes, and a worker killed
// mid-training loses nothing: the other resumes its job, bit-identical to an uninterrupted run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { blobs, toCsv } from '../helpers/data.js';
import { clusterUrl } from '../helpers/postgres.js';
import { startServer, type RunningServer } from '../helpers/server.js';

describe.skipIf(!clusterUrl)('many nodes on one PostgreSQL database', () => {
  let cluster: Cluster;
  let apiNode: RunningServer;
  let workers: RunningServer[];
  let api: ReturnType<typeof client>;
  let datasetId: string;

  beforeAll(async () => {
    cluster = await startCluster({ PROGRESS_INTERVAL_MS: '100' });
    ({ apiNode, workers, api } = cluster);
    const res = await api.post('/v1/datasets?name=blobs', toCsv(blobs(3000, 24, ['a', 'b', 'c', 'd'], 11)), { 'content-type': 'text/csv' });
    expect(res.status).toBe(201);
    datasetId = res.body.id;
  });
  afterAll(async () => cluster?.close());

  /** How many times each node's log says it started the job. */
  const starts = (jobId: string) => workers.map((w) => w.output().split('\n').filter((l) => l.includes(jobId) && l.includes('"event":"started"')).length);

  it('a worker node answers only its health routes; the api node lists every node', async () => {
    const worker = client(workers[0].url);
    expect((await worker.get('/health')).status).toBe(200);
    expect((await worker.get('/v2/health/ready')).status).toBe(200);
    expect((await fetch(`${workers[0].url}/v1/jobs`)).status).toBe(404); // not a route there: outside openapi.yaml's answers
    const nodes = (await api.get('/v1/nodes')).body.items as { id: string; role: string; self: boolean }[];
    expect(nodes.map((n) => [n.id, n.role, n.self])).toEqual([['api-1', 'api', true], ['worker-1', 'worker', false], ['worker-2', 'worker', false]]);
  });

  it('claims each of 12 jobs queued at once exactly once across the two workers', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, async (_, i) =>
      (await api.post('/v1/jobs', { datasetId, epochs: 2, hidden: [{ units: 8 }], seed: i })).body.id as string));
    const done = await Promise.all(ids.map((id) => api.waitFor(id, ['succeeded', 'failed', 'cancelled'], 120_000)));
    expect(done.map((j) => j.status)).toEqual(Array(12).fill('succeeded'));
    for (const id of ids) {
      expect((await api.get(`/v1/jobs/${id}/epochs`)).body.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
      expect(starts(id).reduce((a, b) => a + b, 0)).toBe(1);
    }
  });

  it('streams a worker\'s epochs to an SSE client on the api node; a cancel there stops the worker within 2 s', async () => {
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 10_000, batchSize: 1, hidden: [{ units: 8 }], seed: 1 })).body;
    const controller = new AbortController();
    const res = await fetch(`${apiNode.url}/v1/jobs/${job.id}/events`, { signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 30_000;
    while (!/event: epoch\nid: 1\n/.test(text) && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/event: epoch\nid: 1\n/);

    const running = (await api.get(`/v1/jobs/${job.id}`)).body;
    expect(running.status).toBe('running');
    expect(['worker-1', 'worker-2']).toContain(running.node);
    const holder = workers[running.node === 'worker-1' ? 0 : 1];
    const cancelledAt = Date.now();
    expect((await api.post(`/v1/jobs/${job.id}/cancel`)).body.status).toBe('cancelled');
    for (;;) {
      if (/"event":"released"/.test(holder.output().split('\n').filter((l) => l.includes(job.id)).join('\n'))) break;
      expect(Date.now() - cancelledAt).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = (await api.get(`/v1/jobs/${job.id}/epochs`)).body.epochs.length;
    await new Promise((r) => setTimeout(r, 500));
    expect((await api.get(`/v1/jobs/${job.id}/epochs`)).body.epochs.length).toBe(after);
    expect((await api.get(`/v1/jobs/${job.id}`)).body).toMatchObject({ status: 'cancelled', node: null });
  });

  it('deleting a model on one api node stops another from serving it', async () => {
    const job = await api.waitFor((await api.post('/v1/jobs', { datasetId, epochs: 1, hidden: [{ units: 4 }], seed: 2 })).body.id, ['succeeded']);
    const second = await cluster.node('api', 'api-2');
    try {
      const other = client(second.url);
      const row = blobs(1, 24, ['a'], 3).features;
      expect((await other.post(`/v1/models/${job.modelId}/predict`, { instances: row })).status).toBe(200); // now in api-2's cache
      expect((await api.del(`/v1/models/${job.modelId}`)).status).toBe(204);
      const deadline = Date.now() + 2000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        status = (await other.post(`/v1/models/${job.modelId}/predict`, { instances: row })).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(404);
    } finally {
      await second.stop();
      second.cleanup();
    }
  });

  it('resumes on the other worker a job whose worker was SIGKILLed, every epoch once, bit-identical to an uninterrupted run on SQLite', async () => {
    const spec = {
      datasetId, hidden: [{ units: 96, activation: 'tanh' }, { units: 48, activation: 'relu', dropout: 0.1 }],
      epochs: 12, batchSize: 4, seed: 1234, validationSplit: 0.1, optimizer: { learningRate: 0.01, momentum: 0.9, decay: 0.05 },
    };
    const job = (await api.post('/v1/jobs', spec)).body;
    let running;
    for (;;) {
      running = (await api.get(`/v1/jobs/${job.id}`)).body;
      if (running.epoch >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(running.epoch).toBeLessThan(12);
    const victim = workers[running.node === 'worker-1' ? 0 : 1];
    const survivor = workers[running.node === 'worker-1' ? 1 : 0];
    expect(await victim.stop('SIGKILL')).toBeNull();

    const resumed = await api.waitFor(job.id, ['succeeded', 'failed'], 120_000);
    expect(resumed.status).toBe('succeeded');
    expect(starts(job.id)).toEqual(workers.map((w) => (w === survivor || w === victim ? 1 : 0)));

    // The same job alone on SQLite, uninterrupted.
    const single = await startServer();
    try {
      const local = client(single.url);
      const ds = (await local.post('/v1/datasets?name=blobs', toCsv(blobs(3000, 24, ['a', 'b', 'c', 'd'], 11)), { 'content-type': 'text/csv' })).body.id;
      const reference = await local.waitFor((await local.post('/v1/jobs', { ...spec, datasetId: ds })).body.id, ['succeeded', 'failed'], 120_000);
      const figures = async (c: typeof api, id: string) => (await c.get(`/v1/jobs/${id}/epochs`)).body.epochs
        .map(({ at: _at, durationMs: _d, ...rest }: { at: string; durationMs: number }) => rest);
      const epochs = await figures(api, job.id);
      expect(epochs.map((e: { epoch: number }) => e.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(epochs).toEqual(await figures(local, reference.id));
      const rows = blobs(20, 24, ['a', 'b', 'c', 'd'], 99).features;
      const a = (await api.post(`/v1/models/${resumed.modelId}/predict`, { instances: rows })).body;
      const b = (await local.post(`/v1/models/${reference.modelId}/predict`, { instances: rows })).body;
      expect(a).toEqual(b);
    } finally {
      await single.stop();
      single.cleanup();
    }
  });
});
