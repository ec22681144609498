// The store contract against PostgreSQL: one database for the file, emptied before each test. Skipped
// only where no cluster can be had (no postgresql installed and no TEST_DATABASE_URL); CI has one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { JobSpec } from '../../src/services/jobs/spec.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { clusterUrl, freshDatabase } from '../helpers/postgres.js';
import { describeStoreContract } from './contract.js';

describe.skipIf(!clusterUrl)('postgres backend', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => { db = await freshDatabase(); });
  afterAll(async () => db?.drop());

  describeStoreContract('postgres', async () => {
    const { store } = await openPostgresStore<JobSpec>(db.url);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('TRUNCATE datasets, dataset_data, jobs, epochs, checkpoints, models, model_data, model_aliases, evaluations, nodes, searches, paused_models RESTART IDENTITY CASCADE');
    await c.end();
    return store;
  });

  it('migrates once even when several nodes start together', async () => {
    const fresh = await freshDatabase();
    try {
      const opened = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore<JobSpec>(fresh.url)));
      expect(opened.map((o) => o.applied.length).sort()).toEqual([0, 0, 0, 5]);
      await Promise.all(opened.map((o) => o.store.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('reports an unreachable database as unavailable, naming no stack', async () => {
    const url = new URL(db.url);
    url.port = '1'; // nothing listens there
    await expect(openPostgresStore<JobSpec>(url.toString())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
