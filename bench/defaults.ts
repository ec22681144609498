// What the service's defaults learn: trains with the engine exactly as the service's worker does (the
// data parsers of src/data, trainingData() of src/jobs, createTrainer, createPredictor) on Fashion-MNIST
// and on small data sets bundled with scikit-learn, and prints the test scores beside scikit-learn's
// MLPClassifier()/MLPRegressor() defaults on the same splits (bench/sklearn_peer.py).
//
//   npx tsx bench/defaults.ts [--optimizer adam] [--lr 0.001] [--hidden 128] [--batch 32]
//     [--epochs recommended | 20 | budget:ROWS:MIN:MAX] [--momentum 0.9] [--l2 0] [--clip-norm N]
//     [--dropout 0] [--decay 0] [--validation 0] [--patience 0] [--seeds 1,2,3] [--datasets fashion,iris,wine,breast_cancer,digits,diabetes]
//     [--fashion DIR] [--tables DIR] [--json FILE]
//
// Every setting defaults to the engine's RECOMMENDED_DEFAULTS, so a bare run measures what a job that
// names only its data gets. --epochs budget:R:MIN:MAX sets epochs = clamp(ceil(R / training rows),
// MIN, MAX): about R rows visited; 'recommended' is recommendedEpochs(), budget:600000:10:100. --tables is where
// sklearn_peer.py writes its CSV splits and scores (it is run there with /usr/bin/python3 when the
// folder holds no sklearn.json yet), each small set split several times; scores are means over
// splits × seeds. Fashion-MNIST trains on its 60,000 rows and is scored on the 10,000 of its test
// set. Accuracy for classification, R² for regression; "loss" is the last epoch's training loss.
// A benchmark prints figures; it asserts nothing.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCsv } from '../src/data/csv.js';
import { datasetFromIdx, parseIdx } from '../src/data/idx.js';
import type { ParsedDataset } from '../src/data/types.js';
import {
  createPredictor, createTrainer, decodeModel, EngineError, RECOMMENDED_DEFAULTS as D, recommendedEpochs, regressionScores,
} from '../src/engine/index.js';
import type { NetworkSpec, OptimizerName, TrainingSpec } from '../src/engine/types.js';
import { trainingData } from '../src/services/jobs/training-data.js';

const { values: args } = parseArgs({
  options: {
    optimizer: { type: 'string', default: D.optimizer },
    lr: { type: 'string', default: String(D.learningRate) },
    momentum: { type: 'string', default: String(D.momentum) },
    hidden: { type: 'string', default: D.hidden.map((h) => h.units).join(',') },
    batch: { type: 'string', default: String(D.batchSize) },
    epochs: { type: 'string', default: 'recommended' },
    l2: { type: 'string', default: String(D.l2) },
    dropout: { type: 'string', default: '0' },
    decay: { type: 'string', default: '0' },
    'clip-norm': { type: 'string' },
    validation: { type: 'string', default: '0' },
    patience: { type: 'string', default: '0' },
    seeds: { type: 'string', default: '1,2,3' },
    datasets: { type: 'string', default: 'iris,wine,breast_cancer,digits,diabetes,fashion' },
    fashion: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    tables: { type: 'string', default: '/tmp/mlp-bench-defaults' },
    json: { type: 'string' },
  },
});

interface Split { train: ParsedDataset; test: ParsedDataset }
interface PeerScores { sklearn: number[]; sklearnLoss: number[]; sklearnSeconds: number; splits: number }

const hidden = args.hidden.split(',').filter(Boolean).map(Number);
const seeds = args.seeds.split(',').map(Number);

function epochsFor(trainRows: number): number {
  const [kind, ...rest] = args.epochs.split(':');
  if (kind === 'recommended') return recommendedEpochs(trainRows);
  if (kind !== 'budget') return Number(kind);
  const [rows, min, max] = rest.map(Number);
  return Math.min(max, Math.max(min, Math.ceil(rows / trainRows)));
}

async function* chunks(path: string): AsyncIterable<Uint8Array> {
  for await (const c of createReadStream(path)) yield c as Uint8Array;
}

async function idx(name: string, what: 'images' | 'labels') {
  for (const file of [`${name}.gz`, name]) {
    const path = join(args.fashion, file);
    if (existsSync(path)) return parseIdx(chunks(path), what);
  }
  throw new Error(`${name}(.gz) not found in ${args.fashion}; give the Fashion-MNIST folder with --fashion`);
}

async function fashion(): Promise<Split> {
  const train = datasetFromIdx(await idx('train-images-idx3-ubyte', 'images'), await idx('train-labels-idx1-ubyte', 'labels'));
  const test = datasetFromIdx(await idx('t10k-images-idx3-ubyte', 'images'), await idx('t10k-labels-idx1-ubyte', 'labels'));
  return { train, test };
}

async function table(name: string, k: number, task: 'classification' | 'regression'): Promise<Split> {
  const read = (part: string) => parseCsv(chunks(join(args.tables, `${name}-${k}-${part}.csv`)), { target: 'target', task });
  const train = await read('train');
  const test = await read('test');
  // The test rows' labels must index the training set's classes (they hold the same classes here).
  if (task === 'classification' && JSON.stringify(train.classes) !== JSON.stringify(test.classes)) {
    throw new Error(`${name}: the test split's classes ${JSON.stringify(test.classes)} differ from training's`);
  }
  return { train, test };
}

