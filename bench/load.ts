// Load benchmark: single-row predictions under autocannon against the real server, first with nothing
// training (phase A), then while two long training jobs run (phase B), to show whether training blocks
// the event loop. Prints figures and asserts nothing. Run with `npm run bench:load` (builds first).
//
//   npm run bench:load -- [--duration 20] [--connections 64] [--train-rows 20000] [--fashion] [--niced] [--idle] [--json]
//
// --train-rows  rows of the generated dataset (× 64 features, 10 classes) phase B's jobs train on
//               (a 64-256-256-10 network): fewer rows, shorter epochs, more checkpoints per second.
// --fashion     trains phase B's jobs (784-128-10) on Fashion-MNIST, uploaded as multipart IDX, instead.
// --idle     adds phase D: phase B again with the two training threads moved to SCHED_IDLE from outside the
//            server (`chrt --idle -p 0 TID`): the kernel then lets a waking event loop preempt them at once,
//            where at nice 19 a training thread may finish its slice first (EEVDF's run-to-parity).
// --niced    adds phase C: phase B again with the two training threads reniced to 19 from outside the
//            server, to tell CPU scheduling apart from work the event loop itself does for training.
// Besides autocannon's figures each phase records, from /proc, the server's main thread CPU time and
// the time it spent runnable but waiting for a core (schedstat), and the training threads' CPU time.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { blobs, toCsv } from '../test/helpers/data.js';
import { startServer as startService } from '../test/helpers/server.js';
import { ceiling } from './ceiling.js';

// autocannon ships no types: the part of its API used here.
interface AutocannonResult {
  errors: number; timeouts: number; non2xx: number; '2xx': number;
  latency: { p50: number; p99: number; max: number; average: number };
  requests: { average: number; total: number };
}
/** The run: a promise of the result that also emits ('response', client, status, bytes, ms) per answer. */
type AutocannonRun = Promise<AutocannonResult> & {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};
type Autocannon = (opts: {
  url: string; method: string; headers: Record<string, string>; body: string;
  connections: number; duration: number; timeout?: number;
}) => AutocannonRun;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const FASHION = '/usr/share/datasets/fashion-mnist';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    'train-rows': { type: 'string', default: '20000' },
    fashion: { type: 'boolean', default: false },
    niced: { type: 'boolean', default: false },
    idle: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
if (!Number.isInteger(duration) || duration < 1) throw new Error(`--duration must be a whole number of seconds ≥ 1, got "${args.duration}"`);
const trainRows = Number(args['train-rows']);
if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a whole number ≥ 1, got "${args.connections}"`);
if (!Number.isInteger(trainRows) || trainRows < 10) throw new Error(`--train-rows must be a whole number ≥ 10, got "${args['train-rows']}"`);
const say = (line: string): void => {
  if (!args.json) console.log(line);
};
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

// ---------------------------------------------------------------- the server and its API

interface Server { url: string; pid: number; dataDir: string; stop(): Promise<void>; output(): string }

async function startServer(): Promise<Server> {
  const s = await startService({ env: { WORKERS: '2', RATE_LIMIT_MAX: '1000000' } });
  return {
    url: s.url, pid: s.proc.pid!, dataDir: s.dataDir, output: s.output,
    async stop() {
      await s.stop('SIGTERM');
      s.cleanup();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(server: Server, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const init: RequestInit = { method, headers };
  if (body instanceof FormData || typeof body === 'string') init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...headers, 'content-type': 'application/json' };
  }
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

async function uploadCsv(server: Server, name: string, csv: string): Promise<{ id: string; rows: number; features: number }> {
  return call(server, 'POST', `/v1/datasets?name=${name}&target=label`, csv, { 'content-type': 'text/csv' });
}

async function uploadFashion(server: Server): Promise<{ id: string; rows: number; features: number }> {
  const form = new FormData();
  for (const part of ['images', 'labels'] as const) {
    const file = join(FASHION, `train-${part}-idx${part === 'images' ? 3 : 1}-ubyte.gz`);
    if (!existsSync(file)) throw new Error(`${file} is missing: --fashion needs Fashion-MNIST's IDX files in ${FASHION}`);
    form.append(part, new Blob([readFileSync(file)]), `${part}.gz`);
  }
  return call(server, 'POST', '/v1/datasets?name=fashion-mnist', form);
}

