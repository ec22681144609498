// The runner: claims queued jobs while a worker is free, hands each its rows and checkpoint, writes
// what the worker reports (one transaction per epoch) and the outcome, and hands running jobs back to
// the queue at shutdown. The event loop never trains.
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import type { Config } from '../../config.js';
import type { EpochMetrics } from '../../engine/types.js';
import type { Dataset, EpochRecord, Job, Store } from '../../store/types.js';
import { workerPath } from '../worker-path.js';
import type { JobEvents } from './events.js';
import { CONTROL, transferables, type TrainTask, type WorkerMessage } from './messages.js';
import type { JobSpec } from './spec.js';

/** What only the runner knows of a running job: where it is inside the epoch, and how fast it goes. */
export interface Live {
  control: Int32Array;
  cancelled: boolean;
  epochsDone: number;
  fraction: number;
  samplesPerSec: number | null;
  lastEpochMs: number | null;
  epochStartedAt: number;
  settled: Promise<void>;
}

type StoredJob = Job<JobSpec>;

function epochRecord(m: EpochMetrics, at: string): EpochRecord {
  const { samplesPerSec: _speed, ...figures } = m;
  return { ...figures, at };
}

export function createRunner(deps: {
  config: Config; store: Store<JobSpec>; events: JobEvents; logger: Logger;
  /** The job as clients see it, for status events. */
  view: (job: StoredJob) => StoredJob;
}) {
  const { config, store, events } = deps;
  const log = deps.logger.child({ component: 'runner' });
  const pool = new Piscina({
    filename: workerPath(import.meta.url, './train-worker.js'),
    minThreads: 0,
    maxThreads: config.workers,
    idleTimeout: 30_000,
    resourceLimits: { maxOldGenerationSizeMb: config.workerMaxHeapMb },
  });
  const live = new Map<string, Live>();
  let accepting = true;
  let pumping = false;
  let again = false;

  async function emitStatus(id: string): Promise<void> {
    const job = await store.jobs.get(id);
    if (job) events.emit(id, { type: 'status', data: deps.view(job) });
  }

  /** Claims and starts queued jobs, oldest first, while a worker is free; one pass at a time. */
  async function pump(): Promise<void> {
    if (pumping) { again = true; return; }
    pumping = true;
    try {
      do {
        again = false;
        while (accepting && live.size < config.workers) {
          const job = await store.jobs.claim();
          if (!job) break;
          await start(job);
        }
      } while (again);
    } catch (err) {
      log.error({ err }, 'could not start queued jobs');
    } finally {
      pumping = false;
    }
  }
  const schedule = () => { setImmediate(() => void pump()); };

  async function start(job: StoredJob): Promise<void> {
    const dataset = job.datasetId ? await store.datasets.get(job.datasetId) : null;
    const data = dataset && await store.datasets.data(dataset.id);
    if (!dataset || !data) {
      await store.jobs.fail(job.id, { code: 'dataset_gone', message: 'the dataset this job trains on was deleted' });
      await emitStatus(job.id);
      return;
    }
    const control = new Int32Array(new SharedArrayBuffer(4));
    const channel = new MessageChannel();
    const l: Live = {
      control, cancelled: false, epochsDone: job.epoch, fraction: 0, samplesPerSec: null,
      lastEpochMs: null, epochStartedAt: Date.now(), settled: Promise.resolve(),
    };
    live.set(job.id, l);
    const limit = job.spec.maxRuntimeSeconds;
    const checkpoint = await store.jobs.checkpoint(job.id);
    const task: TrainTask = {
      jobId: job.id, spec: job.spec, dataset, data, checkpoint: checkpoint?.state ?? null,
      control: control.buffer as SharedArrayBuffer,
      deadline: limit === null ? null : Date.now() + limit * 1000 - await store.jobs.runtimeMs(job.id),
      progressIntervalMs: config.progressIntervalMs,
      nice: config.workerNice,
      port: channel.port2,
      fault: job.spec.faultInjection ?? null,
    };
    log.info({ jobId: job.id, event: 'started', ...(job.epoch > 0 ? { resumeAfterEpoch: job.epoch } : {}) }, 'job started');
    await emitStatus(job.id);

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
        handled = handled.then(() => onMessage(job, l, m)).catch((err) => log.error({ err, jobId: job.id }, 'could not record an epoch'));
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
        channel.port1.close();
        live.delete(job.id);
        schedule();
      });
  }

  async function onMessage(job: StoredJob, l: Live, m: WorkerMessage): Promise<void> {
    if (l.cancelled) return;
    if (m.type === 'started') {
      l.epochsDone = m.resumedFromEpoch;
    } else if (m.type === 'progress') {
      l.fraction = m.fraction;
      l.samplesPerSec = m.samplesPerSec;
      const v = deps.view(job);
      events.emit(job.id, { type: 'progress', data: { epoch: m.epoch, fraction: m.fraction, progress: v.progress, samplesPerSec: m.samplesPerSec, etaSeconds: v.etaSeconds } });
    } else if (m.type === 'epoch') {
      const record = epochRecord(m.metrics, new Date().toISOString());
      if (!await store.jobs.recordEpoch(job.id, record, m.metrics.samplesPerSec, m.state)) return;
      l.epochsDone = m.metrics.epoch;
      l.fraction = 0;
      l.samplesPerSec = m.metrics.samplesPerSec;
      l.lastEpochMs = m.metrics.durationMs;
      l.epochStartedAt = Date.now();
      job.epoch = m.metrics.epoch;
      job.metrics = record;
      log.debug({ jobId: job.id, event: 'epoch', epoch: m.metrics.epoch, loss: m.metrics.loss }, 'epoch');
      events.emit(job.id, { type: 'epoch', data: record });
    }
  }

  async function finish(job: StoredJob, l: Live, m: WorkerMessage, dataset: Dataset): Promise<void> {
    if (m.type === 'failed') {
      if (await store.jobs.fail(job.id, { code: m.code, message: m.message })) {
        log.warn({ jobId: job.id, event: 'failed', code: m.code }, m.message);
      }
    } else if (m.type === 'done') {
      if (m.reason === 'interrupted') {
        await store.jobs.requeue(job.id);
        log.info({ jobId: job.id, event: 'requeued' }, 'job handed back to the queue');
      } else if (m.reason !== 'cancelled' && m.model && !l.cancelled) {
        const best = m.bestEpoch === job.epoch ? job.metrics
          : (await store.jobs.epochs(job.id, (m.bestEpoch ?? 1) - 1))[0] ?? job.metrics;
        const modelId = await store.jobs.succeed(job.id, {
          task: dataset.task,
          architecture: { inputs: dataset.features, hidden: job.spec.hidden, output: job.spec.output, loss: job.spec.loss },
          // The figures of the epoch whose weights the model keeps (the best one under early stopping).
          metrics: best,
          classes: dataset.classes,
          featureNames: dataset.featureNames,
          features: dataset.features,
          bestEpoch: m.bestEpoch,
          bytes: m.model,
        }, m.reason);
        if (modelId) log.info({ jobId: job.id, modelId, event: 'finished', reason: m.reason }, 'job succeeded');
      }
    } else {
      return;
    }
    await emitStatus(job.id);
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
      await store.jobs.requeue(job.id);
      return;
    }
    await store.jobs.fail(job.id, error);
    log.error({ jobId: job.id, event: 'failed', code: error.code, err }, 'worker failed');
    await emitStatus(job.id);
  }

  return {
    /** Puts jobs left running by a previous process back in the queue, then starts what fits. */
    async start(): Promise<number> {
      const recovered = await store.jobs.requeueAllRunning();
      if (recovered > 0) log.warn({ recovered }, 'jobs left running by a previous process were re-queued');
      await pump();
      return recovered;
    },
    /** A job was queued: start it if a worker is free. */
    queued: schedule,
    live: (id: string) => live.get(id),
    /** Tells the job's worker to stop at the next minibatch; the caller records the cancel. */
    cancel(id: string): void {
      const l = live.get(id);
      if (!l) return;
      l.cancelled = true;
      Atomics.store(l.control, 0, CONTROL.cancel);
    },
    accepting: () => accepting,
    /** Stops claiming jobs, asks running ones to stop at the next minibatch and waits for their
     *  hand-back (they resume from their checkpoint at the next start), then closes the pool. */
    async close(timeoutMs = 7000): Promise<void> {
      accepting = false;
      for (const l of live.values()) Atomics.store(l.control, 0, CONTROL.interrupt);
      const settled = Promise.all([...live.values()].map((l) => l.settled));
      const timer = new Promise((r) => setTimeout(r, timeoutMs).unref());
      await Promise.race([settled, timer]);
      await pool.destroy();
    },
  };
}


