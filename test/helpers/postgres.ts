// A database of its own for a test file, on the cluster the global setup started (or TEST_DATABASE_URL).
import pg from 'pg';
import { inject } from 'vitest';

export const clusterUrl = inject('databaseUrl');

/** Creates an empty database and returns its URL and a way to drop it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!clusterUrl) throw new Error('no PostgreSQL cluster: install postgresql or set TEST_DATABASE_URL');
  const name = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: clusterUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: clusterUrl! });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
