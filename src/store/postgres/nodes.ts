// The nodes table on PostgreSQL: which service processes are up, by heartbeat on the database's clock.
import type pg from 'pg';
import type { NodeInfo, NodeStore } from '../types.js';
import { query } from './db.js';

export function createNodeStore(pool: pg.Pool): NodeStore {
  return {
    async heartbeat(node) {
      await query(pool, `INSERT INTO nodes (id, role, running, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, now())
        ON CONFLICT (id) DO UPDATE SET role = excluded.role, running = excluded.running, heartbeat_at = now()`,
      [node.id, node.role, JSON.stringify(node.running), node.startedAt]);
    },
    async live(withinMs) {
      const { rows } = await query<{ id: string; role: NodeInfo['role']; running: string[]; started_at: string; heartbeat_at: Date }>(pool,
        "SELECT * FROM nodes WHERE heartbeat_at > now() - $1 * interval '1 millisecond' ORDER BY id", [withinMs]);
      return rows.map((r) => ({ id: r.id, role: r.role, running: r.running, startedAt: r.started_at, heartbeatAt: r.heartbeat_at.toISOString() }));
    },
    async remove(id) {
      await query(pool, 'DELETE FROM nodes WHERE id = $1', [id]);
    },
  };
}
