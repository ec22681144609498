// The models table family on PostgreSQL: what a trained model is (for listing) and its bytes (for predicting).
import type pg from 'pg';
import type { ModelInfo, ModelStore } from '../types.js';
import { query } from './db.js';

interface ModelRow {
  id: string; job_id: string | null; dataset_id: string | null; task: ModelInfo['task']; architecture: unknown;
  metrics: unknown; classes: (string | number)[] | null; feature_names: string[]; features: number;
  best_epoch: number | null; created_at: string;
}

const COLUMNS = 'id, job_id, dataset_id, task, architecture, metrics, classes, feature_names, features, best_epoch, created_at';

const toModel = (r: ModelRow): ModelInfo => ({
  id: r.id, jobId: r.job_id, datasetId: r.dataset_id, task: r.task, architecture: r.architecture, metrics: r.metrics,
  classes: r.classes, featureNames: r.feature_names, features: r.features, bestEpoch: r.best_epoch, createdAt: r.created_at,
});

export function createModelStore(pool: pg.Pool): ModelStore {
  return {
    async get(id) {
      const { rows } = await query<ModelRow>(pool, `SELECT ${COLUMNS} FROM models WHERE id = $1`, [id]);
      return rows[0] ? toModel(rows[0]) : null;
    },
    async list(limit, offset) {
      const page = await query<ModelRow>(pool, `SELECT ${COLUMNS} FROM models ORDER BY created_at DESC, seq DESC LIMIT $1 OFFSET $2`, [limit, offset]);
      const count = await query<{ n: number }>(pool, 'SELECT count(*)::int AS n FROM models');
      return { items: page.rows.map(toModel), total: count.rows[0].n };
    },
    async bytes(id) {
      const { rows } = await query<{ bytes: Buffer }>(pool, 'SELECT bytes FROM model_data WHERE model_id = $1', [id]);
      return rows[0] ? new Uint8Array(rows[0].bytes) : null;
    },
    delete: async (id) => (await query(pool, 'DELETE FROM models WHERE id = $1', [id])).rowCount! > 0,
  };
}
