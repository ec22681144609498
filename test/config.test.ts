// The environment is validated once, at start, with messages that name the variable.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { buildTestApp } from './helpers/app.js';
import { ROOT } from './helpers/server.js';

describe('loadConfig', () => {
  it('fills the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000, host: '127.0.0.1', logLevel: 'info', maxUploadBytes: 512 * 1024 * 1024, maxQueuedJobs: 100,
      apiKey: null, faultInjection: false, workerNice: 19, progressIntervalMs: 500,
    });
    expect(c.workers).toBeGreaterThan(0);
    expect(c.databasePath).toMatch(/data[/\\]service\.db$/);
  });

  it('binds to all interfaces only when an API key guards the routes, unless HOST says otherwise', () => {
    expect(loadConfig({ API_KEY: 'k'.repeat(16) }).host).toBe('0.0.0.0');
    expect(loadConfig({ API_KEY: 'k'.repeat(16), HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
    expect(loadConfig({ HOST: '' }).host).toBe('127.0.0.1');
  });

  it('refuses bad values with a message naming each variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', WORKERS: '0', API_KEY: 'short' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', WORKERS: '0', API_KEY: 'short', LOG_LEVEL: 'loud' });
    } catch (err) {
      const message = (err as Error).message;
      for (const name of ['PORT', 'WORKERS', 'API_KEY', 'LOG_LEVEL']) expect(message).toContain(name);
      expect(message).toMatch(/API_KEY: API_KEY must be at least 16 characters/);
    }
  });

  it('makes the process exit 2 with that message before it listens', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'dist/server.js')], {
      env: { ...process.env, PORT: '99999', DATA_DIR: '/nonexistent-should-not-be-created' }, encoding: 'utf8', timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/invalid environment:\n\s+PORT: /);
  });
});

describe('MAX_EVENT_LOOP_DELAY_MS', () => {
  it('answers 503 with Retry-After in the one error shape while the event loop is saturated', async () => {
    const { app, close } = await buildTestApp({ MAX_EVENT_LOOP_DELAY_MS: '20' });
    try {
      // Start-up itself may stall the loop for a moment: first see the service answer normally.
      let calm = await app.inject({ method: 'GET', url: '/v1/datasets' });
      for (let i = 0; i < 30 && calm.statusCode !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        calm = await app.inject({ method: 'GET', url: '/v1/datasets' });
      }
      expect(calm.statusCode).toBe(200);
      const until = Date.now() + 1500; // one long stall dominates the mean delay the plugin samples each second
      while (Date.now() < until) { /* block the loop, as a runaway handler would */ }
      await new Promise((r) => setTimeout(r, 50));
      let res = await app.inject({ method: 'GET', url: '/v1/datasets' });
      for (let i = 0; i < 20 && res.statusCode !== 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await app.inject({ method: 'GET', url: '/v1/datasets' });
      }
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error.code).toBe('overloaded');
    } finally {
      await close();
    }
  });
});
