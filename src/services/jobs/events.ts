// The live events of jobs, by job id: what the runner reports and event streams follow. In-process
// today; a store shared by several nodes would carry them between processes behind the same three calls.
import { EventEmitter } from 'node:events';
import type { EpochRecord, Job } from '../../store/types.js';
import type { JobSpec } from './spec.js';

export interface Progress {
  epoch: number; fraction: number; progress: number; samplesPerSec: number; etaSeconds: number | null;
}

export type JobEvent =
  | { type: 'epoch'; data: EpochRecord }
  | { type: 'progress'; data: Progress }
  | { type: 'status'; data: Job<JobSpec> };

export function createJobEvents() {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    emit: (jobId: string, event: JobEvent) => { emitter.emit(jobId, event); },
    /** Calls `listener` with every event of the job until the returned function is called. */
    subscribe(jobId: string, listener: (e: JobEvent) => void): () => void {
      emitter.on(jobId, listener);
      return () => { emitter.off(jobId, listener); };
    },
  };
}

export type JobEvents = ReturnType<typeof createJobEvents>;
