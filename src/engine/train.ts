// The training loop: minibatch SGD (with momentum) or Adam over shuffled rows, per-epoch metrics and validation, early stopping,
// and a state that can be saved after any epoch and resumed bit for bit. Every buffer the loop touches
// comes from one kernels.arena() call; runEpoch allocates nothing per minibatch. With threads > 1 each
// minibatch's first layer is computed by units on helper threads (parallel/data-parallel.ts).
import { reserve } from './arena.js';
import { costFor } from './costs.js';
import { EngineError, invalidData } from './errors.js';
import { createKernels, kernelAvailable, kernelMissing, type KernelChoice, type Kernels } from './kernels/index.js';
import type { Gemm } from './layers.js';
import {
  regression_metrics, tally_classes, tally_create, tally_regression, tally_reset, total_sum_of_squares, type Tally,
} from './metrics.js';
import {
  fused_kernel, gather_kernel, gather_targets, mlp_backward, mlp_dropout_masks, mlp_forward, params_init, pass_create, pass_request,
  robust_std, standardizer_init,
} from './mlp.js';
import { data_parallel_start, helper_request, type DataParallel, type HelperThreads } from './parallel/data-parallel.js';
import { encodeModel } from './model.js';
import { decayed, grad_clip, optimizer_update, update_kernels, update_vectors, type UpdateSettings } from './optim.js';
import { rng_seed, rng_shuffle, type RngState } from './rng.js';
import {
  canonicalNetwork, paramLayout, resolveTraining, validateData, validateNetwork, validateTraining, type ResolvedTraining,
} from './spec.js';
import { decodeState, encodeState, savedInputScaling, savedKernel, type RunIdentity } from './state.js';
import type { EpochMetrics, NetworkSpec, TrainingData, TrainingSpec } from './types.js';

export interface RunEpochHooks {
  /** Asked before every minibatch; true abandons the epoch (runEpoch then returns null). */
  shouldStop?: () => boolean;
  /** Fraction of the epoch's training rows done, and the mean cost per row over them so far (before
   *  the L2 term, which the epoch's loss adds at its end), at most once per progressIntervalMs. */
  onProgress?: (fraction: number, runningLoss: number) => void;
  progressIntervalMs?: number;
}

export interface TrainerOptions {
  /**
   * Defaults to the kernel `state` was written by when resuming, else to createKernels(); a kernel
   * instance serves one trainer (its arena is reserved once).
   */
  kernels?: Kernels;
  /** Bytes from saveState(): continue that run instead of starting a new one. */
  state?: Uint8Array;
  /**
   * Threads computing each minibatch's gradient (default 1): this one and threads − 1 helpers, which
   * must be given (parallel/threads.ts's startHelperThreads makes them). Layer 1 is then multiplied in
   * parts, one per thread, and a kernel may choose another method for a part's shape, so a run's bits
   * are only promised for its thread count: a state saved with threads N resumes only with threads N
   * (savedThreads() reads it), and threads 1 is exactly the single-threaded trainer.
   */
  threads?: number;
  helpers?: HelperThreads;
}

export interface Trainer {
  /** Completed epochs. */
  readonly epochsDone: number;
  /** All epochs run, or early stopping fired. */
  readonly done: boolean;
  readonly stoppedEarly: boolean;
  /** The epoch with the lowest validation loss so far, when early stopping is on. */
  readonly bestEpoch: number | null;
  /**
   * Runs one epoch. Calls shouldStop() between minibatches; when it returns true the epoch is abandoned,
   * the trainer rolls back to the last completed epoch and runEpoch returns null. Calls
   * onProgress(fractionOfEpochDone) at most every progressIntervalMs (default 1000) inside the epoch.
   * Throws EngineError 'diverged' (with epoch) when the loss stops being finite or grows past
   * DIVERGENCE_FACTOR times the untrained network's, also rolling back.
   */
  runEpoch(hooks?: RunEpochHooks): EpochMetrics | null;
  /** The full resumable state as of the last completed epoch. */
  saveState(): Uint8Array;
  /**
   * The model to keep: the best-so-far weights when early stopping is on, else the last completed
   * epoch's weights (never half-epoch weights). meta is stored as JSON in the model.
   */
  exportModel(meta?: unknown): Uint8Array;
  /** Ends the helpers' part in this trainer (they may then serve another); runEpoch fails after it. */
  close(): void;
}

