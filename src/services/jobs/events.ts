// The live events of jobs, by job id. Every event goes over the store's bus, so a follower on any node
// sees a job that trains on any other; a status event carries only the job's id, and each node reads
// the job afresh (a job's JSON may not fit a database notification).
import { EventEmitter } from 'node:events';
import type { Bus, EpochRecord, Job } from '../../store/types.js';
import type { JobSpec } from './spec.js';

export interface Progress {
  epoch: number; fraction: number; progress: number; samplesPerSec: number; etaSeconds: number | null;
  /** The epoch's mean training cost per row so far (without the L2 term the epoch's loss adds). */
  loss: number;
}

export type JobEvent =
  | { type: 'epoch'; data: EpochRecord }
  | { type: 'progress'; data: Progress }
  | { type: 'status'; data: Job<JobSpec> };

/** What travels on the bus. */
type Wire =
  | { jobId: string; type: 'epoch'; data: EpochRecord }
  | { jobId: string; type: 'progress'; data: Progress }
  | { jobId: string; type: 'status' };

const CHANNEL = 'job_events';

export function createJobEvents(bus: Bus, readJob: (id: string) => Promise<Job<JobSpec> | null>) {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  // Status events of one job are read and delivered in the order they arrived.
  const reading = new Map<string, Promise<void>>();
  const unsubscribe = bus.subscribe(CHANNEL, (message) => {
    const m = message as Wire;
    if (m.type !== 'status') {
      local.emit(m.jobId, { type: m.type, data: m.data } as JobEvent);
      return;
    }
    if (local.listenerCount(m.jobId) === 0) return; // nobody here follows it: no need to read it
    const next = (reading.get(m.jobId) ?? Promise.resolve()).then(async () => {
      const job = await readJob(m.jobId).catch(() => null);
      if (job) local.emit(m.jobId, { type: 'status', data: job } satisfies JobEvent);
    });
    reading.set(m.jobId, next);
    void next.finally(() => { if (reading.get(m.jobId) === next) reading.delete(m.jobId); });
  });
  const publish = (m: Wire) => bus.publish(CHANNEL, m).catch(() => { /* followers catch up from the store */ });
  return {
    epoch: (jobId: string, data: EpochRecord) => publish({ jobId, type: 'epoch', data }),
    progress: (jobId: string, data: Progress) => publish({ jobId, type: 'progress', data }),
    /** The job changed state: every node's followers read it. */
    status: (jobId: string) => publish({ jobId, type: 'status' }),
    /** Calls `listener` with every event of the job until the returned function is called. */
    subscribe(jobId: string, listener: (e: JobEvent) => void): () => void {
      local.on(jobId, listener);
      return () => { local.off(jobId, listener); };
    },
    close: unsubscribe,
  };
}

export type JobEvents = ReturnType<typeof createJobEvents>;
