// Many nodes on one fresh PostgreSQL database, as an operator runs them: one api node and two worker
// nodes, real processes (WORKERS=1 each, short leases so that a killed node's jobs come back quickly).
import { client } from './client.js';
import { freshDatabase } from './postgres.js';
import { startServer, type RunningServer } from './server.js';

export interface Cluster {
  database: Awaited<ReturnType<typeof freshDatabase>>;
  apiNode: RunningServer;
  /** worker-1 and worker-2, in that order. */
  workers: RunningServer[];
  /** Starts one more node on the database (its caller stops it). */
  node(role: 'api' | 'worker', id: string): Promise<RunningServer>;
  /** A client of the api node. */
  api: ReturnType<typeof client>;
  /** Kills every node and drops the database. */
  close(): Promise<void>;
}

export async function startCluster(env: Record<string, string> = {}): Promise<Cluster> {
  const database = await freshDatabase();
  const node = (role: 'api' | 'worker', id: string) => startServer({
    env: { DATABASE_URL: database.url, ROLE: role, NODE_ID: id, WORKERS: '1', JOB_LEASE_SECONDS: '2', LOG_LEVEL: 'info', ...env },
  });
  const started = await Promise.allSettled([node('api', 'api-1'), node('worker', 'worker-1'), node('worker', 'worker-2')]);
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    for (const s of nodes) {
      await s.stop('SIGKILL');
      s.cleanup();
    }
    await database.drop();
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [apiNode, ...workers] = nodes;
  return {
    database, apiNode, workers, node, api: client(apiNode.url),
    close: stop,
  };
}
