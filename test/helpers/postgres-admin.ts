// A database of its own on a given cluster: for benches and tests that run outside vitest's injection.
import pg from 'pg';

/** Creates an empty database on the cluster at `clusterUrl` and returns its URL. */
export async function freshDatabase(clusterUrl: string): Promise<string> {
  const name = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: clusterUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
