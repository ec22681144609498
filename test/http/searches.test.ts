// Hyperparameter search through HTTP, as a client uses it, on a real server over each store: a 12-trial
// grid with successive halving on a public tabular set (Wisconsin breast cancer; bench/search_peer.py
// wrote the split and the peer's figure), determinism (the same search twice; SQLite against
// PostgreSQL), seeded random draws, refusals, cancel, the event stream, and a SIGKILL mid-search.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { clusterUrl, freshDatabase } from '../helpers/postgres.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';

const fixture = (name: string) => readFileSync(join(ROOT, 'test/fixtures', name), 'utf8');
/** scikit-learn's MLPClassifier tuned by GridSearchCV over the same grid, on the same split (bench/search_peer.py). */
const SKLEARN_TUNED_TEST_ACCURACY = 0.9561;

/** The grid: 2 widths × 2 activations × 3 learning rates, 30 epochs, halving from 3 epochs by 3. */
const grid = (datasetId: string, extra: Record<string, unknown> = {}) => ({
  datasetId, name: 'bc-grid',
  base: { epochs: 30, validationSplit: 0.2, batchSize: 32 },
  space: {
    'hidden.0.units': [16, 64], 'hidden.0.activation': ['relu', 'tanh'], 'optimizer.learningRate': [0.001, 0.01, 0.1],
  },
  halving: { minEpochs: 3, eta: 3 }, seed: 7, ...extra,
});

type Api = ReturnType<typeof client>;

