// The training pool's worker: a thin adapter that drives the engine epoch by epoch over the rows and
// checkpoint the main thread hands it, and posts progress, epochs (with the resumable state to
// checkpoint) and the final model back over the job's MessagePort. It touches no store. A job with
// threads > 1 gets helper threads (engine/parallel/threads.ts) for its life: started here, ended here
// however the job ends (done, cancelled, failed, thrown; if this thread itself dies, Node ends the
// threads it started with it).
import { createTrainer, EngineError, MAX_THREADS, savedThreads } from '../../engine/index.js';
import { lowerThreadPriority, startHelperThreads, type OwnedHelperThreads } from '../../engine/parallel/threads.js';
import { ACK, CONTROL, type StopReason, type TrainTask, type WorkerMessage } from './messages.js';
import { engineSpecs } from './resolve.js';
import { trainingData } from './training-data.js';

let lowered = false;

export default async function train(task: TrainTask): Promise<void> {
  // Only this training thread yields, not the process: nice, and SCHED_IDLE so that a waking event loop
  // preempts it at once. Once per pool thread (a thread keeps its policy from one job to the next).
  if (!lowered) {
    lowerThreadPriority({ nice: task.nice, idle: task.idle });
    lowered = true;
  }
  const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => task.port.postMessage(m, transfer);
  // A resumed run continues bit for bit only on the thread count it began with.
  const threads = task.checkpoint !== null ? savedThreads(task.checkpoint) : task.threads ?? 1;
  let helpers: OwnedHelperThreads | undefined;
  try {
    // A count the engine refuses (createTrainer then says why) starts no threads.
    if (Number.isInteger(threads) && threads > 1 && threads <= MAX_THREADS) {
      helpers = await startHelperThreads(threads - 1, { nice: task.nice, idle: task.idle });
    }
    trainJob(task, post, threads, helpers);
  } catch (err) {
    if (err instanceof EngineError) {
      post({ type: 'failed', code: err.code === 'diverged' ? 'diverged' : 'invalid_training_setup', message: err.message });
      return;
    }
    throw err; // the runner fails the job as worker_error
  } finally {
    await helpers?.close();
    task.port.close();
  }
}

function trainJob(
  task: TrainTask, post: (m: WorkerMessage, transfer?: ArrayBuffer[]) => void, threads: number, helpers: OwnedHelperThreads | undefined,
): void {
  const { rows } = task.dataset;
  const { network, training } = engineSpecs(task.spec, task.dataset);
  const trainer = createTrainer(network, training, trainingData(task.data, rows, task.dataset.features, task.spec.standardize),
    { state: task.checkpoint ?? undefined, threads, helpers });
  try {
    trainLoop(task, post, trainer);
  } finally {
    trainer.close();
  }
}

function trainLoop(
  task: TrainTask, post: (m: WorkerMessage, transfer?: ArrayBuffer[]) => void, trainer: ReturnType<typeof createTrainer>,
): void {
  const { rows } = task.dataset;
  const trainRows = rows - Math.floor(rows * task.spec.validationSplit);
  post({ type: 'started', resumedFromEpoch: trainer.epochsDone, trainRows });

  const control = new Int32Array(task.control);
  let timedOut = false;
  const shouldStop = () => {
    if (Atomics.load(control, 0) !== CONTROL.run) return true;
    if (task.deadline !== null && Date.now() > task.deadline) timedOut = true;
    return timedOut;
  };

  let reason: StopReason | null = null;
  let paused = false;
  while (!trainer.done) {
    // A trial at its rung stops here, before another epoch: also when it resumes there (its node died
    // between the rung's epoch and the pause), so it never trains past the rung undecided.
    if (task.pauseAt !== null && trainer.epochsDone >= task.pauseAt) {
      paused = true;
      break;
    }
    const epoch = trainer.epochsDone + 1;
    if (task.fault && task.fault.atEpoch === epoch) injectFault(task.fault.kind);
    const started = Date.now();
    const metrics = trainer.runEpoch({
      shouldStop,
      progressIntervalMs: task.progressIntervalMs,
      onProgress: (fraction, loss) => post({
        type: 'progress', epoch, fraction, loss,
        samplesPerSec: (fraction * trainRows) / Math.max(1e-3, (Date.now() - started) / 1000),
      }),
    });
    if (metrics === null) break;
    const state = trainer.saveState();
    post({ type: 'epoch', metrics, state }, [state.buffer as ArrayBuffer]);
    if (shouldStop()) break;
    waitForWrite(control, metrics.epoch - 1);
  }

  const signal = Atomics.load(control, 0);
  if (signal === CONTROL.cancel) reason = 'cancelled';
  else if (signal === CONTROL.interrupt) reason = 'interrupted';
  else if (timedOut) reason = 'time_limit';
  else if (paused) reason = 'paused';
  else reason = trainer.stoppedEarly ? 'early_stopping' : 'completed';

  if (reason === 'cancelled' || reason === 'interrupted') {
    post({ type: 'done', reason, model: null, bestEpoch: null });
  } else if (trainer.epochsDone === 0) {
    post({ type: 'failed', code: 'time_limit', message: `maxRuntimeSeconds (${task.spec.maxRuntimeSeconds}) ran out before the first epoch finished: raise it or shrink the job` });
  } else {
    const model = trainer.exportModel({
      task: task.dataset.task, classes: task.dataset.classes,
      featureNames: task.dataset.featureNames, targetName: task.dataset.targetName,
    });
    post({ type: 'done', reason, model, bestEpoch: trainer.bestEpoch ?? trainer.epochsDone }, [model.buffer as ArrayBuffer]);
  }
}

/**
 * Backpressure: the worker starts no epoch while more than one checkpoint it posted is still unwritten
 * (the main thread stores the epoch it last wrote in control[1]), so a job whose checkpoints are large
 * or whose store is slow cannot run ahead and pile states up in memory. A stop signal ends the wait.
 */
function waitForWrite(control: Int32Array, epoch: number): void {
  for (;;) {
    const written = Atomics.load(control, ACK);
    if (written >= epoch || Atomics.load(control, 0) !== CONTROL.run) return;
    Atomics.wait(control, ACK, written, 100);
  }
}

/** FAULT_INJECTION=1 only: the failures the service must survive, on demand. */
function injectFault(kind: 'crash' | 'throw' | 'oom' | 'hang'): void {
  if (kind === 'crash') process.exit(13); // in a worker thread this ends the thread, not the process
  if (kind === 'throw') throw new Error('injected fault');
  if (kind === 'oom') {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1_000_000).fill(Math.random()));
  }
  if (kind === 'hang') for (;;) { /* ignores the control word on purpose */ }
}
