// The searches service: a search's trials expanded, validated and queued as held jobs at submission; a
// decision pass (halving.ts) whenever a trial pauses or ends, and now and then on every node in case a
// node died between a pause and its decision; the search as clients see it (the leaderboard and the best
// trial); cancel; and a live stream of its trials.
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { RECOMMENDED_DEFAULTS } from '../../engine/index.js';
import type { Dataset, SearchRecord, Store } from '../../store/types.js';
import { errors, ServiceError } from '../errors.js';
import { isFinished, type JobEvent, type JobService } from '../jobs/index.js';
import { resolveSpec } from '../jobs/resolve.js';
import { CHANNELS as JOB_CHANNELS } from '../jobs/runner.js';
import { JobSpecInput, type JobSpec } from '../jobs/spec.js';
import { leaderboard, plan, rungs, type TrialView } from './halving.js';
import { applyParams, describeParams, grid, gridSize, random, type Params } from './space.js';
import { MAX_TRIALS, type SearchRequest, type SearchSpec } from './spec.js';

/** Bus channel: the search changed (tell its followers). Trials that pause or end say so on the jobs' trial channel. */
const SEARCH_CHANNELS = { changed: 'search_changed' } as const;

export interface SearchView extends Omit<SearchSpec, 'halving'> {
  id: string;
  name: string | null;
  datasetId: string | null;
  status: SearchRecord['status'];
  halving: SearchSpec['halving'];
  progress: { finished: number; total: number };
  epochsSpent: number;
  epochsFull: number;
  trials: TrialView[];
  best: { index: number; jobId: string; modelId: string; params: Params; score: number } | null;
  createdAt: string;
  finishedAt: string | null;
}

export type SearchEvent =
  | { type: 'search'; data: SearchView }
  | { type: 'epoch'; data: Record<string, unknown> & { jobId: string; index: number } };

/** How often every node looks at the running searches anyway (a missed message, a node gone mid-decision). */
const SWEEP_MS = 3000;

const trialError = (index: number, params: Params, err: ServiceError | { field: string; message: string }) => {
  const field = err instanceof ServiceError ? String(err.details?.field ?? 'spec') : err.field;
  return new ServiceError('unusable', 'invalid_trial',
    `trial ${index} (${describeParams(params)}): ${field}: ${err.message}`, { trial: index, params, field });
};

