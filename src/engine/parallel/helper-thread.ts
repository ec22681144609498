// A helper thread's entry (see threads.ts): says it is up, then runs each job it is handed to its end.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { helper_run, type HelperJob } from './data-parallel.js';

const { nice } = workerData as { nice: number | null };
// On Linux, priority 0 means the calling thread: this helper yields to the event loop as its job's thread does.
if (nice !== null) try { setPriority(0, nice); } catch { /* not permitted here: run at normal priority */ }
parentPort!.on('message', (job: HelperJob) => helper_run(job));
parentPort!.postMessage('ready');
