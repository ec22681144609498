// What a worker and the main thread say to each other: the task a worker receives and the messages
// it posts back over its MessagePort, in order (progress…, epoch…, then exactly one done or failed).
import type { MessagePort } from 'node:worker_threads';
import type { EpochMetrics } from '../engine/types.js';
import type { FaultInjection, JobSpec } from './spec.js';

/** Control word shared with a training worker: the main thread stores, the worker polls per minibatch. */
export const CONTROL = { run: 0, cancel: 1, interrupt: 2 } as const;

export interface TrainTask {
  kind: 'train';
  jobId: string;
  databasePath: string;
  spec: JobSpec;
  dataset: { features: number; task: 'classification' | 'regression'; classes: (string | number)[] | null; featureNames: string[]; targetName: string };
  /** Int32Array(1) over it: CONTROL.run, .cancel or .interrupt. */
  control: SharedArrayBuffer;
  /** Wall-clock time (ms since epoch) past which the job stops and keeps its best model, or null. */
  deadline: number | null;
  progressIntervalMs: number;
  /** Nice value for this training thread, so the event loop wins the CPU when both want it. */
  nice: number;
  port: MessagePort;
  fault: FaultInjection | null;
}

export interface PredictTask {
  kind: 'predict';
  model: Uint8Array;
  x: Float32Array;
  rows: number;
}

export type StopReason = 'completed' | 'early_stopping' | 'time_limit' | 'cancelled' | 'interrupted';

export type WorkerMessage =
  | { type: 'started'; resumedFromEpoch: number; trainRows: number }
  | { type: 'progress'; epoch: number; fraction: number; samplesPerSec: number }
  | { type: 'epoch'; metrics: EpochMetrics; state: Uint8Array }
  | { type: 'done'; reason: StopReason; model: Uint8Array | null; bestEpoch: number | null }
  | { type: 'failed'; code: string; message: string };
