// The jobs table family: jobs, their per-epoch metrics and their latest checkpoint, and the
// hand-over of a finished job's model. Every state change that spans tables is one transaction.
import { randomUUID } from 'node:crypto';
import { bytesOf } from '../blobs.js';
import type {
  Checkpoint, EpochRecord, Job, JobStatus, JobStore, NewModel, StoredSpec,
} from '../types.js';
import type { Db } from './db.js';

interface JobRow {
  seq: number; id: string; dataset_id: string | null; status: JobStatus; spec: string; epoch: number;
  epochs: number; progress: number; metrics: string | null; samples_per_sec: number | null;
  model_id: string | null; stop_reason: string | null; error_code: string | null;
  error_message: string | null; attempts: number; runtime_ms: number; created_at: string;
  started_at: string | null; finished_at: string | null; updated_at: string;
  node_id: string | null; lease_expires_at: number | null; eta_seconds: number | null;
  search_id: string | null; trial: number | null; params: string | null; hold: 'turn' | 'rung' | null;
  pause_at: number | null;
}

function toJob<S extends StoredSpec>(r: JobRow): Job<S> {
  return {
    id: r.id, datasetId: r.dataset_id, status: r.status, progress: r.progress, epoch: r.epoch,
    epochs: r.epochs, metrics: r.metrics === null ? null : JSON.parse(r.metrics),
    samplesPerSec: r.samples_per_sec, etaSeconds: r.status === 'running' ? r.eta_seconds : null,
    modelId: r.model_id, stopReason: r.stop_reason,
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
    createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at, updatedAt: r.updated_at,
    spec: JSON.parse(r.spec), node: r.status === 'running' ? r.node_id : null,
    searchId: r.search_id, trial: r.trial, params: r.params === null ? null : JSON.parse(r.params),
    held: r.status === 'queued' ? r.hold : null, pauseAt: r.pause_at,
  };
}

export function toJobRow<S extends StoredSpec>(r: unknown): Job<S> {
  return toJob<S>(r as JobRow);
}

/** Writes a model and its bytes for a job; its version is the name's next one. */
export function modelWriter(db: Db) {
  const insertModel = db.prepare(`INSERT INTO models (id, name, version, job_id, dataset_id, task, architecture, metrics, classes,
    feature_names, features, best_epoch, created_at) VALUES (@id, @name, @version, @job_id, @dataset_id, @task, @architecture,
    @metrics, @classes, @feature_names, @features, @best_epoch, @at)`);
  const nextVersion = db.prepare('SELECT coalesce(max(version), 0) + 1 FROM models WHERE name = ?').pluck();
  const insertModelData = db.prepare('INSERT INTO model_data (model_id, bytes) VALUES (?, ?)');
  return (modelId: string, jobId: string, datasetId: string | null, model: NewModel): void => {
    insertModel.run({
      id: modelId, name: model.name, version: model.name === null ? null : nextVersion.get(model.name), job_id: jobId,
      dataset_id: datasetId, task: model.task,
      architecture: JSON.stringify(model.architecture), metrics: JSON.stringify(model.metrics),
      classes: model.classes === null ? null : JSON.stringify(model.classes),
      feature_names: JSON.stringify(model.featureNames), features: model.features,
      best_epoch: model.bestEpoch, at: new Date().toISOString(),
    });
    insertModelData.run(modelId, bytesOf(model.bytes));
  };
}

const now = () => new Date().toISOString();

