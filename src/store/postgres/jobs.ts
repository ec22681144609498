// The jobs table family on PostgreSQL: a queue claimed with FOR UPDATE SKIP LOCKED, leases on the
// database's clock, and every write of a running job fenced by the claim in the same transaction.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { bytesOf } from '../blobs.js';
import type { Checkpoint, EpochRecord, Job, JobStatus, JobStore, NewModel, StoredSpec } from '../types.js';
import { query, transaction } from './db.js';

interface JobRow {
  seq: number; id: string; dataset_id: string | null; status: JobStatus; spec: unknown; epoch: number;
  epochs: number; progress: number; metrics: EpochRecord | null; samples_per_sec: number | null;
  eta_seconds: number | null; model_id: string | null; stop_reason: string | null; error_code: string | null;
  error_message: string | null; runtime_ms: number; node_id: string | null; created_at: string;
  started_at: string | null; finished_at: string | null; updated_at: string;
  search_id: string | null; trial: number | null; params: Record<string, unknown> | null; hold: 'turn' | 'rung' | null;
  pause_at: number | null;
}

function toJob<S extends StoredSpec>(r: JobRow): Job<S> {
  const running = r.status === 'running';
  return {
    id: r.id, datasetId: r.dataset_id, status: r.status, progress: r.progress, epoch: r.epoch,
    epochs: r.epochs, metrics: r.metrics, samplesPerSec: r.samples_per_sec, etaSeconds: running ? r.eta_seconds : null,
    modelId: r.model_id, stopReason: r.stop_reason,
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
    createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at, updatedAt: r.updated_at,
    spec: r.spec as S, node: running ? r.node_id : null,
    searchId: r.search_id, trial: r.trial, params: r.params, held: r.status === 'queued' ? r.hold : null, pauseAt: r.pause_at,
  };
}

export function toJobRow<S extends StoredSpec>(r: unknown): Job<S> {
  return toJob<S>(r as JobRow);
}

