// The dashboard's only door to the service: typed fetch calls on the /v1 routes, errors in the API's
// own words ({"error":{"code","message"}}), and the API key asked for once when the service answers 401.
import type { z } from 'zod';
import type {
  Dataset as DatasetSchema, DatasetList as DatasetListSchema, Epoch as EpochSchema, EpochList as EpochListSchema,
  Job as JobSchema, JobList as JobListSchema, JobSpecInput as JobSpecInputSchema, Model as ModelSchema,
  ModelList as ModelListSchema, EvaluateResponse as EvaluateResponseSchema, PredictResponse as PredictResponseSchema,
  NodeList as NodeListSchema, Search as SearchSchema, SearchList as SearchListSchema, SearchInput as SearchInputSchema,
} from '../http/schemas.js';

// The wire shapes are the server's zod schemas themselves (type-only imports: nothing of zod is bundled).
export type Dataset = z.output<typeof DatasetSchema>;
export type Job = z.output<typeof JobSchema>;
export type JobStatus = Job['status'];
export type Epoch = z.output<typeof EpochSchema>;
export type Model = z.output<typeof ModelSchema>;
export type JobSpecInput = z.input<typeof JobSpecInputSchema>;
export type Evaluation = z.output<typeof EvaluateResponseSchema>;
/** A stored evaluation (GET /v1/models/{ref}/evaluations), or a fresh one made in this tab. */
export type StoredEvaluation = Evaluation & { id?: string; datasetId: string; at: string };
export type PredictResponse = z.output<typeof PredictResponseSchema>;
export type ServiceNode = z.output<typeof NodeListSchema>['items'][number];
export type JobSpec = Job['spec'];
type DatasetList = z.output<typeof DatasetListSchema>;
type JobList = z.output<typeof JobListSchema>;
type ModelList = z.output<typeof ModelListSchema>;
type EpochList = z.output<typeof EpochListSchema>;
type SearchList = z.output<typeof SearchListSchema>;

// ---------------------------------------------------------------- hyperparameter searches

export type Search = z.output<typeof SearchSchema>;
export type SearchSummary = z.output<typeof SearchListSchema>['items'][number];
export type SearchStatus = Search['status'];
export type SearchMetric = Search['metric'];
/** Best first; trials without a score last. */
export type Trial = Search['trials'][number];
export type SearchInput = z.input<typeof SearchInputSchema>;
/** A path's values: a list to try (grid or random), or a range to draw from (random only). */
export type SpaceEntry = SearchInput['space'][string];
/** A value a search tries at one dotted path of the job spec: any JSON the job spec takes there. */
export type ParamValue = unknown;

export const SEARCH_FINISHED: readonly SearchStatus[] = ['succeeded', 'failed', 'cancelled'];


/** The body of a `progress` event on the job's stream. */
export interface Progress {
  epoch: number; fraction: number; progress: number; samplesPerSec: number; etaSeconds: number | null;
  /** The running training loss of the epoch so far (the mean cost per row since the epoch began). */
  loss?: number;
}

export const FINISHED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** An error as the API words it; failures that never reached the API get a code of our own. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Reads an error response; a body that is not the API's error shape still yields a readable error. */
export async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: Record<string, unknown> } };
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      return new ApiError(res.status, error.code, error.message, error.details);
    }
  } catch { /* not JSON: fall through */ }
  return new ApiError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText || `HTTP ${res.status}`);
}

// ---------------------------------------------------------------- the API key

const KEY_ITEM = 'mlp.apiKey';
let keyPrompt: Promise<string> | null = null;
let askForKey: (reason: string) => Promise<string> = () => Promise.reject(new Error('no key prompt installed'));

/** The key the user gave in this tab, if any. sessionStorage: it outlives a reload, not the tab. */
export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(KEY_ITEM);
}

/** The UI that asks the user for the key; resolves with it, rejects when the user declines. */
export function setKeyPrompt(prompt: (reason: string) => Promise<string>): void {
  askForKey = prompt;
}

/** One prompt however many requests were refused at once. */
function promptForKey(reason: string): Promise<string> {
  keyPrompt ??= askForKey(reason).then((key) => {
    sessionStorage.setItem(KEY_ITEM, key);
    return key;
  }).finally(() => { keyPrompt = null; });
  return keyPrompt;
}

export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

// ---------------------------------------------------------------- requests

