// Hostile input, second round: what Node's HTTP parser refuses, malformed multipart, bodies that are
// not there, duplicate parts, unknown keys, HEAD on a stream, and the API key's spellings. Every answer
// in the one error shape, nothing stored, and the server serves on.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, toCsv } from '../helpers/data.js';
import { startServer, type RunningServer } from '../helpers/server.js';

/** Sends raw bytes and reads the whole answer (the server closes these connections). */
function raw(port: number, bytes: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      const [head, ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: rest.join('\r\n\r\n') });
    };
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('end', done);
    // The server answers and closes while a large request is still being sent: the rest of the send
    // may then be reset. The answer has arrived by then; only a reset before any answer is a failure.
    socket.on('error', (err) => (text ? done() : reject(err)));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.write(bytes);
  });
}

describe('hostile input, second round', () => {
  let server: RunningServer;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    server = await startServer({ env: { LOG_LEVEL: 'info' } });
    api = client(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });
  const count = async () => (await api.get('/v1/datasets?limit=1')).body.total as number;

  it('answers what the HTTP parser refuses in the one error shape: 431 for a 100 kB URL or 10,000 headers, 400 for bad framing', async () => {
    const longUrl = await raw(server.port, `GET /v1/jobs?x=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longUrl.status).toBe(431);
    expect(JSON.parse(longUrl.body).error.code).toBe('headers_too_large');
    const headers = Array.from({ length: 10_000 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    expect((await raw(server.port, `GET /health HTTP/1.1\r\nHost: x\r\n${headers}\r\n\r\n`)).status).toBe(431);
    for (const framing of ['Content-Length: abc', 'Content-Length: -1', 'Content-Length: 1\r\nContent-Length: 2', 'Content-Length: 5\r\nTransfer-Encoding: chunked']) {
      const res = await raw(server.port, `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\n\r\n{}`);
      expect(res.status, framing).toBe(400);
      expect(JSON.parse(res.body).error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/not valid HTTP/) });
    }
  });

  it('refuses malformed multipart with 400: no boundary, no closing boundary, two file parts; nothing stored', async () => {
    const before = await count();
    const noBoundary = await api.post('/v1/datasets', 'hello', { 'content-type': 'multipart/form-data' });
    expect(noBoundary.status).toBe(400);
    expect(noBoundary.body.error.code).toBe('invalid_multipart');
    const unterminated = await api.post('/v1/datasets', '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2\n',
      { 'content-type': 'multipart/form-data; boundary=XX' });
    expect(unterminated.status).toBe(400);
    expect(unterminated.body.error.code).toBe('invalid_multipart');
    const csv = toCsv(blobs(10, 2, ['a', 'b']));
    const form = new FormData();
    form.append('file', new Blob([csv]), 'one.csv');
    form.append('file', new Blob([csv]), 'two.csv');
    const twice = await api.post('/v1/datasets', form);
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toMatch(/two "file" parts/);
    expect(await count()).toBe(before);
  });

  it('refuses unknown keys in a JSON dataset body, naming them', async () => {
    const res = await api.post('/v1/datasets', { features: [[1], [2]], labels: [0, 1], name: 'x', task: 'regression' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_json_dataset', details: { unknown: ['name', 'task'] } });
  });

  it('takes an empty body with Content-Type: application/json as no body: a cancel cancels', async () => {
    const datasetId = (await api.post('/v1/datasets', toCsv(blobs(50, 2, ['a', 'b'])), { 'content-type': 'text/csv' })).body.id;
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 10_000, batchSize: 1 })).body;
    const cancelled = await api.call('POST', `/v1/jobs/${job.id}/cancel`, '', { 'content-type': 'application/json' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it('answers HEAD on an event stream at once, with no stream', async () => {
    const datasetId = (await api.get('/v1/datasets?limit=1')).body.items[0].id;
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 1 })).body;
    const started = Date.now();
    const res = await fetch(`${server.url}/v1/jobs/${job.id}/events`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await fetch(`${server.url}/v1/jobs/nope/events`, { method: 'HEAD' })).status).toBe(404);
  });

  it('still serves, with no 5xx in its log', async () => {
    expect((await api.get('/health')).status).toBe(200);
    expect(server.output().split('\n').filter((l) => /"statusCode":5\d\d|"level":(50|60)/.test(l))).toEqual([]);
  });
});

describe('the API key, spelled as clients spell it', () => {
  const KEY = 'hostile-test-key-0123456789';
  let server: RunningServer;
  beforeAll(async () => { server = await startServer({ env: { API_KEY: KEY } }); });
  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('takes the scheme in any case (RFC 7235) and keeps the public pages public in their other spellings', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await fetch(`${server.url}/v1/jobs`, { headers: { authorization: `${scheme} ${KEY}` } })).status, scheme).toBe(200);
    }
    expect((await fetch(`${server.url}/v1/jobs`, { headers: { authorization: `Basic ${KEY}` } })).status).toBe(401);
    for (const path of ['/health', '/health/', '/v2/health/live/', '/v2/health/ready/', '/index.html']) {
      expect((await fetch(`${server.url}${path}`)).status, path).not.toBe(401);
    }
  });
});
