// The model registry through HTTP, on each backend: names and versions from the job spec, references
// (name, name@version, name@alias) wherever a model id goes, aliases that move atomically under load,
// V2 with versions, and class names given at upload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, toCsv } from '../helpers/data.js';
import { clusterUrl, freshDatabase } from '../helpers/postgres.js';
import { startServer, type RunningServer } from '../helpers/server.js';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe.skipIf(backend === 'postgres' && !clusterUrl)(`the model registry (${backend})`, () => {
    let server: RunningServer;
    let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;
    let api: ReturnType<typeof client>;
    let datasetId: string;
    const versions: { id: string; version: number }[] = [];
    const row = [0.5, -1, 2];

    beforeAll(async () => {
      database = backend === 'postgres' ? await freshDatabase() : null;
      server = await startServer(database ? { env: { DATABASE_URL: database.url } } : {});
      api = client(server.url);
      // Integer labels 0..2, named at upload.
      const t = blobs(150, 3, ['0', '1', '2'], 4);
      const res = await api.post('/v1/datasets?name=shapes&classNames=circle,square,triangle', toCsv(t), { 'content-type': 'text/csv' });
      expect(res.status).toBe(201);
      expect(res.body.classes).toEqual(['circle', 'square', 'triangle']);
      datasetId = res.body.id;
      for (const seed of [1, 2]) {
        const job = await api.post('/v1/jobs', { datasetId, modelName: 'shapes', epochs: 3, hidden: [{ units: 4 + seed }], seed });
        expect(job.status).toBe(202);
        const done = await api.waitFor(job.body.id, ['succeeded', 'failed']);
        expect(done.status).toBe('succeeded');
        versions.push({ id: done.modelId, version: (await api.get(`/v1/models/${done.modelId}`)).body.version });
      }
    });
    afterAll(async () => {
      await server?.stop();
      server?.cleanup();
      await database?.drop();
    });

    it('gives two jobs with one modelName versions 1 and 2, and resolves name, name@version and name@alias', async () => {
      expect(versions.map((v) => v.version)).toEqual([1, 2]);
      expect((await api.get('/v1/models/shapes')).body).toMatchObject({ id: versions[1].id, name: 'shapes', version: 2, aliases: [] });
      expect((await api.get('/v1/models/shapes@1')).body.id).toBe(versions[0].id);
      const set = await api.call('PUT', '/v1/models/shapes/aliases/prod', { version: 1 });
      expect(set).toMatchObject({ status: 200, body: { name: 'shapes', alias: 'prod', version: 1 } });
      expect((await api.get('/v1/models/shapes@prod')).body).toMatchObject({ id: versions[0].id, aliases: ['prod'] });
      const listed = (await api.get('/v1/models?name=shapes')).body;
      expect(listed.items.map((m: { version: number }) => m.version)).toEqual([2, 1]);
      expect((await api.get('/v1/models/shapes@9')).status).toBe(404);
      expect((await api.call('PUT', '/v1/models/shapes/aliases/prod', { version: 9 })).status).toBe(404);
      expect((await api.call('PUT', '/v1/models/shapes/aliases/7', { version: 1 })).status).toBe(400);
    });

    it('predicts with class names, through every kind of reference, and labels the probabilities', async () => {
      const byId = (await api.post(`/v1/models/${versions[0].id}/predict`, { instances: [row] })).body;
      expect(byId.classes).toEqual(['circle', 'square', 'triangle']);
      expect(['circle', 'square', 'triangle']).toContain(byId.predictions[0].label);
      expect((await api.post('/v1/models/shapes@1/predict', { instances: [row] })).body).toEqual(byId);
      expect((await api.post('/v1/models/shapes@prod/predict', { instances: [row] })).body).toEqual(byId);
      const latest = (await api.post('/v1/models/shapes/predict', { instances: [row] })).body;
      expect(latest).toEqual((await api.post(`/v1/models/${versions[1].id}/predict`, { instances: [row] })).body);
    });

    it('serves V2 by name and by version', async () => {
      const meta = (await api.get('/v2/models/shapes/versions/1')).body;
      expect(meta).toMatchObject({ name: 'shapes', versions: ['1'], parameters: { id: versions[0].id, classes: ['circle', 'square', 'triangle'] } });
      expect((await api.get('/v2/models/shapes/versions/2/ready')).body).toEqual({ name: 'shapes', ready: true });
      const infer = await api.post('/v2/models/shapes/versions/1/infer', { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: row }] });
      expect(infer.status).toBe(200);
      expect(infer.body).toMatchObject({ model_name: 'shapes', model_version: '1' });
      const v1 = (await api.post(`/v1/models/${versions[0].id}/predict`, { instances: [row] })).body.predictions[0];
      expect(infer.body.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([v1.label]);
      expect((await api.get('/v2/models/shapes/versions/5')).status).toBe(404);
    });

    it('moves an alias atomically: concurrent predictions through it see version 1 or version 2, whole', async () => {
      const answer = async (ref: string) => JSON.stringify((await api.post(`/v1/models/${ref}/predict`, { instances: [row, [1, 1, 1]] })).body);
      const one = await answer(versions[0].id);
      const two = await answer(versions[1].id);
      expect(one).not.toBe(two);
      const seen = new Set<string>();
      let moving = true;
      const mover = (async () => {
        for (let i = 0; moving; i++) await api.call('PUT', '/v1/models/shapes/aliases/live', { version: 1 + (i % 2) });
      })();
      await api.call('PUT', '/v1/models/shapes/aliases/live', { version: 1 });
      const answers = await Promise.all(Array.from({ length: 200 }, () => answer('shapes@live')));
      moving = false;
      await mover;
      for (const a of answers) seen.add(a);
      expect([...seen].every((a) => a === one || a === two)).toBe(true);
    });

    it('refuses to delete a version an alias points at (409), then deletes it once the alias is gone', async () => {
      const refused = await api.del('/v1/models/shapes@prod');
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('model_aliased');
      expect((await api.del('/v1/models/shapes/aliases/prod')).status).toBe(204);
      expect((await api.del('/v1/models/shapes/aliases/prod')).status).toBe(404);
      await api.del('/v1/models/shapes/aliases/live');
      expect((await api.del('/v1/models/shapes@1')).status).toBe(204);
      expect((await api.get('/v1/models/shapes@1')).status).toBe(404);
      expect((await api.get('/v1/models/shapes')).body.version).toBe(2);
    });

    it('keeps every evaluation with its model, newest first', async () => {
      const first = await api.post('/v1/models/shapes/evaluate', { datasetId });
      expect(first.status).toBe(200);
      await api.post('/v1/models/shapes/evaluate', { datasetId });
      const kept = (await api.get('/v1/models/shapes/evaluations')).body.items;
      expect(kept).toHaveLength(2);
      expect(kept[0]).toMatchObject({ datasetId, scores: first.body });
      expect(kept[0].at >= kept[1].at).toBe(true);
      expect((await api.get('/v1/models/nobody/evaluations')).status).toBe(404);
    });

    it('refuses class names that do not fit the dataset', async () => {
      const t = toCsv(blobs(30, 2, ['0', '1'], 1));
      const few = await api.post('/v1/datasets?classNames=a,b,c', t, { 'content-type': 'text/csv' });
      expect(few.status).toBe(422);
      expect(few.body.error).toMatchObject({ code: 'invalid_class_names', message: expect.stringMatching(/has 3 names; the dataset has 2 classes/) });
      expect((await api.post('/v1/datasets?classNames=a,a', t, { 'content-type': 'text/csv' })).status).toBe(422);
    });
  });
}

