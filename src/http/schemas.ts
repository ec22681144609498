// The wire shapes of every route, in zod: validated on the way in, serialised on the way out, and
// the source of openapi.yaml (scripts/openapi.ts writes it; a test checks it is current).
import { z } from 'zod';
import { JobSpecInput, JobSpecResolved } from '../services/jobs/spec.js';

export { JobSpecInput };

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code, e.g. invalid_request, not_found, queue_full'),
    message: z.string().describe('What went wrong and what to do about it'),
    details: z.record(z.string(), z.unknown()).optional().describe('Structured context: field paths, line and column, limits'),
  }),
}).meta({ id: 'Error' });

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed request: the body, query or path does not parse or fails validation',
  401: 'Missing or wrong `Authorization: Bearer <API_KEY>` (only when the service runs with API_KEY)',
  404: 'No such resource',
  409: 'The resource is in a state that forbids this (for example a finished job, a dataset in use)',
  413: 'The body is larger than MAX_UPLOAD_BYTES (or the route limit)',
  415: 'Unsupported Content-Type',
  422: 'Well-formed but unusable: a spec that cannot train on this dataset, a row of the wrong width',
  429: 'Too many requests, or the job queue is full: retry after the Retry-After header',
  503: 'Overloaded, shutting down, or the database unavailable: retry later (Retry-After)',
  507: 'The disk under the store is full: delete datasets or models to free space',
};

/** Error responses for the given statuses, plus those every route can give (401, 429, 503, 507). */
export function errorResponses(...statuses: number[]) {
  const all = [...new Set([...statuses, 401, 429, 503, 507])].sort();
  return Object.fromEntries(all.map((s) => [s, ErrorBody.describe(ERROR_TEXT[s])]));
}

export const IdParams = z.object({ id: z.string().min(1).max(100).describe('The resource id') });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const Label = z.union([z.string(), z.number()]);

// ---------------------------------------------------------------- datasets

export const Dataset = z.object({
  id: z.string(),
  name: z.string(),
  rows: z.number().int(),
  features: z.number().int(),
  featureNames: z.array(z.string()),
  targetName: z.string(),
  task: z.enum(['classification', 'regression']),
  classes: z.array(Label).nullable().describe('Class labels as uploaded, sorted; null for regression'),
  bytes: z.number().int().describe('Stored size of the features and targets'),
  createdAt: z.string(),
}).meta({ id: 'Dataset' });

export const DatasetList = z.object({
  items: z.array(Dataset), total: z.number().int(), limit: z.number().int(), offset: z.number().int(),
}).meta({ id: 'DatasetList' });

export const DatasetUploadQuery = z.strictObject({
  name: z.string().min(1).max(200).optional().describe('A name for the dataset (default: "dataset")'),
  target: z.string().min(1).max(200).optional().describe('CSV: the label column (default: the last)'),
  task: z.enum(['classification', 'regression']).optional().describe('Overrides the inferred task'),
  classNames: z.string().min(1).max(20_000).optional()
    .describe('Comma-separated names for the classes, in their sorted order (0, 1, … for integer labels), e.g. '
      + 'T-shirt,Trouser,…: models and predictions then use the names'),
});

export const JsonDatasetBody = z.object({
  features: z.array(z.array(z.number())).describe('Rows of numeric features, all of one width'),
  labels: z.array(Label).describe('One label per row'),
}).meta({ id: 'JsonDataset' });

// ---------------------------------------------------------------- jobs

export const Epoch = z.object({
  epoch: z.number().int(),
  loss: z.number(),
  valLoss: z.number().nullable(),
  accuracy: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  mse: z.number().nullable(),
  mae: z.number().nullable(),
  r2: z.number().nullable(),
  valMse: z.number().nullable(),
  valMae: z.number().nullable(),
  valR2: z.number().nullable(),
  learningRate: z.number(),
  durationMs: z.number(),
  at: z.string(),
}).meta({ id: 'Epoch' });

export const Job = z.object({
  id: z.string(),
  datasetId: z.string().nullable(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  progress: z.number().min(0).max(1),
  epoch: z.number().int().describe('Epochs completed'),
  epochs: z.number().int(),
  metrics: Epoch.nullable().describe('The latest epoch'),
  samplesPerSec: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  modelId: z.string().nullable(),
  stopReason: z.string().nullable().describe('completed, early_stopping, time_limit, cancelled, or halved (a search stopped the trial at a rung)'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
  node: z.string().nullable().describe('The node training it while it runs (NODE_ID)'),
  searchId: z.string().nullable().describe("The search it is a trial of, or null"),
  trial: z.number().int().nullable().describe("The trial's index in its search"),
  params: z.record(z.string(), z.unknown()).nullable().describe("A trial's values: space path → value"),
  held: z.enum(['turn', 'rung']).nullable()
    .describe("A queued trial no worker may take yet: waiting for its search's turn, or paused at a rung until its search decides"),
  spec: JobSpecResolved,
}).meta({ id: 'Job' });

export const JobList = z.object({
  items: z.array(Job), total: z.number().int(), limit: z.number().int(), offset: z.number().int(),
}).meta({ id: 'JobList' });

export const JobListQuery = PageQuery.extend({
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  searchId: z.string().min(1).optional().describe("Only this search's trials"),
});

export const EpochList = z.object({ epochs: z.array(Epoch) }).meta({ id: 'EpochList' });
export const SinceQuery = z.strictObject({
  since: z.coerce.number().int().min(0).default(0).describe('Only epochs after this one'),
});

// ---------------------------------------------------------------- models

export const Model = z.object({
  id: z.string(),
  name: z.string().nullable().describe('The registry name (the job spec\'s modelName), or null'),
  version: z.number().int().nullable().describe('1, 2, … within its name'),
  aliases: z.array(z.string()).describe('Aliases of its name that point at this version'),
  jobId: z.string().nullable(),
  datasetId: z.string().nullable(),
  task: z.enum(['classification', 'regression']),
  architecture: z.unknown(),
  metrics: z.unknown().describe('The metrics of the epoch the model was kept from'),
  classes: z.array(Label).nullable(),
  featureNames: z.array(z.string()),
  features: z.number().int(),
  bestEpoch: z.number().int().nullable(),
  createdAt: z.string(),
}).meta({ id: 'Model' });

export const ModelList = z.object({
  items: z.array(Model), total: z.number().int(), limit: z.number().int(), offset: z.number().int(),
}).meta({ id: 'ModelList' });

export const PredictBody = z.strictObject({
  instances: z.array(z.union([z.array(z.number()), z.record(z.string(), z.number())]))
    .describe('Rows of raw feature values (the model applies its own standardisation): arrays in the model\'s column order, '
      + 'or objects keyed by feature name'),
}).meta({ id: 'PredictRequest' });

/** A model reference in a path: its id, its name (the latest version), name@version or name@alias. */
export const ModelParams = z.object({
  id: z.string().min(1).max(200).describe('A model id, or a registry reference: name (its latest version), name@version or name@alias'),
});

export const ModelListQuery = PageQuery.extend({
  name: z.string().min(1).max(100).optional().describe('Only the versions of this name'),
});

export const AliasParams = z.object({
  name: z.string().min(1).max(100).describe('The registry name'),
  alias: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,49}$/, 'an alias starts with a letter and holds letters, digits, "_" and "-" (at most 50); digits alone would read as a version')
    .describe('e.g. prod'),
});

