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
  /** The node that holds the job while it runs. */
  node: string | null;
  /** A search's trial: the search, the trial's index in it and the parameters it tries; null otherwise. */
  searchId: string | null;
  trial: number | null;
  params: Record<string, unknown> | null;
  /** A queued trial that no worker may claim yet: waiting for its turn, or paused at a rung to be decided. */
  held: 'turn' | 'rung' | null;
  /** The epoch after which the trial pauses for a halving decision; null: it runs to its end. */
  pauseAt: number | null;
}

export interface Checkpoint { epoch: number; state: Uint8Array }

/** What a model is, as its job hands it over and as it is listed. */
interface ModelFields {
  task: Task;
  architecture: unknown;
  metrics: unknown;
  classes: (string | number)[] | null;
  featureNames: string[];
  features: number;
  bestEpoch: number | null;
}

export interface NewModel extends ModelFields {
  /** Registered under this name, as its next version; null for an unnamed model. */
  name: string | null;
  bytes: Uint8Array;
}

/** What a worker knows between epochs: where the job is, how fast it goes, when it should end. */
export interface LiveProgress { progress: number; samplesPerSec: number | null; etaSeconds: number | null }

/**
 * Jobs are claimed by a node for a lease that it renews while it trains. Every write a node makes for
 * a running job (epoch, checkpoint, progress, outcome) is fenced: it happens only while that node
 * still holds the job, checked in the same transaction, so a node that lost its lease writes nothing.
 */
export interface JobStore<S extends StoredSpec = StoredSpec> {
  /** Queues a job unless `maxQueued` jobs already wait: null then. */
  create(spec: S, maxQueued: number): Promise<Job<S> | null>;
  get(id: string): Promise<Job<S> | null>;
  /** Newest first; `status` and `searchId` filter. */
  list(filter: { status?: JobStatus; searchId?: string; limit: number; offset: number }): Promise<Page<Job<S>>>;
  /** Takes the queued job at the front of the queue (held trials aside) for `node` until the lease lapses, atomically: two callers never get the same job. */
  claim(node: string, leaseMs: number): Promise<Job<S> | null>;
  /** Extends the lease; false when the node no longer holds the job (cancelled, finished, or taken). */
  renew(id: string, node: string, leaseMs: number): Promise<boolean>;
  /** Fenced: false (nothing written) when the node no longer holds the job. */
  recordProgress(id: string, node: string, live: LiveProgress): Promise<boolean>;
  /** The epoch row, the job's latest figures and its checkpoint, together or not at all; fenced. */
  recordEpoch(id: string, node: string, record: EpochRecord, samplesPerSec: number, state: Uint8Array): Promise<boolean>;
  checkpoint(id: string): Promise<Checkpoint | null>;
  /** Training time spent so far, summed over epochs (maxRuntimeSeconds counts it across resumes). */
  runtimeMs(id: string): Promise<number>;
  /** The epochs after `since`, in order. */
  epochs(id: string, since: number): Promise<EpochRecord[]>;
  /** Stores the model and marks the job succeeded, together; fenced; null if the node no longer holds it. */
  succeed(id: string, node: string, model: NewModel, stopReason: string): Promise<string | null>;
  /**
   * A trial that reached its rung: back in the queue, held until its search decides on it, its checkpoint
   * kept and the model it would leave if stopped there kept aside; fenced.
   */
  pause(id: string, node: string, model: NewModel): Promise<boolean>;
  /** Fails a queued job (any node), or a running one the node holds; false if it had already ended or was taken. */
  fail(id: string, error: { code: string; message: string }, node?: string): Promise<boolean>;
  /** False if the job had already ended. */
  cancel(id: string): Promise<boolean>;
  /** Hands a running job back to the queue, keeping its place and its checkpoint; fenced. */
  requeue(id: string, node: string): Promise<boolean>;
  /** Every running job whose lease lapsed goes back to the queue; returns their ids. */
  requeueExpired(): Promise<string[]>;
  /** At the start of the only process on a store: every running job goes back to the queue. */
  requeueAllRunning(): Promise<number>;
}

// ---------------------------------------------------------------- searches

export type SearchStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A search as stored: its settings are kept as JSON, as the service resolved them. */
export interface SearchRecord<P = unknown> {
  id: string;
  name: string | null;
  datasetId: string | null;
  status: SearchStatus;
  spec: P;
  trials: number;
  createdAt: string;
  finishedAt: string | null;
  updatedAt: string;
}

/** A trial as a search's decisions read it: its job, its figures at the epochs asked for, and those its model keeps. */
export interface TrialState<S extends StoredSpec = StoredSpec> {
  job: Job<S>;
  /** epoch → that epoch's record, for the epochs asked for that the trial reached. */
  at: Map<number, EpochRecord>;
  /** The figures of the epoch its model keeps, once it has one. */
  modelMetrics: EpochRecord | null;
}

