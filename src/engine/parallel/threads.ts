// The one place the engine starts threads: helper threads (node:worker_threads) for a data-parallel
// trainer, kept for the life of a job. data-parallel.ts holds the computation and the protocol; this
// file only spawns, hands each helper its job, and ends them. A caller that wants threads > 1:
//
//   const helpers = await startHelperThreads(threads - 1);
//   try { const trainer = createTrainer(network, training, data, { threads, helpers }); … trainer.close(); }
//   finally { await helpers.close(); }
//
// The helpers run dist/engine/parallel/helper-thread.js (a worker needs JavaScript): from sources run
// by tsx or vitest, `npm run build` first.
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HelperJob, HelperThreads } from './data-parallel.js';

export interface OwnedHelperThreads extends HelperThreads {
  /** Ends every helper thread (also one blocked in the middle of a job). Idempotent. */
  close(): Promise<void>;
}

export interface HelperThreadOptions {
  /** Nice value for each helper thread (Linux: per thread), as the train worker gives its own. */
  nice?: number;
  /** Also move each helper thread to SCHED_IDLE (see lowerThreadPriority). */
  idle?: boolean;
}

/**
 * Lowers the calling thread's priority so that it yields to other work on the machine (an event loop):
 * its nice value (Linux: per thread), and with `idle` the SCHED_IDLE policy, which the kernel preempts
 * as soon as any ordinary thread wakes, where at nice 19 a waking thread may still wait for the
 * running one to finish its slice (EEVDF's run-to-parity, Linux ≥ 6.6). README, "One job on every
 * core", has what it measured (bench/load.ts --idle). Node has no call for sched_setscheduler, so
 * this runs `chrt --idle -p 0 <thread id>` (util-linux), once per thread. Lowering needs no privilege.
 * Best effort: where it is refused or unavailable (not Linux, no chrt) the thread keeps what it has.
 * Returns what was applied.
 */
export function lowerThreadPriority(options: { nice?: number | null; idle?: boolean }): { nice: boolean; idle: boolean } {
  const applied = { nice: false, idle: false };
  if (options.nice !== undefined && options.nice !== null) {
    // On Linux, priority 0 means the calling thread, not the process.
    try { setPriority(0, options.nice); applied.nice = true; } catch { /* not permitted here */ }
  }
  if (options.idle && process.platform === 'linux') {
    try {
      // /proc/thread-self is /proc/<pid>/task/<tid>: the kernel's id of this very thread.
      const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
      execFileSync('chrt', ['--idle', '-p', '0', tid], { stdio: 'ignore', timeout: 5000 });
      applied.idle = true;
    } catch { /* no chrt, or refused: keep the policy we have */ }
  }
  return applied;
}

function helperScript(): string {
  const url = import.meta.url;
  const path = fileURLToPath(new URL('./helper-thread.js', url));
  const built = url.endsWith('.ts') ? path.replace(`${sep}src${sep}`, `${sep}dist${sep}`) : path;
  if (!existsSync(built)) {
    throw new Error(`helper threads run ${built}, which is missing: run \`npm run build\``);
  }
  return built;
}

/** Starts `count` helper threads and resolves once each is running and listening for its job. */
export async function startHelperThreads(count: number, options: HelperThreadOptions = {}): Promise<OwnedHelperThreads> {
  if (!Number.isInteger(count) || count < 0) throw new Error(`helper thread count must be a whole number ≥ 0, got ${count}`);
  const script = helperScript();
  const workers = Array.from({ length: count }, () => new Worker(script, { workerData: { nice: options.nice ?? null, idle: options.idle ?? false } }));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(workers.map((w) => w.terminate()));
  };
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`a helper thread exited with code ${code} before it started`)));
    })));
  } catch (err) {
    await close();
    throw err;
  }
  for (const w of workers) w.removeAllListeners();
  return {
    count,
    start(jobs: HelperJob[]) {
      if (closed) throw new Error('these helper threads are closed; start others');
      if (jobs.length !== count) throw new Error(`${jobs.length} jobs for ${count} helper threads`);
      jobs.forEach((job, i) => workers[i].postMessage(job));
    },
    close,
  };
}
