// The pure parts of a search: expanding a space into trials, and the halving decisions (which trial
// waits, goes on or stops), independent of any store or worker.
import { describe, expect, it } from 'vitest';
import { leaderboard, plan, rungs } from '../../src/services/searches/halving.js';
import { applyParams, grid, gridSize, random } from '../../src/services/searches/space.js';
import type { SearchSpec } from '../../src/services/searches/spec.js';
import type { EpochRecord, Job, JobStatus, TrialState } from '../../src/store/types.js';
import type { JobSpec } from '../../src/services/jobs/spec.js';

describe('search spaces', () => {
  it('expands a grid with the last path varying fastest, and counts it without expanding', () => {
    const space = { a: [1, 2], b: ['x', 'y', 'z'] };
    expect(grid(space)).toEqual([
      { a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 1, b: 'z' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }, { a: 2, b: 'z' },
    ]);
    expect(gridSize(space, 1000)).toBe(6);
    expect(gridSize({ a: Array(40).fill(0), b: Array(40).fill(0) }, 1000)).toBe(Infinity);
  });

  it('draws the same trials for a seed, within their ranges, uniformly in log space when asked', () => {
    const space = { lr: { min: 1e-4, max: 1, log: true, integer: false }, units: { min: 1, max: 9, log: false, integer: true }, act: ['relu', 'tanh'] };
    const a = random(space, 2000, 9);
    expect(random(space, 2000, 9)).toEqual(a);
    expect(random(space, 2000, 10)).not.toEqual(a);
    const lr = a.map((t) => t.lr as number);
    expect(Math.min(...lr)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...lr)).toBeLessThanOrEqual(1);
    // A quarter of the log range per decade: about 500 draws below 1e-3.
    const low = lr.filter((v) => v < 1e-3).length;
    expect(low).toBeGreaterThan(400);
    expect(low).toBeLessThan(600);
    expect(new Set(a.map((t) => t.units))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(new Set(a.map((t) => t.act))).toEqual(new Set(['relu', 'tanh']));
  });

  it('sets values at dotted paths without touching the base, making arrays for indexes', () => {
    const base = { hidden: [{ units: 8 }], epochs: 3 };
    const spec = applyParams(base, { 'hidden.0.units': 64, 'hidden.1.units': 4, 'optimizer.learningRate': 0.1, epochs: 5 });
    expect(spec).toEqual({ hidden: [{ units: 64 }, { units: 4 }], optimizer: { learningRate: 0.1 }, epochs: 5 });
    expect(base).toEqual({ hidden: [{ units: 8 }], epochs: 3 });
    expect(applyParams({}, { 'a.0': 1 })).toEqual({ a: [1] });
  });
});

