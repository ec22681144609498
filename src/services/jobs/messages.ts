// What a training worker and the main thread say to each other: the task a worker receives and the
// messages it posts back over its MessagePort, in order (started, progress…, epoch…, then exactly one
// done or failed).
import type { MessagePort } from 'node:worker_threads';
import type { EpochMetrics } from '../../engine/types.js';
import type { Dataset, DatasetData } from '../../store/types.js';
import type { FaultInjection, JobSpec } from './spec.js';

/** Control word shared with a training worker (control[0]): the main thread stores, the worker polls per minibatch. */
export const CONTROL = { run: 0, cancel: 1, interrupt: 2 } as const;
/** control[ACK]: the last epoch whose checkpoint the main thread has written (or given up on). */
export const ACK = 1;

export interface TrainTask {
  jobId: string;
  spec: JobSpec;
  dataset: Pick<Dataset, 'rows' | 'features' | 'task' | 'classes' | 'featureNames' | 'targetName'>;
  /** The rows, read by the main thread from the store and transferred, not copied. */
  data: DatasetData;
  /** The engine's training state saved after the last epoch, or null for a fresh start. */
  checkpoint: Uint8Array | null;
  /** Int32Array(2) over it: [CONTROL.run, .cancel or .interrupt; the last epoch written (ACK)]. */
  control: SharedArrayBuffer;
  /** Wall-clock time (ms since epoch) past which the job stops and keeps its best model, or null. */
  deadline: number | null;
  progressIntervalMs: number;
  /** A search's trial stops after this epoch (unless it ends before) and hands back its model: 'paused'. */
  pauseAt: number | null;
  /** Nice value for this training thread, so the event loop wins the CPU when both want it. */
  nice: number;
  /** And the SCHED_IDLE policy (Linux, best effort). */
  idle: boolean;
  /**
   * Threads this job trains on (default 1): the worker's own plus threads − 1 helper threads it starts
   * for the job and ends with it. A resumed job trains on its checkpoint's count instead (the engine's
   * savedThreads()), since only that continues the run bit for bit.
   */
  threads?: number;
  port: MessagePort;
  fault: FaultInjection | null;
}

export type StopReason = 'completed' | 'early_stopping' | 'time_limit' | 'cancelled' | 'interrupted' | 'paused';

export type WorkerMessage =
  | { type: 'started'; resumedFromEpoch: number; trainRows: number }
  | { type: 'progress'; epoch: number; fraction: number; loss: number; samplesPerSec: number }
  | { type: 'epoch'; metrics: EpochMetrics; state: Uint8Array }
  | { type: 'done'; reason: StopReason; model: Uint8Array | null; bestEpoch: number | null }
  | { type: 'failed'; code: string; message: string };

/** The buffers of a task that move to the worker rather than being copied. */
export function transferables(task: TrainTask): ArrayBuffer[] {
  const { x, labels, targets, mean, std } = task.data;
  const views = [x, labels, targets, mean, std, task.checkpoint].filter((v) => v !== null);
  return [...new Set(views.map((v) => v.buffer as ArrayBuffer))];
}
