// The job runner: a queue in SQLite, a Piscina pool of training workers, live progress, cancel,
// checkpoints, recovery at start and an orderly hand-back at shutdown.
// The event loop never trains: it only writes what workers report, one transaction per epoch.
import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import type { Config } from '../config.js';
import type { EpochMetrics } from '../engine/types.js';
import type { DatasetRepository } from '../store/datasets.js';
import type { EpochRecord, Job as StoredJob, JobRepository as StoredJobs } from '../store/jobs.js';
import { errors } from './errors.js';
import { CONTROL, type TrainTask, type WorkerMessage } from './messages.js';
import { resolveSpec, SpecError, type JobSpec, type JobSpecInput } from './spec.js';

type Job = StoredJob<JobSpec>;
type JobRepository = StoredJobs<JobSpec>;
import { workerFile } from './worker-file.js';

export type JobEvent =
  | { type: 'epoch'; data: EpochRecord }
  | { type: 'progress'; data: { epoch: number; fraction: number; progress: number; samplesPerSec: number; etaSeconds: number | null } }
  | { type: 'status'; data: Job };

interface Live {
  control: Int32Array;
  cancelled: boolean;
  epochsDone: number;
  fraction: number;
  samplesPerSec: number | null;
  lastEpochMs: number | null;
  epochStartedAt: number;
  settled: Promise<void>;
}

export function epochRecord(m: EpochMetrics, at: string): EpochRecord {
  const { samplesPerSec: _speed, ...figures } = m;
  return { ...figures, at };
}

