// The embedded backend: one SQLite file (WAL) in DATA_DIR, what `npm start` uses with nothing else installed.
import { createLocalBus } from '../bus.js';
import type { Store, StoredSpec } from '../types.js';
import { createDatasetStore } from './datasets.js';
import { migrate, openDatabase, type AppliedMigration } from './db.js';
import { createJobStore } from './jobs.js';
import { createModelStore } from './models.js';
import { createNodeStore } from './nodes.js';

export function openSqliteStore<S extends StoredSpec>(path: string): { store: Store<S>; applied: AppliedMigration[] } {
  const db = openDatabase(path);
  const applied = migrate(db);
  return {
    applied,
    store: {
      kind: 'sqlite',
      datasets: createDatasetStore(db),
      jobs: createJobStore<S>(db),
      models: createModelStore(db),
      nodes: createNodeStore(db),
      bus: createLocalBus(),
      close: async () => { db.close(); },
    },
  };
}