async function waitFor(server: Server, jobId: string, until: (job: any) => boolean, what: string, timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await call(server, 'GET', `/v1/jobs/${jobId}`);
    if (until(job)) return job;
    if (['failed', 'cancelled', 'succeeded'].includes(job.status)) {
      throw new Error(`job ${jobId} ended ${job.status} while waiting until it ${what}: ${JSON.stringify(job.error)}`);
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms, waiting until it ${what}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------- threads, from /proc

const TICK_S = 0.01; // USER_HZ is 100 on Linux

interface ThreadSample { cpuS: number; runqWaitS: number }

/** Each thread of the process: CPU time (utime + stime) and time spent runnable but not running. */
function threads(pid: number): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the ")" closing the thread name: state is field 3, utime 14 and stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuS = (Number(f[11]) + Number(f[12])) * TICK_S;
      let runqWaitS = NaN;
      try {
        runqWaitS = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
      } catch { /* kernel without schedstats */ }
      out.set(Number(tid), { cpuS, runqWaitS });
    } catch { /* the thread ended between readdir and read */ }
  }
  return out;
}

/** Busy CPU seconds of the whole machine (all cores), from the first line of /proc/stat. */
function machineBusy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) * TICK_S; // minus idle and iowait
}

/** CPU seconds of a whole process, all its threads. */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_S;
}

function delta(before: Map<number, ThreadSample>, after: Map<number, ThreadSample>, tid: number): ThreadSample {
  const a = after.get(tid), b = before.get(tid) ?? { cpuS: 0, runqWaitS: 0 };
  return a ? { cpuS: a.cpuS - b.cpuS, runqWaitS: a.runqWaitS - b.runqWaitS } : { cpuS: 0, runqWaitS: 0 };
}

/** The server's threads that burn the most CPU over one second, main thread excluded: the trainers. */
async function busiestThreads(pid: number, count: number): Promise<{ tid: number; cpuShare: number }[]> {
  const before = threads(pid);
  await sleep(1000);
  const after = threads(pid);
  return [...after.keys()]
    .filter((tid) => tid !== pid)
    .map((tid) => ({ tid, cpuShare: round(delta(before, after, tid).cpuS, 2) }))
    .sort((a, b) => b.cpuShare - a.cpuShare)
    .slice(0, count);
}

// ---------------------------------------------------------------- one phase

interface Phase {
  rps: number; p50: number; p99: number; errors: number; non2xx: number;
  timeouts: number; max: number; requests: number;
  /** The server's main thread, per second of the phase: CPU seconds, and seconds runnable but waiting. */
  mainCpu: number; mainRunqWait: number;
  /** The training threads' CPU seconds per second of the phase (0 without training). */
  trainingCpu: number;
  /** autocannon's own CPU seconds per second (it runs in this process, on the same two cores). */
  loadGenCpu: number;
  /** CPU seconds per second that other processes on the machine took (other engineers' tests). */
  othersCpu: number;
  /** When the slowest answer arrived, in seconds since the load started, and answers slower than 1 s. */
  slowestAt: number; over1s: number;
  /** Epochs the two training jobs completed during the phase (0 without training). */
  epochs: number;
}

