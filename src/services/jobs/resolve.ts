// Submission's half of the job spec: the defaults that depend on the dataset, the engine's own
// validator run before queueing (so a worker refuses nothing the submission accepted, and in the same
// words), and the translation of a spec into the engine's network and training specs.
import { EngineError, RECOMMENDED_DEFAULTS as R, recommendedEpochs, validateNetwork, validateTraining } from '../../engine/index.js';
import type { NetworkSpec, TrainingSpec } from '../../engine/types.js';
import type { Dataset } from '../../store/types.js';
import { errors } from '../errors.js';
import type { JobSpec, JobSpecRequest, Optimizer } from './spec.js';

/** What one worker may be asked to hold for a minibatch: its activations (×3 with a, z and δ), float32.
 *  The parameter limit is the engine's own. */
const MAX_BATCH_ACTIVATIONS = 20_000_000;

/** The engine's field names, as paths of the job spec. */
const SPEC_PATH: Record<string, string> = {
  inputs: 'datasetId', outputs: 'output', optimizer: 'optimizer.name', learningRate: 'optimizer.learningRate',
  momentum: 'optimizer.momentum', nesterov: 'optimizer.nesterov', decay: 'optimizer.decay', decayPer: 'optimizer.decayPer',
  beta1: 'optimizer.beta1', beta2: 'optimizer.beta2', epsilon: 'optimizer.epsilon', clipNorm: 'optimizer.clipNorm',
};
const specPath = (field: string | null) => (field === null ? 'spec' : SPEC_PATH[field] ?? field.replace(/\[(\d+)\]/g, '.$1'));

/** Fills the defaults that depend on the dataset and refuses, with the engine's words, what cannot train on it. */
export function resolveSpec(input: JobSpecRequest, dataset: Dataset, randomSeed: () => number): JobSpec {
  const classification = dataset.task === 'classification';
  const classes = dataset.classes?.length ?? 0;
  const output = input.output ?? (classification ? 'softmax' : 'linear');
  const loss = input.loss ?? (
    output === 'softmax' ? 'categorical_cross_entropy'
      : output === 'sigmoid' ? 'binary_cross_entropy' : 'squared_error');

  // What the dataset's task asks of the output; the output/loss pairings are the engine's to check.
  if (classification && output === 'linear') {
    throw errors.invalidSpec('output', 'a linear output is for regression; this dataset is for classification: use "softmax" (or "sigmoid" for two classes)');
  }
  if (!classification && output !== 'linear') {
    throw errors.invalidSpec('output', `the dataset is a regression dataset: use output "linear", not "${output}"`);
  }
  if (output === 'sigmoid' && classes !== 2) {
    throw errors.invalidSpec('output', `a sigmoid output needs exactly two classes; the dataset has ${classes}: use "softmax"`);
  }
  const trainRows = dataset.rows - Math.floor(dataset.rows * input.validationSplit);
  const spec: JobSpec = {
    ...input, output, loss, optimizer: resolveOptimizer(input.optimizer),
    epochs: input.epochs ?? recommendedEpochs(trainRows), seed: input.seed ?? randomSeed(),
    // One unless asked: a job's bits depend on its thread count, which must not hang on the node that
    // took the request; and on the shared 2-core machines measured, a second thread did not pay.
    threads: input.threads ?? 1,
  };
  const { network, training } = engineSpecs(spec, dataset);
  try {
    validateNetwork(network);
    validateTraining(training);
  } catch (err) {
    if (err instanceof EngineError) throw errors.invalidSpec(specPath(err.field), err.message);
    throw err;
  }

  const units = network.inputs + network.hidden.reduce((sum, h) => sum + h.units, 0) + network.outputs;
  if (spec.batchSize * units > MAX_BATCH_ACTIVATIONS) {
    throw errors.invalidSpec('batchSize', `batchSize ${spec.batchSize} × ${units} units needs ${spec.batchSize * units} activations per pass; at most ${MAX_BATCH_ACTIVATIONS}: use a smaller batch`);
  }
  const validationRows = Math.floor(dataset.rows * spec.validationSplit);
  if (dataset.rows - validationRows < 1) {
    throw errors.invalidSpec('validationSplit', `validationSplit ${spec.validationSplit} leaves no training rows out of ${dataset.rows}`);
  }
  if (spec.validationSplit > 0 && validationRows < 1) {
    throw errors.invalidSpec('validationSplit', `validationSplit ${spec.validationSplit} holds out no rows of ${dataset.rows}: raise it or set 0`);
  }
  return spec;
}

/**
 * Every optimizer setting filled in. Left out, the optimizer is adam; an optimizer object without a name
 * is sgd, as every spec was before adam existed, so such a spec (and a stored job resumed) trains as it did.
 */
export function resolveOptimizer(o: Optimizer | undefined): JobSpec['optimizer'] {
  const name = o?.name ?? (o === undefined ? R.optimizer : 'sgd');
  return {
    name,
    learningRate: o?.learningRate ?? (name === 'adam' ? R.learningRate : R.sgdLearningRate),
    momentum: o?.momentum ?? R.momentum,
    nesterov: o?.nesterov ?? R.nesterov,
    decay: o?.decay ?? R.decay,
    decayPer: o?.decayPer ?? R.decayPer,
    beta1: o?.beta1 ?? R.beta1,
    beta2: o?.beta2 ?? R.beta2,
    epsilon: o?.epsilon ?? R.epsilon,
    clipNorm: o?.clipNorm ?? R.clipNorm,
  };
}

/** The engine's view of a job: what the network is and how it trains. */
export function engineSpecs(spec: JobSpec, dataset: Pick<Dataset, 'features' | 'classes'>):
  { network: NetworkSpec; training: TrainingSpec } {
  return {
    network: {
      inputs: dataset.features,
      hidden: spec.hidden,
      outputs: spec.output === 'softmax' ? dataset.classes?.length ?? 0 : 1,
      output: spec.output === 'linear' ? 'identity' : spec.output,
      loss: spec.loss,
    },
    training: {
      batchSize: spec.batchSize,
      epochs: spec.epochs,
      optimizer: spec.optimizer.name,
      learningRate: spec.optimizer.learningRate,
      momentum: spec.optimizer.momentum,
      nesterov: spec.optimizer.nesterov,
      decay: spec.optimizer.decay,
      decayPer: spec.optimizer.decayPer,
      beta1: spec.optimizer.beta1,
      beta2: spec.optimizer.beta2,
      epsilon: spec.optimizer.epsilon,
      clipNorm: spec.optimizer.clipNorm,
      l2: spec.l2,
      seed: spec.seed,
      validationSplit: spec.validationSplit,
      earlyStopping: spec.earlyStopping,
    },
  };
}
