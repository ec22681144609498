// A job's spec as submitted, with every default filled in from the dataset it trains on, and the
// translation of that spec into the engine's network and training specs.
import type { Dataset } from '../store/datasets.js';
import type { NetworkSpec, TrainingSpec, HiddenActivation, LossName } from '../engine/types.js';

export type OutputName = 'softmax' | 'sigmoid' | 'linear';

export interface JobSpecInput {
  datasetId: string;
  hidden?: { units: number; activation?: HiddenActivation; dropout?: number }[];
  output?: OutputName;
  loss?: LossName;
  optimizer?: {
    learningRate?: number; momentum?: number; nesterov?: boolean; decay?: number; decayPer?: 'epoch' | 'step';
  };
  batchSize?: number;
  epochs?: number;
  l2?: number;
  seed?: number;
  validationSplit?: number;
  earlyStopping?: { patience?: number; minDelta?: number } | null;
  standardize?: boolean;
  maxRuntimeSeconds?: number | null;
  faultInjection?: FaultInjection;
}

/** Tests only (FAULT_INJECTION=1): make the worker misbehave at a given epoch. */
export interface FaultInjection { kind: 'crash' | 'throw' | 'oom' | 'hang'; atEpoch: number }

export interface JobSpec {
  datasetId: string;
  hidden: { units: number; activation: HiddenActivation; dropout: number }[];
  output: OutputName;
  loss: LossName;
  optimizer: { learningRate: number; momentum: number; nesterov: boolean; decay: number; decayPer: 'epoch' | 'step' };
  batchSize: number;
  epochs: number;
  l2: number;
  seed: number;
  validationSplit: number;
  earlyStopping: { patience: number; minDelta: number } | null;
  standardize: boolean;
  maxRuntimeSeconds: number | null;
  faultInjection?: FaultInjection;
}

export class SpecError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

export const DEFAULTS = {
  hidden: [{ units: 64, activation: 'relu' as const, dropout: 0 }],
  optimizer: { learningRate: 0.05, momentum: 0.9, nesterov: false, decay: 0, decayPer: 'epoch' as const },
  batchSize: 32,
  epochs: 10,
  earlyStopping: { patience: 5, minDelta: 0 },
};

/** What one worker may be asked to hold: parameters (×4 with gradients, velocities and the best
 *  copy) and activations of one minibatch (×3 with a, z and δ), all float32. */
export const LIMITS = { parameters: 20_000_000, batchActivations: 20_000_000 };

/** Fills the defaults that depend on the dataset and refuses what cannot train on it. */
export function resolveSpec(input: JobSpecInput, dataset: Dataset, randomSeed: () => number): JobSpec {
  const classification = dataset.task === 'classification';
  const classes = dataset.classes?.length ?? 0;
  const output: OutputName = input.output ?? (classification ? 'softmax' : 'linear');
  const loss: LossName = input.loss ?? (
    output === 'softmax' ? 'categorical_cross_entropy'
      : output === 'sigmoid' ? 'binary_cross_entropy' : 'squared_error');

  if (classification && output === 'linear') {
    throw new SpecError('output', 'a linear output is for regression; this dataset is for classification: use "softmax" (or "sigmoid" for two classes)');
  }
  if (!classification && output !== 'linear') {
    throw new SpecError('output', `the dataset is a regression dataset: use output "linear", not "${output}"`);
  }
  if (output === 'sigmoid' && classes !== 2) {
    throw new SpecError('output', `a sigmoid output needs exactly two classes; the dataset has ${classes}: use "softmax"`);
  }
  if (loss === 'categorical_cross_entropy' && output !== 'softmax') {
    throw new SpecError('loss', 'categorical_cross_entropy goes with a softmax output');
  }
  if (loss === 'binary_cross_entropy' && output !== 'sigmoid') {
    throw new SpecError('loss', 'binary_cross_entropy goes with a sigmoid output');
  }
  const hidden = input.hidden ?? DEFAULTS.hidden;
  const widths = [dataset.features, ...hidden.map((l) => l.units), output === 'softmax' ? classes : 1];
  let parameters = 0;
  for (let l = 1; l < widths.length; l++) parameters += widths[l] * widths[l - 1] + widths[l];
  if (parameters > LIMITS.parameters) {
    throw new SpecError('hidden', `the network would have ${parameters} parameters; at most ${LIMITS.parameters}: use fewer or smaller hidden layers`);
  }
  const batchSize = input.batchSize ?? DEFAULTS.batchSize;
  const activations = batchSize * widths.reduce((sum, n) => sum + n, 0);
  if (activations > LIMITS.batchActivations) {
    throw new SpecError('batchSize', `batchSize ${batchSize} × ${widths.reduce((sum, n) => sum + n, 0)} units needs ${activations} activations per pass; at most ${LIMITS.batchActivations}: use a smaller batch`);
  }
  const validationSplit = input.validationSplit ?? 0;
  const validationRows = Math.floor(dataset.rows * validationSplit);
  if (dataset.rows - validationRows < 1) {
    throw new SpecError('validationSplit', `validationSplit ${validationSplit} leaves no training rows out of ${dataset.rows}`);
  }
  if (validationSplit > 0 && validationRows < 1) {
    throw new SpecError('validationSplit', `validationSplit ${validationSplit} holds out no rows of ${dataset.rows}: raise it or set 0`);
  }
  const earlyStopping = input.earlyStopping
    ? { ...DEFAULTS.earlyStopping, ...input.earlyStopping }
    : null;
  if (earlyStopping && validationSplit === 0) {
    throw new SpecError('earlyStopping', 'early stopping watches the validation loss: set validationSplit above 0');
  }
  return {
    datasetId: input.datasetId,
    hidden: hidden.map((l) => ({
      units: l.units, activation: l.activation ?? 'relu', dropout: l.dropout ?? 0,
    })),
    output,
    loss,
    optimizer: { ...DEFAULTS.optimizer, ...input.optimizer },
    batchSize,
    epochs: input.epochs ?? DEFAULTS.epochs,
    l2: input.l2 ?? 0,
    seed: input.seed ?? randomSeed(),
    validationSplit,
    earlyStopping,
    standardize: input.standardize ?? true,
    maxRuntimeSeconds: input.maxRuntimeSeconds ?? null,
    ...(input.faultInjection ? { faultInjection: input.faultInjection } : {}),
  };
}

/** The engine's view of a job: what the network is and how it trains. */
export function engineSpecs(spec: JobSpec, dataset: Pick<Dataset, 'features' | 'task' | 'classes'>):
  { network: NetworkSpec; training: TrainingSpec } {
  const outputs = spec.output === 'softmax' ? dataset.classes!.length : 1;
  return {
    network: {
      inputs: dataset.features,
      hidden: spec.hidden,
      outputs,
      output: spec.output === 'linear' ? 'identity' : spec.output,
      loss: spec.loss,
    },
    training: {
      batchSize: spec.batchSize,
      epochs: spec.epochs,
      learningRate: spec.optimizer.learningRate,
      momentum: spec.optimizer.momentum,
      nesterov: spec.optimizer.nesterov,
      decay: spec.optimizer.decay,
      decayPer: spec.optimizer.decayPer,
      l2: spec.l2,
      seed: spec.seed,
      validationSplit: spec.validationSplit,
      earlyStopping: spec.earlyStopping,
    },
  };
}