describe('successive halving, decided in trial order', () => {
  const spec = (over: Partial<SearchSpec> = {}): SearchSpec => ({
    strategy: 'grid', metric: 'valAccuracy', direction: 'max', parallel: 10, seed: 1, space: {}, base: {},
    halving: { minEpochs: 1, eta: 3, rungs: rungs(1, 3, 9) }, ...over,
  });
  let ids = 0;
  /** A trial: its state, and its valAccuracy at the epochs it reached. */
  const trial = (index: number, status: JobStatus, held: Job['held'], pauseAt: number | null, at: Record<number, number> = {}): TrialState<JobSpec> => ({
    job: {
      id: `t${index}-${ids++}`, trial: index, status, held, pauseAt, epochs: 9, epoch: Math.max(0, ...Object.keys(at).map(Number)),
      params: { i: index }, metrics: null, modelId: null, stopReason: null,
    } as unknown as Job<JobSpec>,
    at: new Map(Object.entries(at).map(([e, v]) => [Number(e), { valAccuracy: v } as EpochRecord])),
    modelMetrics: null,
  });

  it('puts rungs at minEpochs·etaᵏ below the longest trial', () => {
    expect(rungs(3, 3, 30)).toEqual([3, 9, 27]);
    expect(rungs(3, 3, 27)).toEqual([3, 9]);
    expect(rungs(5, 2, 5)).toEqual([]);
  });

  it('lets the first trial at a rung go on, and keeps a later one waiting while an earlier trial has not reached the rung', () => {
    const t0 = trial(0, 'queued', 'rung', 1, { 1: 0.5 });
    const t1 = trial(1, 'running', null, 1);
    const t2 = trial(2, 'queued', 'rung', 1, { 1: 0.9 });
    const p = plan(spec(), [t0, t1, t2]);
    expect(p).toEqual({ release: [{ jobId: t0.job.id, pauseAt: 3 }], halve: [], finish: null });
  });

  it('keeps the top 1/eta of the trials that reached the rung before it (at least the best), and stops the rest', () => {
    const values = [0.5, 0.4, 0.9, 0.6, 0.6, 0.7];
    const trials = values.map((v, i) => trial(i, 'queued', 'rung', 1, { 1: v }));
    const p = plan(spec(), trials);
    // 0: alone, goes on. 1: 0.4 < 0.5, stops. 2: best of three, goes on. 3: 2nd of 4 (keep 1), stops.
    // 4: ties 3 at 0.6 (ranked after it), 3rd of 5, stops. 5: 2nd of 6 (keep 2), goes on.
    expect(p.release.map((r) => r.jobId)).toEqual([trials[0], trials[2], trials[5]].map((t) => t.job.id));
    expect(p.halve).toEqual([trials[1], trials[3], trials[4]].map((t) => t.job.id));
    expect(p.release[0].pauseAt).toBe(3);
  });

  it('decides the same whatever order the trials arrived in', () => {
    // Trial 1 reached the rung long before trial 0: it still waits for trial 0, and then is judged against it.
    const early = [trial(0, 'running', null, 1), trial(1, 'queued', 'rung', 1, { 1: 0.8 })];
    expect(plan(spec(), early)).toEqual({ release: [], halve: [], finish: null });
    const late = [trial(0, 'queued', 'rung', 1, { 1: 0.9 }), trial(1, 'queued', 'rung', 1, { 1: 0.8 })];
    expect(plan(spec(), late).halve).toEqual([late[1].job.id]);
  });

  it('counts trials that ended before a rung out of it, and those that passed it in', () => {
    const trials = [
      trial(0, 'succeeded', null, null, { 1: 0.9, 3: 0.95 }), // ran to the end
      trial(1, 'failed', null, 1), // diverged before the rung
      trial(2, 'queued', 'rung', 3, { 1: 0.95, 3: 0.96 }),
    ];
    expect(plan(spec(), trials).release).toEqual([{ jobId: trials[2].job.id, pauseAt: null }]);
  });

  it('starts waiting trials in index order while fewer than `parallel` go, and ends the search once every trial has', () => {
    const trials = [trial(0, 'running', null, 1), trial(1, 'queued', 'turn', null), trial(2, 'queued', 'turn', null), trial(3, 'queued', 'turn', null)];
    expect(plan(spec({ parallel: 3 }), trials).release).toEqual([{ jobId: trials[1].job.id, pauseAt: 1 }, { jobId: trials[2].job.id, pauseAt: 1 }]);
    expect(plan(spec({ halving: null }), [trial(0, 'queued', 'turn', null)]).release).toEqual([{ jobId: expect.any(String), pauseAt: null }]);
    const halvedLast = [trial(0, 'succeeded', null, null, { 1: 0.9 }), trial(1, 'queued', 'rung', 1, { 1: 0.1 }), trial(2, 'cancelled', null, null)];
    expect(plan(spec(), halvedLast)).toEqual({ release: [], halve: [halvedLast[1].job.id], finish: 'succeeded' });
    expect(plan(spec(), [trial(0, 'failed', null, null), trial(1, 'cancelled', null, null)]).finish).toBe('failed');
  });

  it('ranks the leaderboard best first, lower first for a loss, unknown scores last, ties by index', () => {
    const t = [trial(0, 'running', null, null), trial(1, 'succeeded', null, null), trial(2, 'succeeded', null, null), trial(3, 'succeeded', null, null)];
    t[1].modelMetrics = { valLoss: 0.3 } as EpochRecord;
    t[2].modelMetrics = { valLoss: 0.1 } as EpochRecord;
    t[3].modelMetrics = { valLoss: 0.3 } as EpochRecord;
    expect(leaderboard(spec({ metric: 'valLoss', direction: 'min' }), t).map((x) => [x.index, x.score])).toEqual([[2, 0.1], [1, 0.3], [3, 0.3], [0, null]]);
  });
});

describe('a trial on the pool', () => {
  it('pauses after its rung epoch, and pauses again at once (training nothing) when it resumes at its rung', async () => {
    const { services, csvUpload, jobRequest } = await import('./helpers.js');
    const { blobs, toCsv } = await import('../helpers/data.js');
    const { resolveSpec } = await import('../../src/services/jobs/resolve.js');
    const s = await services({ JOB_LEASE_SECONDS: '2' });
    try {
      const dataset = await s.datasets.upload(csvUpload(toCsv(blobs(120, 3, ['a', 'b', 'c']))));
      const spec = resolveSpec(jobRequest(dataset.id, { epochs: 6, validationSplit: 0.2, hidden: [{ units: 4 }], seed: 1 }), dataset, () => 1);
      const search = await s.store.searches.create({ name: null, datasetId: dataset.id, spec: {} }, [{ spec, params: {} }]);
      const [{ job }] = await s.store.searches.trials(search.id, []);
      const release = (pauseAt: number) => s.store.searches.advance(search.id, () => [], () => ({ release: [{ jobId: job.id, pauseAt }], halve: [], finish: null }));
      const pausedAt = async (epoch: number) => {
        for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
          const now = (await s.store.jobs.get(job.id))!;
          if (now.held === 'rung') return now;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`trial did not pause at ${epoch}`);
      };
      await release(2);
      expect(await pausedAt(2)).toMatchObject({ status: 'queued', epoch: 2, node: null });
      expect((await s.store.jobs.epochs(job.id, 0)).map((e) => e.epoch)).toEqual([1, 2]);
      // As if its node had died between the rung's epoch and the pause: queued again with the same rung.
      await release(2);
      expect(await pausedAt(2)).toMatchObject({ status: 'queued', epoch: 2 });
      expect((await s.store.jobs.epochs(job.id, 0)).map((e) => e.epoch)).toEqual([1, 2]);
      await release(4);
      expect(await pausedAt(4)).toMatchObject({ epoch: 4 });
      expect((await s.store.jobs.epochs(job.id, 0)).map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    } finally {
      await s.close();
    }
  }, 60_000);
});
