// The runner: claims queued jobs for this node while a worker is free, renews their leases, hands each
// its rows and checkpoint, writes what the worker reports (one fenced transaction per epoch) and the
// outcome, requeues jobs whose node is gone, and hands its own jobs back at shutdown. The event loop
// never trains.
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import type { Config } from '../../config.js';
import type { EpochMetrics } from '../../engine/types.js';
import { StoreFullError, StoreUnavailableError } from '../../store/errors.js';
import type { Dataset, EpochRecord, Job, NewModel, Store } from '../../store/types.js';
import { workerPath } from '../worker-path.js';
import type { JobEvents } from './events.js';
import { ACK, CONTROL, transferables, type TrainTask, type WorkerMessage } from './messages.js';
import type { JobSpec } from './spec.js';

/** What only the runner knows of a running job: where it is inside the epoch, and how fast it goes. */
export interface Live {
  control: Int32Array;
  /** Cancelled here, or the node lost the job: nothing more is written for it. */
  cancelled: boolean;
  epochsDone: number;
  fraction: number;
  samplesPerSec: number | null;
  lastEpochMs: number | null;
  epochStartedAt: number;
  /** When its progress last went to the store. */
  progressWrittenAt: number;
  threads: number;
  settled: Promise<void>;
}

type StoredJob = Job<JobSpec>;

/** Bus channels the runners of all nodes listen on. */
export const CHANNELS = {
  queued: 'job_queued', cancelled: 'job_cancelled',
  /** A search's trial paused at a rung or ended here: its search decides what comes next. */
  trial: 'search_trial',
} as const;

function epochRecord(m: EpochMetrics, at: string): EpochRecord {
  const { samplesPerSec: _speed, ...figures } = m;
  return { ...figures, at };
}

