// Training throughput on Fashion-MNIST: our engine against @tensorflow/tfjs on its wasm backend or
// PyTorch on CPU (bench/torch_peer.py, run with /usr/bin/python3, one thread), same network (784-H-10,
// softmax, cross-entropy), same SGD with momentum, batch, epochs, shuffling.
// Inputs are x/255 in [0, 1] for both (ours through TrainingData mean 0, std 255).
//
//   npm run bench -- --hidden 128 --batch 32 --epochs 1 [--json] [--peer tfjs|torch] [--threads N]
//     [--activation relu] [--lr 0.01] [--momentum 0.9] [--seed 1] [--kernel auto|wasm-fma|wasm-simd|reference]
//     [--data DIR with the four IDX files, gzipped or not; default /usr/share/datasets/fashion-mnist]
//
// samplesPerSec = training rows × epochs / training wall time (data loading and the test-set
// evaluation excluded); gflops = the gemm FLOPs of those epochs (2·M·N·K per product: forward,
// ∂W, and δ for every layer but the first) / the same time. The peer runs in a child process so
// each line's rssMb is that engine's own. With --json every line printed is JSON: the peer's,
// then {"ratio"}, then ours. --threads N trains ours on N threads (data-parallel, parallel/threads.ts;
// `npm run build` first: the helpers run dist/); "threads" is in ours' line. --peer torch is skipped,
// with a note on stderr, when /usr/bin/python3 cannot import torch.
import { execFile, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createKernels, type KernelChoice } from '../src/engine/kernels/index.js';
import { createPredictor, createTrainer, decodeModel } from '../src/engine/index.js';
import { startHelperThreads } from '../src/engine/parallel/threads.js';
import type { HiddenActivation, NetworkSpec, TrainingData, TrainingSpec } from '../src/engine/types.js';

interface Settings {
  hidden: number;
  activation: HiddenActivation;
  batch: number;
  epochs: number;
  lr: number;
  momentum: number;
  seed: number;
  kernel: KernelChoice;
  data: string;
  threads: number;
}

interface RunResult {
  engine: string;
  hidden: number;
  activation: HiddenActivation;
  batch: number;
  epochs: number;
  threads?: number;
  samplesPerSec: number;
  gflops: number;
  testAccuracy: number;
  rssMb: number;
}

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST from IDX files

interface Split {
  rows: number;
  /** rows × 784 bytes, 0..255. */
  images: Uint8Array;
  labels: Int32Array;
}

/** Reads an IDX file (gunzipping when it opens with 1f 8b): the header's dimensions and the data bytes. */
function readIdx(path: string, magic: number): { dims: number[]; data: Uint8Array } {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint32(0) !== magic) {
    throw new Error(`${path}: not an IDX file of unsigned bytes with ${magic & 0xff} dimensions ` +
      `(magic ${bytes.length >= 4 ? view.getUint32(0).toString(16) : 'missing'}, expected ${magic.toString(16)})`);
  }
  const dims = Array.from({ length: magic & 0xff }, (_, i) => view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * dims.length;
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - offset !== count) {
    throw new Error(`${path}: header announces ${dims.join('×')} = ${count} values but ${bytes.length - offset} follow`);
  }
  return { dims, data: bytes.subarray(offset) };
}

function findIdx(dir: string, name: string): string {
  for (const candidate of [`${name}.gz`, name]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  throw new Error(`${join(dir, name)}(.gz) not found; give the folder holding the Fashion-MNIST IDX files with --data`);
}

function loadSplit(dir: string, prefix: 'train' | 't10k'): Split {
  const images = readIdx(findIdx(dir, `${prefix}-images-idx3-ubyte`), 0x803);
  const labels = readIdx(findIdx(dir, `${prefix}-labels-idx1-ubyte`), 0x801);
  const [rows, h, w] = images.dims;
  if (h * w !== 784 || labels.dims[0] !== rows) {
    throw new Error(`${prefix}: expected N×28×28 images and N labels, got ${images.dims.join('×')} and ${labels.dims[0]}`);
  }
  return { rows, images: images.data, labels: Int32Array.from(labels.data) };
}

/** Training FLOPs per sample: forward and ∂W for every layer, δ for all but the first. */
function flopsPerSample(sizes: number[]): number {
  let flops = 0;
  for (let l = 1; l < sizes.length; l++) flops += 2 * sizes[l - 1] * sizes[l] * (l > 1 ? 3 : 2);
  return flops;
}

const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const round = (x: number, digits: number) => Number(x.toFixed(digits));

function argmaxAccuracy(probs: ArrayLike<number>, labels: Int32Array, classes: number): number {
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[r * classes + k] > probs[r * classes + best]) best = k;
    if (best === labels[r]) correct++;
  }
  return correct / labels.length;
}