async function waitForSearch(api: Api, id: string, timeoutMs = 180_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api.get(`/v1/searches/${id}`);
    if (body.status !== 'running') return body;
    if (Date.now() > deadline) throw new Error(`search ${id} still running after ${timeoutMs} ms: ${JSON.stringify(body.progress)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What must not differ between two runs of one search: every trial's stops and figures, and the best. */
const outcome = (search: any) => ({
  trials: search.trials.map((t: any) => [t.index, t.status, t.stopReason, t.epochs, t.score, t.params]),
  best: { index: search.best.index, params: search.best.params, score: search.best.score },
  epochsSpent: search.epochsSpent,
});

/** The uninterrupted SQLite run, for the other runs to equal. */
let reference: ReturnType<typeof outcome> | null = null;

for (const backend of ['sqlite', 'postgres'] as const) {
describe.skipIf(backend === 'postgres' && !clusterUrl)(`hyperparameter search (${backend})`, () => {
  let server: RunningServer;
  let api: Api;
  let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;
  let trainId: string;
  let testId: string;

  beforeAll(async () => {
    database = backend === 'postgres' ? await freshDatabase() : null;
    server = await startServer({ env: { WORKERS: '2', ...(database ? { DATABASE_URL: database.url } : {}) } });
    api = client(server.url);
    const upload = async (name: string) => {
      const res = await api.post(`/v1/datasets?name=${name}&target=label&task=classification`, fixture(`${name}.csv`), { 'content-type': 'text/csv' });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    trainId = await upload('breast-cancer-train');
    testId = await upload('breast-cancer-test');
  });
  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
    await database?.drop();
  });

  it('runs a 12-trial grid with halving: a sorted leaderboard, under 60 % of the full epochs, a best model near the tuned peer', async () => {
    const res = await api.post('/v1/searches', grid(trainId));
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/searches/${res.body.id}`);
    expect(res.body).toMatchObject({
      status: 'running', strategy: 'grid', metric: 'valAccuracy', direction: 'max', parallel: 4, seed: 7,
      halving: { minEpochs: 3, eta: 3, rungs: [3, 9, 27] }, progress: { finished: 0, total: 12 }, epochsFull: 360,
    });
    const search = await waitForSearch(api, res.body.id);
    expect(search.status).toBe('succeeded');
    expect(search.progress).toEqual({ finished: 12, total: 12 });
    expect(search.trials).toHaveLength(12);
    expect(new Set(search.trials.map((t: any) => t.index))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => i)));

    // Best first; ties in index order; the best is the top score.
    const scores = search.trials.map((t: any) => t.score);
    for (let i = 1; i < scores.length; i++) {
      expect(scores[i]).toBeLessThanOrEqual(scores[i - 1]);
      if (scores[i] === scores[i - 1]) expect(search.trials[i].index).toBeGreaterThan(search.trials[i - 1].index);
    }
    expect(search.best).toMatchObject({ jobId: search.trials[0].jobId, modelId: search.trials[0].modelId, score: Math.max(...scores) });

    // Halving stopped trials at rungs, each kept its model, and the search spent under 60 % of the grid's epochs.
    const halved = search.trials.filter((t: any) => t.stopReason === 'halved');
    expect(halved.length).toBeGreaterThan(0);
    for (const t of halved) {
      expect(t.status).toBe('succeeded');
      expect([3, 9, 27]).toContain(t.epochs);
      expect(t.modelId).toEqual(expect.any(String));
    }
    for (const t of search.trials.filter((t: any) => t.stopReason !== 'halved')) expect(t).toMatchObject({ epochs: 30, stopReason: 'completed' });
    expect(search.epochsSpent).toBe(search.trials.reduce((n: number, t: any) => n + t.epochs, 0));
    expect(search.epochsSpent).toBeLessThan(0.6 * search.epochsFull);

    // Every trial is an ordinary job, listed with its search and values.
    const jobs = (await api.get(`/v1/jobs?searchId=${search.id}&limit=100`)).body;
    expect(jobs.total).toBe(12);
    for (const j of jobs.items) {
      const t = search.trials.find((x: any) => x.jobId === j.id);
      expect(j).toMatchObject({ searchId: search.id, trial: t.index, params: t.params, held: null, modelId: t.modelId });
      expect(j.spec.hidden[0].units).toBe(t.params['hidden.0.units']);
      expect(j.spec.optimizer).toMatchObject({ name: 'adam', learningRate: t.params['optimizer.learningRate'] });
      expect(j.spec.seed).toBe(7);
    }
    // A halved trial's model answers like any other.
    const predicted = await api.post(`/v1/models/${halved[0].modelId}/predict`, { instances: [Array(30).fill(0)] });
    expect(predicted.status).toBe(200);

    // The best model on the held-out rows: within 2 points of scikit-learn's tuned MLP.
    const scored = await api.post(`/v1/models/${search.best.modelId}/evaluate`, { datasetId: testId });
    expect(scored.status).toBe(200);
    expect(scored.body.rows).toBe(114);
    expect(scored.body.accuracy).toBeGreaterThanOrEqual(SKLEARN_TUNED_TEST_ACCURACY - 0.02);

    if (backend === 'sqlite') reference = outcome(search);
    else if (reference) expect(outcome(search)).toEqual(reference); // the same decisions on the other store
  }, 240_000);

  if (backend === 'sqlite') it('gives the same trials, stops, best and score when the same search runs again', async () => {
    expect(reference).not.toBeNull();
    const again = await waitForSearch(api, (await api.post('/v1/searches', grid(trainId, { parallel: 7 }))).body.id);
    expect(outcome(again)).toEqual(reference);
  }, 240_000);

  it('draws the same random trials (log-uniform ranges) for the same seed, others for another seed', async () => {
    const random = (seed: number) => api.post('/v1/searches', {
      datasetId: trainId, strategy: 'random', trials: 5, seed, metric: 'valLoss',
      base: { epochs: 1, validationSplit: 0.2 },
      space: {
        'optimizer.learningRate': { min: 0.0001, max: 0.3, log: true },
        'hidden.0.units': { min: 4, max: 64, log: true, integer: true },
        'hidden.0.activation': ['relu', 'tanh', 'sigmoid'],
        l2: { min: 0, max: 0.01 },
      },
    });
    const [a, b, c] = [await random(42), await random(42), await random(43)];
    for (const r of [a, b, c]) expect(r.status).toBe(202);
    const params = (s: any) => [...s.trials].sort((x: any, y: any) => x.index - y.index).map((t: any) => t.params);
    expect(params(a.body)).toEqual(params(b.body));
    expect(params(a.body)).not.toEqual(params(c.body));
    for (const p of params(a.body)) {
      expect(p['optimizer.learningRate']).toBeGreaterThanOrEqual(0.0001);
      expect(p['optimizer.learningRate']).toBeLessThanOrEqual(0.3);
      expect(Number.isInteger(p['hidden.0.units'])).toBe(true);
      expect(['relu', 'tanh', 'sigmoid']).toContain(p['hidden.0.activation']);
    }
    // Spread over the log range: five draws are not all in its top decade.
    expect(params(a.body).some((p: any) => p['optimizer.learningRate'] < 0.03)).toBe(true);
    const done = await waitForSearch(api, a.body.id);
    expect(done).toMatchObject({ status: 'succeeded', metric: 'valLoss', direction: 'min', halving: null });
    const losses = done.trials.map((t: any) => t.score);
    expect([...losses].sort((x, y) => x - y)).toEqual(losses);
    for (const s of [b.body, c.body]) await waitForSearch(api, s.id);
  }, 120_000);

  it('refuses a search that cannot run with a 4xx naming the problem, and writes nothing', async () => {
    const before = [(await api.get('/v1/searches')).body.total, (await api.get('/v1/jobs')).body.total];
    const refused = async (body: unknown, status: number, code: string, text: RegExp) => {
      const res = await api.post('/v1/searches', body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(text);
      return res.body.error;
    };
    const ok = grid(trainId);
    const bad = await refused({ ...ok, space: { 'hidden.0.units': [16, 0] } }, 422, 'invalid_trial', /trial 1 \(hidden\.0\.units=0\): hidden\.0\.units/);
    expect(bad.details).toMatchObject({ trial: 1, params: { 'hidden.0.units': 0 }, field: 'hidden.0.units' });
    await refused({ ...ok, space: { 'optimizer.learningRate': [0.01, 50] } }, 422, 'invalid_trial', /trial 1 .*optimizer\.learningRate/);
    await refused({ ...ok, space: { 'hidden.0.activation': ['relu', 'swish'] } }, 422, 'invalid_trial', /trial 1 .*hidden\.0\.activation/);
    await refused({ ...ok, base: { epochs: 30 } }, 422, 'no_validation', /validationSplit/);
    await refused({ ...ok, space: { l2: Array.from({ length: 100 }, (_, i) => i / 1e4), batchSize: Array.from({ length: 11 }, (_, i) => i + 1) } },
      422, 'search_too_large', /1000/);
    await refused({ ...ok, space: { l2: { min: 0, max: 1 } } }, 422, 'invalid_spec', /random/);
    await refused({ ...ok, strategy: 'random' }, 422, 'invalid_spec', /trials/);
    await refused({ ...ok, trials: 3 }, 422, 'invalid_spec', /grid/);
    await refused({ ...ok, metric: 'valR2' }, 422, 'invalid_spec', /valR2 is for regression/);
    await refused({ ...ok, datasetId: 'nope' }, 422, 'invalid_input', /dataset nope does not exist/);
    await refused({ ...ok, space: { 'hidden..units': [1] } }, 400, 'invalid_request', /dotted path/);
    await refused({ ...ok, space: {} }, 400, 'invalid_request', /between 1 and 20/);
    await refused({ ...ok, halving: { minEpochs: 3, eta: 1 } }, 400, 'invalid_request', /eta/);
    await refused({ ...ok, surprise: 1 }, 400, 'invalid_request', /surprise/);
    expect([(await api.get('/v1/searches')).body.total, (await api.get('/v1/jobs')).body.total]).toEqual(before);
  });

  it('cancels a search: no trial is left queued or running, finished trials keep their models; a second cancel is 409', async () => {
    const res = await api.post('/v1/searches', {
      datasetId: trainId, base: { epochs: 5000, batchSize: 1, validationSplit: 0.2 }, space: { l2: [0, 0.001, 0.01, 0.1, 0.2, 0.3] }, parallel: 2,
    });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 30_000;
    while (!(await api.get(`/v1/jobs?searchId=${res.body.id}&status=running`)).body.total) {
      if (Date.now() > deadline) throw new Error('no trial started');
      await new Promise((r) => setTimeout(r, 100));
    }
    const cancelled = await api.post(`/v1/searches/${res.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.finishedAt).toEqual(expect.any(String));
    expect(cancelled.body.trials.map((t: any) => t.status)).toEqual(Array(6).fill('cancelled'));
    const trials = (await api.get(`/v1/jobs?searchId=${res.body.id}`)).body.items;
    expect(trials.filter((j: any) => j.status === 'queued' || j.status === 'running')).toEqual([]);
    expect((await api.post(`/v1/searches/${res.body.id}/cancel`)).status).toBe(409);
    expect((await api.post('/v1/searches/nope/cancel')).status).toBe(404);
    // The pool is free again: a plain job runs.
    const job = (await api.post('/v1/jobs', { datasetId: trainId, epochs: 1 })).body;
    expect((await api.waitFor(job.id, ['succeeded', 'failed'], 30_000)).status).toBe('succeeded');
  }, 60_000);

  it('streams a search: the search first, epochs of its trials, and a last search event once it ends', async () => {
    // The stream does not replay epochs already trained, and it connects after the POST's answer: the
    // search must outlast that (one trial at a time, small batches), or a fast engine finishes it first.
    const res = await api.post('/v1/searches', {
      datasetId: trainId, base: { epochs: 30, validationSplit: 0.2, batchSize: 4 }, space: { 'hidden.0.units': [4, 8, 16] },
      halving: { minEpochs: 1, eta: 2 }, parallel: 1, seed: 3,
    });
    const stream = await fetch(`${server.url}/v1/searches/${res.body.id}/events`);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await stream.text(); // the server ends it after the search ends
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ type: m[1], data: JSON.parse(m[2]) }));
    expect(events[0].type).toBe('search');
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'search', data: { id: res.body.id, status: 'succeeded' } });
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs.length).toBeLessThanOrEqual(last.data.epochsSpent);
    for (const e of epochs) {
      expect(e.data).toMatchObject({ jobId: expect.any(String), index: expect.any(Number), epoch: expect.any(Number), valAccuracy: expect.any(Number) });
    }
    expect((await fetch(`${server.url}/v1/searches/nope/events`)).status).toBe(404);
  }, 60_000);

  if (backend === 'sqlite') it('finishes a search after a SIGKILL mid-search and a restart, with the uninterrupted run\'s outcome', async () => {
    // Small batches: slow enough to be caught mid-way on a fast machine.
    const slow = {
      datasetId: trainId, base: { epochs: 27, validationSplit: 0.2, batchSize: 4 },
      space: { 'hidden.0.units': [8, 32], 'optimizer.learningRate': [0.001, 0.01, 0.1] },
      halving: { minEpochs: 3, eta: 3 }, parallel: 2, seed: 5,
    };
    const uninterrupted = outcome(await waitForSearch(api, (await api.post('/v1/searches', slow)).body.id));
    const id = (await api.post('/v1/searches', slow)).body.id;
    // Kill it the moment trial 0 trains past its first rung (its decision taken, the others mid-way): watched
    // on the event stream, which tells at once, where polling could miss the window on a fast machine.
    const stream = await fetch(`${server.url}/v1/searches/${id}/events`);
    const reader = stream.body!.getReader();
    let text = '';
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { value, done } = await reader.read();
      if (done || Date.now() > deadline) throw new Error('the search ended before it could be caught mid-way');
      text += new TextDecoder().decode(value);
      const pastRung = [...text.matchAll(/event: epoch\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]))
        .some((e) => e.index === 0 && e.epoch >= 4);
      if (pastRung) break;
    }
    await server.stop('SIGKILL');
    await reader.cancel().catch(() => {});
    // Trial 0 had 23 of its 27 epochs to go: the search was mid-way.
    server = await startServer({ dataDir: server.dataDir, env: { WORKERS: '2' } });
    api = client(server.url);
    const done = await waitForSearch(api, id);
    expect(outcome(done)).toEqual(uninterrupted);
    // Every epoch of every trial is stored once.
    for (const t of done.trials) {
      const epochs = (await api.get(`/v1/jobs/${t.jobId}/epochs`)).body.epochs.map((e: any) => e.epoch);
      expect(epochs).toEqual(Array.from({ length: t.epochs }, (_, i) => i + 1));
    }
  }, 240_000);
});
}
