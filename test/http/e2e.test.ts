// The service end to end, as a client uses it: a real listening server on each backend, a real SQLite
// file and a real PostgreSQL database.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, idx, linear, rng, toCsv } from '../helpers/data.js';
import { clusterUrl, freshDatabase } from '../helpers/postgres.js';
import { startServer, type RunningServer } from '../helpers/server.js';

for (const backend of ['sqlite', 'postgres'] as const) {
describe.skipIf(backend === 'postgres' && !clusterUrl)(backend, () => {
  let server: RunningServer;
  let api: ReturnType<typeof client>;

  let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;

  beforeAll(async () => {
    database = backend === 'postgres' ? await freshDatabase() : null;
    server = await startServer(database ? { env: { DATABASE_URL: database.url } } : {});
    api = client(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
    await database?.drop();
  });

  const classes = ['cat', 'dog', 'eel'];
  const train = blobs(300, 4, classes, 7);

  describe(`the service end to end (${backend})`, () => {
    let csvDatasetId: string;
    let regressionDatasetId: string;

    it('answers /health', async () => {
      const res = await api.get('/health');
      expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
    });

    it('stores a CSV upload and infers classification with the labels as uploaded', async () => {
      const res = await api.post('/v1/datasets?name=animals&target=label', toCsv(train), { 'content-type': 'text/csv' });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v1/datasets/${res.body.id}`);
      expect(res.body).toMatchObject({
        name: 'animals', rows: 300, features: 4, featureNames: ['f0', 'f1', 'f2', 'f3'],
        task: 'classification', classes,
      });
      csvDatasetId = res.body.id;
      expect((await api.get(`/v1/datasets/${csvDatasetId}`)).body).toEqual(res.body);
    });

    it('stores a JSON upload and infers regression', async () => {
      const t = linear(400);
      const res = await api.post('/v1/datasets?name=linear', t);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ rows: 400, features: 3, task: 'regression', classes: null });
      regressionDatasetId = res.body.id;
    });

    it('stores an IDX upload (images gzipped, labels not) from multipart parts in either order', async () => {
      const r = rng(3);
      const n = 60;
      const pixels = Uint8Array.from({ length: n * 16 }, () => Math.floor(r() * 256));
      const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
      const form = new FormData();
      form.append('labels', new Blob([new Uint8Array(idx([n], labels))]), 'labels-idx1-ubyte');
      form.append('images', new Blob([new Uint8Array(gzipSync(idx([n, 4, 4], pixels)))]), 'images-idx3-ubyte.gz');
      const res = await api.post('/v1/datasets?name=digits', form);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ rows: 60, features: 16, task: 'classification', classes: [0, 1, 2] });
    });

    it('lists datasets newest first', async () => {
      const res = await api.get('/v1/datasets?limit=2');
      expect(res.body.items).toHaveLength(2);
      expect(res.body.total).toBe(3);
      expect(res.body.items[0].name).toBe('digits');
    });

    it('trains a classifier, reports every epoch once, predicts and evaluates', async () => {
      const submitted = await api.post('/v1/jobs', {
        datasetId: csvDatasetId, hidden: [{ units: 16, activation: 'relu' }], epochs: 15, batchSize: 16,
        optimizer: { learningRate: 0.05, momentum: 0.9 }, seed: 42, validationSplit: 0.2,
      });
      expect(submitted.status).toBe(202);
      expect(submitted.headers.get('location')).toBe(`/v1/jobs/${submitted.body.id}`);
      expect(submitted.body).toMatchObject({ status: 'queued', epochs: 15, spec: { output: 'softmax', loss: 'categorical_cross_entropy', seed: 42 } });

      const job = await api.waitFor(submitted.body.id, ['succeeded', 'failed']);
      expect(job.error).toBeNull();
      expect(job).toMatchObject({ status: 'succeeded', progress: 1, epoch: 15, stopReason: 'completed' });
      expect(job.modelId).toBeTruthy();

      const epochs = (await api.get(`/v1/jobs/${job.id}/epochs`)).body.epochs;
      expect(epochs.map((e: { epoch: number }) => e.epoch)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(epochs.at(-1).valAccuracy).toBeGreaterThan(0.9);
      expect(epochs.at(-1).loss).toBeLessThan(epochs[0].loss);
      const later = (await api.get(`/v1/jobs/${job.id}/epochs?since=12`)).body.epochs;
      expect(later.map((e: { epoch: number }) => e.epoch)).toEqual([13, 14, 15]);

      const model = (await api.get(`/v1/models/${job.modelId}`)).body;
      expect(model).toMatchObject({ id: job.modelId, jobId: job.id, datasetId: csvDatasetId, task: 'classification', classes, features: 4 });

      const predicted = await api.post(`/v1/models/${job.modelId}/predict`, { instances: train.features.slice(0, 30) });
      expect(predicted.status).toBe(200);
      const right = predicted.body.predictions.filter((p: { label: string }, i: number) => p.label === train.labels[i]).length;
      expect(right).toBeGreaterThanOrEqual(27);
      for (const p of predicted.body.predictions) {
        expect(p.probabilities).toHaveLength(3);
        expect(p.probabilities.reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 4);
        expect(p.label).toBe(classes[p.probabilities.indexOf(Math.max(...p.probabilities))]);
      }

      const evaluated = await api.post(`/v1/models/${job.modelId}/evaluate`, { datasetId: csvDatasetId });
      expect(evaluated.status).toBe(200);
      expect(evaluated.body.rows).toBe(300);
      expect(evaluated.body.accuracy).toBeGreaterThan(0.9);
      expect(evaluated.body.confusionMatrix.flat().reduce((s: number, v: number) => s + v, 0)).toBe(300);
      expect(evaluated.body.classes).toEqual(classes);
    });

    it('trains a regression and answers in the target\'s own units', async () => {
      const submitted = await api.post('/v1/jobs', {
        datasetId: regressionDatasetId, hidden: [{ units: 16, activation: 'tanh' }], epochs: 40, batchSize: 16,
        optimizer: { learningRate: 0.02, momentum: 0.9 }, seed: 5,
      });
      expect(submitted.body.spec).toMatchObject({ output: 'linear', loss: 'squared_error' });
      const job = await api.waitFor(submitted.body.id, ['succeeded', 'failed']);
      expect(job.status).toBe('succeeded');
      const x = [[1, -1, 0.5], [0, 0, 0], [-1.5, 1.5, -1]];
      const expected = x.map(([a, b, c]) => 3 * a - 2 * b + 0.5 * c + 10);
      const { body } = await api.post(`/v1/models/${job.modelId}/predict`, { instances: x });
      body.predictions.forEach((p: { value: number }, i: number) => expect(Math.abs(p.value - expected[i])).toBeLessThan(0.6));
      const evaluated = (await api.post(`/v1/models/${job.modelId}/evaluate`, { datasetId: regressionDatasetId })).body;
      expect(evaluated.r2).toBeGreaterThan(0.98);
      expect(evaluated.mae).toBeLessThan(0.5);
    });

    it('learns XOR through HTTP (2-4-1, sigmoid output, binary cross-entropy)', async () => {
      const ds = await api.post('/v1/datasets?name=xor', { features: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0] });
      expect(ds.body).toMatchObject({ task: 'classification', classes: [0, 1] });
      const submitted = await api.post('/v1/jobs', {
        datasetId: ds.body.id, hidden: [{ units: 4, activation: 'tanh' }], output: 'sigmoid', epochs: 300, batchSize: 4,
        optimizer: { learningRate: 0.5, momentum: 0.9 }, seed: 3,
      });
      expect(submitted.body.spec.loss).toBe('binary_cross_entropy');
      const job = await api.waitFor(submitted.body.id, ['succeeded', 'failed']);
      expect(job.status).toBe('succeeded');
      const { body } = await api.post(`/v1/models/${job.modelId}/predict`, { instances: [[0, 0], [0, 1], [1, 0], [1, 1]] });
      expect(body.predictions.map((p: { label: number }) => p.label)).toEqual([0, 1, 1, 0]);
    });

    it('cancels a running job within moments, and refuses to cancel it twice', async () => {
      const big = blobs(4000, 8, classes, 9);
      const ds = await api.post('/v1/datasets?name=big', toCsv(big), { 'content-type': 'text/csv' });
      const submitted = await api.post('/v1/jobs', { datasetId: ds.body.id, epochs: 10000, batchSize: 8, hidden: [{ units: 64 }] });
      await api.waitFor(submitted.body.id, ['running']);
      expect((await api.del(`/v1/datasets/${ds.body.id}`)).status).toBe(409);
      const cancelled = await api.post(`/v1/jobs/${submitted.body.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      const again = await api.post(`/v1/jobs/${submitted.body.id}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('job_finished');
      const listed = await api.get('/v1/jobs?status=cancelled');
      expect(listed.body.items.map((j: { id: string }) => j.id)).toContain(submitted.body.id);
      expect(listed.body.items.every((j: { status: string }) => j.status === 'cancelled')).toBe(true);
      // Its worker is free again: a new job starts and finishes.
      const next = await api.post('/v1/jobs', { datasetId: csvDatasetId, epochs: 2 });
      expect((await api.waitFor(next.body.id, ['succeeded', 'failed'])).status).toBe('succeeded');
      expect((await api.del(`/v1/datasets/${ds.body.id}`)).status).toBe(204);
      expect((await api.get(`/v1/datasets/${ds.body.id}`)).status).toBe(404);
    });

    it('deletes a model', async () => {
      const models = (await api.get('/v1/models')).body;
      expect(models.total).toBeGreaterThanOrEqual(3);
      const id = models.items[0].id;
      expect((await api.del(`/v1/models/${id}`)).status).toBe(204);
      expect((await api.get(`/v1/models/${id}`)).status).toBe(404);
      expect((await api.post(`/v1/models/${id}/predict`, { instances: [[1, 2, 3, 4]] })).status).toBe(404);
    });
  });
});
}