/** What one decision pass changes; the store applies it in the transaction that read the trials. */
export interface SearchPlan {
  /** Held trials let go into the queue (at its back), each to pause next after `pauseAt` (null: run to the end). */
  release: { jobId: string; pauseAt: number | null }[];
  /** Trials paused at a rung that stop there: they succeed with stopReason 'halved' and the model they paused with. */
  halve: string[];
  /** The search is over. */
  finish: Exclude<SearchStatus, 'running'> | null;
}

export interface SearchStore<S extends StoredSpec = StoredSpec, P = unknown> {
  /** The search and every trial (a job held for its turn), together or not at all. */
  create(search: { name: string | null; datasetId: string; spec: P }, trials: { spec: S; params: Record<string, unknown> }[]): Promise<SearchRecord<P>>;
  get(id: string): Promise<SearchRecord<P> | null>;
  /** Newest first. */
  list(limit: number, offset: number): Promise<Page<SearchRecord<P>>>;
  /** The ids of the searches still running. */
  running(): Promise<string[]>;
  /** The trials in index order, with their records at `epochs`. */
  trials(id: string, epochs: number[]): Promise<TrialState<S>[]>;
  /**
   * One decision pass, serialised per search across nodes: reads the search and its trials (their
   * records at the epochs `epochs` names for it), asks `plan` what changes and applies it, all in one
   * transaction, so no decision is taken twice. Null when the search is unknown or no longer running.
   */
  advance(
    id: string, epochs: (search: SearchRecord<P>) => number[], plan: (search: SearchRecord<P>, trials: TrialState<S>[]) => SearchPlan,
  ): Promise<SearchPlan | null>;
  /** Ends a running search as cancelled and cancels its trials still queued or running (their ids). Null if it was not running. */
  cancel(id: string): Promise<string[] | null>;
}

// ---------------------------------------------------------------- models

export interface ModelInfo extends ModelFields {
  id: string;
  name: string | null;
  /** 1, 2, … within its name; null for an unnamed model. */
  version: number | null;
  /** The aliases of its name that point at this version. */
  aliases: string[];
  jobId: string | null;
  datasetId: string | null;
  createdAt: string;
}

export interface ModelStore {
  get(id: string): Promise<ModelInfo | null>;
  /**
   * The id a reference names: a model id; `name` (its latest version); `name@3` (a version);
   * `name@alias`. Null when nothing matches.
   */
  resolve(ref: string): Promise<string | null>;
  /** Newest first; with `name`, that name's versions only. */
  list(limit: number, offset: number, name?: string): Promise<Page<ModelInfo>>;
  bytes(id: string): Promise<Uint8Array | null>;
  /** Refused (`aliased`) while an alias points at the model. */
  delete(id: string): Promise<'deleted' | 'not_found' | 'aliased'>;
  /** Points `name@alias` at a version, atomically; `no_version` if the name has no such version. */
  setAlias(name: string, alias: string, version: number): Promise<'set' | 'no_version'>;
  removeAlias(name: string, alias: string): Promise<boolean>;
  /** Keeps an evaluation with its model; false if the model is gone. */
  addEvaluation(modelId: string, evaluation: Evaluation): Promise<boolean>;
  /** The model's evaluations, newest first. */
  evaluations(modelId: string): Promise<Evaluation[]>;
}

export interface Evaluation {
  id: string;
  datasetId: string;
  at: string;
  /** rows, loss, and accuracy, classes, confusionMatrix, or mse, mae, r2. */
  scores: Record<string, unknown>;
}

// ---------------------------------------------------------------- nodes

export interface NodeInfo {
  id: string;
  role: 'all' | 'api' | 'worker';
  running: string[];
  startedAt: string;
  heartbeatAt: string;
}

export interface NodeStore {
  /** Records that the node is up (and what it runs) now. */
  heartbeat(node: Omit<NodeInfo, 'heartbeatAt'>): Promise<void>;
  /** Nodes whose last heartbeat is younger than `withinMs`, by id. */
  live(withinMs: number): Promise<NodeInfo[]>;
  remove(id: string): Promise<void>;
}

// ---------------------------------------------------------------- messages between nodes

/** Small JSON messages to every node on the store (PostgreSQL: LISTEN/NOTIFY; SQLite: this process). */
export interface Bus {
  publish(channel: string, message: unknown): Promise<void>;
  /** Calls `listener` with every message on the channel, from any node, this one included. */
  subscribe(channel: string, listener: (message: unknown) => void): () => void;
}

// ---------------------------------------------------------------- the whole

export interface Store<S extends StoredSpec = StoredSpec> {
  /** Which backend, for logs and health. */
  readonly kind: 'sqlite' | 'postgres';
  datasets: DatasetStore;
  jobs: JobStore<S>;
  models: ModelStore;
  nodes: NodeStore;
  searches: SearchStore<S>;
  bus: Bus;
  /** False once the store can no longer take writes (its file deleted under it): readiness goes down. */
  healthy(): boolean;
  close(): Promise<void>;
}
