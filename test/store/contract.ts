// The store contract: what every backend must do, run against each of them (sqlite.test.ts, and any
// other backend's test file, call describeStoreContract with a factory of fresh, migrated stores).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ParsedDataset } from '../../src/data/types.js';
import type { JobSpec } from '../../src/services/jobs/spec.js';
import type { EpochRecord, NewModel, Store } from '../../src/store/types.js';

const NODE = 'node-a';
const LEASE = 30_000;

export function describeStoreContract(backend: string, open: () => Promise<Store<JobSpec>>) {
  describe(`store contract: ${backend}`, () => {
    let store: Store<JobSpec>;
    let datasetId: string;

    const parsed = (): ParsedDataset => ({
      rows: 2, features: 1, featureNames: ['x'], targetName: 'y', x: new Float32Array([0, 1]),
      task: 'classification', classes: ['a', 'b'], labels: new Int32Array([0, 1]), targets: null,
      mean: new Float32Array([0.5]), std: new Float32Array([0.5]),
    });
    const spec = (epochs = 3): JobSpec => ({
      datasetId, hidden: [{ units: 4, activation: 'relu', dropout: 0 }], output: 'softmax',
      loss: 'categorical_cross_entropy',
      optimizer: { name: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: false, decay: 0, decayPer: 'epoch', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, clipNorm: null },
      batchSize: 2, epochs, l2: 0, seed: 1, threads: 1, validationSplit: 0, earlyStopping: null, standardize: true,
      maxRuntimeSeconds: null,
    });
    const epoch = (n: number): EpochRecord => ({
      epoch: n, loss: 1 / n, valLoss: null, accuracy: 0.5, valAccuracy: null, mse: null, mae: null, r2: null,
      valMse: null, valMae: null, valR2: null, learningRate: 0.1, durationMs: 10, at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    });
    const model: NewModel = {
      name: null, task: 'classification', architecture: { inputs: 1 }, metrics: { loss: 1 }, classes: ['a', 'b'],
      featureNames: ['x'], features: 1, bestEpoch: 3, bytes: new Uint8Array([1, 2, 3]),
    };
    const create = async (s = spec()) => (await store.jobs.create(s, 1000))!;

    beforeEach(async () => {
      store = await open();
      datasetId = (await store.datasets.create('d', parsed())).id;
    });
    afterEach(async () => store.close());

    describe('datasets', () => {
      it('stores a dataset whole and reads its numbers back', async () => {
        const got = await store.datasets.get(datasetId);
        expect(got).toMatchObject({ name: 'd', rows: 2, features: 1, featureNames: ['x'], targetName: 'y', task: 'classification', classes: ['a', 'b'] });
        const data = (await store.datasets.data(datasetId))!;
        expect(data.x).toEqual(new Float32Array([0, 1]));
        expect(data.labels).toEqual(new Int32Array([0, 1]));
        expect(data.targets).toBeNull();
        expect(data.mean).toEqual(new Float32Array([0.5]));
        expect(await store.datasets.data('nope')).toBeNull();
        expect(await store.datasets.get('nope')).toBeNull();
      });

      it('keeps bytes as bytes and regression targets as floats', async () => {
        const d = await store.datasets.create('r', {
          ...parsed(), x: new Uint8Array([0, 255]), task: 'regression', classes: null, labels: null, targets: new Float32Array([1.5, -2]),
        });
        const data = (await store.datasets.data(d.id))!;
        expect(data.x).toBeInstanceOf(Uint8Array);
        expect(data.x).toEqual(new Uint8Array([0, 255]));
        expect(data.targets).toEqual(new Float32Array([1.5, -2]));
        expect(data.labels).toBeNull();
      });

      it('lists newest first and pages', async () => {
        const second = await store.datasets.create('e', parsed());
        const page = await store.datasets.list(10, 0);
        expect(page.total).toBe(2);
        expect(page.items.map((d) => d.id)).toEqual([second.id, datasetId]);
        expect((await store.datasets.list(1, 1)).items.map((d) => d.id)).toEqual([datasetId]);
      });

      it('refuses to delete a dataset a queued job needs, and deletes it once the job ended', async () => {
        const job = await create();
        expect(await store.datasets.delete(datasetId)).toBe('in_use');
        await store.jobs.cancel(job.id);
        expect(await store.datasets.delete(datasetId)).toBe('deleted');
        expect(await store.datasets.delete(datasetId)).toBe('not_found');
        expect(await store.datasets.data(datasetId)).toBeNull();
      });
    });

    describe('jobs', () => {
      it('claims queued jobs oldest first, each once', async () => {
        const a = await create();
        const b = await create();
        const claimed = await store.jobs.claim(NODE, LEASE);
        expect(claimed).toMatchObject({ id: a.id, status: 'running' });
        expect(claimed!.startedAt).not.toBeNull();
        expect((await store.jobs.claim(NODE, LEASE))!.id).toBe(b.id);
        expect(await store.jobs.claim(NODE, LEASE)).toBeNull();
      });

      it('never hands one job to two concurrent claims', async () => {
        const ids = await Promise.all(Array.from({ length: 12 }, () => create()));
        const claims = await Promise.all(Array.from({ length: 20 }, () => store.jobs.claim(NODE, LEASE)));
        const got = claims.filter((j) => j !== null).map((j) => j!.id);
        expect(got.sort()).toEqual(ids.map((j) => j.id).sort());
      });

      it('refuses a job past the queue limit', async () => {
        expect(await store.jobs.create(spec(), 1)).not.toBeNull();
        expect(await store.jobs.create(spec(), 1)).toBeNull();
        expect((await store.jobs.list({ limit: 10, offset: 0 })).total).toBe(1);
      });

      it('keeps the spec exactly as given', async () => {
        const job = await create();
        expect((await store.jobs.get(job.id))!.spec).toEqual(spec());
        expect(job).toMatchObject({ status: 'queued', epoch: 0, epochs: 3, progress: 0, datasetId, modelId: null, error: null });
      });

      it('records an epoch, its figures and its checkpoint together', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        expect(await store.jobs.recordEpoch(job.id, NODE, epoch(1), 100, new Uint8Array([9, 9]))).toBe(true);
        const after = (await store.jobs.get(job.id))!;
        expect(after).toMatchObject({ status: 'running', epoch: 1, samplesPerSec: 100 });
        expect(after.progress).toBeCloseTo(1 / 3);
        expect(after.metrics).toMatchObject({ epoch: 1, loss: 1 });
        expect(await store.jobs.checkpoint(job.id)).toEqual({ epoch: 1, state: new Uint8Array([9, 9]) });
        expect((await store.jobs.epochs(job.id, 0)).map((e) => e.epoch)).toEqual([1]);
        expect(await store.jobs.runtimeMs(job.id)).toBe(10);
        // The same epoch twice is refused, and the refusal leaves the checkpoint as it was.
        await expect(store.jobs.recordEpoch(job.id, NODE, epoch(1), 100, new Uint8Array([7]))).rejects.toThrow();
        expect((await store.jobs.checkpoint(job.id))!.state).toEqual(new Uint8Array([9, 9]));
        expect((await store.jobs.get(job.id))!.epoch).toBe(1);
      });

      it('writes no epoch for a job that is no longer running', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        await store.jobs.cancel(job.id);
        expect(await store.jobs.recordEpoch(job.id, NODE, epoch(1), 1, new Uint8Array([1]))).toBe(false);
        expect(await store.jobs.epochs(job.id, 0)).toEqual([]);
        expect(await store.jobs.checkpoint(job.id)).toBeNull();
      });

      it('returns only the epochs after `since`', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        for (const n of [1, 2, 3]) await store.jobs.recordEpoch(job.id, NODE, epoch(n), 1, new Uint8Array([n]));
        expect((await store.jobs.epochs(job.id, 1)).map((e) => e.epoch)).toEqual([2, 3]);
        expect(await store.jobs.epochs(job.id, 3)).toEqual([]);
        expect((await store.jobs.epochs(job.id, 0))[2]).toEqual(epoch(3));
      });

      it('succeeds once: stores the model, drops the checkpoint, refuses a second ending', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        await store.jobs.recordEpoch(job.id, NODE, epoch(1), 1, new Uint8Array([1]));
        const modelId = await store.jobs.succeed(job.id, NODE, model, 'completed');
        expect(modelId).toBeTruthy();
        expect(await store.jobs.get(job.id)).toMatchObject({ status: 'succeeded', modelId, progress: 1, stopReason: 'completed' });
        expect((await store.jobs.get(job.id))!.finishedAt).not.toBeNull();
        expect(await store.jobs.checkpoint(job.id)).toBeNull();
        expect(await store.jobs.cancel(job.id)).toBe(false);
        expect(await store.jobs.fail(job.id, { code: 'x', message: 'y' })).toBe(false);
        expect(await store.jobs.succeed(job.id, NODE, model, 'completed')).toBeNull();
        expect((await store.models.list(10, 0)).total).toBe(1);
      });

      it('fails with a code and a message', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        expect(await store.jobs.fail(job.id, { code: 'diverged', message: 'the loss became NaN' }, NODE)).toBe(true);
        expect(await store.jobs.get(job.id)).toMatchObject({ status: 'failed', error: { code: 'diverged', message: 'the loss became NaN' } });
      });

      it('cancels queued and running jobs but not finished ones', async () => {
        const queued = await create();
        expect(await store.jobs.cancel(queued.id)).toBe(true);
        expect((await store.jobs.get(queued.id))!.status).toBe('cancelled');
        const running = await create();
        await store.jobs.claim(NODE, LEASE);
        expect(await store.jobs.cancel(running.id)).toBe(true);
        expect(await store.jobs.get(running.id)).toMatchObject({ status: 'cancelled', stopReason: 'cancelled' });
        expect(await store.jobs.claim(NODE, LEASE)).toBeNull();
        expect(await store.jobs.requeue(running.id, NODE)).toBe(false);
      });

      it('puts running jobs back in the queue at their old place, keeping their checkpoint', async () => {
        const first = await create();
        const second = await create();
        await store.jobs.claim(NODE, LEASE);
        await store.jobs.recordEpoch(first.id, NODE, epoch(1), 1, new Uint8Array([5]));
        expect(await store.jobs.requeueAllRunning()).toBe(1);
        expect(await store.jobs.get(first.id)).toMatchObject({ status: 'queued', epoch: 1 });
        expect((await store.jobs.claim(NODE, LEASE))!.id).toBe(first.id);
        expect((await store.jobs.checkpoint(first.id))!.state).toEqual(new Uint8Array([5]));
        expect(await store.jobs.requeue(first.id, NODE)).toBe(true);
        expect((await store.jobs.claim(NODE, LEASE))!.id).toBe(first.id);
        expect(second.status).toBe('queued');
      });

      it('lists newest first and filters by status', async () => {
        const a = await create();
        const b = await create();
        await store.jobs.cancel(a.id);
        expect((await store.jobs.list({ limit: 10, offset: 0 })).items.map((j) => j.id)).toEqual([b.id, a.id]);
        expect(await store.jobs.list({ status: 'cancelled', limit: 10, offset: 0 })).toMatchObject({ total: 1, items: [{ id: a.id }] });
        expect((await store.jobs.list({ limit: 1, offset: 1 })).items.map((j) => j.id)).toEqual([a.id]);
      });
    });

    describe('leases and fencing', () => {
      it('records which node holds a claimed job; renewing holds it, a cancel ends the hold', async () => {
        const job = await create();
        expect(await store.jobs.claim(NODE, LEASE)).toMatchObject({ id: job.id, node: NODE });
        expect((await store.jobs.get(job.id))!.node).toBe(NODE);
        expect(await store.jobs.renew(job.id, NODE, LEASE)).toBe(true);
        expect(await store.jobs.renew(job.id, 'node-b', LEASE)).toBe(false);
        await store.jobs.cancel(job.id);
        expect(await store.jobs.renew(job.id, NODE, LEASE)).toBe(false);
        expect((await store.jobs.get(job.id))!.node).toBeNull();
      });

      it('lets no other node write for a job it does not hold', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        expect(await store.jobs.recordEpoch(job.id, 'node-b', epoch(1), 1, new Uint8Array([1]))).toBe(false);
        expect(await store.jobs.recordProgress(job.id, 'node-b', { progress: 0.5, samplesPerSec: 1, etaSeconds: 1 })).toBe(false);
        expect(await store.jobs.succeed(job.id, 'node-b', model, 'completed')).toBeNull();
        expect(await store.jobs.requeue(job.id, 'node-b')).toBe(false);
        expect(await store.jobs.fail(job.id, { code: 'x', message: 'y' }, 'node-b')).toBe(false);
        expect(await store.jobs.get(job.id)).toMatchObject({ status: 'running', epoch: 0, node: NODE });
        expect(await store.jobs.epochs(job.id, 0)).toEqual([]);
        expect(await store.jobs.checkpoint(job.id)).toBeNull();
      });

      it('records live progress for other nodes to read', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        expect(await store.jobs.recordProgress(job.id, NODE, { progress: 0.25, samplesPerSec: 1234, etaSeconds: 9 })).toBe(true);
        expect(await store.jobs.get(job.id)).toMatchObject({ progress: 0.25, samplesPerSec: 1234, etaSeconds: 9 });
      });

      it('puts a job whose lease lapsed back in the queue; the node that lost it can write nothing after another took it', async () => {
        const job = await create();
        await store.jobs.claim(NODE, 1);
        await store.jobs.recordEpoch(job.id, NODE, epoch(1), 1, new Uint8Array([1]));
        await new Promise((r) => setTimeout(r, 30));
        expect(await store.jobs.requeueExpired()).toEqual([job.id]);
        expect(await store.jobs.requeueExpired()).toEqual([]);
        expect(await store.jobs.get(job.id)).toMatchObject({ status: 'queued', node: null, epoch: 1 });
        expect(await store.jobs.claim('node-b', LEASE)).toMatchObject({ id: job.id, node: 'node-b', epoch: 1 });
        expect((await store.jobs.checkpoint(job.id))!.state).toEqual(new Uint8Array([1]));
        // The first node, back from a pause, is fenced off.
        expect(await store.jobs.recordEpoch(job.id, NODE, epoch(2), 1, new Uint8Array([2]))).toBe(false);
        expect(await store.jobs.succeed(job.id, NODE, model, 'completed')).toBeNull();
        expect(await store.jobs.renew(job.id, NODE, LEASE)).toBe(false);
        expect(await store.jobs.recordEpoch(job.id, 'node-b', epoch(2), 1, new Uint8Array([2]))).toBe(true);
        expect((await store.jobs.epochs(job.id, 0)).map((e) => e.epoch)).toEqual([1, 2]);
      });

      it('leaves a job whose lease is current where it is', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        expect(await store.jobs.requeueExpired()).toEqual([]);
        expect((await store.jobs.get(job.id))!.status).toBe('running');
      });
    });

    describe('nodes and the bus', () => {
      it('lists nodes by heartbeat and forgets removed ones', async () => {
        const startedAt = new Date().toISOString();
        await store.nodes.heartbeat({ id: 'api-1', role: 'api', running: [], startedAt });
        await store.nodes.heartbeat({ id: 'worker-1', role: 'worker', running: ['j1'], startedAt });
        await store.nodes.heartbeat({ id: 'worker-1', role: 'worker', running: ['j1', 'j2'], startedAt });
        const nodes = await store.nodes.live(60_000);
        expect(nodes.map((n) => n.id)).toEqual(['api-1', 'worker-1']);
        expect(nodes[1]).toMatchObject({ role: 'worker', running: ['j1', 'j2'], startedAt });
        expect(Date.parse(nodes[1].heartbeatAt)).toBeGreaterThan(Date.now() - 60_000);
        await store.nodes.remove('api-1');
        expect((await store.nodes.live(60_000)).map((n) => n.id)).toEqual(['worker-1']);
        await new Promise((r) => setTimeout(r, 20));
        expect(await store.nodes.live(5)).toEqual([]);
      });

      it('delivers a published message to subscribers of its channel only', async () => {
        const got: unknown[] = [];
        const other: unknown[] = [];
        const stop = store.bus.subscribe('test_channel', (m) => got.push(m));
        const stopOther = store.bus.subscribe('other_channel', (m) => other.push(m));
        await new Promise((r) => setTimeout(r, 50)); // a LISTEN takes effect asynchronously
        await store.bus.publish('test_channel', { jobId: 'j1', n: 1 });
        const deadline = Date.now() + 5000;
        while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(got).toEqual([{ jobId: 'j1', n: 1 }]);
        expect(other).toEqual([]);
        stop();
        stopOther();
      });
    });

    describe('the model registry', () => {
      const named = async (name: string | null) => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        return (await store.jobs.succeed(job.id, NODE, { ...model, name }, 'completed'))!;
      };

      it('numbers the versions of a name 1, 2, … and resolves id, name, name@version and name@alias', async () => {
        const v1 = await named('fashion');
        const other = await named('other');
        const v2 = await named('fashion');
        const unnamed = await named(null);
        expect(await store.models.get(v1)).toMatchObject({ name: 'fashion', version: 1, aliases: [] });
        expect(await store.models.get(v2)).toMatchObject({ name: 'fashion', version: 2 });
        expect(await store.models.get(other)).toMatchObject({ name: 'other', version: 1 });
        expect(await store.models.get(unnamed)).toMatchObject({ name: null, version: null });
        expect(await store.models.resolve(v1)).toBe(v1);
        expect(await store.models.resolve('fashion')).toBe(v2);
        expect(await store.models.resolve('fashion@1')).toBe(v1);
        expect(await store.models.resolve('fashion@3')).toBeNull();
        expect(await store.models.resolve('nobody')).toBeNull();
        expect(await store.models.setAlias('fashion', 'prod', 1)).toBe('set');
        expect(await store.models.resolve('fashion@prod')).toBe(v1);
        expect(await store.models.get(v1)).toMatchObject({ aliases: ['prod'] });
        expect(await store.models.setAlias('fashion', 'prod', 2)).toBe('set');
        expect(await store.models.resolve('fashion@prod')).toBe(v2);
        expect(await store.models.setAlias('fashion', 'prod', 9)).toBe('no_version');
        expect(await store.models.resolve('fashion@prod')).toBe(v2);
        expect((await store.models.list(10, 0, 'fashion')).items.map((m) => m.version)).toEqual([2, 1]);
        expect((await store.models.list(10, 0, 'fashion')).total).toBe(2);
      });

      it('refuses to delete a version an alias points at, until the alias goes', async () => {
        const v1 = await named('m');
        await store.models.setAlias('m', 'prod', 1);
        await store.models.setAlias('m', 'canary', 1);
        expect((await store.models.get(v1))!.aliases).toEqual(['canary', 'prod']);
        expect(await store.models.delete(v1)).toBe('aliased');
        expect(await store.models.removeAlias('m', 'prod')).toBe(true);
        expect(await store.models.removeAlias('m', 'prod')).toBe(false);
        expect(await store.models.delete(v1)).toBe('aliased');
        await store.models.removeAlias('m', 'canary');
        expect(await store.models.delete(v1)).toBe('deleted');
      });

      it('gives concurrent versions of one name distinct numbers', async () => {
        const jobs = await Promise.all(Array.from({ length: 6 }, () => create()));
        for (let i = 0; i < jobs.length; i++) await store.jobs.claim(NODE, LEASE);
        const ids = await Promise.all(jobs.map((j) => store.jobs.succeed(j.id, NODE, { ...model, name: 'race' }, 'completed')));
        const versions = await Promise.all(ids.map(async (id) => (await store.models.get(id!))!.version));
        expect(versions.sort()).toEqual([1, 2, 3, 4, 5, 6]);
      });
    });

    describe('models', () => {
      it('reads back what the job stored, lists and deletes', async () => {
        const job = await create();
        await store.jobs.claim(NODE, LEASE);
        const id = (await store.jobs.succeed(job.id, NODE, model, 'completed'))!;
        expect(await store.models.get(id)).toMatchObject({
          id, name: null, version: null, aliases: [], jobId: job.id, datasetId, task: 'classification', architecture: { inputs: 1 }, metrics: { loss: 1 },
          classes: ['a', 'b'], featureNames: ['x'], features: 1, bestEpoch: 3,
        });
        expect(await store.models.bytes(id)).toEqual(new Uint8Array([1, 2, 3]));
        const scores = { rows: 2, loss: 0.5, accuracy: 1 };
        expect(await store.models.addEvaluation(id, { id: 'e1', datasetId, at: '2026-01-01T00:00:00.000Z', scores })).toBe(true);
        expect(await store.models.addEvaluation(id, { id: 'e2', datasetId, at: '2026-01-02T00:00:00.000Z', scores: { ...scores, loss: 0.25 } })).toBe(true);
        expect((await store.models.evaluations(id)).map((e) => [e.id, e.scores.loss])).toEqual([['e2', 0.25], ['e1', 0.5]]);
        expect(await store.models.addEvaluation('nope', { id: 'e3', datasetId, at: '2026-01-01T00:00:00.000Z', scores })).toBe(false);
        expect((await store.models.list(10, 0)).items.map((m) => m.id)).toEqual([id]);
        expect(await store.models.delete(id)).toBe('deleted');
        expect(await store.models.delete(id)).toBe('not_found');
        expect(await store.models.get(id)).toBeNull();
        expect(await store.models.bytes(id)).toBeNull();
      });
    });

    describe('searches', () => {
      const trialsOf = async (n: number) => (await store.searches.create(
        { name: 's', datasetId, spec: { parallel: 1 } },
        Array.from({ length: n }, (_, i) => ({ spec: spec(), params: { l2: i } })),
      ));
      const noChange = { release: [], halve: [], finish: null };

      it('creates a search and its trials together, held for their turn: no claim takes them until released', async () => {
        const search = await trialsOf(3);
        expect(search).toMatchObject({ name: 's', datasetId, status: 'running', spec: { parallel: 1 }, trials: 3, finishedAt: null });
        const trials = await store.searches.trials(search.id, []);
        expect(trials.map((t) => [t.job.trial, t.job.held, t.job.status, t.job.params, t.job.searchId])).toEqual([
          [0, 'turn', 'queued', { l2: 0 }, search.id], [1, 'turn', 'queued', { l2: 1 }, search.id], [2, 'turn', 'queued', { l2: 2 }, search.id],
        ]);
        expect(await store.jobs.claim(NODE, LEASE)).toBeNull();
        const page = await store.jobs.list({ searchId: search.id, limit: 10, offset: 0 });
        expect(page.total).toBe(3);
        expect((await store.jobs.list({ searchId: 'other', limit: 10, offset: 0 })).total).toBe(0);
        // Held trials do not count against the queue's limit.
        expect(await store.jobs.create(spec(), 1)).not.toBeNull();

        const applied = await store.searches.advance(search.id, () => [], (s, t) => {
          expect(s.id).toBe(search.id);
          return { ...noChange, release: [{ jobId: t[1].job.id, pauseAt: 2 }] };
        });
        expect(applied?.release).toHaveLength(1);
        const first = (await store.jobs.claim(NODE, LEASE))!; // the plain job was queued first
        expect(first.searchId).toBeNull();
        const trial = (await store.jobs.claim(NODE, LEASE))!;
        expect(trial).toMatchObject({ trial: 1, pauseAt: 2, held: null, status: 'running' });
        expect(await store.jobs.claim(NODE, LEASE)).toBeNull();
        expect((await store.searches.list(10, 0)).items.map((x) => x.id)).toEqual([search.id]);
        expect(await store.searches.running()).toEqual([search.id]);
      });

      it('pauses a trial at its rung with its model aside; halving ends it succeeded with that model, releasing sends it to the back of the queue', async () => {
        const search = await trialsOf(2);
        const [a, b] = (await store.searches.trials(search.id, [])).map((t) => t.job.id);
        await store.searches.advance(search.id, () => [], () => ({ ...noChange, release: [{ jobId: a, pauseAt: 1 }, { jobId: b, pauseAt: 1 }] }));
        for (const id of [a, b]) {
          expect((await store.jobs.claim(NODE, LEASE))!.id).toBe(id);
          expect(await store.jobs.recordEpoch(id, NODE, { ...epoch(1), valAccuracy: id === a ? 0.9 : 0.5 }, 100, new Uint8Array([7]))).toBe(true);
          expect(await store.jobs.pause(id, 'node-b', model)).toBe(false); // fenced
          expect(await store.jobs.pause(id, NODE, { ...model, bytes: new Uint8Array([id === a ? 1 : 2]) })).toBe(true);
        }
        expect((await store.jobs.get(a))).toMatchObject({ status: 'queued', held: 'rung', node: null, epoch: 1 });
        expect(await store.jobs.claim(NODE, LEASE)).toBeNull();
        const trials = await store.searches.trials(search.id, [1, 5]);
        expect(trials.map((t) => [t.at.get(1)?.valAccuracy, t.at.has(5)])).toEqual([[0.9, false], [0.5, false]]);

        const later = await create(); // queued after the trials began
        await store.searches.advance(search.id, () => [1], () => ({ release: [{ jobId: a, pauseAt: null }], halve: [b], finish: null }));
        const halved = (await store.jobs.get(b))!;
        expect(halved).toMatchObject({ status: 'succeeded', stopReason: 'halved', held: null, progress: 1 });
        expect(await store.models.bytes(halved.modelId!)).toEqual(new Uint8Array([2]));
        expect(await store.models.get(halved.modelId!)).toMatchObject({ jobId: b, datasetId, bestEpoch: 3 });
        expect(await store.jobs.checkpoint(b)).toBeNull();
        expect((await store.searches.trials(search.id, []))[1].modelMetrics).toEqual({ loss: 1 });
        // The released trial waits behind the job queued while it was paused, and resumes from its checkpoint.
        expect((await store.jobs.claim(NODE, LEASE))!.id).toBe(later.id);
        const resumed = (await store.jobs.claim(NODE, LEASE))!;
        expect(resumed).toMatchObject({ id: a, pauseAt: null, epoch: 1 });
        expect(await store.jobs.checkpoint(a)).toEqual({ epoch: 1, state: new Uint8Array([7]) });
        expect(await store.jobs.succeed(a, NODE, model, 'completed')).toEqual(expect.any(String));
        // A decision on a trial no longer paused changes nothing.
        await store.searches.advance(search.id, () => [], () => ({ release: [], halve: [b], finish: 'succeeded' }));
        expect((await store.jobs.get(b))!.modelId).toBe(halved.modelId);
        expect(await store.searches.get(search.id)).toMatchObject({ status: 'succeeded', finishedAt: expect.any(String) });
        expect(await store.searches.advance(search.id, () => [], () => { throw new Error('not asked once finished'); })).toBeNull();
        expect(await store.searches.running()).toEqual([]);
      });

      it('cancels a running search with its queued, held and running trials, once', async () => {
        const search = await trialsOf(3);
        const ids = (await store.searches.trials(search.id, [])).map((t) => t.job.id);
        await store.searches.advance(search.id, () => [], () => ({ ...noChange, release: [{ jobId: ids[0], pauseAt: null }] }));
        await store.jobs.claim(NODE, LEASE);
        expect((await store.searches.cancel(search.id))!.sort()).toEqual([...ids].sort());
        for (const id of ids) expect(await store.jobs.get(id)).toMatchObject({ status: 'cancelled', held: null });
        expect(await store.jobs.renew(ids[0], NODE, LEASE)).toBe(false);
        expect(await store.searches.cancel(search.id)).toBeNull();
        expect(await store.searches.get(search.id)).toMatchObject({ status: 'cancelled' });
        expect(await store.searches.get('nope')).toBeNull();
      });
    });
  });
}