/** CPU seconds this process has used: on a shared machine, what the work cost without the waiting. */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** One line per epoch on stderr; samples per CPU-second beside the wall-clock figure, for busy machines. */
function progress(engine: string, epoch: number, epochs: number, ms: number, cpu: number, rows: number, extra = ''): void {
  process.stderr.write(`${engine}: epoch ${epoch}/${epochs} ${(ms / 1000).toFixed(2)} s, ` +
    `${Math.round(rows / (ms / 1000))} samples/s (${Math.round(rows / cpu)} per CPU-second)${extra}\n`);
}

// ---------------------------------------------------------------------------------------------
// Our engine

async function runOurs(s: Settings, train: Split, test: Split): Promise<RunResult> {
  const network: NetworkSpec = {
    inputs: 784,
    hidden: [{ units: s.hidden, activation: s.activation, dropout: 0 }],
    outputs: 10,
    output: 'softmax',
    loss: 'categorical_cross_entropy',
  };
  const training: TrainingSpec = {
    batchSize: s.batch, epochs: s.epochs, learningRate: s.lr, momentum: s.momentum, nesterov: false,
    decay: 0, decayPer: 'epoch', l2: 0, seed: s.seed, validationSplit: 0, earlyStopping: null,
  };
  const data: TrainingData = {
    rows: train.rows, features: 784, x: train.images,
    mean: new Float32Array(784), std: new Float32Array(784).fill(255),
    labels: train.labels, targets: null, targetMean: null, targetStd: null,
  };
  const kernels = createKernels(s.kernel);
  const engine = `mlp-service/${kernels.name}`;
  const helpers = s.threads > 1 ? await startHelperThreads(s.threads - 1) : undefined;
  const trainer = createTrainer(network, training, data, { kernels, threads: s.threads, helpers });
  let trainingMs = 0;
  while (!trainer.done) {
    const started = performance.now();
    const cpu = cpuSeconds();
    const m = trainer.runEpoch();
    const ms = performance.now() - started;
    trainingMs += ms;
    if (m === null) throw new Error('the epoch was abandoned');
    progress(engine, m.epoch, s.epochs, ms, cpuSeconds() - cpu, train.rows, `, loss ${m.loss.toFixed(4)}, train accuracy ${m.accuracy?.toFixed(4)}` +
      (s.threads > 1 ? `, ${s.threads} threads (CPU-seconds: this process's, all threads)` : ''));
  }
  trainer.close();
  await helpers?.close();
  const predictor = createPredictor(decodeModel(trainer.exportModel()), { maxBatch: 1000 });
  const testAccuracy = argmaxAccuracy(predictor.predict(test.images, test.rows), test.labels, 10);
  const samples = train.rows * s.epochs;
  return {
    engine, hidden: s.hidden, activation: s.activation, batch: s.batch, epochs: s.epochs, threads: s.threads,
    samplesPerSec: Math.round(samples / (trainingMs / 1000)),
    gflops: round((flopsPerSample([784, s.hidden, 10]) * samples) / (trainingMs * 1e6), 2),
    testAccuracy: round(testAccuracy, 4),
    rssMb: rssMb(),
  };
}

// ---------------------------------------------------------------------------------------------
// The peer: @tensorflow/tfjs on the wasm backend (XNNPACK), loaded from node_modules, never fetched

async function runTfjs(s: Settings, train: Split, test: Split): Promise<RunResult> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { createRequire } = await import('node:module');
  const { dirname } = await import('node:path');
  // A file path prefix: the backend reads its .wasm from disk.
  wasm.setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its wasm backend');
  await tf.ready();

  const toInputs = (split: Split) => {
    const x = new Float32Array(split.images.length);
    for (let i = 0; i < x.length; i++) x[i] = split.images[i] / 255;
    return tf.tensor2d(x, [split.rows, 784]);
  };
  const xs = toInputs(train);
  const ys = tf.oneHot(tf.tensor1d(train.labels, 'int32'), 10).toFloat();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: s.hidden, activation: s.activation, kernelInitializer: s.activation === 'relu' ? 'heUniform' : 'glorotUniform' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  // tfjs's momentum: accum ← m·accum + g, w ← w − lr·accum; the same iterates as ours for a fixed lr.
  model.compile({ optimizer: tf.train.momentum(s.lr, s.momentum), loss: 'categoricalCrossentropy' });
  let trainingMs = 0;
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const started = performance.now();
    const cpu = cpuSeconds();
    const h = await model.fit(xs, ys, { batchSize: s.batch, epochs: 1, shuffle: true, verbose: 0 });
    const ms = performance.now() - started;
    trainingMs += ms;
    progress('tfjs-wasm', epoch, s.epochs, ms, cpuSeconds() - cpu, train.rows, `, loss ${Number(h.history.loss[0]).toFixed(4)}`);
  }
  const testX = toInputs(test);
  const probs = (model.predict(testX) as import('@tensorflow/tfjs').Tensor).dataSync();
  const samples = train.rows * s.epochs;
  return {
    engine: 'tfjs-wasm', hidden: s.hidden, activation: s.activation, batch: s.batch, epochs: s.epochs,
    samplesPerSec: Math.round(samples / (trainingMs / 1000)),
    gflops: round((flopsPerSample([784, s.hidden, 10]) * samples) / (trainingMs * 1e6), 2),
    testAccuracy: round(argmaxAccuracy(probs, test.labels, 10), 4),
    rssMb: rssMb(),
  };
}