/**
 * Divergence: a run whose training loss (the data term, mean per row) grows past DIVERGENCE_FACTOR
 * times the loss of the untrained network has blown up, finite or not, and stops as 'diverged'. The
 * untrained network's loss is measured once, before the first update, on the first REFERENCE_ROWS
 * training rows (without dropout), and kept in the state. The check runs after every minibatch on the
 * epoch's running mean once it covers CHECK_ROWS rows (or the whole epoch, if smaller), so one noisy
 * minibatch cannot trip it; it also covers the epoch's loss, which is that mean at the epoch's end.
 * Ordinary training, even noisy, stays below its starting loss after the first few hundred rows;
 * the runs this stops had gone from ~1 to 10⁴…10²³ within an epoch or two.
 */
export const DIVERGENCE_FACTOR = 10;
const REFERENCE_ROWS = 1024;
/** More threads than this are surely a mistake (each holds a gradient vector of its own). */
export const MAX_THREADS = 64;
const CHECK_ROWS = 1000;

/**
 * How rows are scaled before the first layer: 'none' without mean and std, 'robust' (mlp.ts's
 * robust_std: z-scores whose std is floored at range/MAX_Z) for every new run, 'standard' (plain
 * z-scores) only for runs begun from a version-1 state, which were trained on them.
 */
type InputScaling = 'none' | 'standard' | 'robust';

/** Validation rows drawn once from the generator; both lists sorted so each set is read in row order. */
export function split_rows(rows: number, fraction: number, rng: RngState): { train: Int32Array; val: Int32Array } {
  const all = new Int32Array(rows).map((_, i) => i);
  const nVal = fraction > 0 ? Math.min(rows - 1, Math.floor(rows * fraction)) : 0;
  if (fraction > 0 && nVal === 0) {
    throw invalidData('validationSplit', `validationSplit ${fraction} of ${rows} rows leaves no validation row; ` +
      'give more rows, a larger split, or 0');
  }
  if (nVal > 0) rng_shuffle(rng, all);
  return { val: all.slice(0, nVal).sort(), train: all.slice(nVal).sort() };
}

/**
 * The kernel a trainer computes on: a resumed run continues on the one it began on (the kernels round
 * differently, so only that one continues the run bit for bit), a new run takes the fastest here.
 */
function kernelsFor(state: Uint8Array | undefined): Kernels {
  const saved = state === undefined ? null : savedKernel(state);
  if (saved === null) return createKernels();
  if (!kernelAvailable(saved)) {
    throw new EngineError('invalid_state', 'kernel', `this training state was written by the ${JSON.stringify(saved)} ` +
      `kernel, which cannot run here: ${kernelMissing(saved)}`);
  }
  return createKernels(saved as KernelChoice);
}

/**
 * What a saved state must agree with to be resumed here: all but epochs, which a resumed run may
 * extend, and the kernel, whose rounding is part of the trajectory.
 */
function runIdentity(
  network: NetworkSpec, training: ResolvedTraining, data: TrainingData, kernel: string, inputScaling: InputScaling,
  threads: number,
): RunIdentity {
  const { epochs: _epochs, ...trajectory } = training;
  return {
    network: canonicalNetwork(network),
    training: trajectory,
    kernel,
    // Only when > 1, so that a single-threaded run's state is what it was before threads existed.
    ...(threads > 1 ? { threads } : {}),
    data: {
      rows: data.rows, features: data.features, task: data.labels !== null ? 'classification' : 'regression',
      standardised: data.mean !== null, targetsStandardised: data.targetMean !== null, inputScaling,
    },
  };
}

