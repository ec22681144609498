// The embedded backend: one SQLite file (WAL) in DATA_DIR, what `npm start` uses with nothing else installed.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLocalBus } from '../bus.js';
import { StoreOpenError } from '../errors.js';
import type { Store, StoredSpec } from '../types.js';
import { createDatasetStore } from './datasets.js';
import { createGuard } from './guard.js';
import { migrate, openDatabase, type AppliedMigration } from './db.js';
import { createJobStore } from './jobs.js';
import { createModelStore } from './models.js';
import { createNodeStore } from './nodes.js';
import { createSearchStore } from './searches.js';

/**
 * One process owns a SQLite file: an exclusive lock on `<file>.lock`, held for the life of the store and
 * released by the operating system when the process dies, refuses a second one at start.
 */
function lockFile(path: string): Database.Database {
  const lock = new Database(`${path}.lock`);
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StoreOpenError(`${path} is in use by another process of this service: a SQLite data folder serves one process; `
        + 'stop the other one, give this one its own DATA_DIR, or run several nodes on PostgreSQL (DATABASE_URL)');
    }
    throw err;
  }
}

export function openSqliteStore<S extends StoredSpec>(path: string, onEvent?: (what: string) => void): { store: Store<S>; applied: AppliedMigration[] } {
  let db: Database.Database;
  let lock: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    lock = lockFile(path);
    db = openDatabase(path);
  } catch (err) {
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(`cannot open the database ${path}: ${(err as Error).message}`, err);
  }
  const applied = migrate(db);
  const guard = createGuard(path, onEvent);
  return {
    applied,
    store: {
      kind: 'sqlite',
      datasets: guard.wrap(createDatasetStore(db)),
      jobs: guard.wrap(createJobStore<S>(db)),
      models: guard.wrap(createModelStore(db)),
      nodes: guard.wrap(createNodeStore(db)),
      searches: guard.wrap(createSearchStore<S>(db)),
      bus: createLocalBus(),
      healthy: guard.healthy,
      close: async () => {
        guard.close();
        db.close();
        lock.close();
      },
    },
  };
}