export function createJobStore<S extends StoredSpec = StoredSpec>(db: Db): JobStore<S> {
  const insert = db.prepare(`INSERT INTO jobs (id, dataset_id, status, spec, epochs, created_at, updated_at, queue_pos)
    VALUES (@id, @dataset_id, 'queued', @spec, @epochs, @at, @at, (SELECT coalesce(max(queue_pos), 0) + 1 FROM jobs))`);
  const selectOne = db.prepare('SELECT * FROM jobs WHERE id = ?');
  // Trials held for their turn wait on their search, not on the queue's limit.
  const countQueued = db.prepare("SELECT count(*) FROM jobs WHERE status = 'queued' AND (hold IS NULL OR hold = 'rung')").pluck();
  const FILTER = '(@status IS NULL OR status = @status) AND (@search IS NULL OR search_id = @search)';
  const selectPage = db.prepare(`SELECT * FROM jobs WHERE ${FILTER} ORDER BY seq DESC LIMIT @limit OFFSET @offset`);
  const countPage = db.prepare(`SELECT count(*) FROM jobs WHERE ${FILTER}`).pluck();
  // One statement picks and marks the oldest queued job: the claim cannot be split by another writer.
  const claim = db.prepare(`UPDATE jobs SET status = 'running', attempts = attempts + 1, node_id = @node,
    lease_expires_at = @until, eta_seconds = NULL, started_at = coalesce(started_at, @at), updated_at = @at
    WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' AND hold IS NULL ORDER BY queue_pos, seq LIMIT 1) RETURNING *`);
  // A node's writes for a running job hold only while it still has the job: the fence of every write.
  const HELD = "id = @id AND status = 'running' AND node_id = @node";
  const renew = db.prepare(`UPDATE jobs SET lease_expires_at = @until WHERE ${HELD}`);
  const updateProgress = db.prepare(`UPDATE jobs SET progress = @progress, samples_per_sec = coalesce(@sps, samples_per_sec),
    eta_seconds = @eta WHERE ${HELD}`);
  const insertEpoch = db.prepare('INSERT INTO epochs (job_id, epoch, metrics, at) VALUES (?, ?, ?, ?)');
  const upsertCheckpoint = db.prepare(`INSERT INTO checkpoints (job_id, epoch, state, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (job_id) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, updated_at = excluded.updated_at`);
  const updateAfterEpoch = db.prepare(`UPDATE jobs SET epoch = @epoch, progress = min(1.0, @epoch * 1.0 / epochs),
    metrics = @metrics, samples_per_sec = @sps, runtime_ms = runtime_ms + @duration, updated_at = @at
    WHERE ${HELD}`);
  const selectCheckpoint = db.prepare('SELECT epoch, state FROM checkpoints WHERE job_id = ?');
  const deleteCheckpoint = db.prepare('DELETE FROM checkpoints WHERE job_id = ?');
  const deletePausedModel = db.prepare('DELETE FROM paused_models WHERE job_id = ?');
  const selectRuntime = db.prepare('SELECT runtime_ms FROM jobs WHERE id = ?').pluck();
  const selectEpochs = db.prepare('SELECT epoch, metrics, at FROM epochs WHERE job_id = ? AND epoch > ? ORDER BY epoch');
  const finish = db.prepare(`UPDATE jobs SET status = @status, model_id = @model_id, stop_reason = @stop_reason,
    error_code = @error_code, error_message = @error_message, finished_at = @at, updated_at = @at, hold = NULL,
    progress = CASE WHEN @status = 'succeeded' THEN 1 ELSE progress END
    WHERE id = @id AND (status = 'queued' OR (status = 'running' AND (@node IS NULL OR node_id = @node)))`);
  const requeue = db.prepare(`UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL, updated_at = @at
    WHERE ${HELD}`);
  const requeueExpired = db.prepare(`UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL, updated_at = @at
    WHERE status = 'running' AND lease_expires_at < @now RETURNING id`).pluck();
  const requeueAll = db.prepare("UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE status = 'running'");
  const writeModel = modelWriter(db);
  const pause = db.prepare(`UPDATE jobs SET status = 'queued', hold = 'rung', node_id = NULL, lease_expires_at = NULL, updated_at = @at
    WHERE ${HELD} AND search_id IS NOT NULL`);
  const keepPausedModel = db.prepare(`INSERT INTO paused_models (job_id, fields, bytes) VALUES (?, ?, ?)
    ON CONFLICT (job_id) DO UPDATE SET fields = excluded.fields, bytes = excluded.bytes`);

  function get(id: string): Job<S> | null {
    const r = selectOne.get(id) as JobRow | undefined;
    return r ? toJob<S>(r) : null;
  }

  function finishWith(id: string, node: string | null, status: JobStatus, fields: {
    modelId?: string; stopReason?: string; error?: { code: string; message: string };
  }): boolean {
    const changed = finish.run({
      id, node, status, at: now(), model_id: fields.modelId ?? null, stop_reason: fields.stopReason ?? null,
      error_code: fields.error?.code ?? null, error_message: fields.error?.message ?? null,
    }).changes > 0;
    if (changed) {
      deleteCheckpoint.run(id);
      deletePausedModel.run(id);
    }
    return changed;
  }

  const finishTx = db.transaction(finishWith);

  const create = db.transaction((spec: S, maxQueued: number): Job<S> | null => {
    if ((countQueued.get() as number) >= maxQueued) return null;
    const id = randomUUID();
    insert.run({ id, dataset_id: spec.datasetId, spec: JSON.stringify(spec), epochs: spec.epochs, at: now() });
    return get(id);
  });

  const recordEpoch = db.transaction((id: string, node: string, record: EpochRecord, samplesPerSec: number, state: Uint8Array) => {
    const { epoch, at, ...metrics } = record;
    const updated = updateAfterEpoch.run({
      id, node, epoch, metrics: JSON.stringify(record), sps: samplesPerSec, duration: Math.round(record.durationMs), at,
    }).changes > 0;
    if (!updated) return false; // cancelled, finished or taken meanwhile: the epoch belongs to no run
    insertEpoch.run(id, epoch, JSON.stringify(metrics), at);
    upsertCheckpoint.run(id, epoch, bytesOf(state), at);
    return true;
  });

  const succeed = db.transaction((id: string, node: string, model: NewModel, stopReason: string): string | null => {
    const job = get(id);
    const modelId = randomUUID();
    if (!job || job.node !== node || !finishWith(id, node, 'succeeded', { modelId, stopReason })) return null;
    writeModel(modelId, id, job.datasetId, model);
    return modelId;
  });

  const pauseTx = db.transaction((id: string, node: string, model: NewModel): boolean => {
    if (pause.run({ id, node, at: now() }).changes === 0) return false;
    const { bytes, ...fields } = model;
    keepPausedModel.run(id, JSON.stringify(fields), bytesOf(bytes));
    return true;
  });

  return {
    create: async (spec, maxQueued) => create(spec, maxQueued),
    get: async (id) => get(id),
    async list(filter) {
      // A null status matches every job, so one prepared statement serves both.
      const where = { status: filter.status ?? null, search: filter.searchId ?? null };
      const rows = selectPage.all({ ...where, limit: filter.limit, offset: filter.offset }) as JobRow[];
      return { items: rows.map((r) => toJob<S>(r)), total: countPage.get(where) as number };
    },
    async claim(node, leaseMs) {
      const r = claim.get({ node, until: Date.now() + leaseMs, at: now() }) as JobRow | undefined;
      return r ? toJob<S>(r) : null;
    },
    renew: async (id, node, leaseMs) => renew.run({ id, node, until: Date.now() + leaseMs }).changes > 0,
    recordProgress: async (id, node, live) =>
      updateProgress.run({ id, node, progress: live.progress, sps: live.samplesPerSec, eta: live.etaSeconds }).changes > 0,
    recordEpoch: async (id, node, record, samplesPerSec, state) => recordEpoch(id, node, record, samplesPerSec, state),
    async checkpoint(id): Promise<Checkpoint | null> {
      const r = selectCheckpoint.get(id) as { epoch: number; state: Buffer } | undefined;
      return r ? { epoch: r.epoch, state: new Uint8Array(r.state) } : null;
    },
    runtimeMs: async (id) => (selectRuntime.get(id) as number | undefined) ?? 0,
    async epochs(id, since) {
      return (selectEpochs.all(id, since) as { epoch: number; metrics: string; at: string }[])
        .map((r) => ({ epoch: r.epoch, ...JSON.parse(r.metrics), at: r.at }));
    },
    succeed: async (id, node, model, stopReason) => succeed(id, node, model, stopReason),
    pause: async (id, node, model) => pauseTx(id, node, model),
    fail: async (id, error, node) => finishTx(id, node ?? null, 'failed', { error }),
    cancel: async (id) => finishTx(id, null, 'cancelled', { stopReason: 'cancelled' }),
    requeue: async (id, node) => requeue.run({ id, node, at: now() }).changes > 0,
    requeueExpired: async () => requeueExpired.all({ now: Date.now(), at: now() }) as string[],
    requeueAllRunning: async () => requeueAll.run(now()).changes,
  };
}