export function createTrainer(
  network: NetworkSpec, training: TrainingSpec, data: TrainingData, options: TrainerOptions = {},
): Trainer {
  validateNetwork(network);
  validateTraining(training);
  validateData(network, data);
  const spec = resolveTraining(training);
  const layout = paramLayout(network);
  const { sizes, paramCount: P } = layout;
  const L = sizes.length - 1;
  const nIn = sizes[0], nOut = sizes[L];
  const cost = costFor(network.loss, network.output);
  const { labels, targets, targetMean, targetStd } = data;
  const classification = labels !== null;
  const earlyStopping = spec.earlyStopping;
  const adam = spec.optimizer === 'adam';

  // The generator draws the validation split first, then the initial weights, then every epoch's
  // shuffle and dropout masks. A resumed run redraws the split and then takes the saved state.
  const rng = rng_seed(training.seed);
  const split = split_rows(data.rows, training.validationSplit, rng);
  const nTrain = split.train.length, nVal = split.val.length;
  const batch = Math.min(training.batchSize, Math.max(nTrain, nVal));

  // A run begun on plain z-scores (from a version-1 state) keeps them; everything else is robust.
  const inputScaling: InputScaling = data.mean === null ? 'none'
    : options.state !== undefined && savedInputScaling(options.state) === 'standard' ? 'standard' : 'robust';
  const inputStd = inputScaling === 'robust' ? robust_std(data.x, data.rows, nIn, data.std!) : data.std;
  const kernels = options.kernels ?? kernelsFor(options.state);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new EngineError('invalid_spec', 'threads', `threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  if (threads > 1 && options.helpers?.count !== threads - 1) {
    throw new EngineError('invalid_spec', 'threads', `threads ${threads} needs ${threads - 1} helper threads ` +
      `(startHelperThreads(${threads - 1}) from engine/parallel/threads.js), got ${options.helpers?.count ?? 'none'}`);
  }
  const identity = runIdentity(network, spec, data, kernels.name, inputScaling, threads);
  const gemm: Gemm<Float32Array> = kernels.gemm.bind(kernels);
  const buf = reserve((lengths) => kernels.arena(lengths, { shared: threads > 1 }), {
    // velocity is SGD's v or Adam's first moment m; moment2 is Adam's second moment v.
    params: P, grads: P, velocity: P, moment2: adam ? P : 0,
    // The last completed epoch's params and optimizer state, to roll back an abandoned or diverged epoch.
    savedParams: P, savedVelocity: P, savedMoment2: adam ? P : 0,
    bestParams: earlyStopping !== null ? P : 0,
    mean: nIn, invStd: nIn,
    // The minibatch's targets, (batch, outputs), in trained units.
    y: batch * nOut,
    ...pass_request(network, batch, 'train'),
    // The units' staging buffer and each helper thread's gemm scratch.
    ...helper_request(threads, network, batch, kernels),
  });
  const pass = pass_create(network, layout, buf.params, buf.grads, buf);
  standardizer_init(buf.mean, buf.invStd, data.mean, inputStd);

  let epochsDone = 0;
  let bestEpoch: number | null = null;
  let bestLoss = Infinity;
  let wait = 0;
  let stoppedEarly = false;
  /** The untrained network's mean loss per row: see DIVERGENCE_FACTOR. */
  let referenceLoss = NaN;
  const opt: UpdateSettings = {
    optimizer: spec.optimizer, learningRate: spec.learningRate, momentum: spec.momentum, nesterov: spec.nesterov,
    beta1: spec.beta1, beta2: spec.beta2, epsilon: spec.epsilon, l2: spec.l2, step: 0,
  };
  const updateKernels = update_kernels(kernels);
  const gatherRows = gather_kernel(kernels);
  const fused = fused_kernel(kernels);
  const vectors = update_vectors(buf.params, buf.grads, buf.velocity, buf.moment2, layout.weightCount);
  if (options.state !== undefined) {
    const s = decodeState(options.state, identity, P);
    buf.params.set(s.params);
    buf.velocity.set(s.velocity);
    if (s.moment2 !== null) buf.moment2.set(s.moment2);
    if (s.bestParams !== null) buf.bestParams.set(s.bestParams);
    rng.set(s.rng);
    opt.learningRate = s.learningRate;
    opt.step = s.step;
    referenceLoss = s.referenceLoss;
    ({ epochsDone, bestEpoch, bestLoss, wait, stoppedEarly } = s);
  } else {
    params_init(buf.params, layout, network, rng);
  }

  const parallel: DataParallel | null = threads > 1
    ? data_parallel_start(kernels, network, layout, pass, buf.y, buf, buf.stage, buf.helperScratch, options.helpers!)
    : null;

  const savedRng = new Uint32Array(4);
  let savedLearningRate = opt.learningRate;
  let savedStep = opt.step;
  const order = new Int32Array(nTrain);
  const trainTally = tally_create(nOut);
  const valTally = tally_create(nOut);
  const trainSst = classification ? null : total_sum_of_squares(targets!, split.train, nTrain, nOut);
  const valSst = classification || nVal === 0 ? null : total_sum_of_squares(targets!, split.val, nVal, nOut);

  const isDone = () => stoppedEarly || epochsDone >= training.epochs;

  function checkpoint(): void {
    buf.savedParams.set(buf.params);
    buf.savedVelocity.set(buf.velocity);
    buf.savedMoment2.set(buf.moment2);
    savedRng.set(rng);
    savedLearningRate = opt.learningRate;
    savedStep = opt.step;
  }
  function rollback(): void {
    buf.params.set(buf.savedParams);
    buf.velocity.set(buf.savedVelocity);
    buf.moment2.set(buf.savedMoment2);
    rng.set(savedRng);
    opt.learningRate = savedLearningRate;
    opt.step = savedStep;
  }
  function diverged(epoch: number, what: string): EngineError {
    const advice = adam ? (spec.clipNorm === null ? 'or set clipNorm (e.g. 1)' : 'or a smaller clipNorm')
      : "or use optimizer 'adam' (learning rate 0.001)";
    return new EngineError('diverged', 'learningRate', `training diverged in epoch ${epoch}: ${what}. ` +
      `Lower the learning rate (learningRate ${spec.learningRate}; e.g. a tenth of it), ${advice}.`, epoch);
  }

  /**
   * The untrained network's mean loss per row over the first REFERENCE_ROWS training rows, no dropout.
   * When that is already ∞ or NaN the rows, not the learning rate, are at fault: invalid_data.
   */
  function reference_loss(): number {
    const rows = Math.min(nTrain, REFERENCE_ROWS);
    let sum = 0;
    for (let start = 0; start < rows; start += batch) {
      const n = Math.min(batch, rows - start);
      const batchCost = forward(split.train, start, n, null);
      if (!Number.isFinite(batchCost)) {
        throw invalidData('x', `the untrained network's loss on training rows ${split.train[start]}…${split.train[start + n - 1]} ` +
          `is ${batchCost}: their values are too large to train on; standardise them or scale them down`);
      }
      sum += batchCost;
    }
    return sum / rows;
  }

  /** Adds a forward pass's cost and metrics over rows rowOrder[start…start + rows) to t. */
  function tally_batch(t: Tally, batchCost: number, rowOrder: Int32Array, start: number, rows: number): void {
    t.rows += rows;
    t.cost += batchCost;
    if (classification) tally_classes(t, pass.z[L], labels, rowOrder, start, rows, nOut);
    else tally_regression(t, pass.z[L], targets!, rowOrder, start, rows, nOut, targetMean, targetStd);
  }

  /** Loads rows rowOrder[start…start + rows) into z⁽⁰⁾ and y, runs the forward pass, returns the batch's cost. */
  function forward(rowOrder: Int32Array, start: number, rows: number, dropoutRng: RngState | null): number {
    gatherRows(pass.z[0], data.x, nIn, rowOrder, start, rows, buf.mean, buf.invStd);
    gather_targets(buf.y, nOut, rowOrder, start, rows, labels, targets, targetMean, targetStd);
    mlp_forward(gemm, pass, rows, dropoutRng, 1, fused);
    return cost.fn(pass.a[L], pass.z[L], buf.y, rows, nOut);
  }

  /** Forward, backward and one update on one minibatch; returns its cost (not finite: nothing was updated). */
  function train_batch(start: number, rows: number): number {
    let batchCost: number;
    if (parallel === null) {
      batchCost = forward(order, start, rows, rng);
      if (!Number.isFinite(batchCost)) return batchCost;
      tally_batch(trainTally, batchCost, order, start, rows);
      cost.delta(pass.delta[L], pass.a[L], pass.z[L], buf.y, rows, nOut);
      mlp_backward(gemm, pass, rows, 1 / rows, 1, fused);
    } else {
      // The same minibatch, masks and cost as one thread; layer 1 is computed by units on every thread.
      gatherRows(pass.z[0], data.x, nIn, order, start, rows, buf.mean, buf.invStd);
      gather_targets(buf.y, nOut, order, start, rows, labels, targets, targetMean, targetStd);
      mlp_dropout_masks(pass, rows, rng);
      parallel.gradient(rows);
      batchCost = cost.fn(pass.a[L], pass.z[L], buf.y, rows, nOut);
      if (!Number.isFinite(batchCost)) return batchCost;
      tally_batch(trainTally, batchCost, order, start, rows);
      if (spec.clipNorm === null) {
        parallel.update(opt);
        if (spec.decayPer === 'step') opt.learningRate = decayed(opt.learningRate, spec.decay);
        return batchCost;
      }
      parallel.complete();
    }
    if (spec.clipNorm !== null) grad_clip(buf.grads, spec.clipNorm);
    optimizer_update(updateKernels, vectors, opt);
    if (spec.decayPer === 'step') opt.learningRate = decayed(opt.learningRate, spec.decay);
    return batchCost;
  }

  /** ½λ‖w‖² over the weights (biases are not decayed), added to the reported losses. */
  function l2_penalty(): number {
    if (training.l2 === 0) return 0;
    const w = vectors.weights.w;
    let sum = 0;
    for (let i = 0; i < w.length; i++) sum += w[i] * w[i];
    return 0.5 * training.l2 * sum;
  }

  function runEpoch(hooks: RunEpochHooks = {}): EpochMetrics | null {
    if (isDone()) {
      throw new EngineError('invalid_state', 'epochs', `training is finished after ${epochsDone} epochs` +
        (stoppedEarly ? ' (stopped early)' : '') + '; export the model, or resume the state with more epochs');
    }
    const { shouldStop, onProgress, progressIntervalMs = 1000 } = hooks;
    const epoch = epochsDone + 1;
    const started = performance.now();
    checkpoint();
    order.set(split.train);
    rng_shuffle(rng, order);
    tally_reset(trainTally);
    let lastProgress = started;
    for (let start = 0; start < nTrain; start += batch) {
      if (shouldStop !== undefined && shouldStop()) {
        rollback();
        return null;
      }
      const rows = Math.min(batch, nTrain - start);
      let batchCost: number;
      try {
        batchCost = train_batch(start, rows);
      } catch (err) {
        // A helper thread failed or stopped answering: keep the last completed epoch, as for divergence.
        rollback();
        throw err;
      }
      if (!Number.isFinite(batchCost)) {
        rollback();
        throw diverged(epoch, `the loss became ${batchCost}`);
      }
      if (trainTally.rows >= checkRows && trainTally.cost > divergenceLimit * trainTally.rows) {
        const mean = trainTally.cost / trainTally.rows;
        rollback();
        throw diverged(epoch, `the mean training loss reached ${mean.toPrecision(3)}, more than ${DIVERGENCE_FACTOR}× ` +
          `the untrained network's ${referenceLoss.toPrecision(3)}`);
      }
      if (onProgress !== undefined) {
        const now = performance.now();
        if (now - lastProgress >= progressIntervalMs) {
          lastProgress = now;
          onProgress((start + rows) / nTrain, trainTally.cost / trainTally.rows);
        }
      }
    }
    const trainingMs = performance.now() - started;

    // Both losses include ½λ‖w‖² at the epoch's final weights, so they stay comparable and early
    // stopping watches the objective actually minimised (as Keras reports them).
    const penalty = l2_penalty();
    const loss = trainTally.cost / nTrain + penalty;
    let valLoss: number | null = null;
    if (nVal > 0) {
      tally_reset(valTally);
      for (let start = 0; start < nVal; start += batch) {
        const rows = Math.min(batch, nVal - start);
        tally_batch(valTally, forward(split.val, start, rows, null), split.val, start, rows);
      }
      valLoss = valTally.cost / nVal + penalty;
    }
    // The last update can overflow the weights after the last finite loss; such an epoch must not be kept.
    const failure = !Number.isFinite(loss) ? `the loss became ${loss}`
      : valLoss !== null && !Number.isFinite(valLoss) ? `the validation loss became ${valLoss}`
      : buf.params.some((w) => !Number.isFinite(w)) ? 'the weights overflowed' : null;
    if (failure !== null) {
      rollback();
      throw diverged(epoch, failure);
    }

    const learningRate = opt.learningRate;
    if (spec.decayPer === 'epoch') opt.learningRate = decayed(opt.learningRate, spec.decay);
    epochsDone = epoch;
    if (earlyStopping !== null && valLoss !== null) {
      if (valLoss < bestLoss - earlyStopping.minDelta) {
        bestLoss = valLoss;
        bestEpoch = epoch;
        buf.bestParams.set(buf.params);
        wait = 0;
      } else if (++wait >= earlyStopping.patience) {
        stoppedEarly = true;
        buf.params.set(buf.bestParams);
      }
    }

    const train = classification ? null : regression_metrics(trainTally, trainSst!);
    const val = classification || nVal === 0 ? null : regression_metrics(valTally, valSst!);
    return {
      epoch, loss, valLoss,
      accuracy: classification ? trainTally.correct / nTrain : null,
      valAccuracy: classification && nVal > 0 ? valTally.correct / nVal : null,
      mse: train?.mse ?? null, mae: train?.mae ?? null, r2: train?.r2 ?? null,
      valMse: val?.mse ?? null, valMae: val?.mae ?? null, valR2: val?.r2 ?? null,
      learningRate,
      durationMs: performance.now() - started,
      samplesPerSec: nTrain / (trainingMs / 1000),
    };
  }

  // A version-1 state holds no reference loss: the network as resumed stands in for the untrained one.
  if (Number.isNaN(referenceLoss)) {
    try {
      referenceLoss = reference_loss();
    } catch (err) {
      parallel?.close(); // no trainer comes back to close: free the helpers for another
      throw err;
    }
  }
  // An untrained network that already fits exactly (or overflows) leaves only the NaN/∞ checks.
  const divergenceLimit = referenceLoss > 0 && Number.isFinite(referenceLoss) ? DIVERGENCE_FACTOR * referenceLoss : Infinity;
  const checkRows = Math.min(nTrain, CHECK_ROWS);

  const keepBest = () => earlyStopping !== null && bestEpoch !== null;

  return {
    get epochsDone() { return epochsDone; },
    get done() { return isDone(); },
    get stoppedEarly() { return stoppedEarly; },
    get bestEpoch() { return bestEpoch; },
    runEpoch,
    saveState() {
      return encodeState(identity, {
        epochsDone, learningRate: opt.learningRate, rng, bestEpoch, bestLoss, wait, stoppedEarly, step: opt.step, referenceLoss,
        params: buf.params, velocity: buf.velocity, moment2: adam ? buf.moment2 : null,
        bestParams: keepBest() ? buf.bestParams : null,
      });
    },
    close() {
      parallel?.close();
    },
    exportModel(meta?: unknown) {
      return encodeModel({
        network: canonicalNetwork(network), meta: meta ?? null,
        params: keepBest() ? buf.bestParams : buf.params,
        mean: data.mean, std: inputStd, targetMean, targetStd,
      });
    },
  };
}
