// The store: SQLite in DATA_DIR, migrated at start, closed last.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { JobSpec } from '../services/jobs/spec.js';
import { openSqliteStore } from '../store/sqlite/index.js';

export default fp(async (app: FastifyInstance) => {
  const { store, applied } = openSqliteStore<JobSpec>(app.config.databasePath);
  if (applied.length > 0) app.log.info({ applied: applied.map((m) => m.name) }, 'migrations applied');
  app.decorate('store', store);
  app.addHook('onClose', async () => store.close());
}, { name: 'store' });
