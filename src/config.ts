// The process environment, validated once at start; every other module receives a Config.
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

const MiB = 1024 * 1024;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  /** postgres://… selects PostgreSQL as the shared store of many nodes; unset keeps SQLite in DATA_DIR. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL').optional(),
  /** all: API and training; api: the API and dashboard, never trains; worker: trains, serves only its health routes. */
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  NODE_ID: z.string().min(1).max(200).optional(),
  /** How long a node holds a running job without renewing its claim; past it another node resumes the job. */
  JOB_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.enum(['0', '1', 'true', 'false']).default('false'),
  WORKERS: positiveInt(availableParallelism()),
  MAX_UPLOAD_BYTES: positiveInt(512 * MiB),
  MAX_QUEUED_JOBS: positiveInt(100),
  /** Heap limit of one training worker; past it the job fails as out_of_memory, the process lives on. */
  WORKER_MAX_HEAP_MB: positiveInt(4096),
  /** Scheduling priority of training threads (Linux nice, 0–19): predictions keep the CPU they need. */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(19),
  /** Linux: training threads also take the SCHED_IDLE policy, so a waking event loop preempts them at once. */
  WORKER_SCHED_IDLE: z.enum(['0', '1']).default('1'),
  /** How often a worker reports progress inside an epoch (the event stream's `progress` events). */
  PROGRESS_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  /** Past this event-loop delay the service answers 503 (overloaded) until it recovers. */
  MAX_EVENT_LOOP_DELAY_MS: positiveInt(1000),
  /** Requests per minute per client on write routes. */
  RATE_LIMIT_MAX: positiveInt(600),
  /** Prediction batches with more rows than this run in the prediction pool, not the event loop. */
  PREDICT_INLINE_MAX_ROWS: positiveInt(256),
  MAX_PREDICT_ROWS: positiveInt(100_000),
  API_KEY: z.string().min(16, 'API_KEY must be at least 16 characters').optional(),
  /** Tests only: accept a `faultInjection` field in job specs to crash or exhaust a worker on purpose. */
  FAULT_INJECTION: z.enum(['0', '1']).default('0'),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databasePath: string;
  databaseUrl: string | null;
  role: 'all' | 'api' | 'worker';
  nodeId: string;
  jobLeaseMs: number;
  logLevel: string;
  logPretty: boolean;
  workers: number;
  /** This machine's cores: the budget of threads its running jobs share. */
  cores: number;
  maxUploadBytes: number;
  maxQueuedJobs: number;
  workerMaxHeapMb: number;
  workerNice: number;
  workerSchedIdle: boolean;
  progressIntervalMs: number;
  maxEventLoopDelayMs: number;
  rateLimitMax: number;
  predictInlineMaxRows: number;
  maxPredictRows: number;
  apiKey: string | null;
  faultInjection: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    // Without an API key nothing guards the routes, so only this machine may reach them.
    host: e.HOST ?? (e.API_KEY ? '0.0.0.0' : '127.0.0.1'),
    dataDir,
    databasePath: resolve(dataDir, 'service.db'),
    databaseUrl: e.DATABASE_URL ?? null,
    role: e.ROLE,
    nodeId: e.NODE_ID ?? `${hostname()}:${process.pid}`,
    jobLeaseMs: e.JOB_LEASE_SECONDS * 1000,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY === '1' || e.LOG_PRETTY === 'true',
    workers: e.WORKERS,
    cores: availableParallelism(),
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxQueuedJobs: e.MAX_QUEUED_JOBS,
    workerMaxHeapMb: e.WORKER_MAX_HEAP_MB,
    workerNice: e.WORKER_NICE,
    workerSchedIdle: e.WORKER_SCHED_IDLE === '1',
    progressIntervalMs: e.PROGRESS_INTERVAL_MS,
    maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS,
    rateLimitMax: e.RATE_LIMIT_MAX,
    predictInlineMaxRows: e.PREDICT_INLINE_MAX_ROWS,
    maxPredictRows: e.MAX_PREDICT_ROWS,
    apiKey: e.API_KEY ?? null,
    faultInjection: e.FAULT_INJECTION === '1',
  };
}