/** Writes a model and its bytes for a job, inside the caller's transaction; a named model gets the name's next version. */
export async function insertModel(c: pg.PoolClient, modelId: string, jobId: string, datasetId: string | null, model: NewModel): Promise<void> {
  let version: number | null = null;
  if (model.name !== null) {
    // One version number per name, whichever node finishes: the name's versions are counted under its lock.
    await query(c, 'SELECT pg_advisory_xact_lock(hashtext($1))', [`model:${model.name}`]);
    const next = await query<{ v: number }>(c, 'SELECT coalesce(max(version), 0) + 1 AS v FROM models WHERE name = $1', [model.name]);
    version = next.rows[0].v;
  }
  await query(c, `INSERT INTO models (id, name, version, job_id, dataset_id, task, architecture, metrics, classes, feature_names,
    features, best_epoch, created_at) VALUES ($1, $12, $13, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, [
    modelId, jobId, datasetId, model.task, JSON.stringify(model.architecture), JSON.stringify(model.metrics),
    model.classes === null ? null : JSON.stringify(model.classes), JSON.stringify(model.featureNames), model.features,
    model.bestEpoch, new Date().toISOString(), model.name, version,
  ]);
  await query(c, 'INSERT INTO model_data (model_id, bytes) VALUES ($1, $2)', [modelId, bytesOf(model.bytes)]);
}

const now = () => new Date().toISOString();
/** Serialises job creation across nodes, so the queue limit holds. */
const QUEUE_LOCK = 7_463_120_012;
/** A node's writes for a running job hold only while it still has the job: the fence of every write. */
const HELD = "id = $1 AND status = 'running' AND node_id = $2";
const LEASE = "now() + $3 * interval '1 millisecond'";

export function createJobStore<S extends StoredSpec = StoredSpec>(pool: pg.Pool): JobStore<S> {
  const get = async (id: string) => {
    const { rows } = await query<JobRow>(pool, 'SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] ? toJob<S>(rows[0]) : null;
  };

  /** Ends a job; with `node`, only one that node holds (or a queued one). */
  async function finish(db: pg.Pool | pg.PoolClient, id: string, node: string | null, status: JobStatus, fields: {
    modelId?: string; stopReason?: string; error?: { code: string; message: string };
  }): Promise<boolean> {
    const at = now();
    const { rowCount } = await query(db, `UPDATE jobs SET status = $3, model_id = $4, stop_reason = $5, error_code = $6,
      error_message = $7, finished_at = $8, updated_at = $8, node_id = NULL, lease_expires_at = NULL, hold = NULL,
      progress = CASE WHEN $3 = 'succeeded' THEN 1 ELSE progress END
      WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND ($2::text IS NULL OR node_id = $2)))`,
    [id, node, status, fields.modelId ?? null, fields.stopReason ?? null, fields.error?.code ?? null, fields.error?.message ?? null, at]);
    if (rowCount === 0) return false;
    await query(db, 'DELETE FROM checkpoints WHERE job_id = $1', [id]);
    await query(db, 'DELETE FROM paused_models WHERE job_id = $1', [id]);
    return true;
  }

  return {
    async create(spec, maxQueued) {
      return transaction(pool, async (c) => {
        await query(c, 'SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK]);
        // Trials held for their turn wait on their search, not on the queue's limit.
        const queued = await query<{ n: number }>(c, "SELECT count(*)::int AS n FROM jobs WHERE status = 'queued' AND (hold IS NULL OR hold = 'rung')");
        if (queued.rows[0].n >= maxQueued) return null;
        const at = now();
        const { rows } = await query<JobRow>(c, `INSERT INTO jobs (id, dataset_id, status, spec, epochs, created_at, updated_at)
          VALUES ($1, $2, 'queued', $3, $4, $5, $5) RETURNING *`, [randomUUID(), spec.datasetId, JSON.stringify(spec), spec.epochs, at]);
        return toJob<S>(rows[0]);
      });
    },
    get,
    async list(filter) {
      const where = [filter.status ?? null, filter.searchId ?? null];
      const FILTER = '($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR search_id = $2)';
      const page = await query<JobRow>(pool, `SELECT * FROM jobs WHERE ${FILTER}
        ORDER BY seq DESC LIMIT $3 OFFSET $4`, [...where, filter.limit, filter.offset]);
      const count = await query<{ n: number }>(pool, `SELECT count(*)::int AS n FROM jobs WHERE ${FILTER}`, where);
      return { items: page.rows.map((r) => toJob<S>(r)), total: count.rows[0].n };
    },
    async claim(node, leaseMs) {
      // SKIP LOCKED: claims running at once on other nodes pass over the row this one is taking.
      const { rows } = await query<JobRow>(pool, `UPDATE jobs SET status = 'running', attempts = attempts + 1, node_id = $1,
        lease_expires_at = now() + $2 * interval '1 millisecond', eta_seconds = NULL,
        started_at = coalesce(started_at, $3), updated_at = $3
        WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' AND hold IS NULL ORDER BY queue_pos, seq FOR UPDATE SKIP LOCKED LIMIT 1)
        RETURNING *`, [node, leaseMs, now()]);
      return rows[0] ? toJob<S>(rows[0]) : null;
    },
    async renew(id, node, leaseMs) {
      return (await query(pool, `UPDATE jobs SET lease_expires_at = ${LEASE} WHERE ${HELD}`, [id, node, leaseMs])).rowCount! > 0;
    },
    async recordProgress(id, node, live) {
      return (await query(pool, `UPDATE jobs SET progress = $3, samples_per_sec = coalesce($4, samples_per_sec), eta_seconds = $5
        WHERE ${HELD}`, [id, node, live.progress, live.samplesPerSec, live.etaSeconds])).rowCount! > 0;
    },
    async recordEpoch(id, node, record, samplesPerSec, state) {
      const { epoch, at, ...metrics } = record;
      return transaction(pool, async (c) => {
        const updated = await query(c, `UPDATE jobs SET epoch = $3::int, progress = least(1.0, $3::float8 / epochs), metrics = $4,
          samples_per_sec = $5, runtime_ms = runtime_ms + $6, updated_at = $7 WHERE ${HELD}`,
        [id, node, epoch, JSON.stringify(record), samplesPerSec, Math.round(record.durationMs), at]);
        if (updated.rowCount === 0) return false; // cancelled, finished or taken meanwhile: the epoch belongs to no run
        await query(c, 'INSERT INTO epochs (job_id, epoch, metrics, at) VALUES ($1, $2, $3, $4)', [id, epoch, JSON.stringify(metrics), at]);
        await query(c, `INSERT INTO checkpoints (job_id, epoch, state, updated_at) VALUES ($1, $2, $3, $4)
          ON CONFLICT (job_id) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, updated_at = excluded.updated_at`,
        [id, epoch, bytesOf(state), at]);
        return true;
      });
    },
    async checkpoint(id): Promise<Checkpoint | null> {
      const { rows } = await query<{ epoch: number; state: Buffer }>(pool, 'SELECT epoch, state FROM checkpoints WHERE job_id = $1', [id]);
      return rows[0] ? { epoch: rows[0].epoch, state: new Uint8Array(rows[0].state) } : null;
    },
    async runtimeMs(id) {
      const { rows } = await query<{ runtime_ms: number }>(pool, 'SELECT runtime_ms FROM jobs WHERE id = $1', [id]);
      return rows[0]?.runtime_ms ?? 0;
    },
    async epochs(id, since) {
      const { rows } = await query<{ epoch: number; metrics: object; at: string }>(pool,
        'SELECT epoch, metrics, at FROM epochs WHERE job_id = $1 AND epoch > $2 ORDER BY epoch', [id, since]);
      return rows.map((r) => ({ epoch: r.epoch, ...r.metrics, at: r.at }) as EpochRecord);
    },
    async succeed(id, node, model, stopReason) {
      return transaction(pool, async (c) => {
        const modelId = randomUUID();
        const held = await query<{ dataset_id: string | null }>(c, `SELECT dataset_id FROM jobs WHERE ${HELD} FOR UPDATE`, [id, node]);
        if (held.rowCount === 0 || !await finish(c, id, node, 'succeeded', { modelId, stopReason })) return null;
        await insertModel(c, modelId, id, held.rows[0].dataset_id, model);
        return modelId;
      });
    },
    async pause(id, node, model) {
      return transaction(pool, async (c) => {
        const paused = await query(c, `UPDATE jobs SET status = 'queued', hold = 'rung', node_id = NULL, lease_expires_at = NULL,
          updated_at = $3 WHERE ${HELD} AND search_id IS NOT NULL`, [id, node, now()]);
        if (paused.rowCount === 0) return false;
        const { bytes, ...fields } = model;
        await query(c, `INSERT INTO paused_models (job_id, fields, bytes) VALUES ($1, $2, $3)
          ON CONFLICT (job_id) DO UPDATE SET fields = excluded.fields, bytes = excluded.bytes`, [id, JSON.stringify(fields), bytesOf(bytes)]);
        return true;
      });
    },
    fail: (id, error, node) => transaction(pool, (c) => finish(c, id, node ?? null, 'failed', { error })),
    cancel: (id) => transaction(pool, (c) => finish(c, id, null, 'cancelled', { stopReason: 'cancelled' })),
    async requeue(id, node) {
      return (await query(pool, `UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL, updated_at = $3
        WHERE ${HELD}`, [id, node, now()])).rowCount! > 0;
    },
    async requeueExpired() {
      const { rows } = await query<{ id: string }>(pool, `UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL,
        updated_at = $1 WHERE status = 'running' AND lease_expires_at < now() RETURNING id`, [now()]);
      return rows.map((r) => r.id);
    },
    async requeueAllRunning() {
      return (await query(pool, `UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL, updated_at = $1
        WHERE status = 'running'`, [now()])).rowCount ?? 0;
    },
  };
}
