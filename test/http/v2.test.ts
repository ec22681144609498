// The Open Inference Protocol V2 routes as KServe and Triton clients call them, in-process (app.inject)
// and over a real socket, on models trained through the API; they must agree with /v1 predict.
import type { FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { blobs, linear, type Table } from '../helpers/data.js';

interface Answer { status: number; headers: Record<string, unknown>; body: any }
type Call = (method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;

const encode = (body: unknown) => (body === undefined || typeof body === 'string' ? body : JSON.stringify(body));
const jsonHeaders = (body: unknown, headers: Record<string, string>) =>
  (body === undefined ? headers : { 'content-type': 'application/json', ...headers });

function viaInject(app: FastifyInstance): Call {
  return async (method, url, body, headers = {}) => {
    const res = await app.inject({ method, url, headers: jsonHeaders(body, headers), payload: encode(body) });
    return { status: res.statusCode, headers: res.headers, body: JSON.parse(res.body) };
  };
}

function viaHttp(base: string): Call {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(base + path, { method, headers: jsonHeaders(body, headers), body: encode(body) });
    return { status: res.status, headers: { 'content-type': res.headers.get('content-type') }, body: JSON.parse(await res.text()) };
  };
}

async function trainModel(app: FastifyInstance, table: Table, spec: Record<string, unknown> = {}): Promise<string> {
  const dataset = await app.inject({ method: 'POST', url: '/v1/datasets?name=v2', payload: table });
  expect(dataset.statusCode).toBe(201);
  const submitted = await app.inject({
    method: 'POST', url: '/v1/jobs',
    payload: { datasetId: dataset.json().id, hidden: [{ units: 8 }], epochs: 5, batchSize: 16, seed: 7, optimizer: { learningRate: 0.05 }, ...spec },
  });
  expect(submitted.statusCode).toBe(202);
  for (;;) {
    const job = (await app.inject({ method: 'GET', url: `/v1/jobs/${submitted.json().id}` })).json();
    if (job.status === 'succeeded') return job.modelId;
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`training ${job.status}: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every value within float32 precision of the reference. */
function expectFloat32Close(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i])).toBeLessThanOrEqual(2 ** -23 * Math.max(1, Math.abs(expected[i]))));
}

/** The protocol's error object: one string field, nothing else. */
function expectV2Error(res: Answer, status: number, words: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toMatch(words);
}

const CLASSES = ['cat', 'dog', 'eel'];
const queryRows = blobs(6, 4, CLASSES, 99).features;

let t: TestApp;
let base: string;
let classifier: string; // softmax over string labels
let binary: string; // sigmoid over the integer labels 0 and 1
let regressor: string;

beforeAll(async () => {
  t = await buildTestApp({ WORKERS: '1' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  classifier = await trainModel(t.app, blobs(200, 4, CLASSES, 11));
  const two = blobs(200, 4, ['a', 'b'], 12);
  binary = await trainModel(t.app, { features: two.features, labels: two.labels.map((l) => (l === 'a' ? 0 : 1)) }, { output: 'sigmoid' });
  regressor = await trainModel(t.app, linear(200, 13));
});

afterAll(async () => {
  await t?.close();
});

/** What /v1 predict answers for the same rows: the reference the V2 outputs must agree with. */
async function v1Predict(model: string, instances: number[][]): Promise<any[]> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/models/${model}/predict`, payload: { instances } });
  expect(res.statusCode).toBe(200);
  return res.json().predictions;
}

