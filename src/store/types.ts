// The store's contract: what the services keep and read, whatever database holds it. Every method is
// async so that a networked database fits without changing a caller; each state change that spans
// tables is one transaction inside the implementation. test/store/contract.ts holds any backend to it.
import type { ParsedDataset, Task } from '../data/types.js';
import type { EpochMetrics } from '../engine/types.js';

export interface Page<T> { items: T[]; total: number }

// ---------------------------------------------------------------- datasets

export interface Dataset {
  id: string;
  name: string;
  rows: number;
  features: number;
  featureNames: string[];
  targetName: string;
  task: Task;
  classes: (string | number)[] | null;
  bytes: number;
  createdAt: string;
}

/** The numbers a job trains on, as stored. */
export interface DatasetData {
  x: Float32Array | Uint8Array;
  labels: Int32Array | null;
  targets: Float32Array | null;
  mean: Float32Array;
  std: Float32Array;
}

export interface DatasetStore {
  /** Stores a parsed dataset: either all of it is there afterwards, or none. */
  create(name: string, parsed: ParsedDataset): Promise<Dataset>;
  get(id: string): Promise<Dataset | null>;
  /** Newest first. */
  list(limit: number, offset: number): Promise<Page<Dataset>>;
  data(id: string): Promise<DatasetData | null>;
  /** Deletes unless a queued or running job still needs the rows. */
  delete(id: string): Promise<'deleted' | 'not_found' | 'in_use'>;
}

// ---------------------------------------------------------------- jobs

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

export interface Checkpoint { epoch: number; state: Uint8Array }

export interface NewModel {
  task: Task;
  architecture: unknown;
  metrics: unknown;
  classes: (string | number)[] | null;
  featureNames: string[];
  features: number;
  bestEpoch: number | null;
  bytes: Uint8Array;
}

export interface JobStore<S extends StoredSpec = StoredSpec> {
  /** Queues a job unless `maxQueued` jobs already wait: null then. */
  create(spec: S, maxQueued: number): Promise<Job<S> | null>;
  get(id: string): Promise<Job<S> | null>;
  /** Newest first; `status` filters. */
  list(filter: { status?: JobStatus; limit: number; offset: number }): Promise<Page<Job<S>>>;
  /** Takes the oldest queued job and marks it running, atomically: two callers never get the same job. */
  claim(): Promise<Job<S> | null>;
  /** The epoch row, the job's latest figures and its checkpoint, together or not at all; false (and
   *  nothing written) when the job is no longer running. */
  recordEpoch(id: string, record: EpochRecord, samplesPerSec: number, state: Uint8Array): Promise<boolean>;
  checkpoint(id: string): Promise<Checkpoint | null>;
  /** Training time spent so far, summed over epochs (maxRuntimeSeconds counts it across resumes). */
  runtimeMs(id: string): Promise<number>;
  /** The epochs after `since`, in order. */
  epochs(id: string, since: number): Promise<EpochRecord[]>;
  /** Stores the model and marks the job succeeded, together; null if the job had already ended. */
  succeed(id: string, model: NewModel, stopReason: string): Promise<string | null>;
  /** Each false if the job had already ended. */
  fail(id: string, error: { code: string; message: string }): Promise<boolean>;
  cancel(id: string): Promise<boolean>;
  /** Hands a running job back to the queue, keeping its place and its checkpoint. */
  requeue(id: string): Promise<boolean>;
  /** At start: every job left running by a process that is gone goes back to the queue. */
  requeueAllRunning(): Promise<number>;
}

// ---------------------------------------------------------------- models

export interface ModelInfo {
  id: string;
  jobId: string | null;
  datasetId: string | null;
  task: Task;
  architecture: unknown;
  metrics: unknown;
  classes: (string | number)[] | null;
  featureNames: string[];
  features: number;
  bestEpoch: number | null;
  createdAt: string;
}

export interface ModelStore {
  get(id: string): Promise<ModelInfo | null>;
  /** Newest first. */
  list(limit: number, offset: number): Promise<Page<ModelInfo>>;
  bytes(id: string): Promise<Uint8Array | null>;
  delete(id: string): Promise<boolean>;
}

// ---------------------------------------------------------------- the whole

export interface Store<S extends StoredSpec = StoredSpec> {
  /** Which backend, for logs and health. */
  readonly kind: 'sqlite';
  datasets: DatasetStore;
  jobs: JobStore<S>;
  models: ModelStore;
  close(): Promise<void>;
}
