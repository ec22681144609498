// The one search spec: the request body of POST /v1/searches (zod: parsing fills the defaults that do
// not depend on the dataset) and the search as the service keeps it once resolved.
import { z } from 'zod';

/** The most trials one search may hold: a grid past it is refused at submission. */
export const MAX_TRIALS = 1000;

/** A dotted path into the job spec; array indexes are numbers: `hidden.0.units`, `optimizer.learningRate`. */
const PATH = /^[A-Za-z][A-Za-z0-9]*(\.([0-9]+|[A-Za-z][A-Za-z0-9]*))*$/;

const Range = z.strictObject({
  min: z.number(),
  max: z.number(),
  log: z.boolean().default(false).describe('Draw uniformly in log space (min > 0)'),
  integer: z.boolean().default(false).describe('Round each draw to the nearest integer'),
}).refine((r) => r.min < r.max, { message: 'min must be below max' })
  .refine((r) => !r.log || r.min > 0, { message: 'a log range needs min > 0' })
  .meta({ id: 'SearchRange', description: 'Random search only: a value drawn uniformly between min and max' });

const Values = z.array(z.unknown()).min(1).max(100)
  .describe('The values to try, any JSON a job spec takes at that path');

export const SearchInput = z.strictObject({
  datasetId: z.string().min(1),
  name: z.string().min(1).max(200).optional().describe('A label for people'),
  base: z.record(z.string(), z.unknown()).default({})
    .describe('Any job spec field but datasetId: every trial starts from it. It needs a validationSplit > 0 (trials are ranked on '
      + 'held-out rows). When the space sets a hidden.* or optimizer.* path and base leaves that object out, it starts '
      + "from the job's default (one layer of 128 ReLU units; adam)"),
  space: z.record(z.string(), z.union([Values, Range])).superRefine((space, ctx) => {
    const keys = Object.keys(space);
    if (keys.length < 1 || keys.length > 20) ctx.addIssue({ code: 'custom', message: `between 1 and 20 paths (got ${keys.length})` });
    for (const key of keys.filter((k) => !PATH.test(k))) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'not a dotted path into the job spec (e.g. "hidden.0.units" or "optimizer.learningRate")' });
    }
  })
    .describe('Path into the job spec → a list of values (grid or random) or a range (random only)'),
  strategy: z.enum(['grid', 'random']).default('grid')
    .describe('grid: every combination, the last path varying fastest; random: `trials` draws, each path independently'),
  trials: z.number().int().min(1).max(MAX_TRIALS).optional().describe('Random search only: how many trials to draw'),
  metric: z.enum(['valLoss', 'valAccuracy', 'valR2']).optional()
    .describe('What ranks the trials, on the validation rows. Default valAccuracy for classification, valR2 for regression'),
  halving: z.strictObject({
    minEpochs: z.number().int().min(1).max(10000).describe('The first rung'),
    eta: z.number().int().min(2).max(100).default(3).describe('Rungs at minEpochs·etaᵏ; the top 1/eta of a rung go on'),
  }).nullable().default(null)
    .describe('Asynchronous successive halving (ASHA), decided in trial order so that a search is deterministic; null: every trial runs to its end'),
  parallel: z.number().int().min(1).max(256).default(4)
    .describe('At most this many of its trials queued or running at once (its share of the pool)'),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional()
    .describe("Draws the random trials, and is every trial's seed unless base sets one (so all trials hold out the same rows). Default: random, recorded"),
}).meta({ id: 'SearchRequest' });

export type SearchRequest = z.output<typeof SearchInput>;
export type SpaceEntry = SearchRequest['space'][string];
export type Metric = NonNullable<SearchRequest['metric']>;

/** A search as kept: every default filled in. */
export interface SearchSpec {
  strategy: 'grid' | 'random';
  metric: Metric;
  direction: 'max' | 'min';
  halving: { minEpochs: number; eta: number; rungs: number[] } | null;
  parallel: number;
  seed: number;
  space: SearchRequest['space'];
  base: Record<string, unknown>;
}
