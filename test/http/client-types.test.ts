// A client generated from openapi.yaml with openapi-typescript type-checks against the real answers:
// each response below is written into a TypeScript file as a literal of its documented type, and tsc
// must accept the file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, linear, toCsv } from '../helpers/data.js';
import { OPENAPI_PATH } from '../helpers/openapi.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
const dir = mkdtempSync(join(tmpdir(), 'client-types-'));

beforeAll(async () => { server = await startServer(); });
afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('a client generated with openapi-typescript', () => {
  it('type-checks against real responses of every JSON route', { timeout: 240_000 }, async () => {
    const api = client(server.url);
    const samples: { path: string; method: string; status: number; body: unknown }[] = [];
    const record = async (method: string, path: string, template: string, body?: unknown, headers?: Record<string, string>) => {
      const res = await api.call(method, path, body, headers);
      samples.push({ path: template, method: method.toLowerCase(), status: res.status, body: res.body });
      return res.body;
    };
    const ds = await record('POST', '/v1/datasets?name=c', '/v1/datasets', toCsv(blobs(120, 3, ['x', 'y'])), { 'content-type': 'text/csv' });
    const reg = await api.post('/v1/datasets?name=r', linear(100));
    await record('GET', '/v1/datasets', '/v1/datasets');
    await record('GET', `/v1/datasets/${ds.id}`, '/v1/datasets/{id}');
    const job = await record('POST', '/v1/jobs', '/v1/jobs', { datasetId: ds.id, epochs: 3 });
    const done = await api.waitFor(job.id, ['succeeded']);
    const regJob = await api.waitFor((await api.post('/v1/jobs', { datasetId: reg.body.id, epochs: 2 })).body.id, ['succeeded']);
    await record('GET', `/v1/jobs/${job.id}`, '/v1/jobs/{id}');
    await record('GET', '/v1/jobs', '/v1/jobs');
    await record('GET', `/v1/jobs/${job.id}/epochs`, '/v1/jobs/{id}/epochs');
    await record('POST', `/v1/jobs/${job.id}/cancel`, '/v1/jobs/{id}/cancel');
    await record('GET', `/v1/models/${done.modelId}`, '/v1/models/{id}');
    await record('GET', '/v1/models', '/v1/models');
    await record('POST', `/v1/models/${done.modelId}/predict`, '/v1/models/{id}/predict', { instances: [[0, 1, 2]] });
    await record('POST', `/v1/models/${regJob.modelId}/predict`, '/v1/models/{id}/predict', { instances: [[0, 1, 2]] });
    await record('POST', `/v1/models/${done.modelId}/evaluate`, '/v1/models/{id}/evaluate', { datasetId: ds.id });
    await record('POST', `/v1/models/${regJob.modelId}/evaluate`, '/v1/models/{id}/evaluate', { datasetId: reg.body.id });
    await record('GET', '/v1/jobs/nope', '/v1/jobs/{id}');
    expect(samples.map((s) => s.status)).toContain(409);
    expect(samples.map((s) => s.status)).toContain(404);

    execFileSync(join(ROOT, 'node_modules/.bin/openapi-typescript'), [OPENAPI_PATH, '-o', join(dir, 'api.d.ts')], { stdio: 'pipe' });
    const lines = samples.map((s, i) =>
      `const r${i}: paths[${JSON.stringify(s.path)}][${JSON.stringify(s.method)}]['responses'][${s.status}]['content']['application/json'] = ${JSON.stringify(s.body)};\nvoid r${i};`);
    writeFileSync(join(dir, 'check.ts'), `import type { paths } from './api.js';\n${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', skipLibCheck: true },
      files: ['check.ts'],
    }));
    let output = '';
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', dir], { stdio: 'pipe' });
    } catch (err) {
      output = String((err as { stdout?: Buffer }).stdout ?? err);
    }
    expect(output).toBe('');
  });
});