/** Relative URLs, so the page also works when the service sits behind a path prefix. */
export function apiUrl(path: string): string {
  return path.replace(/^\//, '');
}

async function request<T>(method: string, path: string, body?: BodyInit, contentType?: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
    if (contentType) headers['content-type'] = contentType;
    let res: Response;
    try {
      res = await fetch(apiUrl(path), { method, headers, body });
    } catch (err) {
      throw new ApiError(0, 'network_error', `could not reach the service (${(err as Error).message}): is it running?`);
    }
    if (res.status === 401 && attempt < 2) {
      const refused = await errorFrom(res);
      if (apiKey()) forgetApiKey(); // the stored key is wrong: ask again
      try {
        await promptForKey(refused.message);
      } catch {
        throw refused;
      }
      continue;
    }
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

const json = (value: unknown) => JSON.stringify(value);

export const api = {
  listJobs: (limit = 100) => request<JobList>('GET', `/v1/jobs?limit=${limit}`),
  getJob: (id: string) => request<Job>('GET', `/v1/jobs/${encodeURIComponent(id)}`),
  jobEpochs: (id: string, since: number) => request<EpochList>('GET', `/v1/jobs/${encodeURIComponent(id)}/epochs?since=${since}`),
  createJob: (spec: JobSpecInput) => request<Job>('POST', '/v1/jobs', json(spec), 'application/json'),
  cancelJob: (id: string) => request<Job>('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`),

  listSearches: (limit = 100) => request<SearchList>('GET', `/v1/searches?limit=${limit}`),
  getSearch: (id: string) => request<Search>('GET', `/v1/searches/${encodeURIComponent(id)}`),
  createSearch: (input: SearchInput) => request<Search>('POST', '/v1/searches', json(input), 'application/json'),
  cancelSearch: (id: string) => request<Search>('POST', `/v1/searches/${encodeURIComponent(id)}/cancel`),

  listDatasets: (limit = 100) => request<DatasetList>('GET', `/v1/datasets?limit=${limit}`),
  getDataset: (id: string) => request<Dataset>('GET', `/v1/datasets/${encodeURIComponent(id)}`),
  deleteDataset: (id: string) => request<void>('DELETE', `/v1/datasets/${encodeURIComponent(id)}`),
  /** The file goes up as it is (text/csv): the service parses it as a stream. */
  uploadCsv: (file: Blob, options: { name: string; target?: string; task?: 'classification' | 'regression' }) => {
    const query = new URLSearchParams({ name: options.name });
    if (options.target) query.set('target', options.target);
    if (options.task) query.set('task', options.task);
    return request<Dataset>('POST', `/v1/datasets?${query}`, file, 'text/csv');
  },

  /** Two IDX files (MNIST layout), gzipped or not, as multipart parts `images` and `labels`. */
  uploadIdx: (images: Blob, labels: Blob, options: { name: string; classNames?: string }) => {
    const query = new URLSearchParams({ name: options.name });
    if (options.classNames) query.set('classNames', options.classNames);
    const body = new FormData();
    body.append('images', images, (images as File).name ?? 'images');
    body.append('labels', labels, (labels as File).name ?? 'labels');
    return request<Dataset>('POST', `/v1/datasets?${query}`, body);
  },

  listModels: (limit = 100) => request<ModelList>('GET', `/v1/models?limit=${limit}`),
  getModel: (ref: string) => request<Model>('GET', `/v1/models/${encodeURIComponent(ref)}`),
  predict: (ref: string, instances: number[][]) =>
    request<PredictResponse>('POST', `/v1/models/${encodeURIComponent(ref)}/predict`, json({ instances }), 'application/json'),
  evaluate: (ref: string, datasetId: string) =>
    request<Evaluation>('POST', `/v1/models/${encodeURIComponent(ref)}/evaluate`, json({ datasetId }), 'application/json'),
  /** The model's stored evaluations, newest first; null when this service does not keep them (404). */
  evaluations: async (ref: string): Promise<StoredEvaluation[] | null> => {
    try {
      const { items } = await request<{ items: (StoredEvaluation | { id: string; datasetId: string; at: string; scores: Evaluation })[] }>(
        'GET', `/v1/models/${encodeURIComponent(ref)}/evaluations`);
      // The route nests the figures under `scores`; flat items are read as they are.
      return items.map((i) => ('scores' in i ? { ...i.scores, id: i.id, datasetId: i.datasetId, at: i.at } : i));
    } catch (err) {
      // The page asks only after reading the model, so a 404 here means the route is missing (an older service).
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  },
  listNodes: () => request<{ items: ServiceNode[] }>('GET', '/v1/nodes'),
  deleteModel: (id: string) => request<void>('DELETE', `/v1/models/${encodeURIComponent(id)}`),
};
