// Searches on PostgreSQL: the search row and its trials (jobs) created together, and each decision pass
// of successive halving read and applied in one transaction that holds the search's row lock, so that
// nodes deciding at once take turns and no decision is taken twice.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type {
  EpochRecord, NewModel, SearchRecord, SearchStatus, SearchStore, StoredSpec, TrialState,
} from '../types.js';
import { query, transaction } from './db.js';
import { insertModel, toJobRow } from './jobs.js';

interface SearchRow {
  id: string; name: string | null; dataset_id: string | null; status: SearchStatus; spec: unknown; trials: number;
  created_at: string; finished_at: string | null; updated_at: string;
}

function toSearch<P>(r: SearchRow): SearchRecord<P> {
  return {
    id: r.id, name: r.name, datasetId: r.dataset_id, status: r.status, spec: r.spec as P, trials: r.trials,
    createdAt: r.created_at, finishedAt: r.finished_at, updatedAt: r.updated_at,
  };
}

const now = () => new Date().toISOString();

async function readTrials<S extends StoredSpec>(db: pg.Pool | pg.PoolClient, id: string, epochs: number[]): Promise<TrialState<S>[]> {
  const jobs = await query(db, 'SELECT * FROM jobs WHERE search_id = $1 ORDER BY trial', [id]);
  const records = await query<{ job_id: string; epoch: number; metrics: object; at: string }>(db, `SELECT e.job_id, e.epoch, e.metrics, e.at
    FROM epochs e JOIN jobs j ON j.id = e.job_id WHERE j.search_id = $1 AND e.epoch = ANY($2::int[])`, [id, epochs]);
  const models = await query<{ job_id: string; metrics: EpochRecord | null }>(db, `SELECT m.job_id, m.metrics FROM models m
    JOIN jobs j ON j.id = m.job_id AND j.model_id = m.id WHERE j.search_id = $1`, [id]);
  const at = new Map<string, Map<number, EpochRecord>>();
  for (const r of records.rows) {
    if (!at.has(r.job_id)) at.set(r.job_id, new Map());
    at.get(r.job_id)!.set(r.epoch, { epoch: r.epoch, ...r.metrics, at: r.at } as EpochRecord);
  }
  const modelMetrics = new Map(models.rows.map((r) => [r.job_id, r.metrics]));
  return jobs.rows.map((r) => {
    const job = toJobRow<S>(r);
    return { job, at: at.get(job.id) ?? new Map(), modelMetrics: modelMetrics.get(job.id) ?? null };
  });
}