/** Runs the peer in a child process (this script with --run tfjs) and returns its JSON line. */
function runPeerInChild(argv: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1], [...argv, '--run', 'tfjs'], { execArgv: process.execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the tfjs run exited with code ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as RunResult);
      } catch (cause) {
        reject(new Error(`the tfjs run printed no JSON line: ${out}`, { cause }));
      }
    });
  });
}

/**
 * PyTorch on one thread (bench/torch_peer.py with /usr/bin/python3), or null when that python has no
 * torch (the script exits 3): the comparison is then skipped, not failed.
 */
function runTorch(s: Settings): Promise<RunResult | null> {
  const script = join(import.meta.dirname, 'torch_peer.py');
  const args = [script, '--data', s.data, '--hidden', String(s.hidden), '--activation', s.activation, '--batch', String(s.batch),
    '--epochs', String(s.epochs), '--lr', String(s.lr), '--momentum', String(s.momentum), '--seed', String(s.seed), '--threads', '1'];
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', args, { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err !== null) {
        if ((err as { code?: unknown }).code === 3 || (err as { code?: unknown }).code === 'ENOENT') {
          process.stderr.write('--peer torch: /usr/bin/python3 cannot import torch; skipping the peer\n');
          return resolve(null);
        }
        return reject(new Error(`the torch run failed: ${err.message}`, { cause: err }));
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as RunResult);
      } catch (cause) {
        reject(new Error(`the torch run printed no JSON line: ${stdout}`, { cause }));
      }
    });
    child.stderr!.pipe(process.stderr);
  });
}

// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const { values: opts } = parseArgs({
  args: argv,
  options: {
    hidden: { type: 'string', default: '128' },
    activation: { type: 'string', default: 'relu' },
    batch: { type: 'string', default: '32' },
    epochs: { type: 'string', default: '1' },
    lr: { type: 'string', default: '0.01' },
    momentum: { type: 'string', default: '0.9' },
    seed: { type: 'string', default: '1' },
    kernel: { type: 'string', default: 'auto' },
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    peer: { type: 'string' },
    threads: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    run: { type: 'string' }, // internal: the child process running the peer
  },
});

function positive(name: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  return n;
}
if (!['relu', 'tanh', 'sigmoid'].includes(opts.activation)) throw new Error(`--activation must be relu, tanh or sigmoid, got ${opts.activation}`);
if (!['auto', 'wasm-fma', 'wasm-simd', 'reference'].includes(opts.kernel)) throw new Error(`--kernel must be auto, wasm-fma, wasm-simd or reference, got ${opts.kernel}`);
if (opts.peer !== undefined && opts.peer !== 'tfjs' && opts.peer !== 'torch') throw new Error(`--peer must be tfjs or torch, got ${opts.peer}`);
const momentum = Number(opts.momentum);
if (!(momentum >= 0 && momentum < 1)) throw new Error(`--momentum must be in [0, 1), got ${opts.momentum}`);
const settings: Settings = {
  hidden: positive('hidden', opts.hidden, true),
  activation: opts.activation as HiddenActivation,
  batch: positive('batch', opts.batch, true),
  epochs: positive('epochs', opts.epochs, true),
  lr: positive('lr', opts.lr, false),
  momentum,
  seed: Number(opts.seed),
  kernel: opts.kernel as KernelChoice,
  data: opts.data,
  threads: positive('threads', opts.threads, true),
};

if (opts.run === 'tfjs') {
  const train = loadSplit(settings.data, 'train');
  const test = loadSplit(settings.data, 't10k');
  console.log(JSON.stringify(await runTfjs(settings, train, test)));
} else {
  const peer = opts.peer === 'tfjs' ? await runPeerInChild(argv.filter((a) => a !== '--json'))
    : opts.peer === 'torch' ? await runTorch(settings) : null;
  const train = loadSplit(settings.data, 'train');
  const test = loadSplit(settings.data, 't10k');
  const ours = await runOurs(settings, train, test);
  const ratio = peer === null ? null : round(ours.samplesPerSec / peer.samplesPerSec, 2);
  if (opts.json) {
    if (peer !== null) {
      console.log(JSON.stringify(peer));
      console.log(JSON.stringify({ ratio, of: 'samplesPerSec', ours: ours.engine, peer: peer.engine }));
    }
    console.log(JSON.stringify(ours));
  } else {
    console.table((peer === null ? [ours] : [peer, ours]).map((r) => ({
      engine: r.engine, hidden: r.hidden, activation: r.activation, batch: r.batch, epochs: r.epochs, threads: r.threads ?? 1,
      'samples/s': r.samplesPerSec, 'GFLOP/s': r.gflops, 'test accuracy': r.testAccuracy, 'RSS MiB': r.rssMb,
    })));
    if (ratio !== null) console.log(`ours / ${peer!.engine}: ${ratio}× the samples per second`);
  }
}
