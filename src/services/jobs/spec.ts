// The one job spec: a zod schema is the source of the request body, of the resolved type, of the
// defaults and of openapi.yaml (resolve.ts fills what depends on the dataset). It imports nothing that
// runs, so the dashboard can take its types.
import { z } from 'zod';
import { RECOMMENDED_DEFAULTS as R } from '../../engine/defaults.js';

/**
 * Every default of a job spec, chosen by measurement (src/engine/defaults.ts; README, "Learning quality").
 * `epochs` and the learning rate depend on the dataset and the optimizer: resolve.ts fills them.
 */
const DEFAULTS = {
  hidden: R.hidden,
  batchSize: R.batchSize,
  l2: R.l2,
  validationSplit: R.validationSplit,
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
  name: z.enum(['adam', 'sgd']).optional()
    .describe('adam (β₁, β₂, ε, bias-corrected), or sgd: minibatch SGD with momentum or Nesterov. Default: adam when '
      + 'the optimizer object is left out; an optimizer object without a name is sgd, as every spec was before adam existed'),
  learningRate: z.number().gt(0).max(10).optional()
    .describe(`η (μ in the seed's notation). Default ${R.learningRate} for adam, ${R.sgdLearningRate} for sgd`),
  momentum: z.number().min(0).lt(1).optional().describe(`sgd only. Default ${R.momentum}`),
  nesterov: z.boolean().optional().describe('sgd only. Default false'),
  decay: z.number().min(0).max(1000).optional().describe('μₖ₊₁ = μₖ / (1 + decay), either optimizer. Default 0'),
  decayPer: z.enum(['epoch', 'step']).optional().describe('Default epoch'),
  beta1: z.number().min(0).lt(1).optional().describe(`adam only. Default ${R.beta1}`),
  beta2: z.number().min(0).lt(1).optional().describe(`adam only. Default ${R.beta2}`),
  epsilon: z.number().gt(0).max(1).optional().describe(`adam only. Default ${R.epsilon}`),
  clipNorm: z.number().gt(0).nullable().optional()
    .describe('Scale the gradient of each step down to this L2 norm when it is longer (before L2 decay is added). Default null: no clipping'),
});

/** The optimizer as a job keeps it: every setting filled in. */
const OptimizerResolved = z.object({
  name: z.enum(['adam', 'sgd']),
  learningRate: z.number(),
  momentum: z.number(),
  nesterov: z.boolean(),
  decay: z.number(),
  decayPer: z.enum(['epoch', 'step']),
  beta1: z.number(),
  beta2: z.number(),
  epsilon: z.number(),
  clipNorm: z.number().nullable(),
});

const FaultInjection = z.strictObject({
  kind: z.enum(['crash', 'throw', 'oom', 'hang']), atEpoch: z.number().int().min(1),
});

/** A registry name: not a UUID-like id and free of '@' and '/', so that name@version and name@alias read unambiguously. */
export const ModelName = z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,99}$/, 'a name starts with a letter and holds letters, digits, ".", "_" and "-" (at most 100)');

const OutputName = z.enum(['softmax', 'sigmoid', 'linear']);
const LossName = z.enum(['categorical_cross_entropy', 'binary_cross_entropy', 'squared_error']);

/** The request body of POST /v1/jobs. Parsing fills the defaults that do not depend on the dataset. */
export const JobSpecInput = z.strictObject({
  datasetId: z.string().min(1),
  hidden: z.array(HiddenLayer).min(1).max(16).default(DEFAULTS.hidden)
    .describe('Hidden layers (default: one of 128 ReLU units)'),
  output: OutputName.optional()
    .describe('Default: softmax for classification, linear for regression; sigmoid for two classes if asked'),
  loss: LossName.optional()
    .describe('Default: follows the output (softmax → categorical_cross_entropy, sigmoid → binary_cross_entropy, linear → squared_error). '
      + 'squared_error is ½‖y − ŷ‖² per row, so a step is half the size of one on Σ(y − ŷ)² at the same rate'),
  optimizer: Optimizer.optional(),
  batchSize: z.number().int().min(1).max(65536).default(DEFAULTS.batchSize),
  epochs: z.number().int().min(1).max(10000).optional()
    .describe('Default: about 600,000 rows visited, between 10 and 100 epochs (10 for 60,000 training rows, 100 up to 6,000)'),
  l2: z.number().min(0).max(10).default(DEFAULTS.l2).describe('L2 weight decay λ'),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional().describe('Default: drawn at random and recorded in the spec'),
  validationSplit: z.number().min(0).lt(1).default(DEFAULTS.validationSplit).describe('Fraction held out for validation'),
  earlyStopping: z.strictObject({
    patience: z.number().int().min(1).max(1000).default(DEFAULTS.earlyStopping.patience),
    minDelta: z.number().min(0).default(DEFAULTS.earlyStopping.minDelta),
  }).nullable().default(null)
    .describe('Stop when the validation loss has not improved by minDelta for patience epochs; keeps the best weights'),
  standardize: z.boolean().default(DEFAULTS.standardize)
    .describe("Scale features by the dataset's mean and std, with the std floored at a tenth of the column's range, "
      + 'so every value lies within ±10 (a near-constant column cannot blow up); a constant column becomes 0'),
  maxRuntimeSeconds: z.number().int().min(1).max(7 * 86400).nullable().default(null)
    .describe('Stop after this much training time and keep the best model so far'),
  threads: z.number().int().min(1).max(64).optional()
    .describe('Threads one job trains on (data-parallel, bit-identical for a given seed and thread count). '
      + 'Default 1; a node starts a job while the threads of its running jobs leave a core free (WORKERS=1 and threads = cores: one job on every core)'),
  modelName: ModelName.optional()
    .describe('Register the model under this name, as its next version (1, 2, …): clients then call name, name@version or name@alias'),
  faultInjection: FaultInjection.optional().describe('Testing only, accepted when the service runs with FAULT_INJECTION=1'),
}).meta({ id: 'JobRequest' });

/** The spec as a job keeps it: every default filled in, the dataset's included. */
export const JobSpecResolved = z.object({
  ...JobSpecInput.shape,
  output: OutputName,
  loss: LossName,
  optimizer: OptimizerResolved,
  epochs: z.number().int(),
  seed: z.number().int(),
  threads: z.number().int(),
}).meta({ id: 'JobSpec', description: 'The spec with every default filled in' });

export type JobSpecRequest = z.output<typeof JobSpecInput>;
export type JobSpec = z.output<typeof JobSpecResolved>;
export type FaultInjection = z.output<typeof FaultInjection>;
export type Optimizer = z.output<typeof Optimizer>;
