// The models table family on PostgreSQL: what a trained model is (for listing), its bytes (for
// predicting), and the registry: names, versions and aliases.
import type pg from 'pg';
import type { ModelInfo, ModelStore } from '../types.js';
import { query, transaction } from './db.js';

interface ModelRow {
  id: string; name: string | null; version: number | null; aliases: string[] | null; job_id: string | null;
  dataset_id: string | null; task: ModelInfo['task']; architecture: unknown; metrics: unknown;
  classes: (string | number)[] | null; feature_names: string[]; features: number; best_epoch: number | null; created_at: string;
}

const SELECT = `SELECT m.id, m.name, m.version, m.job_id, m.dataset_id, m.task, m.architecture, m.metrics, m.classes,
  m.feature_names, m.features, m.best_epoch, m.created_at,
  (SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.name = m.name AND a.version = m.version) AS aliases
  FROM models m`;

const toModel = (r: ModelRow): ModelInfo => ({
  id: r.id, name: r.name, version: r.version, aliases: r.aliases ?? [], jobId: r.job_id, datasetId: r.dataset_id,
  task: r.task, architecture: r.architecture, metrics: r.metrics, classes: r.classes, featureNames: r.feature_names,
  features: r.features, bestEpoch: r.best_epoch, createdAt: r.created_at,
});

export function createModelStore(pool: pg.Pool): ModelStore {
  const one = async (sql: string, values: unknown[]) => (await query<{ id: string }>(pool, sql, values)).rows[0]?.id ?? null;
  return {
    async get(id) {
      const { rows } = await query<ModelRow>(pool, `${SELECT} WHERE m.id = $1`, [id]);
      return rows[0] ? toModel(rows[0]) : null;
    },
    async resolve(ref) {
      const at = ref.indexOf('@');
      if (at < 0) {
        return await one('SELECT id FROM models WHERE id = $1', [ref])
          ?? one('SELECT id FROM models WHERE name = $1 ORDER BY version DESC LIMIT 1', [ref]);
      }
      const name = ref.slice(0, at);
      const which = ref.slice(at + 1);
      return /^\d+$/.test(which)
        ? one('SELECT id FROM models WHERE name = $1 AND version = $2', [name, Number(which)])
        : one(`SELECT m.id FROM model_aliases a JOIN models m ON m.name = a.name AND m.version = a.version
            WHERE a.name = $1 AND a.alias = $2`, [name, which]);
    },
    async list(limit, offset, name) {
      const filter = name ?? null;
      const page = await query<ModelRow>(pool, `${SELECT} WHERE $3::text IS NULL OR m.name = $3
        ORDER BY m.created_at DESC, m.seq DESC LIMIT $1 OFFSET $2`, [limit, offset, filter]);
      const count = await query<{ n: number }>(pool, 'SELECT count(*)::int AS n FROM models WHERE $1::text IS NULL OR name = $1', [filter]);
      return { items: page.rows.map(toModel), total: count.rows[0].n };
    },
    async bytes(id) {
      const { rows } = await query<{ bytes: Buffer }>(pool, 'SELECT bytes FROM model_data WHERE model_id = $1', [id]);
      return rows[0] ? new Uint8Array(rows[0].bytes) : null;
    },
    delete: (id) => transaction(pool, async (c) => {
      // Locks the model's name (via its row) against an alias being pointed at it meanwhile.
      const found = await query<{ name: string | null; version: number | null }>(c, 'SELECT name, version FROM models WHERE id = $1 FOR UPDATE', [id]);
      if (found.rowCount === 0) return 'not_found' as const;
      const { name, version } = found.rows[0];
      const aliased = await query(c, 'SELECT 1 FROM model_aliases WHERE name = $1 AND version = $2', [name, version]);
      if (aliased.rowCount! > 0) return 'aliased' as const;
      await query(c, 'DELETE FROM models WHERE id = $1', [id]);
      return 'deleted' as const;
    }),
    setAlias: (name, alias, version) => transaction(pool, async (c) => {
      const found = await query(c, 'SELECT 1 FROM models WHERE name = $1 AND version = $2 FOR SHARE', [name, version]);
      if (found.rowCount === 0) return 'no_version' as const;
      await query(c, `INSERT INTO model_aliases (name, alias, version, updated_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
      [name, alias, version, new Date().toISOString()]);
      return 'set' as const;
    }),
    async addEvaluation(modelId, e) {
      return (await query(pool, `INSERT INTO evaluations (id, model_id, dataset_id, at, scores)
        SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM models WHERE id = $2)`,
      [e.id, modelId, e.datasetId, e.at, JSON.stringify(e.scores)])).rowCount! > 0;
    },
    async evaluations(modelId) {
      const { rows } = await query<{ id: string; dataset_id: string; at: string; scores: Record<string, unknown> }>(pool,
        'SELECT id, dataset_id, at, scores FROM evaluations WHERE model_id = $1 ORDER BY at DESC, seq DESC', [modelId]);
      return rows.map((r) => ({ id: r.id, datasetId: r.dataset_id, at: r.at, scores: r.scores }));
    },
    removeAlias: async (name, alias) => (await query(pool, 'DELETE FROM model_aliases WHERE name = $1 AND alias = $2', [name, alias])).rowCount! > 0,
  };
}
