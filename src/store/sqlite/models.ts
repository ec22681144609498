// The models table family: what a trained model is (for listing) and its bytes (for predicting).
import type { ModelInfo, ModelStore } from '../types.js';
import type { Db } from './db.js';

interface ModelRow {
  id: string; job_id: string | null; dataset_id: string | null; task: ModelInfo['task'];
  architecture: string; metrics: string | null; classes: string | null; feature_names: string;
  features: number; best_epoch: number | null; created_at: string;
}

function toModel(r: ModelRow): ModelInfo {
  return {
    id: r.id, jobId: r.job_id, datasetId: r.dataset_id, task: r.task,
    architecture: JSON.parse(r.architecture), metrics: r.metrics === null ? null : JSON.parse(r.metrics),
    classes: r.classes === null ? null : JSON.parse(r.classes), featureNames: JSON.parse(r.feature_names),
    features: r.features, bestEpoch: r.best_epoch, createdAt: r.created_at,
  };
}

export function createModelStore(db: Db): ModelStore {
  const selectOne = db.prepare('SELECT * FROM models WHERE id = ?');
  const selectPage = db.prepare('SELECT * FROM models ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?');
  const countAll = db.prepare('SELECT count(*) FROM models').pluck();
  const selectBytes = db.prepare('SELECT bytes FROM model_data WHERE model_id = ?').pluck();
  const deleteOne = db.prepare('DELETE FROM models WHERE id = ?');
  return {
    async get(id: string) {
      const r = selectOne.get(id) as ModelRow | undefined;
      return r ? toModel(r) : null;
    },
    async list(limit: number, offset: number) {
      return { items: (selectPage.all(limit, offset) as ModelRow[]).map(toModel), total: countAll.get() as number };
    },
    async bytes(id: string) {
      const b = selectBytes.get(id) as Buffer | undefined;
      return b ? new Uint8Array(b) : null;
    },
    delete: async (id: string) => deleteOne.run(id).changes > 0,
  };
}