async function phase(server: Server, modelId: string, trainers: number[], jobIds: string[]): Promise<Phase> {
  const epochsAt = async () => {
    let sum = 0;
    for (const id of jobIds) sum += (await call(server, 'GET', `/v1/jobs/${id}`)).epoch;
    return sum;
  };
  const epochs0 = await epochsAt();
  const before = threads(server.pid);
  const cpu0 = process.cpuUsage();
  const machine0 = machineBusy(), server0 = processCpu(server.pid);
  const t0 = process.hrtime.bigint();
  const run = autocannon({
    url: `${server.url}/v1/models/${modelId}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [predictRow] }),
    connections,
    duration,
    timeout: 10,
  });
  let slowest = 0, slowestAt = 0, over1s = 0;
  run.on('response', (_client, _status, _bytes, ms) => {
    if (ms > 1000) over1s++;
    if (ms > slowest) {
      slowest = ms;
      slowestAt = Number(process.hrtime.bigint() - t0) / 1e9;
    }
  });
  const r = await run;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const after = threads(server.pid);
  const others = machineBusy() - machine0 - (processCpu(server.pid) - server0) - (cpu.user + cpu.system) / 1e6;
  const epochs1 = await epochsAt();
  const main = delta(before, after, server.pid);
  const training = trainers.reduce((s, tid) => s + delta(before, after, tid).cpuS, 0);
  return {
    rps: round(r.requests.average, 1), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx,
    timeouts: r.timeouts, max: r.latency.max, requests: r['2xx'] + r.non2xx,
    mainCpu: round(main.cpuS / seconds, 2), mainRunqWait: round(main.runqWaitS / seconds, 2),
    trainingCpu: round(training / seconds, 2),
    loadGenCpu: round((cpu.user + cpu.system) / 1e6 / seconds, 2),
    othersCpu: round(Math.max(0, others) / seconds, 2),
    slowestAt: round(slowestAt, 1), over1s,
    epochs: epochs1 - epochs0,
  };
}

/** Submits two long jobs, waits until both train (not just load data), runs the load, cancels them. */
async function trainingPhase(server: Server, modelId: string, datasetId: string, nice: number | 'idle' | null, warmUp = false) {
  const spec = args.fashion
    ? { datasetId, hidden: [{ units: 128 }], epochs: 1000, batchSize: 32, seed: 1 }
    : { datasetId, hidden: [{ units: 256 }, { units: 256 }], epochs: 10_000, batchSize: 32, seed: 1 };
  let trainerIds: number[] = [];
  const jobs = [await call(server, 'POST', '/v1/jobs', spec), await call(server, 'POST', '/v1/jobs', { ...spec, seed: 2 })];
  try {
    // samplesPerSec appears with the first progress message: the worker is past loading the dataset.
    for (const job of jobs) await waitFor(server, job.id, (j) => j.status === 'running' && j.samplesPerSec !== null, 'trains');
    if (warmUp) {
      // Until both jobs have written an epoch (progress, epoch and checkpoint paths compiled), under load.
      const load = autocannon({
        url: `${server.url}/v1/models/${modelId}/predict`, method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [predictRow] }), connections, duration: 5,
      });
      for (const job of jobs) await waitFor(server, job.id, (j) => j.epoch >= 1, 'finishes an epoch');
      await load;
      return null;
    }
    const trainers = await busiestThreads(server.pid, 2);
    trainerIds = trainers.map((t) => t.tid);
    if (nice === 'idle') for (const t of trainers) execFileSync('chrt', ['--idle', '-p', '0', String(t.tid)]);
    else if (nice !== null) for (const t of trainers) setPriority(t.tid, nice);
    const result = await phase(server, modelId, trainers.map((t) => t.tid), jobs.map((j) => j.id));
    const checkpointBytes = checkpointSize(server, jobs.map((j) => j.id));
    return { result, trainers, checkpointBytes };
  } finally {
    for (const job of jobs) {
      await call(server, 'POST', `/v1/jobs/${job.id}/cancel`).catch(() => undefined);
    }
    // Wait until the training threads are idle again, so the next phase starts from the same place.
    for (const job of jobs) await waitFor(server, job.id, (j) => j.status === 'cancelled', 'is cancelled');
    for (let i = 0; i < 60; i++) {
      const before = threads(server.pid);
      await sleep(500);
      const after = threads(server.pid);
      if (trainerIds.every((tid) => delta(before, after, tid).cpuS < 0.02)) break;
    }
  }
}

/** The latest checkpoint's size: what the event loop writes to SQLite once per epoch per job. */
function checkpointSize(server: Server, jobIds: string[]): number | null {
  const db = new Database(join(server.dataDir, 'service.db'), { readonly: true, fileMustExist: true });
  try {
    const sizes = jobIds.map((id) => db.prepare('SELECT length(state) FROM checkpoints WHERE job_id = ?').pluck().get(id) as number | undefined);
    return sizes.find((s) => s !== undefined) ?? null;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- the run

const FEATURES = 20;
const small = blobs(2000, FEATURES, ['a', 'b', 'c', 'd'], 7);
const predictRow = small.features[0];

// First the ceiling: our single-row predict beside a bare Fastify route parsing the same body.
await ceiling(Math.min(duration, 10), say);

const server = await startServer();
let failed = false;
try {
  say(`server pid ${server.pid} at ${server.url}, WORKERS=2, ${connections} connections × ${duration} s per phase`);
  const smallSet = await uploadCsv(server, 'load-predict', toCsv(small));
  const job = await call(server, 'POST', '/v1/jobs', { datasetId: smallSet.id, hidden: [{ units: 32 }], epochs: 5, seed: 1 });
  const done = await waitFor(server, job.id, (j) => j.status === 'succeeded', 'succeeds');
  const modelId: string = done.modelId;
  const check = await call(server, 'POST', `/v1/models/${modelId}/predict`, { instances: [predictRow] });
  if (check.predictions?.[0]?.label !== small.labels[0]) {
    throw new Error(`the model predicts ${JSON.stringify(check.predictions)} for a row labelled ${small.labels[0]}: the model to load-test is not usable`);
  }
  say(`model ${modelId} (${FEATURES} → 32 → 4) predicts row 0 as ${check.predictions[0].label}`);

  const trainSet = args.fashion
    ? await uploadFashion(server)
    : await uploadCsv(server, 'load-train', toCsv(blobs(trainRows, 64, Array.from({ length: 10 }, (_, i) => `c${i}`), 11)));
  say(`training dataset: ${trainSet.rows} rows × ${trainSet.features} features${args.fashion ? ' (Fashion-MNIST)' : ''}`);

  // Warm-up, not measured: the JIT compiles the predict path before phase A counts anything.
  await autocannon({
    url: `${server.url}/v1/models/${modelId}/predict`, method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [predictRow] }), connections, duration: 3,
  });

  // And the training side: the first jobs' worker threads compile the training loop, and the main thread
  // the progress, epoch and checkpoint paths, while they run. Measured, that made phase B, always the
  // first with training, look worse than the same conditions repeated (×3.4–3.8 against ×1.2–2.3).
  say('warm-up: two training jobs until each has finished an epoch, under load, not measured …');
  await trainingPhase(server, modelId, trainSet.id, null, true);

  say(`phase A: no training, ${duration} s …`);
  const phaseA = await phase(server, modelId, [], []);
  say(`phase B: two training jobs, ${duration} s …`);
  const b = (await trainingPhase(server, modelId, trainSet.id, null))!;
  const phaseB = b.result;
  let c: Awaited<ReturnType<typeof trainingPhase>> | null = null;
  if (args.niced) {
    say(`phase C: two training jobs on threads reniced to 19, ${duration} s …`);
    c = (await trainingPhase(server, modelId, trainSet.id, 19))!;
  }

  let d: Awaited<ReturnType<typeof trainingPhase>> | null = null;
  if (args.idle) {
    say(`phase D: two training jobs on threads moved to SCHED_IDLE, ${duration} s …`);
    d = (await trainingPhase(server, modelId, trainSet.id, 'idle'))!;
  }

  const p99Ratio = round(phaseB.p99 / phaseA.p99, 2);
  const rpsRatio = round(phaseB.rps / phaseA.rps, 2);
  const rows: [string, Phase][] = [['A no training', phaseA], ['B 2 jobs training', phaseB]];
  if (c) rows.push(['C as B, trainers nice 19', c.result]);
  if (d) rows.push(['D as B, SCHED_IDLE', d.result]);
  say('');
  say('phase                      req/s   p50 ms  p99 ms  max ms  errors  timeouts  non-2xx | main cpu  main runq-wait  training cpu  autocannon cpu  others cpu  epochs');
  for (const [name, p] of rows) {
    say(`${name.padEnd(25)} ${String(p.rps).padStart(7)} ${String(p.p50).padStart(8)} ${String(p.p99).padStart(7)} ${String(p.max).padStart(7)} `
      + `${String(p.errors).padStart(7)} ${String(p.timeouts).padStart(9)} ${String(p.non2xx).padStart(8)} | `
      + `${String(p.mainCpu).padStart(8)} ${String(p.mainRunqWait).padStart(15)} ${String(p.trainingCpu).padStart(13)} `
      + `${String(p.loadGenCpu).padStart(15)} ${String(p.othersCpu).padStart(11)} ${String(p.epochs).padStart(7)}`);
  }
  say(`slowest answer at ${rows.map(([n, p]) => `${n[0]}: ${p.slowestAt} s`).join(', ')} into the phase; `
    + `answers over 1 s: ${rows.map(([n, p]) => `${n[0]}: ${p.over1s}`).join(', ')}`);
  say(`B/A: p99 × ${p99Ratio} (aim ≤ 1.5), req/s × ${rpsRatio}`);
  if (c) say(`C/A: p99 × ${round(c.result.p99 / phaseA.p99, 2)}, req/s × ${round(c.result.rps / phaseA.rps, 2)}`);
  if (d) say(`D/A: p99 × ${round(d.result.p99 / phaseA.p99, 2)}, req/s × ${round(d.result.rps / phaseA.rps, 2)}`);
  say(`(cpu and runq-wait: seconds per second of the phase; training threads ${b.trainers.map((t) => `${t.tid} at ${t.cpuShare}`).join(', ')} `
    + `before the load; checkpoint written per epoch per job: ${b.checkpointBytes === null ? 'none yet' : `${round(b.checkpointBytes / 1024, 1)} KiB`})`);

  if (args.json) {
    console.log(JSON.stringify({
      phaseA, phaseB, p99Ratio, rpsRatio,
      ...(c ? { phaseC: c.result, p99RatioNiced: round(c.result.p99 / phaseA.p99, 2), rpsRatioNiced: round(c.result.rps / phaseA.rps, 2) } : {}),
      ...(d ? { phaseD: d.result, p99RatioIdle: round(d.result.p99 / phaseA.p99, 2), rpsRatioIdle: round(d.result.rps / phaseA.rps, 2) } : {}),
      connections, duration, dataset: args.fashion ? 'fashion-mnist' : `generated-${trainRows}x64`, checkpointBytes: b.checkpointBytes,
    }));
  }
} catch (err) {
  failed = true;
  console.error(`load benchmark failed: ${(err as Error).message}${(err as Error).cause ? ` (${String((err as Error).cause)})` : ''}`);
  const out = server.output();
  if (out) console.error(`server output (tail):\n${out}`);
} finally {
  await server.stop();
}
if (failed) process.exitCode = 1;
