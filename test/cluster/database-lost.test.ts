// The database goes away while a job trains on PostgreSQL, and comes back: the API answers 503 in the
// meantime, the node keeps its job in memory and retries its writes, and the job finishes with every
// epoch once, bit-identical to an uninterrupted run on SQLite. A cluster of its own, so that stopping
// it disturbs no other suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, toCsv } from '../helpers/data.js';
import { createCluster, postgresBin, type Cluster } from '../helpers/pg-cluster.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const bin = postgresBin();

describe.skipIf(!bin)('the database lost while a job trains', () => {
  let cluster: Cluster;
  let server: RunningServer;
  beforeAll(async () => {
    cluster = await createCluster(bin!);
    server = await startServer({ env: { DATABASE_URL: cluster.url, WORKERS: '1', JOB_LEASE_SECONDS: '4', LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    server?.cleanup();
    cluster?.remove();
  });

  it('answers 503 while it is away, then finishes the job with nothing lost or duplicated', async () => {
    const api = client(server.url);
    const csv = toCsv(blobs(2000, 16, ['a', 'b', 'c'], 5));
    const datasetId = (await api.post('/v1/datasets?name=blobs', csv, { 'content-type': 'text/csv' })).body.id;
    const spec = { datasetId, epochs: 30, batchSize: 2, hidden: [{ units: 32 }], seed: 9 };
    const job = (await api.post('/v1/jobs', spec)).body;
    for (;;) {
      const j = (await api.get(`/v1/jobs/${job.id}`)).body;
      if (j.epoch >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }

    cluster.stop();
    const away = await api.get(`/v1/jobs/${job.id}`);
    expect(away.status).toBe(503);
    expect(away.body.error.code).toBe('database_unavailable');
    expect(Number(away.headers.get('retry-after'))).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 3000));
    cluster.start();

    const done = await api.waitFor(job.id, ['succeeded', 'failed'], 120_000);
    expect(done.status).toBe('succeeded');
    expect(server.proc.exitCode).toBeNull();
    const lines = server.output().split('\n');
    expect(lines.filter((l) => l.includes('"level":50') || l.includes('"level":60'))).toEqual([]);
    expect(lines.some((l) => l.includes('database unavailable: retrying'))).toBe(true);

    const single = await startServer();
    try {
      const local = client(single.url);
      const ds = (await local.post('/v1/datasets?name=blobs', csv, { 'content-type': 'text/csv' })).body.id;
      const reference = await local.waitFor((await local.post('/v1/jobs', { ...spec, datasetId: ds })).body.id, ['succeeded', 'failed'], 120_000);
      const figures = async (c: typeof api, id: string) => (await c.get(`/v1/jobs/${id}/epochs`)).body.epochs
        .map(({ at: _at, durationMs: _d, ...rest }: { at: string; durationMs: number }) => rest);
      const epochs = await figures(api, job.id);
      expect(epochs.map((e: { epoch: number }) => e.epoch)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(epochs).toEqual(await figures(local, reference.id));
    } finally {
      await single.stop();
      single.cleanup();
    }
  });
});
