// The store: PostgreSQL when DATABASE_URL is set (shared by many nodes), else SQLite in DATA_DIR;
// migrated at start, closed last. A store that cannot be opened stops the start with one clear line.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { JobSpec } from '../services/jobs/spec.js';
import { StoreOpenError } from '../store/errors.js';
import { openPostgresStore } from '../store/postgres/index.js';
import { openSqliteStore } from '../store/sqlite/index.js';

async function open(app: FastifyInstance) {
  const { databaseUrl, databasePath } = app.config;
  if (!databaseUrl) return openSqliteStore<JobSpec>(databasePath, (what) => app.log.error(what));
  const where = new URL(databaseUrl);
  try {
    return await openPostgresStore<JobSpec>(databaseUrl, (err) => app.log.warn({ err: err.message }, 'database notifications connection'));
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new StoreOpenError(`cannot reach PostgreSQL at ${where.hostname}:${where.port || 5432}${where.pathname} (${e.code ?? e.message}): check DATABASE_URL and that the server is up`, err);
  }
}

export default fp(async (app: FastifyInstance) => {
  const { store, applied } = await open(app);
  app.log.info({ store: store.kind, applied: applied.map((m) => m.name) }, 'store open');
  app.decorate('store', store);
  app.addHook('onClose', async () => store.close());
}, { name: 'store' });
