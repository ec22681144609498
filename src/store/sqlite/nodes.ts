// The nodes table: which service processes are up, by heartbeat. With SQLite there is one.
import type { NodeInfo, NodeStore } from '../types.js';
import type { Db } from './db.js';

interface NodeRow { id: string; role: NodeInfo['role']; running: string; started_at: string; heartbeat_at: number }

export function createNodeStore(db: Db): NodeStore {
  const upsert = db.prepare(`INSERT INTO nodes (id, role, running, started_at, heartbeat_at) VALUES (@id, @role, @running, @started_at, @at)
    ON CONFLICT (id) DO UPDATE SET role = excluded.role, running = excluded.running, heartbeat_at = excluded.heartbeat_at`);
  const live = db.prepare('SELECT * FROM nodes WHERE heartbeat_at > ? ORDER BY id');
  const remove = db.prepare('DELETE FROM nodes WHERE id = ?');
  return {
    async heartbeat(node) {
      upsert.run({ id: node.id, role: node.role, running: JSON.stringify(node.running), started_at: node.startedAt, at: Date.now() });
    },
    async live(withinMs) {
      return (live.all(Date.now() - withinMs) as NodeRow[]).map((r) => ({
        id: r.id, role: r.role, running: JSON.parse(r.running), startedAt: r.started_at,
        heartbeatAt: new Date(r.heartbeat_at).toISOString(),
      }));
    },
    async remove(id) { remove.run(id); },
  };
}
