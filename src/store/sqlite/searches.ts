// Searches on SQLite: the search row and its trials (jobs) created together, and each decision pass of
// successive halving read and applied in one transaction (one process owns the file, so a transaction
// is the whole lock).
import { randomUUID } from 'node:crypto';
import type {
  EpochRecord, NewModel, SearchPlan, SearchRecord, SearchStatus, SearchStore, StoredSpec, TrialState,
} from '../types.js';
import type { Db } from './db.js';
import { modelWriter, toJobRow } from './jobs.js';

interface SearchRow {
  id: string; name: string | null; dataset_id: string | null; status: SearchStatus; spec: string; trials: number;
  created_at: string; finished_at: string | null; updated_at: string;
}

function toSearch<P>(r: SearchRow): SearchRecord<P> {
  return {
    id: r.id, name: r.name, datasetId: r.dataset_id, status: r.status, spec: JSON.parse(r.spec), trials: r.trials,
    createdAt: r.created_at, finishedAt: r.finished_at, updatedAt: r.updated_at,
  };
}

const now = () => new Date().toISOString();

export function createSearchStore<S extends StoredSpec = StoredSpec, P = unknown>(db: Db): SearchStore<S, P> {
  const insertSearch = db.prepare(`INSERT INTO searches (id, name, dataset_id, status, spec, trials, created_at, updated_at)
    VALUES (@id, @name, @dataset_id, 'running', @spec, @trials, @at, @at)`);
  const insertTrial = db.prepare(`INSERT INTO jobs (id, dataset_id, status, spec, epochs, created_at, updated_at, queue_pos,
    search_id, trial, params, hold) VALUES (@id, @dataset_id, 'queued', @spec, @epochs, @at, @at,
    (SELECT coalesce(max(queue_pos), 0) + 1 FROM jobs), @search_id, @trial, @params, 'turn')`);
  const selectOne = db.prepare('SELECT * FROM searches WHERE id = ?');
  const selectPage = db.prepare('SELECT * FROM searches ORDER BY seq DESC LIMIT ? OFFSET ?');
  const count = db.prepare('SELECT count(*) FROM searches').pluck();
  const selectRunning = db.prepare("SELECT id FROM searches WHERE status = 'running' ORDER BY seq").pluck();
  const selectTrials = db.prepare('SELECT * FROM jobs WHERE search_id = ? ORDER BY trial');
  const selectEpochs = db.prepare(`SELECT e.job_id, e.epoch, e.metrics, e.at FROM epochs e JOIN jobs j ON j.id = e.job_id
    WHERE j.search_id = ? AND e.epoch IN (SELECT value FROM json_each(?))`);
  const selectModelMetrics = db.prepare(`SELECT m.job_id, m.metrics FROM models m JOIN jobs j ON j.id = m.job_id AND j.model_id = m.id
    WHERE j.search_id = ?`);
  const release = db.prepare(`UPDATE jobs SET hold = NULL, pause_at = @pause_at, updated_at = @at,
    queue_pos = (SELECT coalesce(max(queue_pos), 0) + 1 FROM jobs)
    WHERE id = @id AND search_id = @search_id AND status = 'queued' AND hold IS NOT NULL`);
  const selectPaused = db.prepare(`SELECT p.fields, p.bytes, j.dataset_id FROM paused_models p JOIN jobs j ON j.id = p.job_id
    WHERE p.job_id = ? AND j.search_id = ? AND j.status = 'queued' AND j.hold = 'rung'`);
  const halve = db.prepare(`UPDATE jobs SET status = 'succeeded', hold = NULL, model_id = @model_id, stop_reason = 'halved',
    progress = 1, finished_at = @at, updated_at = @at WHERE id = @id`);
  const deletePaused = db.prepare('DELETE FROM paused_models WHERE job_id = ?');
  const deleteCheckpoint = db.prepare('DELETE FROM checkpoints WHERE job_id = ?');
  const finishSearch = db.prepare(`UPDATE searches SET status = @status, finished_at = @at, updated_at = @at
    WHERE id = @id AND status = 'running'`);
  const touch = db.prepare('UPDATE searches SET updated_at = ? WHERE id = ?');
  const cancelTrials = db.prepare(`UPDATE jobs SET status = 'cancelled', stop_reason = 'cancelled', hold = NULL,
    finished_at = @at, updated_at = @at WHERE search_id = @id AND status IN ('queued', 'running') RETURNING id`).pluck();
  const writeModel = modelWriter(db);

  function trials(id: string, epochs: number[]): TrialState<S>[] {
    const at = new Map<string, Map<number, EpochRecord>>();
    for (const r of selectEpochs.all(id, JSON.stringify(epochs)) as { job_id: string; epoch: number; metrics: string; at: string }[]) {
      if (!at.has(r.job_id)) at.set(r.job_id, new Map());
      at.get(r.job_id)!.set(r.epoch, { epoch: r.epoch, ...JSON.parse(r.metrics), at: r.at });
    }
    const models = new Map((selectModelMetrics.all(id) as { job_id: string; metrics: string | null }[])
      .map((r) => [r.job_id, r.metrics === null ? null : JSON.parse(r.metrics) as EpochRecord]));
    return (selectTrials.all(id) as unknown[]).map((r) => {
      const job = toJobRow<S>(r);
      return { job, at: at.get(job.id) ?? new Map(), modelMetrics: models.get(job.id) ?? null };
    });
  }

  const create = db.transaction((search: { name: string | null; datasetId: string; spec: P }, list: { spec: S; params: Record<string, unknown> }[]) => {
    const id = randomUUID();
    const at = now();
    insertSearch.run({ id, name: search.name, dataset_id: search.datasetId, spec: JSON.stringify(search.spec), trials: list.length, at });
    list.forEach((t, i) => insertTrial.run({
      id: randomUUID(), dataset_id: t.spec.datasetId, spec: JSON.stringify(t.spec), epochs: t.spec.epochs, at,
      search_id: id, trial: i, params: JSON.stringify(t.params),
    }));
    return toSearch<P>(selectOne.get(id) as SearchRow);
  });

  const advance = db.transaction((
    id: string, epochs: (s: SearchRecord<P>) => number[], plan: (s: SearchRecord<P>, t: TrialState<S>[]) => SearchPlan,
  ) => {
    const row = selectOne.get(id) as SearchRow | undefined;
    if (!row || row.status !== 'running') return null;
    const search = toSearch<P>(row);
    const decided = plan(search, trials(id, epochs(search)));
    const at = now();
    for (const jobId of decided.halve) {
      const paused = selectPaused.get(jobId, id) as { fields: string; bytes: Buffer; dataset_id: string | null } | undefined;
      if (!paused) continue;
      const modelId = randomUUID();
      writeModel(modelId, jobId, paused.dataset_id, { ...JSON.parse(paused.fields), bytes: new Uint8Array(paused.bytes) } as NewModel);
      halve.run({ id: jobId, model_id: modelId, at });
      deletePaused.run(jobId);
      deleteCheckpoint.run(jobId);
    }
    for (const r of decided.release) {
      if (release.run({ id: r.jobId, search_id: id, pause_at: r.pauseAt, at }).changes > 0) deletePaused.run(r.jobId);
    }
    if (decided.finish) finishSearch.run({ id, status: decided.finish, at });
    else if (decided.halve.length + decided.release.length > 0) touch.run(at, id);
    return decided;
  });

  const cancel = db.transaction((id: string): string[] | null => {
    const at = now();
    if (finishSearch.run({ id, status: 'cancelled', at }).changes === 0) return null;
    const ids = cancelTrials.all({ id, at }) as string[];
    for (const jobId of ids) {
      deletePaused.run(jobId);
      deleteCheckpoint.run(jobId);
    }
    return ids;
  });

  return {
    create: async (search, list) => create(search, list),
    async get(id) {
      const r = selectOne.get(id) as SearchRow | undefined;
      return r ? toSearch<P>(r) : null;
    },
    async list(limit, offset) {
      return { items: (selectPage.all(limit, offset) as SearchRow[]).map((r) => toSearch<P>(r)), total: count.get() as number };
    },
    running: async () => selectRunning.all() as string[],
    trials: async (id, epochs) => trials(id, epochs),
    advance: async (id, epochs, plan) => advance(id, epochs, plan),
    cancel: async (id) => cancel(id),
  };
}
