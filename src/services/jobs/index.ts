// The jobs service: submission with the one spec, the view of a job (live progress and ETA over the
// stored figures), cancel, epochs and live events, on any node. A node that trains (role all or
// worker) also runs the runner; an api node only queues, and tells the workers over the store's bus.
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { FINISHED, type EpochRecord, type Job, type JobStatus, type Page, type Store } from '../../store/types.js';
import { errors } from '../errors.js';
import { createJobEvents, type JobEvent } from './events.js';
import { resolveOptimizer, resolveSpec } from './resolve.js';
import { CHANNELS, createRunner } from './runner.js';
import type { JobSpec, JobSpecRequest } from './spec.js';

export type { JobEvent } from './events.js';

/** A job in one of these states will not change again. */
export const isFinished = (status: JobStatus) => FINISHED.includes(status);

export function createJobService(deps: { config: Config; store: Store<JobSpec>; logger: Logger }) {
  const { config, store } = deps;
  const log = deps.logger.child({ component: 'jobs' });
  const events = createJobEvents(store.bus, async (id) => {
    const job = await store.jobs.get(id);
    return job && view(job);
  });
  const runner = config.role === 'api' ? null : createRunner({ ...deps, events, view });
  let accepting = true;

  /** The stored job with what only its runner knows overlaid: progress inside the epoch, speed, ETA.
   *  On another node, the figures the runner last wrote to the store. */
  function view(stored: Job<JobSpec>): Job<JobSpec> {
    // A job stored before adam (or threads) existed: sgd with every setting shown, on one thread.
    const spec = stored.spec;
    const job = spec.optimizer.name && spec.threads ? stored
      : { ...stored, spec: { ...spec, optimizer: resolveOptimizer(spec.optimizer), threads: spec.threads ?? 1 } };
    const l = runner?.live(job.id);
    if (!l || job.status !== 'running') return job;
    const done = l.epochsDone + l.fraction;
    const epochMs = l.lastEpochMs ?? (l.fraction > 0 ? (Date.now() - l.epochStartedAt) / l.fraction : null);
    return {
      ...job,
      progress: Math.min(1, done / job.epochs),
      samplesPerSec: l.samplesPerSec ?? job.samplesPerSec,
      etaSeconds: epochMs === null ? null : Math.max(0, ((job.epochs - done) * epochMs) / 1000),
    };
  }

  async function find(id: string): Promise<Job<JobSpec>> {
    const job = await store.jobs.get(id);
    if (!job) throw errors.notFound('job', id);
    return job;
  }

  return {
    async submit(input: JobSpecRequest): Promise<Job<JobSpec>> {
      if (!accepting) throw errors.shuttingDown();
      const dataset = await store.datasets.get(input.datasetId);
      if (!dataset) throw errors.invalidInput(`dataset ${input.datasetId} does not exist`, { field: 'datasetId' });
      if (input.faultInjection && !config.faultInjection) {
        throw errors.invalidSpec('faultInjection', 'faultInjection is accepted only when the service runs with FAULT_INJECTION=1');
      }
      const spec = resolveSpec(input, dataset, () => Math.floor(Math.random() * 2 ** 31));
      const job = await store.jobs.create(spec, config.maxQueuedJobs);
      if (!job) throw errors.queueFull(config.maxQueuedJobs);
      log.info({ jobId: job.id, datasetId: spec.datasetId, event: 'queued' }, 'job queued');
      void store.bus.publish(CHANNELS.queued, { jobId: job.id }).catch(() => { /* workers also poll */ });
      return job;
    },

    async cancel(id: string): Promise<Job<JobSpec>> {
      const job = await find(id);
      if (isFinished(job.status) || !await store.jobs.cancel(id)) {
        const now = await find(id);
        throw errors.conflict('job_finished', `job ${id} has already ${now.status}; only queued or running jobs can be cancelled`);
      }
      // The node training it stops at its next minibatch: told at once here or over the bus, and in
      // any case at its next lease renewal, which the cancel makes fail.
      await store.bus.publish(CHANNELS.cancelled, { jobId: id }).catch(() => {});
      if (job.searchId) await store.bus.publish(CHANNELS.trial, { searchId: job.searchId }).catch(() => {});
      log.info({ jobId: id, event: 'cancelled' }, 'job cancelled');
      void events.status(id);
      return view(await find(id));
    },

    get: async (id: string) => view(await find(id)),

    async list(filter: { status?: JobStatus; searchId?: string; limit: number; offset: number }): Promise<Page<Job<JobSpec>>> {
      const page = await store.jobs.list(filter);
      return { ...page, items: page.items.map(view) };
    },

    /** The epochs after `since`; not_found for an unknown job. */
    async epochs(id: string, since: number): Promise<EpochRecord[]> {
      await find(id);
      return store.jobs.epochs(id, since);
    },

    /**
     * Follows a job: first the epochs after `since`, then its status, then every event as it comes,
     * until the returned function is called. Subscribes before reading history, so nothing falls between.
     */
    async follow(id: string, since: number, listener: (e: JobEvent) => void): Promise<() => void> {
      await find(id);
      let lastEpoch = since;
      const onEvent = (e: JobEvent) => {
        if (e.type === 'epoch') {
          if (e.data.epoch <= lastEpoch) return;
          lastEpoch = e.data.epoch;
        }
        listener(e);
      };
      const unsubscribe = events.subscribe(id, onEvent);
      for (const epoch of await store.jobs.epochs(id, since)) onEvent({ type: 'epoch', data: epoch });
      onEvent({ type: 'status', data: view(await find(id)) });
      return unsubscribe;
    },

    /** Every event of the job (any node), until the returned function is called. */
    subscribe: (id: string, listener: (e: JobEvent) => void) => events.subscribe(id, listener),
    /** Tells every node's followers that the job changed state (its search decided on it). */
    statusChanged: (id: string) => events.status(id),

    /** The ids of the jobs this node trains now. */
    running: () => runner?.running() ?? [],
    start: async () => { await runner?.start(); },
    ready: () => accepting,
    async close(timeoutMs?: number): Promise<void> {
      accepting = false;
      await runner?.close(timeoutMs);
      events.close();
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