export const AliasBody = z.strictObject({ version: z.number().int().min(1) }).meta({ id: 'AliasRequest' });
export const Alias = z.object({ name: z.string(), alias: z.string(), version: z.number().int() }).meta({ id: 'Alias' });

export const PredictResponse = z.object({
  classes: z.array(Label).nullable().describe("The model's classes: the order of every probabilities array; null for regression"),
  predictions: z.array(z.union([
    z.object({ label: Label, probabilities: z.array(z.number()).describe("In the order of the model's classes") }),
    z.object({ value: z.number() }),
  ])),
}).meta({ id: 'PredictResponse' });

export const EvaluateBody = z.strictObject({ datasetId: z.string().min(1) }).meta({ id: 'EvaluateRequest' });

export const EvaluateResponse = z.object({
  rows: z.number().int(),
  loss: z.number(),
  accuracy: z.number().optional(),
  classes: z.array(Label).optional(),
  confusionMatrix: z.array(z.array(z.number().int())).optional().describe('Rows: true class; columns: predicted'),
  mse: z.number().optional(),
  mae: z.number().optional(),
  r2: z.number().optional(),
}).meta({ id: 'EvaluateResponse' });

// ---------------------------------------------------------------- nodes

export const Node = z.object({
  id: z.string().describe('NODE_ID (default host:pid)'),
  role: z.enum(['all', 'api', 'worker']),
  running: z.array(z.string()).describe('The jobs it trains now'),
  startedAt: z.string(),
  heartbeatAt: z.string().describe('Its last heartbeat; a node is listed while it beats every few seconds'),
  self: z.boolean().describe('The node that answered this request'),
}).meta({ id: 'Node' });

export const NodeList = z.object({ items: z.array(Node) }).meta({ id: 'NodeList' });

export const EvaluationList = z.object({
  items: z.array(z.object({
    id: z.string(), datasetId: z.string(), at: z.string(),
    scores: EvaluateResponse,
  })),
}).meta({ id: 'EvaluationList' });

// ---------------------------------------------------------------- searches

export { SearchInput } from '../services/searches/spec.js';

const Trial = z.object({
  index: z.number().int(),
  jobId: z.string(),
  params: z.record(z.string(), z.unknown()),
  score: z.number().nullable().describe("The metric of the epoch the trial's model keeps (or of its latest epoch while it has none)"),
  epochs: z.number().int().describe('Epochs trained'),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  stopReason: z.string().nullable(),
  held: z.enum(['turn', 'rung']).nullable(),
  modelId: z.string().nullable(),
}).meta({ id: 'Trial' });

const SearchFields = {
  id: z.string(),
  name: z.string().nullable(),
  datasetId: z.string().nullable(),
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  strategy: z.enum(['grid', 'random']),
  metric: z.enum(['valLoss', 'valAccuracy', 'valR2']),
  direction: z.enum(['max', 'min']).describe('Whether a higher or a lower metric is better'),
  halving: z.object({ minEpochs: z.number().int(), eta: z.number().int(), rungs: z.array(z.number().int()) }).nullable(),
  parallel: z.number().int(),
  seed: z.number().int(),
  space: z.record(z.string(), z.unknown()),
  base: z.record(z.string(), z.unknown()),
  progress: z.object({ finished: z.number().int(), total: z.number().int() }).describe('Trials ended, of all'),
  epochsSpent: z.number().int().describe('Epochs trained over all trials so far'),
  epochsFull: z.number().int().describe('Epochs every trial trained to its end would take'),
  best: z.object({
    index: z.number().int(), jobId: z.string(), modelId: z.string(), params: z.record(z.string(), z.unknown()), score: z.number(),
  }).nullable().describe('The best trial that has a model'),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
};

export const Search = z.object({
  ...SearchFields,
  trials: z.array(Trial).describe('Best first; trials without a score last, then by index'),
}).meta({ id: 'Search' });

export const SearchList = z.object({
  items: z.array(z.object(SearchFields).meta({ id: 'SearchSummary' })),
  total: z.number().int(), limit: z.number().int(), offset: z.number().int(),
}).meta({ id: 'SearchList' });
