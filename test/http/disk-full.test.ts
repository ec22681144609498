// A full disk under the SQLite store, for real: a small tmpfs as DATA_DIR (mounting one needs root; the
// suite skips otherwise, saying so). A job whose checkpoints fill the disk fails as storage_full and the
// process stays up; uploads answer 507; deletes still work, so space can be freed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, toCsv } from '../helpers/data.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const root = userInfo().uid === 0;
if (!root) console.warn('test/http/disk-full.test.ts is skipped: mounting a tmpfs needs root');

describe.skipIf(!root)('a full disk under the SQLite store (tmpfs, as root)', () => {
  let dir: string;
  let server: RunningServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlp-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]);
    server = await startServer({ dataDir: dir, env: { WORKERS: '1', LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    try { execFileSync('umount', [dir]); } catch { /* not mounted */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the job that fills it as storage_full, answers uploads 507, and still deletes', async () => {
    const api = client(server.url);
    const datasetId = (await api.post('/v1/datasets?name=wide', toCsv(blobs(200, 64, ['a', 'b'], 2)), { 'content-type': 'text/csv' })).body.id;
    // Leave a few MB: each checkpoint of this network is about 1.5 MB.
    const { bavail, bsize } = statfsSync(dir);
    writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 5 * 1024 * 1024)));
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 200, batchSize: 50, hidden: [{ units: 1024 }], seed: 1 })).body;
    const done = await api.waitFor(job.id, ['succeeded', 'failed'], 120_000);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'storage_full' } });
    expect(done.error.message).toMatch(/disk .* is full/);

    const upload = await api.post('/v1/datasets?name=more', toCsv(blobs(20_000, 64, ['a', 'b'], 3)), { 'content-type': 'text/csv' });
    expect(upload.status).toBe(507);
    expect(upload.body.error).toMatchObject({ code: 'storage_full', message: expect.stringMatching(/the disk holding .* is full/) });
    expect((await api.get('/health')).status).toBe(200);
    expect((await api.del(`/v1/datasets/${datasetId}`)).status).toBe(204);
    expect(server.proc.exitCode).toBeNull();
    expect(server.output()).toMatch(/released the reserve/);
  });
});

describe('the SQLite file deleted while the service runs', () => {
  it('refuses writes (503) and drops readiness, says so in the log, and acknowledges nothing it cannot keep', async () => {
    const server = await startServer({ env: { LOG_LEVEL: 'info' } });
    try {
      const api = client(server.url);
      const csv = toCsv(blobs(20, 2, ['a', 'b']));
      expect((await api.post('/v1/datasets', csv, { 'content-type': 'text/csv' })).status).toBe(201);
      rmSync(join(server.dataDir, 'service.db'));
      await new Promise((r) => setTimeout(r, 1500));
      const refused = await api.post('/v1/datasets', csv, { 'content-type': 'text/csv' });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'database_unavailable', message: expect.stringMatching(/was deleted/) });
      expect((await api.get('/v2/health/ready')).status).toBe(503);
      expect((await api.get('/health')).status).toBe(200);
      expect(server.output()).toMatch(/service\.db was deleted while the service ran: writes are refused/);
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});