describe.each(['inject', 'http'] as const)('V2 over %s', (transport) => {
  let call: Call;
  beforeAll(() => {
    call = transport === 'inject' ? viaInject(t.app) : viaHttp(base);
  });

  it('describes the server and reports it live and ready', async () => {
    const meta = await call('GET', '/v2');
    expect(meta.status).toBe(200);
    expect(meta.body).toEqual({ name: 'mlp-service', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: [] });
    expect(await call('GET', '/v2/health/live')).toMatchObject({ status: 200, body: { live: true } });
    expect(await call('GET', '/v2/health/ready')).toMatchObject({ status: 200, body: { ready: true } });
  });

  it('gives each model\'s metadata: one FP32 input [-1, features] and its outputs', async () => {
    const c = await call('GET', `/v2/models/${classifier}`);
    expect(c.status).toBe(200);
    expect(c.body).toEqual({
      name: classifier,
      platform: 'mlp-service',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'BYTES', shape: [-1, 1] },
      ],
      parameters: { id: classifier, task: 'classification', classes: CLASSES, feature_names: ['x0', 'x1', 'x2', 'x3'] },
    });
    const b = await call('GET', `/v2/models/${binary}`);
    expect(b.body.outputs).toEqual([
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      { name: 'label', datatype: 'INT64', shape: [-1, 1] },
    ]);
    const r = await call('GET', `/v2/models/${regressor}`);
    expect(r.body).toMatchObject({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'value', datatype: 'FP32', shape: [-1, 1] }],
      parameters: { task: 'regression', classes: null },
    });
  });

  it('reports a model ready, and an unknown one as 404', async () => {
    expect(await call('GET', `/v2/models/${classifier}/ready`)).toMatchObject({ status: 200, body: { name: classifier, ready: true } });
    expectV2Error(await call('GET', '/v2/models/no-such-model/ready'), 404, /no-such-model/);
    expectV2Error(await call('GET', '/v2/models/no-such-model'), 404, /no-such-model/);
  });

  it('infers a tritonclient-style request (flat FP32, outputs by name) in agreement with /v1 predict', async () => {
    // What tritonclient.http posts with binary_data=False for the input and both outputs.
    const res = await call('POST', `/v2/models/${classifier}/infer`, {
      id: 'req-42',
      parameters: { priority: 0 },
      inputs: [{ name: 'input', shape: [queryRows.length, 4], datatype: 'FP32', parameters: {}, data: queryRows.flat() }],
      outputs: [
        { name: 'probabilities', parameters: { binary_data: false } },
        { name: 'label', parameters: { binary_data: false } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model_name: classifier, id: 'req-42' });
    const [p, label] = res.body.outputs;
    expect(p).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [6, 3] });
    expect(label).toMatchObject({ name: 'label', datatype: 'BYTES', shape: [6, 1] });
    const v1 = await v1Predict(classifier, queryRows);
    expectFloat32Close(p.data, v1.flatMap((x) => x.probabilities));
    expect(label.data).toEqual(v1.map((x) => x.label));
    // The blobs are well apart: five epochs are enough to name most rows right.
    const truth = blobs(6, 4, CLASSES, 99).labels;
    expect(label.data.filter((l: string, i: number) => l === truth[i]).length).toBeGreaterThanOrEqual(4);
  });

  it('infers a KServe-style request with nested FP64 data and no outputs: all outputs, an id given to it', async () => {
    const rows = queryRows.map((row) => row.map((v) => v + 0.123456789012345));
    const res = await call('POST', `/v2/models/${classifier}/infer`, {
      parameters: { content_type: 'np' },
      inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP64', data: rows }],
    });
    expect(res.status).toBe(200);
    expect(res.body.id).toEqual(expect.any(String));
    expect(res.body.id.length).toBeGreaterThan(0);
    expect(res.body.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities', 'label']);
    const v1 = await v1Predict(classifier, rows);
    expectFloat32Close(res.body.outputs[0].data, v1.flatMap((x) => x.probabilities));
    expect(res.body.outputs[1].data).toEqual(v1.map((x) => x.label));
  });

  it('echoes X-Request-Id as the response id when the body has none', async () => {
    const res = await call('POST', `/v2/models/${classifier}/infer`,
      { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: queryRows[0] }] }, { 'x-request-id': 'trace-7' });
    expect(res.body.id).toBe('trace-7');
  });

  it('takes INT32 data and returns only the outputs asked for, in the order asked', async () => {
    const rows = [[1, -2, 3, 0], [0, 0, 0, 0], [-3, 2, 1, 4]];
    const res = await call('POST', `/v2/models/${classifier}/infer`, {
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'INT32', data: rows.flat() }],
      outputs: [{ name: 'label' }],
    });
    expect(res.status).toBe(200);
    expect(res.body.outputs).toHaveLength(1);
    const v1 = await v1Predict(classifier, rows);
    expect(res.body.outputs[0]).toEqual({ name: 'label', shape: [3, 1], datatype: 'BYTES', data: v1.map((x) => x.label) });
    const both = await call('POST', `/v2/models/${classifier}/infer`, {
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'INT32', data: rows }],
      outputs: [{ name: 'label' }, { name: 'probabilities' }],
    });
    expect(both.body.outputs.map((o: { name: string }) => o.name)).toEqual(['label', 'probabilities']);
  });

  it('gives a binary sigmoid model both probability columns and INT64 labels, as /v1 does', async () => {
    const res = await call('POST', `/v2/models/${binary}/infer`, {
      inputs: [{ name: 'input', shape: [queryRows.length, 4], datatype: 'FP32', data: queryRows }],
    });
    expect(res.status).toBe(200);
    const [p, label] = res.body.outputs;
    expect(p.shape).toEqual([6, 2]);
    expect(label).toMatchObject({ datatype: 'INT64', shape: [6, 1] });
    const v1 = await v1Predict(binary, queryRows);
    expectFloat32Close(p.data, v1.flatMap((x) => x.probabilities));
    expect(label.data).toEqual(v1.map((x) => x.label));
    for (const l of label.data) expect([0, 1]).toContain(l);
  });

  it('gives a regression model its value in target units, as /v1 does', async () => {
    const rows = linear(5, 21).features;
    const res = await call('POST', `/v2/models/${regressor}/infer`, {
      id: 'r1', inputs: [{ name: 'input', shape: [5, 3], datatype: 'FP32', data: rows.flat() }],
    });
    expect(res.status).toBe(200);
    expect(res.body.outputs).toHaveLength(1);
    expect(res.body.outputs[0]).toMatchObject({ name: 'value', datatype: 'FP32', shape: [5, 1] });
    expectFloat32Close(res.body.outputs[0].data, (await v1Predict(regressor, rows)).map((x) => x.value));
  });

  it('answers errors in the protocol\'s shape with 404 and 400', async () => {
    const infer = (body: unknown, model = classifier) => call('POST', `/v2/models/${model}/infer`, body);
    const input = (over: Record<string, unknown>) => ({ inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: queryRows.slice(0, 2).flat(), ...over }] });

    expectV2Error(await infer(input({}), 'no-such-model'), 404, /no-such-model/);
    expectV2Error(await infer(input({ shape: [2, 3], data: [1, 2, 3, 4, 5, 6] })), 400, /shape.*\[-1, 4\]/);
    expectV2Error(await infer(input({ shape: [8] })), 400, /shape/);
    expectV2Error(await infer(input({ data: [1, 2, 3, 4, 5, 6, 7] })), 400, /has 7 values.*needs 8/);
    expectV2Error(await infer(input({ data: [[1, 2, 3, 4], [5, 6, 7]] })), 400, /data\[1\]: has 3 values/);
    expectV2Error(await infer(input({ shape: [3, 4], data: [[1, 2, 3, 4], [5, 6, 7, 8]] })), 400, /has 2 rows/);
    expectV2Error(await infer(input({ datatype: 'FLOAT' })), 400, /"FLOAT" is not a datatype/);
    expectV2Error(await infer(input({ datatype: 'BYTES', data: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] })), 400, /BYTES/);
    expectV2Error(await infer(input({ datatype: 'INT8', data: [1, 2, 3, 300, 5, 6, 7, 8] })), 400, /data\[3\].*300.*INT8/);
    expectV2Error(await infer(input({ datatype: 'INT32', data: [1, 2, 3, 4.5, 5, 6, 7, 8] })), 400, /data\[3\].*integer/);
    expectV2Error(await infer(input({ data: [1, 2, '3', 4, 5, 6, 7, 8] })), 400, /data\[2\]/);
    expectV2Error(await infer(input({ name: 'input-0' })), 400, /"input-0"/);
    expectV2Error(await infer(input({ parameters: { binary_data_size: 32 } })), 400, /binary/);
    expectV2Error(await infer({ ...input({}), outputs: [{ name: 'logits' }] }), 400, /no output "logits"/);
    expectV2Error(await infer({ inputs: [] }), 400, /inputs/);
    expectV2Error(await infer('{"inputs": ['), 400, /JSON/);
    expectV2Error(await call('GET', '/v2/models/x/versions/1'), 404, /model x@1 does not exist/);
  });

  it('keeps the service\'s own error shape outside /v2', async () => {
    const res = await call('GET', '/v1/models/no-such-model');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: expect.stringMatching(/no-such-model/) } });
  });
});

