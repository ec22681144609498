// A helper thread's entry (see threads.ts): says it is up, then runs each job it is handed to its end.
import { parentPort, workerData } from 'node:worker_threads';
import { helper_run, type HelperJob } from './data-parallel.js';
import { lowerThreadPriority } from './threads.js';

// This helper yields to the event loop as its job's thread does.
lowerThreadPriority(workerData as { nice: number | null; idle: boolean });
parentPort!.on('message', (job: HelperJob) => helper_run(job));
parentPort!.postMessage('ready');
