// openapi.yaml stays true: it is what the routes generate, and it documents every route there is.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { generateOpenApi, OPENAPI_PATH, openApiDoc } from '../helpers/openapi.js';

/** Routes that are not API operations: the docs UI's own assets and the dashboard's static files. */
const UNDOCUMENTED = [/^\/docs/, /^\/\*$/, /^\/$/, /^\/(app\.js|style\.css|index\.html|uPlot\.min\.css|favicon\.svg)$/];

describe('openapi.yaml', () => {
  it('is exactly what the routes generate (run `npm run openapi` after changing a route)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-test-'));
    try {
      expect(await generateOpenApi(dir)).toBe(readFileSync(OPENAPI_PATH, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents every route the app serves, with at least one 4xx answer each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-test-'));
    const app = await buildApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    let routes: { method: string; url: string }[];
    try {
      await app.ready();
      routes = app.routeList.map((r) => ({ method: r.method.toLowerCase(), url: r.url }));
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const doc = openApiDoc();
    const missing = routes
      .filter((r) => !UNDOCUMENTED.some((p) => p.test(r.url)))
      .map((r) => ({ ...r, path: r.url.replace(/:(\w+)/g, '{$1}') }))
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    expect(routes.length).toBeGreaterThan(15);
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (/health|^\/v2$/.test(path)) continue; // they take no input, so nothing a client sends can be refused
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses).some((s) => s.startsWith('4')), `${method} ${path} has no 4xx`).toBe(true);
      }
    }
  });
});
