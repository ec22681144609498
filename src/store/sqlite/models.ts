// The models table family: what a trained model is (for listing), its bytes (for predicting), and the
// registry: names, versions and aliases.
import type { ModelInfo, ModelStore } from '../types.js';
import type { Db } from './db.js';

interface ModelRow {
  id: string; name: string | null; version: number | null; aliases: string | null; job_id: string | null;
  dataset_id: string | null; task: ModelInfo['task']; architecture: string; metrics: string | null; classes: string | null;
  feature_names: string; features: number; best_epoch: number | null; created_at: string;
}

function toModel(r: ModelRow): ModelInfo {
  return {
    id: r.id, name: r.name, version: r.version, aliases: r.aliases ? (JSON.parse(r.aliases) as string[]).sort() : [],
    jobId: r.job_id, datasetId: r.dataset_id, task: r.task,
    architecture: JSON.parse(r.architecture), metrics: r.metrics === null ? null : JSON.parse(r.metrics),
    classes: r.classes === null ? null : JSON.parse(r.classes), featureNames: JSON.parse(r.feature_names),
    features: r.features, bestEpoch: r.best_epoch, createdAt: r.created_at,
  };
}

const SELECT = `SELECT m.*, (SELECT json_group_array(a.alias) FROM model_aliases a WHERE a.name = m.name AND a.version = m.version
  HAVING count(*) > 0) AS aliases FROM models m`;

export function createModelStore(db: Db): ModelStore {
  const selectOne = db.prepare(`${SELECT} WHERE m.id = ?`);
  const selectPage = db.prepare(`${SELECT} WHERE @name IS NULL OR m.name = @name ORDER BY m.created_at DESC, m.rowid DESC LIMIT @limit OFFSET @offset`);
  const countPage = db.prepare('SELECT count(*) FROM models WHERE @name IS NULL OR name = @name').pluck();
  const byId = db.prepare('SELECT id FROM models WHERE id = ?').pluck();
  const latest = db.prepare('SELECT id FROM models WHERE name = ? ORDER BY version DESC LIMIT 1').pluck();
  const byVersion = db.prepare('SELECT id FROM models WHERE name = ? AND version = ?').pluck();
  const byAlias = db.prepare(`SELECT m.id FROM model_aliases a JOIN models m ON m.name = a.name AND m.version = a.version
    WHERE a.name = ? AND a.alias = ?`).pluck();
  const selectBytes = db.prepare('SELECT bytes FROM model_data WHERE model_id = ?').pluck();
  const aliasesOf = db.prepare(`SELECT count(*) FROM model_aliases a JOIN models m ON m.name = a.name AND m.version = a.version
    WHERE m.id = ?`).pluck();
  const deleteOne = db.prepare('DELETE FROM models WHERE id = ?');
  const upsertAlias = db.prepare(`INSERT INTO model_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`);
  const deleteAlias = db.prepare('DELETE FROM model_aliases WHERE name = ? AND alias = ?');
  const insertEvaluation = db.prepare(`INSERT INTO evaluations (id, model_id, dataset_id, at, scores)
    SELECT @id, @model_id, @dataset_id, @at, @scores WHERE EXISTS (SELECT 1 FROM models WHERE id = @model_id)`);
  const selectEvaluations = db.prepare('SELECT id, dataset_id, at, scores FROM evaluations WHERE model_id = ? ORDER BY at DESC, rowid DESC');

  const remove = db.transaction((id: string) => {
    if (!byId.get(id)) return 'not_found' as const;
    if ((aliasesOf.get(id) as number) > 0) return 'aliased' as const;
    deleteOne.run(id);
    return 'deleted' as const;
  });

  return {
    async get(id) {
      const r = selectOne.get(id) as ModelRow | undefined;
      return r ? toModel(r) : null;
    },
    async resolve(ref) {
      const at = ref.indexOf('@');
      if (at < 0) return (byId.get(ref) ?? latest.get(ref) ?? null) as string | null;
      const name = ref.slice(0, at);
      const which = ref.slice(at + 1);
      return ((/^\d+$/.test(which) ? byVersion.get(name, Number(which)) : byAlias.get(name, which)) ?? null) as string | null;
    },
    async list(limit, offset, name) {
      const args = { name: name ?? null, limit, offset };
      return { items: (selectPage.all(args) as ModelRow[]).map(toModel), total: countPage.get(args) as number };
    },
    async bytes(id) {
      const b = selectBytes.get(id) as Buffer | undefined;
      return b ? new Uint8Array(b) : null;
    },
    delete: async (id) => remove(id),
    async setAlias(name, alias, version) {
      if (!byVersion.get(name, version)) return 'no_version';
      upsertAlias.run(name, alias, version, new Date().toISOString());
      return 'set';
    },
    removeAlias: async (name, alias) => deleteAlias.run(name, alias).changes > 0,
    addEvaluation: async (modelId, e) => insertEvaluation.run({
      id: e.id, model_id: modelId, dataset_id: e.datasetId, at: e.at, scores: JSON.stringify(e.scores),
    }).changes > 0,
    async evaluations(modelId) {
      return (selectEvaluations.all(modelId) as { id: string; dataset_id: string; at: string; scores: string }[])
        .map((r) => ({ id: r.id, datasetId: r.dataset_id, at: r.at, scores: JSON.parse(r.scores) }));
    },
  };
}