describe('export through HTTP', () => {
  let server: RunningServer;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    server = await startServer();
    api = client(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('exports ONNX that onnxruntime runs to /predict\'s numbers, and JSON, for classifier and regression', async () => {
    const ort = await import('onnxruntime-node');
    const table = blobs(120, 3, ['a', 'b', 'c'], 8);
    const cls = (await api.post('/v1/datasets?name=c', toCsv(table), { 'content-type': 'text/csv' })).body.id;
    const reg = (await api.post('/v1/datasets?name=r', { features: table.features, labels: table.features.map((f) => f[0] * 3 + 200) })).body.id;
    for (const [datasetId, hidden] of [[cls, 'tanh'], [reg, 'sigmoid']] as const) {
      const job = await api.waitFor((await api.post('/v1/jobs', { datasetId, modelName: `exp-${hidden}`, epochs: 3, seed: 1, hidden: [{ units: 6, activation: hidden }] })).body.id, ['succeeded']);
      const res = await fetch(`${server.url}/v1/models/exp-${hidden}/export?format=onnx`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="exp-${hidden}-v1.onnx"`);
      const session = await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()));
      const rows = table.features.slice(0, 5);
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [5, 3]) });
      const predicted = (await api.post(`/v1/models/${job.modelId}/predict`, { instances: rows })).body.predictions;
      const got = Array.from((out.probabilities ?? out.value).data as Float32Array);
      const want = predicted.flatMap((p: { probabilities?: number[]; value?: number }) => p.probabilities ?? [p.value!]);
      got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]))));
      const json = await api.get(`/v1/models/exp-${hidden}/export?format=json`);
      expect(json.status).toBe(200);
      expect(json.body).toMatchObject({ format: 'mlp-service/json', model: { id: job.modelId, name: `exp-${hidden}`, version: 1 } });
    }
    expect((await api.get(`/v1/models/exp-tanh/export?format=pmml`)).status).toBe(400);
    expect((await api.get(`/v1/models/nothing/export`)).status).toBe(404);
  });
});
