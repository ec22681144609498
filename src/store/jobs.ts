// The jobs table family: jobs, their per-epoch metrics and their latest checkpoint, and the
// hand-over of a finished job's model. Every state change that spans tables is one transaction.
import { randomUUID } from 'node:crypto';
import type { EpochMetrics } from '../engine/types.js';
import type { Db } from './db.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINISHED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** One epoch's figures as the engine reports them (speed aside), stamped with when they arrived:
 *  what /epochs and the event stream return. */
export type EpochRecord = Omit<EpochMetrics, 'samplesPerSec'> & { at: string };

/** What the store reads of a job's spec; the rest it keeps as JSON, exactly as it was given. */
export interface StoredSpec { datasetId: string; epochs: number }

export interface Job<S extends StoredSpec = StoredSpec> {
  id: string;
  datasetId: string | null;
  status: JobStatus;
  progress: number;
  epoch: number;
  epochs: number;
  metrics: EpochRecord | null;
  samplesPerSec: number | null;
  etaSeconds: number | null;
  modelId: string | null;
  stopReason: string | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  spec: S;
}

interface JobRow {
  seq: number; id: string; dataset_id: string | null; status: JobStatus; spec: string; epoch: number;
  epochs: number; progress: number; metrics: string | null; samples_per_sec: number | null;
  model_id: string | null; stop_reason: string | null; error_code: string | null;
  error_message: string | null; attempts: number; runtime_ms: number; created_at: string;
  started_at: string | null; finished_at: string | null; updated_at: string;
}

function toJob<S extends StoredSpec>(r: JobRow): Job<S> {
  return {
    id: r.id, datasetId: r.dataset_id, status: r.status, progress: r.progress, epoch: r.epoch,
    epochs: r.epochs, metrics: r.metrics === null ? null : JSON.parse(r.metrics),
    samplesPerSec: r.samples_per_sec, etaSeconds: null,
    modelId: r.model_id, stopReason: r.stop_reason,
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
    createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at, updatedAt: r.updated_at,
    spec: JSON.parse(r.spec),
  };
}

export interface NewModel {
  task: string;
  architecture: unknown;
  metrics: unknown;
  classes: unknown;
  featureNames: string[];
  features: number;
  bestEpoch: number | null;
  bytes: Uint8Array;
}

const now = () => new Date().toISOString();

