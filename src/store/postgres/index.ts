// The shared backend: PostgreSQL, for many API and worker nodes on one database.
import type { Store, StoredSpec } from '../types.js';
import { createPgBus } from './bus.js';
import { createDatasetStore } from './datasets.js';
import { createPool, migrate, type AppliedMigration } from './db.js';
import { createJobStore } from './jobs.js';
import { createModelStore } from './models.js';
import { createNodeStore } from './nodes.js';
import { createSearchStore } from './searches.js';

/** Connects, migrates (under the advisory lock) and opens the store; throws when the database cannot be reached. */
export async function openPostgresStore<S extends StoredSpec>(url: string, onError: (err: Error) => void = () => {}):
  Promise<{ store: Store<S>; applied: AppliedMigration[] }> {
  const pool = createPool(url);
  let applied: AppliedMigration[];
  try {
    applied = await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const bus = createPgBus(pool, url, onError);
  return {
    applied,
    store: {
      kind: 'postgres',
      datasets: createDatasetStore(pool),
      jobs: createJobStore<S>(pool),
      models: createModelStore(pool),
      nodes: createNodeStore(pool),
      searches: createSearchStore<S>(pool),
      bus,
      healthy: () => true, // an unreachable database is reported per query, as unavailable
      async close() {
        await bus.close();
        await pool.end();
      },
    },
  };
}