export function createRunner(deps: {
  config: Config; store: Store<JobSpec>; events: JobEvents; logger: Logger;
  /** The job as clients see it: progress and ETA overlaid. */
  view: (job: StoredJob) => StoredJob;
}) {
  const { config, store, events } = deps;
  const node = config.nodeId;
  const leaseMs = config.jobLeaseMs;
  const log = deps.logger.child({ component: 'runner', node });
  const pool = new Piscina({
    filename: workerPath(import.meta.url, './train-worker.js'),
    minThreads: 0,
    maxThreads: config.workers,
    idleTimeout: 30_000,
    resourceLimits: { maxOldGenerationSizeMb: config.workerMaxHeapMb },
  });
  const live = new Map<string, Live>();
  const usedThreads = () => [...live.values()].reduce((sum, l) => sum + l.threads, 0);
  const timers: NodeJS.Timeout[] = [];
  const unsubscribe: (() => void)[] = [];
  let accepting = true;
  let pumping = false;
  let again = false;

  /**
   * Runs a store write, retrying while the database is unreachable (the job's state stays in memory
   * meanwhile), until it succeeds, fails otherwise, or this node stops.
   */
  async function persist<T>(what: string, write: () => Promise<T>): Promise<T> {
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || !accepting) throw err;
        log.warn({ what, retryInMs: delay }, 'database unavailable: retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Claims and starts queued jobs, oldest first, while a worker is free; one pass at a time. */
  async function pump(): Promise<void> {
    if (pumping) { again = true; return; }
    pumping = true;
    try {
      do {
        again = false;
        // A job per worker, and while the threads of running jobs leave a core free (a job with more
        // threads than are free still starts when it would run alone).
        while (accepting && live.size < config.workers && usedThreads() < config.cores) {
          const job = await store.jobs.claim(node, leaseMs);
          if (!job) break;
          await start(job);
        }
      } while (again);
    } catch (err) {
      if (err instanceof StoreUnavailableError) log.warn({ err: err.message }, 'could not look at the queue: database unavailable');
      else log.error({ err }, 'could not start queued jobs');
    } finally {
      pumping = false;
    }
  }
  const schedule = () => { if (accepting) setImmediate(() => void pump()); };

  /** This node no longer holds the job (cancelled elsewhere, or its lease lapsed and another took it). */
  function lost(id: string, why: string): void {
    const l = live.get(id);
    if (!l || l.cancelled) return;
    l.cancelled = true;
    Atomics.store(l.control, 0, CONTROL.cancel);
    log.info({ jobId: id, event: 'released', why }, 'job no longer held here: stopping its worker');
  }

  async function start(job: StoredJob): Promise<void> {
    const dataset = job.datasetId ? await store.datasets.get(job.datasetId) : null;
    const data = dataset && await store.datasets.data(dataset.id);
    if (!dataset || !data) {
      await store.jobs.fail(job.id, { code: 'dataset_gone', message: 'the dataset this job trains on was deleted' }, node);
      void events.status(job.id);
      return;
    }
    const control = new Int32Array(new SharedArrayBuffer(8));
    control[ACK] = job.epoch;
    const channel = new MessageChannel();
    const l: Live = {
      control, cancelled: false, epochsDone: job.epoch, fraction: 0, samplesPerSec: null,
      lastEpochMs: null, epochStartedAt: Date.now(), progressWrittenAt: 0, threads: job.spec.threads ?? 1,
      settled: Promise.resolve(),
    };
    live.set(job.id, l);
    const limit = job.spec.maxRuntimeSeconds;
    const checkpoint = await store.jobs.checkpoint(job.id);
    const task: TrainTask = {
      jobId: job.id, spec: job.spec, dataset, data, checkpoint: checkpoint?.state ?? null,
      control: control.buffer as SharedArrayBuffer,
      deadline: limit === null ? null : Date.now() + limit * 1000 - await store.jobs.runtimeMs(job.id),
      pauseAt: job.pauseAt,
      progressIntervalMs: config.progressIntervalMs,
      nice: config.workerNice,
      idle: config.workerSchedIdle,
      port: channel.port2,
      fault: job.spec.faultInjection ?? null,
      threads: job.spec.threads ?? 1,
    };
    log.info({ jobId: job.id, event: 'started', ...(job.epoch > 0 ? { resumeAfterEpoch: job.epoch } : {}) }, 'job started');
    void events.status(job.id);

    // The claim is a lease: renewed well before it lapses, for as long as the worker trains.
    const renewal = setInterval(() => {
      store.jobs.renew(job.id, node, leaseMs).then(
        (held) => { if (!held) lost(job.id, 'lease'); },
        (err) => log.warn({ err, jobId: job.id }, 'could not renew the lease'),
      );
    }, Math.max(500, leaseMs / 3));

    // Messages are handled one after another, in order, each after the store has taken the last.
    let handled = Promise.resolve();
    let final: WorkerMessage | null = null;
    let arrived!: () => void;
    const finalArrived = new Promise<void>((resolve) => { arrived = resolve; });
    channel.port1.on('message', (m: WorkerMessage) => {
      if (m.type === 'done' || m.type === 'failed') {
        final = m;
        arrived();
      } else {
        const written = () => {
          if (m.type !== 'epoch') return;
          Atomics.store(control, ACK, m.metrics.epoch);
          Atomics.notify(control, ACK);
        };
        handled = handled.then(() => onMessage(job, l, m)).finally(written).catch(async (err) => {
          log.error({ err, jobId: job.id }, 'could not record what the worker reported');
          lost(job.id, 'store');
          if (err instanceof StoreFullError) {
            // The job cannot go on here; it fails, saying why, rather than coming back to fail again.
            await store.jobs.fail(job.id, { code: 'storage_full', message: err.message }, node).catch(() => {});
            void events.status(job.id);
          }
        });
      }
    });
    const ran = pool.run(task, { transferList: [channel.port2, ...transferables(task)] as never });
    l.settled = ran.then(
      async () => {
        await finalArrived;
        await handled;
        await finish(job, l, final!, dataset);
      },
      async (err: Error & { code?: string }) => {
        // Messages posted before the worker died may still be in flight on the port.
        await Promise.race([finalArrived, new Promise((r) => setTimeout(r, 200))]);
        await handled;
        if (final) await finish(job, l, final, dataset);
        else await crashed(job, l, err);
      },
    ).catch((err) => log.error({ err, jobId: job.id }, 'job bookkeeping failed'))
      .finally(() => {
        clearInterval(renewal);
        channel.port1.close();
        live.delete(job.id);
        if (job.searchId) void store.bus.publish(CHANNELS.trial, { searchId: job.searchId }).catch(() => { /* searches sweep too */ });
        schedule();
      });
  }

  /** Other nodes read a running job's progress from the store: written at most every PROGRESS_INTERVAL_MS. */
  function writeProgress(job: StoredJob, l: Live, samplesPerSec: number): void {
    if (Date.now() - l.progressWrittenAt < config.progressIntervalMs) return;
    l.progressWrittenAt = Date.now();
    const v = deps.view(job);
    // A lost write is made good by the next one.
    store.jobs.recordProgress(job.id, node, { progress: v.progress, samplesPerSec, etaSeconds: v.etaSeconds })
      .catch((err) => log.debug({ err, jobId: job.id }, 'progress not recorded'));
  }

  async function onMessage(job: StoredJob, l: Live, m: WorkerMessage): Promise<void> {
    if (l.cancelled) return;
    if (m.type === 'started') {
      l.epochsDone = m.resumedFromEpoch;
    } else if (m.type === 'progress') {
      l.fraction = m.fraction;
      l.samplesPerSec = m.samplesPerSec;
      const v = deps.view(job);
      void events.progress(job.id, {
        epoch: m.epoch, fraction: m.fraction, loss: m.loss, progress: v.progress, samplesPerSec: m.samplesPerSec, etaSeconds: v.etaSeconds,
      });
      writeProgress(job, l, m.samplesPerSec);
    } else if (m.type === 'epoch') {
      const record = epochRecord(m.metrics, new Date().toISOString());
      const held = await persist('epoch', () => store.jobs.recordEpoch(job.id, node, record, m.metrics.samplesPerSec, m.state));
      if (!held) { lost(job.id, 'fenced'); return; }
      l.epochsDone = m.metrics.epoch;
      l.fraction = 0;
      l.samplesPerSec = m.metrics.samplesPerSec;
      // Wall-clock time between epochs: what the ETA needs, checkpoint writes included.
      l.lastEpochMs = Date.now() - l.epochStartedAt;
      l.epochStartedAt = Date.now();
      job.epoch = m.metrics.epoch;
      job.metrics = record;
      log.debug({ jobId: job.id, event: 'epoch', epoch: m.metrics.epoch, loss: m.metrics.loss }, 'epoch');
      void events.epoch(job.id, record);
      writeProgress(job, l, m.metrics.samplesPerSec);
    }
  }

  async function finish(job: StoredJob, l: Live, m: WorkerMessage, dataset: Dataset): Promise<void> {
    if (l.cancelled) return;
    if (m.type === 'failed') {
      if (await persist('failure', () => store.jobs.fail(job.id, { code: m.code, message: m.message }, node))) {
        log.warn({ jobId: job.id, event: 'failed', code: m.code }, m.message);
      }
    } else if (m.type === 'done') {
      if (m.reason === 'interrupted') {
        await persist('hand-back', () => store.jobs.requeue(job.id, node));
        log.info({ jobId: job.id, event: 'requeued' }, 'job handed back to the queue');
      } else if (m.reason !== 'cancelled' && m.model) {
        const best = m.bestEpoch === job.epoch ? job.metrics
          : (await store.jobs.epochs(job.id, (m.bestEpoch ?? 1) - 1))[0] ?? job.metrics;
        const model: NewModel = {
          name: job.spec.modelName ?? null,
          task: dataset.task,
          architecture: { inputs: dataset.features, hidden: job.spec.hidden, output: job.spec.output, loss: job.spec.loss },
          // The figures of the epoch whose weights the model keeps (the best one under early stopping).
          metrics: best,
          classes: dataset.classes,
          featureNames: dataset.featureNames,
          features: dataset.features,
          bestEpoch: m.bestEpoch,
          bytes: m.model,
        };
        if (m.reason === 'paused') {
          // A trial at its rung: held in the queue, with this model kept aside, until its search decides.
          if (await persist('pause', () => store.jobs.pause(job.id, node, model))) {
            log.info({ jobId: job.id, event: 'paused', epoch: job.epoch }, 'trial paused at its rung');
          }
        } else {
          const modelId = await persist('model', () => store.jobs.succeed(job.id, node, model, m.reason));
          if (modelId) log.info({ jobId: job.id, modelId, event: 'finished', reason: m.reason }, 'job succeeded');
        }
      }
    } else {
      return;
    }
    void events.status(job.id);
  }

  async function crashed(job: StoredJob, l: Live, err: Error & { code?: string }): Promise<void> {
    if (l.cancelled) return;
    const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const exited = /exited/i.test(err.message);
    const error = oom
      ? { code: 'out_of_memory', message: `the training worker ran out of memory (WORKER_MAX_HEAP_MB=${config.workerMaxHeapMb}): use fewer or smaller layers, a smaller batch, or raise the limit` }
      : exited
        ? { code: 'worker_crashed', message: `the training worker exited unexpectedly (${err.message}); the job can be submitted again` }
        : { code: 'worker_error', message: `training failed inside the worker (${err.message}); the job can be submitted again` };
    if (!accepting && !oom) {
      // Shutdown terminated the worker: the job resumes from its checkpoint at the next start.
      await store.jobs.requeue(job.id, node);
      return;
    }
    await store.jobs.fail(job.id, error, node);
    log.error({ jobId: job.id, event: 'failed', code: error.code, err }, 'worker failed');
    void events.status(job.id);
  }

  /** Jobs whose node stopped renewing go back to the queue; any node's runner may then resume them. */
  async function sweep(): Promise<void> {
    try {
      // Our own leases first: after the database was away, the jobs this node still trains are renewed
      // before any lapsed lease is taken back, so they go on here rather than restart elsewhere.
      for (const id of live.keys()) {
        if (!await store.jobs.renew(id, node, leaseMs)) lost(id, 'lease');
      }
      const requeued = await store.jobs.requeueExpired();
      for (const id of requeued) {
        log.warn({ jobId: id, event: 'requeued' }, 'the lease of a running job lapsed: back to the queue');
        void events.status(id);
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not sweep lapsed leases');
    }
    await pump();
  }

  return {
    /**
     * Starts taking jobs. The only process on a SQLite file puts every job left running back in the
     * queue at once; on a shared store, jobs of a node that is gone come back when their lease lapses.
     */
    async start(): Promise<number> {
      const recovered = store.kind === 'sqlite' ? await store.jobs.requeueAllRunning() : (await store.jobs.requeueExpired()).length;
      if (recovered > 0) log.warn({ recovered }, 'jobs left running by a node that is gone were re-queued');
      unsubscribe.push(
        store.bus.subscribe(CHANNELS.queued, schedule),
        store.bus.subscribe(CHANNELS.cancelled, (m) => lost((m as { jobId: string }).jobId, 'cancelled')),
      );
      // Notifications can be missed (a dropped connection): look at the queue now and then anyway.
      timers.push(setInterval(() => void sweep(), Math.min(5000, Math.max(500, leaseMs / 2))));
      await pump();
      return recovered;
    },
    live: (id: string) => live.get(id),
    running: () => [...live.keys()],
    accepting: () => accepting,
    /** Stops claiming jobs, asks running ones to stop at the next minibatch and waits for their
     *  hand-back (they resume from their checkpoint on the next node to claim them), then closes the pool. */
    async close(timeoutMs = 7000): Promise<void> {
      accepting = false;
      timers.forEach(clearInterval);
      unsubscribe.forEach((u) => u());
      for (const l of live.values()) Atomics.store(l.control, 0, CONTROL.interrupt);
      const settled = Promise.all([...live.values()].map((l) => l.settled));
      const timer = new Promise((r) => setTimeout(r, timeoutMs).unref());
      await Promise.race([settled, timer]);
      await pool.destroy();
    },
  };
}