export function createSearchStore<S extends StoredSpec = StoredSpec, P = unknown>(pool: pg.Pool): SearchStore<S, P> {
  async function finishSearch(c: pg.PoolClient, id: string, status: SearchStatus, at: string): Promise<boolean> {
    const { rowCount } = await query(c, `UPDATE searches SET status = $2, finished_at = $3, updated_at = $3
      WHERE id = $1 AND status = 'running'`, [id, status, at]);
    return rowCount! > 0;
  }

  return {
    async create(search, list) {
      return transaction(pool, async (c) => {
        const id = randomUUID();
        const at = now();
        const { rows } = await query<SearchRow>(c, `INSERT INTO searches (id, name, dataset_id, status, spec, trials, created_at, updated_at)
          VALUES ($1, $2, $3, 'running', $4, $5, $6, $6) RETURNING *`, [id, search.name, search.datasetId, JSON.stringify(search.spec), list.length, at]);
        for (const [i, t] of list.entries()) {
          await query(c, `INSERT INTO jobs (id, dataset_id, status, spec, epochs, created_at, updated_at, search_id, trial, params, hold)
            VALUES ($1, $2, 'queued', $3, $4, $5, $5, $6, $7, $8, 'turn')`,
          [randomUUID(), t.spec.datasetId, JSON.stringify(t.spec), t.spec.epochs, at, id, i, JSON.stringify(t.params)]);
        }
        return toSearch<P>(rows[0]);
      });
    },
    async get(id) {
      const { rows } = await query<SearchRow>(pool, 'SELECT * FROM searches WHERE id = $1', [id]);
      return rows[0] ? toSearch<P>(rows[0]) : null;
    },
    async list(limit, offset) {
      const page = await query<SearchRow>(pool, 'SELECT * FROM searches ORDER BY seq DESC LIMIT $1 OFFSET $2', [limit, offset]);
      const count = await query<{ n: number }>(pool, 'SELECT count(*)::int AS n FROM searches');
      return { items: page.rows.map((r) => toSearch<P>(r)), total: count.rows[0].n };
    },
    async running() {
      const { rows } = await query<{ id: string }>(pool, "SELECT id FROM searches WHERE status = 'running' ORDER BY seq");
      return rows.map((r) => r.id);
    },
    trials: (id, epochs) => readTrials<S>(pool, id, epochs),
    async advance(id, epochs, plan) {
      return transaction(pool, async (c) => {
        // The row lock is the turn: another node's pass on this search waits here and then reads what this one wrote.
        const { rows } = await query<SearchRow>(c, 'SELECT * FROM searches WHERE id = $1 FOR UPDATE', [id]);
        if (!rows[0] || rows[0].status !== 'running') return null;
        const search = toSearch<P>(rows[0]);
        const decided = plan(search, await readTrials<S>(c, id, epochs(search)));
        const at = now();
        for (const jobId of decided.halve) {
          const paused = await query<{ fields: Omit<NewModel, 'bytes'>; bytes: Buffer; dataset_id: string | null }>(c, `SELECT p.fields,
            p.bytes, j.dataset_id FROM paused_models p JOIN jobs j ON j.id = p.job_id
            WHERE p.job_id = $1 AND j.search_id = $2 AND j.status = 'queued' AND j.hold = 'rung'`, [jobId, id]);
          if (!paused.rows[0]) continue;
          const modelId = randomUUID();
          await insertModel(c, modelId, jobId, paused.rows[0].dataset_id, { ...paused.rows[0].fields, bytes: new Uint8Array(paused.rows[0].bytes) });
          await query(c, `UPDATE jobs SET status = 'succeeded', hold = NULL, model_id = $2, stop_reason = 'halved', progress = 1,
            finished_at = $3, updated_at = $3 WHERE id = $1`, [jobId, modelId, at]);
          await query(c, 'DELETE FROM paused_models WHERE job_id = $1', [jobId]);
          await query(c, 'DELETE FROM checkpoints WHERE job_id = $1', [jobId]);
        }
        for (const r of decided.release) {
          const released = await query(c, `UPDATE jobs SET hold = NULL, pause_at = $3, updated_at = $4, queue_pos = nextval('jobs_queue_pos')
            WHERE id = $1 AND search_id = $2 AND status = 'queued' AND hold IS NOT NULL`, [r.jobId, id, r.pauseAt, at]);
          if (released.rowCount! > 0) await query(c, 'DELETE FROM paused_models WHERE job_id = $1', [r.jobId]);
        }
        if (decided.finish) await finishSearch(c, id, decided.finish, at);
        else if (decided.halve.length + decided.release.length > 0) await query(c, 'UPDATE searches SET updated_at = $2 WHERE id = $1', [id, at]);
        return decided;
      });
    },
    async cancel(id) {
      return transaction(pool, async (c) => {
        const at = now();
        if (!await finishSearch(c, id, 'cancelled', at)) return null;
        const { rows } = await query<{ id: string }>(c, `UPDATE jobs SET status = 'cancelled', stop_reason = 'cancelled', hold = NULL,
          node_id = NULL, lease_expires_at = NULL, finished_at = $2, updated_at = $2
          WHERE search_id = $1 AND status IN ('queued', 'running') RETURNING id`, [id, at]);
        const ids = rows.map((r) => r.id);
        await query(c, 'DELETE FROM paused_models WHERE job_id = ANY($1::text[])', [ids]);
        await query(c, 'DELETE FROM checkpoints WHERE job_id = ANY($1::text[])', [ids]);
        return ids;
      });
    },
  };
}
