// The services over a fresh SQLite store, without Fastify or a port: what the routes call, called directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createDatasetService } from '../../src/services/datasets.js';
import { createJobService } from '../../src/services/jobs/index.js';
import { JobSpecInput, type JobSpec } from '../../src/services/jobs/spec.js';
import { createModelService } from '../../src/services/models/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

export async function services(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-services-'));
  const config = loadConfig({ DATA_DIR: dir, WORKERS: '1', PROGRESS_INTERVAL_MS: '50', ...env });
  const { store } = openSqliteStore<JobSpec>(config.databasePath);
  const deps = { config, store, logger: pino({ level: 'silent' }) };
  const s = {
    config, store,
    datasets: createDatasetService(deps),
    jobs: createJobService(deps),
    models: createModelService(deps),
    async close() {
      await s.jobs.close();
      await s.models.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await s.jobs.start();
  return s;
}

/** A CSV body as the datasets service receives it from the HTTP edge: a byte stream. */
export const csvUpload = (csv: string, options: { name?: string; target?: string } = {}) => ({
  ...options, type: 'text/csv', body: Readable.from([Buffer.from(csv)]),
});

/** A job request as the HTTP edge hands it over: the body parsed by the one spec schema. */
export const jobRequest = (datasetId: string, fields: Record<string, unknown> = {}) =>
  JobSpecInput.parse({ datasetId, ...fields });
