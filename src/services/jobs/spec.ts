// The one job spec: a zod schema is the source of the request body, of the resolved type, of the
// defaults and of openapi.yaml (resolve.ts fills what depends on the dataset). It imports nothing that
// runs, so the dashboard can take its types.
import { z } from 'zod';

/** Every default of a job spec that does not depend on its dataset. */
const DEFAULTS = {
  hidden: [{ units: 64, activation: 'relu' as const, dropout: 0 }],
  optimizer: { learningRate: 0.05, momentum: 0.9, nesterov: false, decay: 0, decayPer: 'epoch' as const },
  batchSize: 32,
  epochs: 10,
  l2: 0,
  validationSplit: 0,
  earlyStopping: { patience: 5, minDelta: 0 },
  standardize: true,
};

const HiddenLayer = z.strictObject({
  units: z.number().int().min(1).max(4096),
  activation: z.enum(['relu', 'tanh', 'sigmoid']).default('relu'),
  dropout: z.number().min(0).lt(1).default(0)
    .describe('Inverted dropout: each unit of each row is dropped with this probability, a new mask per row and step'),
});

const Optimizer = z.strictObject({
  learningRate: z.number().gt(0).max(10).default(DEFAULTS.optimizer.learningRate),
  momentum: z.number().min(0).lt(1).default(DEFAULTS.optimizer.momentum),
  nesterov: z.boolean().default(DEFAULTS.optimizer.nesterov),
  decay: z.number().min(0).max(1000).default(DEFAULTS.optimizer.decay).describe('μₖ₊₁ = μₖ / (1 + decay)'),
  decayPer: z.enum(['epoch', 'step']).default(DEFAULTS.optimizer.decayPer),
});

const FaultInjection = z.strictObject({
  kind: z.enum(['crash', 'throw', 'oom', 'hang']), atEpoch: z.number().int().min(1),
});

const OutputName = z.enum(['softmax', 'sigmoid', 'linear']);
const LossName = z.enum(['categorical_cross_entropy', 'binary_cross_entropy', 'squared_error']);

/** The request body of POST /v1/jobs. Parsing fills the defaults that do not depend on the dataset. */
export const JobSpecInput = z.strictObject({
  datasetId: z.string().min(1),
  hidden: z.array(HiddenLayer).min(1).max(16).default(DEFAULTS.hidden)
    .describe('Hidden layers (default: one of 64 ReLU units)'),
  output: OutputName.optional()
    .describe('Default: softmax for classification, linear for regression; sigmoid for two classes if asked'),
  loss: LossName.optional()
    .describe('Default: follows the output (softmax → categorical_cross_entropy, sigmoid → binary_cross_entropy, linear → squared_error). '
      + 'squared_error is ½‖y − ŷ‖² per row, so a step is half the size of one on Σ(y − ŷ)² at the same rate'),
  optimizer: Optimizer.default(DEFAULTS.optimizer),
  batchSize: z.number().int().min(1).max(65536).default(DEFAULTS.batchSize),
  epochs: z.number().int().min(1).max(10000).default(DEFAULTS.epochs),
  l2: z.number().min(0).max(10).default(DEFAULTS.l2).describe('L2 weight decay λ'),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional().describe('Default: drawn at random and recorded in the spec'),
  validationSplit: z.number().min(0).lt(1).default(DEFAULTS.validationSplit).describe('Fraction held out for validation'),
  earlyStopping: z.strictObject({
    patience: z.number().int().min(1).max(1000).default(DEFAULTS.earlyStopping.patience),
    minDelta: z.number().min(0).default(DEFAULTS.earlyStopping.minDelta),
  }).nullable().default(null)
    .describe('Stop when the validation loss has not improved by minDelta for patience epochs; keeps the best weights'),
  standardize: z.boolean().default(DEFAULTS.standardize)
    .describe("Standardise features with the dataset's mean and std"),
  maxRuntimeSeconds: z.number().int().min(1).max(7 * 86400).nullable().default(null)
    .describe('Stop after this much training time and keep the best model so far'),
  faultInjection: FaultInjection.optional().describe('Testing only, accepted when the service runs with FAULT_INJECTION=1'),
}).meta({ id: 'JobRequest' });

/** The spec as a job keeps it: every default filled in, the dataset's included. */
export const JobSpecResolved = z.object({
  ...JobSpecInput.shape,
  output: OutputName,
  loss: LossName,
  seed: z.number().int(),
}).meta({ id: 'JobSpec', description: 'The spec with every default filled in' });

export type JobSpecRequest = z.output<typeof JobSpecInput>;
export type JobSpec = z.output<typeof JobSpecResolved>;
export type FaultInjection = z.output<typeof FaultInjection>;