export function createJobRepository<S extends StoredSpec = StoredSpec>(db: Db) {
  const insert = db.prepare(`INSERT INTO jobs (id, dataset_id, status, spec, epochs, created_at, updated_at)
    VALUES (@id, @dataset_id, 'queued', @spec, @epochs, @at, @at)`);
  const selectOne = db.prepare('SELECT * FROM jobs WHERE id = ?');
  const countByStatus = db.prepare('SELECT count(*) FROM jobs WHERE status = ?').pluck();
  const selectPage = db.prepare(`SELECT * FROM jobs WHERE @status IS NULL OR status = @status
    ORDER BY seq DESC LIMIT @limit OFFSET @offset`);
  const countPage = db.prepare('SELECT count(*) FROM jobs WHERE @status IS NULL OR status = @status').pluck();
  const oldestQueued = db.prepare("SELECT * FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1");
  const markRunning = db.prepare(`UPDATE jobs SET status = 'running', attempts = attempts + 1,
    started_at = coalesce(started_at, @at), updated_at = @at WHERE id = @id AND status = 'queued'`);
  const insertEpoch = db.prepare('INSERT INTO epochs (job_id, epoch, metrics, at) VALUES (?, ?, ?, ?)');
  const upsertCheckpoint = db.prepare(`INSERT INTO checkpoints (job_id, epoch, state, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (job_id) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, updated_at = excluded.updated_at`);
  const updateAfterEpoch = db.prepare(`UPDATE jobs SET epoch = @epoch, progress = @progress, metrics = @metrics,
    samples_per_sec = @sps, runtime_ms = runtime_ms + @duration, updated_at = @at WHERE id = @id`);
  const selectCheckpoint = db.prepare('SELECT epoch, state FROM checkpoints WHERE job_id = ?');
  const deleteCheckpoint = db.prepare('DELETE FROM checkpoints WHERE job_id = ?');
  const selectEpochs = db.prepare('SELECT epoch, metrics, at FROM epochs WHERE job_id = ? AND epoch > ? ORDER BY epoch');
  const finish = db.prepare(`UPDATE jobs SET status = @status, model_id = @model_id, stop_reason = @stop_reason,
    error_code = @error_code, error_message = @error_message, finished_at = @at, updated_at = @at,
    progress = CASE WHEN @status = 'succeeded' THEN 1 ELSE progress END
    WHERE id = @id AND status IN ('queued', 'running')`);
  const requeue = db.prepare("UPDATE jobs SET status = 'queued', updated_at = @at WHERE id = @id AND status = 'running'");
  const requeueAll = db.prepare("UPDATE jobs SET status = 'queued', updated_at = ? WHERE status = 'running'");
  const insertModel = db.prepare(`INSERT INTO models (id, job_id, dataset_id, task, architecture, metrics, classes,
    feature_names, features, best_epoch, created_at) VALUES (@id, @job_id, @dataset_id, @task, @architecture,
    @metrics, @classes, @feature_names, @features, @best_epoch, @at)`);
  const insertModelData = db.prepare('INSERT INTO model_data (model_id, bytes) VALUES (?, ?)');

  function get(id: string): Job<S> | null {
    const r = selectOne.get(id) as JobRow | undefined;
    return r ? toJob<S>(r) : null;
  }

  function finishWith(id: string, status: JobStatus, fields: {
    modelId?: string; stopReason?: string; error?: { code: string; message: string };
  }): boolean {
    const changed = finish.run({
      id, status, at: now(), model_id: fields.modelId ?? null, stop_reason: fields.stopReason ?? null,
      error_code: fields.error?.code ?? null, error_message: fields.error?.message ?? null,
    }).changes > 0;
    if (changed) deleteCheckpoint.run(id);
    return changed;
  }

  return {
    create(spec: S): Job<S> {
      const id = randomUUID();
      insert.run({ id, dataset_id: spec.datasetId, spec: JSON.stringify(spec), epochs: spec.epochs, at: now() });
      return get(id)!;
    },
    get,
    /** Newest first; `status` filters; `offset` pages. */
    list(filter: { status?: JobStatus; limit: number; offset: number }): { items: Job<S>[]; total: number } {
      // A null status matches every job, so one prepared statement serves both.
      const status = filter.status ?? null;
      const rows = selectPage.all({ status, limit: filter.limit, offset: filter.offset }) as JobRow[];
      return { items: rows.map((r) => toJob<S>(r)), total: countPage.get({ status }) as number };
    },
    countQueued: () => countByStatus.get('queued') as number,
    /** The next job in queue order, skipping those already handed to a worker. */
    nextQueued(): Job<S> | null {
      const r = oldestQueued.get() as JobRow | undefined;
      return r ? toJob<S>(r) : null;
    },
    markRunning: (id: string) => markRunning.run({ id, at: now() }).changes > 0,
    /** The epoch row, the job's latest figures and its checkpoint, together or not at all. */
    recordEpoch: db.transaction((id: string, record: EpochRecord, samplesPerSec: number, state: Uint8Array) => {
      const { epoch, at, ...metrics } = record;
      insertEpoch.run(id, epoch, JSON.stringify(metrics), at);
      upsertCheckpoint.run(id, epoch, Buffer.from(state.buffer, state.byteOffset, state.byteLength), at);
      const job = selectOne.get(id) as JobRow;
      updateAfterEpoch.run({
        id, epoch, progress: Math.min(1, epoch / job.epochs), metrics: JSON.stringify(record),
        sps: samplesPerSec, duration: Math.round(record.durationMs), at,
      });
    }),
    checkpoint(id: string): { epoch: number; state: Uint8Array } | null {
      const r = selectCheckpoint.get(id) as { epoch: number; state: Buffer } | undefined;
      return r ? { epoch: r.epoch, state: new Uint8Array(r.state) } : null;
    },
    runtimeMs: (id: string) => (selectOne.get(id) as JobRow | undefined)?.runtime_ms ?? 0,
    epochs(id: string, since: number): EpochRecord[] {
      return (selectEpochs.all(id, since) as { epoch: number; metrics: string; at: string }[])
        .map((r) => ({ epoch: r.epoch, ...JSON.parse(r.metrics), at: r.at }));
    },
    /** Stores the model and marks the job succeeded, in one transaction; false if the job had already ended. */
    succeed: db.transaction((job: Job<S>, model: NewModel, stopReason: string): string | null => {
      const modelId = randomUUID();
      const at = now();
      if (!finishWith(job.id, 'succeeded', { modelId, stopReason })) return null;
      insertModel.run({
        id: modelId, job_id: job.id, dataset_id: job.datasetId, task: model.task,
        architecture: JSON.stringify(model.architecture), metrics: JSON.stringify(model.metrics),
        classes: model.classes === null ? null : JSON.stringify(model.classes),
        feature_names: JSON.stringify(model.featureNames), features: model.features,
        best_epoch: model.bestEpoch, at,
      });
      insertModelData.run(modelId, Buffer.from(model.bytes.buffer, model.bytes.byteOffset, model.bytes.byteLength));
      return modelId;
    }),
    fail: (id: string, error: { code: string; message: string }) => finishWith(id, 'failed', { error }),
    cancel: (id: string) => finishWith(id, 'cancelled', { stopReason: 'cancelled' }),
    /** Hands a running job back to the queue, keeping its place (seq) and its checkpoint. */
    requeue: (id: string) => requeue.run({ id, at: now() }).changes > 0,
    /** At start: every job left running by a process that is gone goes back to the queue. */
    requeueAllRunning: () => requeueAll.run(now()).changes,
  };
}

export type JobRepository<S extends StoredSpec = StoredSpec> = ReturnType<typeof createJobRepository<S>>;