export function createRunner(deps: {
  config: Config; jobs: JobRepository; datasets: DatasetRepository; logger: Logger;
}) {
  const { config, jobs, datasets } = deps;
  const log = deps.logger.child({ component: 'runner' });
  const pool = new Piscina({
    filename: workerFile(),
    minThreads: 0,
    maxThreads: config.workers,
    idleTimeout: 30_000,
    resourceLimits: { maxOldGenerationSizeMb: config.workerMaxHeapMb },
  });
  const live = new Map<string, Live>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let accepting = true;

  const emit = (jobId: string, event: JobEvent) => events.emit(jobId, event);
  const emitStatus = (id: string) => {
    const job = view(jobs.get(id));
    if (job) emit(id, { type: 'status', data: job });
    return job;
  };

  /** The stored job with what only the runner knows overlaid: progress inside the epoch, speed, ETA. */
  function view(job: Job | null): Job | null {
    if (!job) return null;
    const l = live.get(job.id);
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

  function submit(input: JobSpecInput): Job {
    if (!accepting) throw errors.shuttingDown();
    const dataset = datasets.get(input.datasetId);
    if (!dataset) throw errors.invalidInput(`dataset ${input.datasetId} does not exist`, { field: 'datasetId' });
    if (input.faultInjection && !config.faultInjection) {
      throw errors.invalidSpec('faultInjection', 'faultInjection is accepted only when the service runs with FAULT_INJECTION=1');
    }
    let spec;
    try {
      spec = resolveSpec(input, dataset, () => Math.floor(Math.random() * 2 ** 31));
    } catch (err) {
      if (err instanceof SpecError) throw errors.invalidSpec(err.field, err.message);
      throw err;
    }
    if (jobs.countQueued() >= config.maxQueuedJobs) throw errors.queueFull(config.maxQueuedJobs);
    const job = jobs.create(spec);
    log.info({ jobId: job.id, datasetId: spec.datasetId, event: 'queued' }, 'job queued');
    setImmediate(pump);
    return job;
  }

  function cancel(id: string): Job {
    const job = jobs.get(id);
    if (!job) throw errors.notFound('job', id);
    if (job.status !== 'queued' && job.status !== 'running') {
      throw errors.conflict('job_finished', `job ${id} has already ${job.status}; only queued or running jobs can be cancelled`);
    }
    const l = live.get(id);
    if (l) {
      l.cancelled = true;
      Atomics.store(l.control, 0, CONTROL.cancel);
    }
    jobs.cancel(id);
    log.info({ jobId: id, event: 'cancelled' }, 'job cancelled');
    return emitStatus(id)!;
  }

  /** Starts queued jobs, oldest first, while a worker is free. */
  function pump(): void {
    while (accepting && live.size < config.workers) {
      const next = nextUnstarted();
      if (!next) return;
      start(next);
    }
  }

  function nextUnstarted(): Job | null {
    const job = jobs.nextQueued();
    return job && !live.has(job.id) ? job : null;
  }

  function start(job: Job): void {
    const dataset = job.datasetId ? datasets.get(job.datasetId) : null;
    if (!dataset) {
      jobs.fail(job.id, { code: 'dataset_gone', message: 'the dataset this job trains on was deleted' });
      emitStatus(job.id);
      return;
    }
    jobs.markRunning(job.id);
    const control = new Int32Array(new SharedArrayBuffer(4));
    const channel = new MessageChannel();
    const l: Live = {
      control, cancelled: false, epochsDone: job.epoch, fraction: 0, samplesPerSec: null,
      lastEpochMs: null, epochStartedAt: Date.now(), settled: Promise.resolve(),
    };
    live.set(job.id, l);
    const limit = job.spec.maxRuntimeSeconds;
    const task: TrainTask = {
      kind: 'train', jobId: job.id, databasePath: config.databasePath, spec: job.spec,
      dataset: { features: dataset.features, task: dataset.task, classes: dataset.classes, featureNames: dataset.featureNames, targetName: dataset.targetName },
      control: control.buffer as SharedArrayBuffer,
      deadline: limit === null ? null : Date.now() + limit * 1000 - jobs.runtimeMs(job.id),
      progressIntervalMs: config.progressIntervalMs,
      nice: config.workerNice,
      port: channel.port2,
      fault: job.spec.faultInjection ?? null,
    };
    log.info({ jobId: job.id, event: 'started', ...(job.epoch > 0 ? { resumeAfterEpoch: job.epoch } : {}) }, 'job started');
    emitStatus(job.id);

    let final: WorkerMessage | null = null;
    let resolveFinal!: () => void;
    const finalArrived = new Promise<void>((r) => { resolveFinal = r; });
    channel.port1.on('message', (m: WorkerMessage) => {
      if (m.type === 'done' || m.type === 'failed') {
        final = m;
        resolveFinal();
      } else {
        onMessage(job, l, m);
      }
    });
    const ran = pool.run(task, { transferList: [channel.port2] });
    l.settled = ran.then(
      async () => {
        await finalArrived;
        finish(job, l, final!);
      },
      async (err: Error & { code?: string }) => {
        // Messages posted before the worker died may still be in flight on the port.
        await Promise.race([finalArrived, new Promise((r) => setTimeout(r, 200))]);
        if (final) finish(job, l, final);
        else crashed(job, l, err);
      },
    ).catch((err) => log.error({ err, jobId: job.id }, 'job bookkeeping failed'))
      .finally(() => {
        channel.port1.close();
        live.delete(job.id);
        setImmediate(pump);
      });
  }

  function onMessage(job: Job, l: Live, m: WorkerMessage): void {
    if (l.cancelled) return;
    if (m.type === 'started') {
      l.epochsDone = m.resumedFromEpoch;
    } else if (m.type === 'progress') {
      l.fraction = m.fraction;
      l.samplesPerSec = m.samplesPerSec;
      const v = view(jobs.get(job.id));
      if (v) emit(job.id, { type: 'progress', data: { epoch: m.epoch, fraction: m.fraction, progress: v.progress, samplesPerSec: m.samplesPerSec, etaSeconds: v.etaSeconds } });
    } else if (m.type === 'epoch') {
      const record = epochRecord(m.metrics, new Date().toISOString());
      jobs.recordEpoch(job.id, record, m.metrics.samplesPerSec, m.state);
      l.epochsDone = m.metrics.epoch;
      l.fraction = 0;
      l.samplesPerSec = m.metrics.samplesPerSec;
      l.lastEpochMs = m.metrics.durationMs;
      l.epochStartedAt = Date.now();
      log.debug({ jobId: job.id, event: 'epoch', epoch: m.metrics.epoch, loss: m.metrics.loss }, 'epoch');
      emit(job.id, { type: 'epoch', data: record });
    }
  }

  function finish(job: Job, l: Live, m: WorkerMessage): void {
    if (m.type === 'failed') {
      if (jobs.fail(job.id, { code: m.code, message: m.message })) {
        log.warn({ jobId: job.id, event: 'failed', code: m.code }, m.message);
      }
    } else if (m.type === 'done') {
      if (m.reason === 'interrupted') {
        jobs.requeue(job.id);
        log.info({ jobId: job.id, event: 'requeued' }, 'job handed back to the queue');
      } else if (m.reason !== 'cancelled' && m.model && !l.cancelled) {
        const stored = jobs.get(job.id)!;
        const dataset = job.datasetId ? datasets.get(job.datasetId) : null;
        const modelId = jobs.succeed(stored, {
          task: dataset?.task ?? 'classification',
          architecture: { inputs: dataset?.features, hidden: job.spec.hidden, output: job.spec.output, loss: job.spec.loss },
          // The figures of the epoch whose weights the model keeps (the best one under early stopping).
          metrics: jobs.epochs(job.id, 0).find((e) => e.epoch === m.bestEpoch) ?? stored.metrics,
          classes: dataset?.classes ?? null,
          featureNames: dataset?.featureNames ?? [],
          features: dataset?.features ?? 0,
          bestEpoch: m.bestEpoch,
          bytes: m.model,
        }, m.reason);
        if (modelId) log.info({ jobId: job.id, modelId, event: 'finished', reason: m.reason }, 'job succeeded');
      }
    } else {
      return;
    }
    emitStatus(job.id);
  }

  function crashed(job: Job, l: Live, err: Error & { code?: string }): void {
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
      jobs.requeue(job.id);
      return;
    }
    jobs.fail(job.id, error);
    log.error({ jobId: job.id, event: 'failed', code: error.code, err }, 'worker failed');
    emitStatus(job.id);
  }

  return {
    events,
    /** Puts jobs left running by a previous process back in the queue, then starts what fits. */
    start(): number {
      const recovered = jobs.requeueAllRunning();
      if (recovered > 0) log.warn({ recovered }, 'jobs left running by a previous process were re-queued');
      pump();
      return recovered;
    },
    submit,
    cancel,
    get: (id: string) => view(jobs.get(id)),
    list: (filter: Parameters<JobRepository['list']>[0]) => {
      const page = jobs.list(filter);
      return { ...page, items: page.items.map((j) => view(j)!) };
    },
    runningCount: () => live.size,
    ready: () => accepting,
    /** Stops accepting jobs, asks running ones to stop at the next minibatch and waits for their
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

export type Runner = ReturnType<typeof createRunner>;
