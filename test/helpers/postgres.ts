// A database of its own for a test file, on the cluster the global setup started (or TEST_DATABASE_URL).
import pg from 'pg';
import { inject } from 'vitest';
import { freshDatabase as createDatabase } from './postgres-admin.js';

export const clusterUrl = inject('databaseUrl');

/** Creates an empty database and returns its URL and a way to drop it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!clusterUrl) throw new Error('no PostgreSQL cluster: install postgresql or set TEST_DATABASE_URL');
  const url = await createDatabase(clusterUrl);
  const name = new URL(url).pathname.slice(1);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: clusterUrl! });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
