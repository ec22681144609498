// The process at start: what an operator sees when the store cannot be had.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startServer } from './helpers/server.js';

function run(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/server.js')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout.trim() };
}

describe('starting the server', () => {
  it('exits with one clear line, naming host and port, when DATABASE_URL cannot be reached', () => {
    const r = run({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/service' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('cannot reach PostgreSQL at 127.0.0.1:1/service (ECONNREFUSED): check DATABASE_URL and that the server is up');
  });

  it('refuses a second process on the same SQLite DATA_DIR with a clear message, and leaves the first serving', async () => {
    const first = await startServer();
    try {
      const r = run({ DATA_DIR: first.dataDir });
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/service\.db is in use by another process of this service: a SQLite data folder serves one process/);
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
    } finally {
      await first.stop();
    }
    // Once the first has stopped, the folder is free again.
    const again = await startServer({ dataDir: first.dataDir });
    await again.stop();
    again.cleanup();
  });

  it('says which path it cannot open when DATA_DIR cannot be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-file-'));
    writeFileSync(join(dir, 'file'), 'not a folder');
    const r = run({ DATA_DIR: join(dir, 'file', 'data') });
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^cannot open the database ${dir}/file/data/service\\.db: ENOTDIR`));
    expect(r.stderr.split('\n')).toHaveLength(1);
  });
});