describe('V2 with an API key', () => {
  const key = 'k'.repeat(24);
  let keyed: TestApp;
  beforeAll(async () => { keyed = await buildTestApp({ WORKERS: '1', API_KEY: key }); });
  afterAll(async () => { await keyed?.close(); });

  it('leaves the health routes open and answers 401 elsewhere in the protocol\'s shape', async () => {
    const call = viaInject(keyed.app);
    expect((await call('GET', '/v2/health/live')).status).toBe(200);
    expect((await call('GET', '/v2/health/ready')).status).toBe(200);
    expectV2Error(await call('GET', '/v2'), 401, /Bearer/);
    expectV2Error(await call('POST', '/v2/models/m/infer', { inputs: [] }), 401, /Bearer/);
    expect(await call('GET', '/v2', undefined, { authorization: `Bearer ${key}` })).toMatchObject({ status: 200 });
  });
});

describe('V2 readiness during shutdown', () => {
  /**
   * Starts closing the app while a request to `path` is on the wire (its headers begun, so the server
   * does not drop the connection as idle), then finishes the request and returns the raw answer.
   */
  async function askWhileClosing(options: { return503OnClosing?: boolean }, path: string) {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-v2-'));
    const app = await buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', WORKERS: '1' }), options);
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as AddressInfo).port;
      const before = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(before.status).toBe(200);
      await before.text();

      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n`);
      await new Promise((r) => setTimeout(r, 100)); // let the server parse the first bytes
      const closed = app.close();
      while (app.server.listening) await new Promise((r) => setImmediate(r));
      let raw = '';
      socket.on('data', (d) => { raw += d; });
      const ended = once(socket, 'close');
      socket.write('\r\n');
      await ended;
      await closed;
      const [head, body] = raw.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), body: JSON.parse(body) };
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('answers 503 from the start of shutdown (Fastify refuses requests while it closes)', async () => {
    const res = await askWhileClosing({}, '/v2/health/ready');
    expect(res.status).toBe(503);
    expect(typeof res.body.error).toBe('string');
  });

  it('answers 503 from the start of shutdown by itself when Fastify lets the request through', async () => {
    const res = await askWhileClosing({ return503OnClosing: false }, '/v2/health/ready');
    expect(res).toEqual({ status: 503, body: { error: expect.stringMatching(/shutting down/) } });
  });
});