function peerScores(): Record<string, PeerScores & { task: 'classification' | 'regression' }> {
  const path = join(args.tables, 'sklearn.json');
  if (!existsSync(path)) {
    mkdirSync(args.tables, { recursive: true });
    const out = execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'sklearn_peer.py'), '--out', args.tables, '--seeds', args.seeds],
      { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    appendFileSync(path, out);
  }
  const peer = JSON.parse(readFileSync(path, 'utf8'));
  const fashionPath = join(args.tables, 'sklearn-fashion.json');
  if (existsSync(fashionPath)) Object.assign(peer, JSON.parse(readFileSync(fashionPath, 'utf8')));
  return peer;
}

/** The engine's specs for a job with these settings, as src/jobs/spec.ts engineSpecs maps them. */
function specs(d: ParsedDataset, seed: number): { network: NetworkSpec; training: TrainingSpec } {
  const classification = d.task === 'classification';
  const outputs = classification ? d.classes!.length : 1;
  const validationSplit = Number(args.validation);
  const patience = Number(args.patience);
  return {
    network: {
      inputs: d.features,
      hidden: hidden.map((units) => ({ units, activation: 'relu', dropout: Number(args.dropout) })),
      outputs,
      output: classification ? 'softmax' : 'identity',
      loss: classification ? 'categorical_cross_entropy' : 'squared_error',
    },
    training: {
      batchSize: Number(args.batch), epochs: epochsFor(d.rows - Math.floor(d.rows * validationSplit)),
      optimizer: args.optimizer as OptimizerName, learningRate: Number(args.lr), momentum: Number(args.momentum),
      nesterov: false, decay: Number(args.decay), decayPer: 'epoch', l2: Number(args.l2), seed, validationSplit,
      earlyStopping: patience > 0 ? { patience, minDelta: 0 } : null,
      clipNorm: args['clip-norm'] === undefined ? null : Number(args['clip-norm']),
    },
  };
}

interface Run { score: number; loss: number; epochs: number; seconds: number; error: string | null }

function run(split: Split, seed: number): Run {
  const { train, test } = split;
  const { network, training } = specs(train, seed);
  const started = performance.now();
  // standardize is on by default in the service; trainingData() also standardises regression targets.
  const trainer = createTrainer(network, training, trainingData(train, train.rows, train.features, true));
  let loss = NaN;
  try {
    while (!trainer.done) loss = trainer.runEpoch()!.loss;
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    return { score: NaN, loss, epochs: trainer.epochsDone, seconds: (performance.now() - started) / 1000, error: e.code };
  }
  const predicted = createPredictor(decodeModel(trainer.exportModel())).predict(test.x, test.rows);
  const seconds = (performance.now() - started) / 1000;
  let score: number;
  if (test.task === 'classification') {
    const n = network.outputs;
    let correct = 0;
    for (let r = 0; r < test.rows; r++) {
      let best = 0;
      for (let k = 1; k < n; k++) if (predicted[r * n + k] > predicted[r * n + best]) best = k;
      if (best === test.labels![r]) correct++;
    }
    score = correct / test.rows;
  } else {
    score = regressionScores(predicted, test.targets!, test.rows, 1).r2;
  }
  return { score, loss, epochs: trainer.epochsDone, seconds, error: null };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

const candidate = `${args.optimizer} lr ${args.lr}${args.optimizer === 'sgd' ? ` m ${args.momentum}` : ''}, ` +
  `hidden ${args.hidden}, batch ${args.batch}, epochs ${args.epochs}` +
  (Number(args.validation) > 0 ? `, validation ${args.validation} patience ${args.patience}` : '') +
  (args['clip-norm'] !== undefined ? `, clipNorm ${args['clip-norm']}` : '') + (Number(args.l2) > 0 ? `, l2 ${args.l2}` : '') +
  (Number(args.dropout) > 0 ? `, dropout ${args.dropout}` : '') + (Number(args.decay) > 0 ? `, decay ${args.decay}/epoch` : '');
console.log(`candidate: ${candidate}; seeds ${args.seeds}`);
console.log('| data | metric | runs | ours (mean) | ours (worst) | failed | epochs | final train loss | s/run | sklearn default | sklearn loss |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const peer = peerScores();
for (const name of args.datasets.split(',')) {
  const p = peer[name];
  const runs: Run[] = [];
  for (let k = 0; k < (name === 'fashion' ? 1 : p.splits); k++) {
    const split = name === 'fashion' ? await fashion() : await table(name, k, p.task);
    for (const seed of seeds) runs.push(run(split, seed));
  }
  const task = p?.task ?? 'classification';
  const ok = runs.filter((r) => r.error === null);
  const row = {
    candidate, data: name, metric: task === 'classification' ? 'accuracy' : 'r2',
    ours: ok.length ? mean(ok.map((r) => r.score)) : NaN, failed: runs.length - ok.length,
    worst: ok.length ? Math.min(...ok.map((r) => r.score)) : NaN,
    epochs: runs[0].epochs, loss: ok.length ? mean(ok.map((r) => r.loss)) : NaN, seconds: mean(runs.map((r) => r.seconds)),
    sklearn: p ? mean(p.sklearn) : NaN, sklearnLoss: p ? mean(p.sklearnLoss) : NaN,
  };
  console.log(`| ${name} | ${row.metric} | ${runs.length} | ${f4(row.ours)} | ${f4(row.worst)} | ${row.failed} | ${row.epochs} | ${f4(row.loss)} | ` +
    `${row.seconds.toFixed(1)} | ${f4(row.sklearn)} | ${f4(row.sklearnLoss)} |`);
  if (args.json) appendFileSync(args.json, JSON.stringify(row) + '\n');
}
