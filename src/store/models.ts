// The models table family: what a trained model is (for listing) and its bytes (for predicting).
import type { Db } from './db.js';

export interface ModelInfo {
  id: string;
  jobId: string | null;
  datasetId: string | null;
  task: 'classification' | 'regression';
  architecture: unknown;
  metrics: unknown;
  classes: (string | number)[] | null;
  featureNames: string[];
  features: number;
  bestEpoch: number | null;
  createdAt: string;
}

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

export function createModelRepository(db: Db) {
  const selectOne = db.prepare('SELECT * FROM models WHERE id = ?');
  const selectPage = db.prepare('SELECT * FROM models ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?');
  const countAll = db.prepare('SELECT count(*) FROM models').pluck();
  const selectBytes = db.prepare('SELECT bytes FROM model_data WHERE model_id = ?').pluck();
  const deleteOne = db.prepare('DELETE FROM models WHERE id = ?');
  return {
    get(id: string): ModelInfo | null {
      const r = selectOne.get(id) as ModelRow | undefined;
      return r ? toModel(r) : null;
    },
    list(limit: number, offset: number): { items: ModelInfo[]; total: number } {
      return { items: (selectPage.all(limit, offset) as ModelRow[]).map(toModel), total: countAll.get() as number };
    },
    bytes(id: string): Uint8Array | null {
      const b = selectBytes.get(id) as Buffer | undefined;
      return b ? new Uint8Array(b) : null;
    },
    delete: (id: string) => deleteOne.run(id).changes > 0,
  };
}

export type ModelRepository = ReturnType<typeof createModelRepository>;