export function createSearchService(deps: { config: Config; store: Store<JobSpec>; jobs: JobService; logger: Logger }) {
  const { config, store, jobs } = deps;
  const log = deps.logger.child({ component: 'searches' });
  const searches = store.searches;
  /** One decision pass at a time per search on this node (the store serialises nodes). */
  const passes = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe: (() => void)[] = [];

  /** Each trial's job request, validated as a job's would be; refusals name the trial, its values and the field. */
  function trialSpecs(input: SearchRequest, dataset: Dataset, seed: number, all: Params[]): JobSpec[] {
    const base: Record<string, unknown> = { ...input.base };
    const paths = Object.keys(input.space);
    // A path into an object the base leaves out starts from the job's default, not from nothing.
    if (base.hidden === undefined && paths.some((p) => p.startsWith('hidden.'))) base.hidden = structuredClone(RECOMMENDED_DEFAULTS.hidden);
    if (base.optimizer === undefined && paths.some((p) => p.startsWith('optimizer.'))) base.optimizer = { name: 'adam' };
    return all.map((params, i) => {
      const parsed = JobSpecInput.safeParse({ ...applyParams(base, params), datasetId: input.datasetId });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw trialError(i, params, { field: issue.path.join('.') || 'spec', message: issue.message });
      }
      if (parsed.data.faultInjection && !config.faultInjection) {
        throw trialError(i, params, { field: 'faultInjection', message: 'accepted only when the service runs with FAULT_INJECTION=1' });
      }
      if (parsed.data.validationSplit === 0) {
        throw new ServiceError('unusable', 'no_validation',
          'a search ranks its trials on held-out rows, and this one has none: set base.validationSplit (e.g. 0.2)',
          { field: 'base.validationSplit', trial: i });
      }
      try {
        return resolveSpec(parsed.data, dataset, () => seed);
      } catch (err) {
        if (err instanceof ServiceError) throw trialError(i, params, err);
        throw err;
      }
    });
  }

  function resolve(input: SearchRequest, dataset: Dataset): { spec: SearchSpec; trials: { spec: JobSpec; params: Params }[] } {
    const classification = dataset.task === 'classification';
    const metric = input.metric ?? (classification ? 'valAccuracy' : 'valR2');
    if ((metric === 'valAccuracy' && !classification) || (metric === 'valR2' && classification)) {
      throw errors.invalidSpec('metric', `${metric} is for ${classification ? 'regression' : 'classification'}; `
        + `this dataset is for ${dataset.task}: use ${classification ? 'valAccuracy' : 'valR2'} or valLoss`);
    }
    if ('datasetId' in input.base) throw errors.invalidSpec('base.datasetId', 'the search names the dataset once, as datasetId, not in base');
    for (const [path, entry] of Object.entries(input.space)) {
      if (path === 'datasetId' || path.startsWith('datasetId.')) throw errors.invalidSpec(`space.${path}`, 'the dataset is the search\'s own, not a parameter');
      if (input.strategy === 'grid' && !Array.isArray(entry)) {
        throw errors.invalidSpec(`space.${path}`, 'a range is for random search: a grid takes a list of values');
      }
    }
    let all: Params[];
    const seed = input.seed ?? Math.floor(Math.random() * 2 ** 31);
    if (input.strategy === 'grid') {
      if (input.trials !== undefined) throw errors.invalidSpec('trials', 'trials is for random search: a grid tries every combination once');
      const size = gridSize(input.space, MAX_TRIALS);
      if (size > MAX_TRIALS) {
        throw new ServiceError('unusable', 'search_too_large', `the grid holds more than ${MAX_TRIALS} trials: shorten the lists, or draw a random search`,
          { field: 'space', limit: MAX_TRIALS });
      }
      all = grid(input.space);
    } else {
      if (input.trials === undefined) throw errors.invalidSpec('trials', 'a random search needs trials: how many to draw');
      all = random(input.space, input.trials, seed);
    }
    const specs = trialSpecs(input, dataset, seed, all);
    const maxEpochs = Math.max(...specs.map((s) => s.epochs));
    const spec: SearchSpec = {
      strategy: input.strategy, metric, direction: metric === 'valLoss' ? 'min' : 'max',
      halving: input.halving && { ...input.halving, rungs: rungs(input.halving.minEpochs, input.halving.eta, maxEpochs) },
      parallel: input.parallel, seed, space: input.space, base: input.base,
    };
    return { spec, trials: specs.map((s, i) => ({ spec: s, params: all[i] })) };
  }

  async function view(search: SearchRecord): Promise<SearchView> {
    const spec = search.spec as SearchSpec;
    const trials = await searches.trials(search.id, []);
    const board = leaderboard(spec, trials);
    const top = board.find((t) => t.modelId !== null && t.score !== null);
    return {
      id: search.id, name: search.name, datasetId: search.datasetId, status: search.status, ...spec,
      progress: { finished: trials.filter((t) => isFinished(t.job.status)).length, total: trials.length },
      epochsSpent: trials.reduce((n, t) => n + t.job.epoch, 0),
      epochsFull: trials.reduce((n, t) => n + t.job.epochs, 0),
      trials: board,
      best: top ? { index: top.index, jobId: top.jobId, modelId: top.modelId!, params: top.params, score: top.score! } : null,
      createdAt: search.createdAt, finishedAt: search.finishedAt,
    };
  }

  async function find(id: string): Promise<SearchRecord> {
    const search = await searches.get(id);
    if (!search) throw errors.notFound('search', id);
    return search;
  }

  /** One decision pass; what it changed goes to the workers (trials to claim) and to followers. */
  async function decide(id: string): Promise<void> {
    const done = await searches.advance(id, (s) => (s.spec as SearchSpec).halving?.rungs ?? [], (s, trials) => plan(s.spec as SearchSpec, trials));
    if (!done || (done.release.length === 0 && done.halve.length === 0 && !done.finish)) return;
    if (done.halve.length) log.info({ searchId: id, event: 'halved', jobIds: done.halve }, 'trials stopped at their rung');
    if (done.finish) log.info({ searchId: id, event: 'finished', status: done.finish }, 'search finished');
    for (const jobId of [...done.halve, ...done.release.map((r) => r.jobId)]) void jobs.statusChanged(jobId);
    if (done.release.length) await store.bus.publish(JOB_CHANNELS.queued, { searchId: id }).catch(() => {});
    await store.bus.publish(SEARCH_CHANNELS.changed, { searchId: id }).catch(() => {});
  }

  function advance(id: string): Promise<void> {
    const next = (passes.get(id) ?? Promise.resolve()).then(() => decide(id)).catch((err) => {
      log.warn({ err: (err as Error).message, searchId: id }, 'could not decide on the search now: the next pass will');
    });
    passes.set(id, next);
    void next.finally(() => { if (passes.get(id) === next) passes.delete(id); });
    return next;
  }

  async function sweep(): Promise<void> {
    try {
      for (const id of await searches.running()) await advance(id);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'could not look at the running searches');
    }
  }

  return {
    async submit(input: SearchRequest): Promise<SearchView> {
      if (!jobs.ready()) throw errors.shuttingDown();
      const dataset = await store.datasets.get(input.datasetId);
      if (!dataset) throw errors.invalidInput(`dataset ${input.datasetId} does not exist`, { field: 'datasetId' });
      const { spec, trials } = resolve(input, dataset);
      const search = await searches.create({ name: input.name ?? null, datasetId: dataset.id, spec }, trials);
      log.info({ searchId: search.id, trials: trials.length, event: 'queued' }, 'search queued');
      await advance(search.id);
      return view((await searches.get(search.id))!);
    },

    get: async (id: string) => view(await find(id)),

    async list(limit: number, offset: number) {
      const page = await searches.list(limit, offset);
      const items = await Promise.all(page.items.map(async (s) => {
        const { trials: _trials, ...summary } = await view(s);
        return summary;
      }));
      return { items, total: page.total };
    },

    async cancel(id: string): Promise<SearchView> {
      const search = await find(id);
      const cancelled = search.status === 'running' ? await searches.cancel(id) : null;
      if (cancelled === null) {
        const now = await find(id);
        throw errors.conflict('search_finished', `search ${id} has already ${now.status}; only a running search can be cancelled`);
      }
      for (const jobId of cancelled) {
        await store.bus.publish(JOB_CHANNELS.cancelled, { jobId }).catch(() => {});
        void jobs.statusChanged(jobId);
      }
      await store.bus.publish(SEARCH_CHANNELS.changed, { searchId: id }).catch(() => {});
      log.info({ searchId: id, event: 'cancelled', trials: cancelled.length }, 'search cancelled');
      return view(await find(id));
    },

    /**
     * Follows a search: the search now, then `search` on every change of it or of a trial's state and
     * `epoch` for every epoch a trial finishes, until the returned function is called.
     */
    async follow(id: string, listener: (e: SearchEvent) => void): Promise<() => void> {
      const first = await view(await find(id));
      let closed = false;
      let pending: NodeJS.Timeout | undefined;
      const push = () => {
        if (pending || closed) return;
        // Changes come in bursts (a pass releases and halves several trials): one read for the burst.
        pending = setTimeout(() => {
          pending = undefined;
          find(id).then(view).then((v) => { if (!closed) listener({ type: 'search', data: v }); }).catch(() => {});
        }, 100);
      };
      const offs = first.trials.map((t) => jobs.subscribe(t.jobId, (e: JobEvent) => {
        if (e.type === 'epoch') listener({ type: 'epoch', data: { jobId: t.jobId, index: t.index, ...e.data } });
        else if (e.type === 'status') push();
      }));
      offs.push(store.bus.subscribe(SEARCH_CHANNELS.changed, (m) => { if ((m as { searchId: string }).searchId === id) push(); }));
      listener({ type: 'search', data: first });
      return () => {
        closed = true;
        clearTimeout(pending);
        offs.forEach((off) => off());
      };
    },

    /** Starts deciding: on every trial that pauses or ends (any node), and every few seconds on every running search. */
    async start(): Promise<void> {
      unsubscribe.push(store.bus.subscribe(JOB_CHANNELS.trial, (m) => void advance((m as { searchId: string }).searchId)));
      timer = setInterval(() => void sweep(), SWEEP_MS);
      await sweep();
    },

    async close(): Promise<void> {
      clearInterval(timer);
      unsubscribe.forEach((u) => u());
      await Promise.all(passes.values());
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
