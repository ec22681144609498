// The bad-input battery's server and helpers: each file of the battery (uploads, jobs, predictions)
// starts one real server with small limits, so size limits and the queue limit are reachable with small
// data, throws its bad input at it, and ends with expectStillServing: a clear 4xx for everything,
// nothing stored, and the server serves on with no 5xx in its log.
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertDocumented } from '../../helpers/openapi.js';
import { client } from '../../helpers/client.js';
import { blobs, toCsv } from '../../helpers/data.js';
import { startServer, type RunningServer } from '../../helpers/server.js';

export const MAX_UPLOAD_BYTES = 256 * 1024; // above the 100 000-deep JSON bodies below (≈200 kB), so those get parsed
export const MAX_QUEUED_JOBS = 2;
export const MAX_PREDICT_ROWS = 1000;

export let server: RunningServer;
export let api: ReturnType<typeof client>;

export const classes = ['cat', 'dog', 'eel'];
export const train = blobs(300, 4, classes, 11);
export let datasetId: string;
export let modelId: string;
export let finishedJobId: string;

/** Starts the battery's server before the file's tests and stops it after. */
export function useBatteryServer(): void {
  beforeAll(async () => {
  server = await startServer({
    env: {
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), MAX_QUEUED_JOBS: String(MAX_QUEUED_JOBS), WORKERS: '1',
      MAX_PREDICT_ROWS: String(MAX_PREDICT_ROWS), LOG_LEVEL: 'info',
    },
  });
  api = client(server.url);
  const ds = await api.post('/v1/datasets?name=animals', toCsv(train), { 'content-type': 'text/csv' });
  expect(ds.status).toBe(201);
  datasetId = ds.body.id;
  const job = await api.post('/v1/jobs', { datasetId, epochs: 3, hidden: [{ units: 8 }], seed: 1 });
  expect(job.status).toBe(202);
  const done = await api.waitFor(job.body.id, ['succeeded', 'failed']);
  expect(done.status).toBe('succeeded');
  finishedJobId = done.id;
  modelId = done.modelId;
});

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });
}

// ---------------------------------------------------------------- helpers

export async function datasetCount(): Promise<number> {
  return (await api.get('/v1/datasets?limit=1')).body.total;
}

export async function jobCount(): Promise<number> {
  return (await api.get('/v1/jobs?limit=1')).body.total;
}

/** Asserts the one error shape, its status and code, and that the message says `message`. */
export function expectError(res: { status: number; body: any }, status: number, code: string, message?: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  if (message) expect(res.body.error.message).toMatch(message);
  return res.body.error as { code: string; message: string; details?: Record<string, any> };
}

/** Sends a bad upload, checks the error, and that the dataset count is what it was before. */
export async function refusedUpload(
  send: () => Promise<{ status: number; body: any }>, status: number, code: string, message?: RegExp,
) {
  const before = await datasetCount();
  const error = expectError(await send(), status, code, message);
  expect(await datasetCount()).toBe(before);
  return error;
}

export const postCsv = (csv: string | Uint8Array, query = '') =>
  api.post(`/v1/datasets${query}`, csv, { 'content-type': 'text/csv' });

export const postJson = (path: string, text: string) => api.post(path, text, { 'content-type': 'application/json' });

interface RawAnswer { status: number; headers: http.IncomingHttpHeaders; body: any }

/**
 * POSTs over node:http, chunk by chunk. Without a content-length header the body goes chunked. With
 * `end: false` the request is never finished, so any answer proves the server decided without
 * waiting for (or buffering) the whole body.
 */
export function rawPost(
  path: string, headers: Record<string, string>, chunks: Uint8Array[], options: { end?: boolean } = {},
): Promise<RawAnswer> {
  const end = options.end ?? true;
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: 'POST', headers, agent: false });
    let answered = false;
    const guard = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within 15 s to POST ${path}${end ? '' : ' (body left unfinished)'}`));
    }, 15_000);
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        clearTimeout(guard);
        req.destroy(); // drop whatever of the upload is still unsent
        const body = (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text;
        if ((res.headers['content-type'] ?? '').includes('json')) assertDocumented('POST', path, res.statusCode!, body);
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    // The server may close the socket as soon as it has answered a refused upload (EPIPE, ECONNRESET).
    req.on('error', (err) => {
      if (!answered) {
        clearTimeout(guard);
        reject(err);
      }
    });
    for (const chunk of chunks) req.write(chunk);
    if (end) req.end();
  });
}

/** Cuts bytes into pieces of `size`. */
export function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

export const BOUNDARY = 'bad-input-battery-boundary';

/** A multipart/form-data body with one file part, built by hand so it can be sent without Content-Length. */
export function multipartFile(field: string, filename: string, content: Uint8Array): Uint8Array {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
      'content-type: application/octet-stream\r\n\r\n'),
    content,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

export function form(parts: Record<string, Uint8Array | string>): FormData {
  const f = new FormData();
  for (const [name, content] of Object.entries(parts)) {
    if (typeof content === 'string') f.append(name, content);
    else f.append(name, new Blob([Buffer.from(content)]), `${name}.bin`);
  }
  return f;
}

/** `depth` nested arrays around nothing: "[[[…]]]". */
export const nested = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);

/** A valid CSV (4 features, 3 classes) of more than `bytes` bytes. */
export function csvOver(bytes: number): string {
  const csv = toCsv(blobs(Math.ceil(bytes / 25), 4, classes, 5));
  expect(csv.length).toBeGreaterThan(bytes);
  return csv;
}

/** A valid CSV of fewer than `bytes` bytes but not many fewer: whole rows cut from a longer one. */
export function csvUnder(bytes: number): string {
  const csv = csvOver(bytes);
  return csv.slice(0, csv.lastIndexOf('\n', bytes - 1) + 1);
}

/** The battery's last test: /health answers, a small job trains, and the log shows no 5xx and no crash. */
export function expectStillServing(minClientErrors: number): void {
  it('still serves: /health answers, a small job trains, and the log shows no 5xx and no crash', async () => {
    expect((await api.get('/health')).status).toBe(200);
    const job = await api.post('/v1/jobs', { datasetId, epochs: 2, hidden: [{ units: 8 }], seed: 2 });
    expect(job.status).toBe(202);
    const done = await api.waitFor(job.body.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const predicted = await api.post(`/v1/models/${done.modelId}/predict`, { instances: train.features.slice(0, 2) });
    expect(predicted.status).toBe(200);

    expect(server.proc.exitCode).toBeNull();
    expect(server.proc.signalCode).toBeNull();
    type LogRecord = { level: number; reqId?: string; msg?: string; res?: { statusCode: number } };
    const records: LogRecord[] = [];
    const raw: string[] = []; // anything not from pino: a stack trace printed by a crash, a warning
    for (const line of server.output().split('\n').filter((l) => l.trim() !== '')) {
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        raw.push(line);
      }
    }
    expect(raw.filter((l) => /error|exception|fatal|uncaught/i.test(l))).toEqual([]);
    const failures = records.filter((r) => r.level >= 50 || (r.res && r.res.statusCode >= 500));
    expect(failures.map((r) => r.msg)).toEqual([]);
    // The battery really went through this log: many 4xx answers were recorded.
    const clientErrors = records.filter((r) => r.res && r.res.statusCode >= 400 && r.res.statusCode < 500).length;
    expect(clientErrors).toBeGreaterThan(minClientErrors);
  });
}
