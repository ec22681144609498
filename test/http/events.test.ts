// Live progress: the event stream and conditional GETs, against a real listening server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../helpers/client.js';
import { blobs, toCsv } from '../helpers/data.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let api: ReturnType<typeof client>;
let datasetId: string;

beforeAll(async () => {
  // Progress every 50 ms, so that even a fast machine reports inside the test's epochs.
  server = await startServer({ env: { PROGRESS_INTERVAL_MS: '50' } });
  api = client(server.url);
  datasetId = (await api.post('/v1/datasets?name=blobs', toCsv(blobs(2000, 16, ['a', 'b', 'c'], 4)), { 'content-type': 'text/csv' })).body.id;
});
afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

interface Event { event: string; id?: string; data: any }

/** Reads a whole event stream (until the server ends it) and parses its events. */
async function readStream(path: string, headers: Record<string, string> = {}): Promise<{ events: Event[]; contentType: string | null }> {
  const res = await fetch(server.url + path, { headers });
  const text = await res.text();
  const events = text.split('\n\n').filter((block) => block.trim() && !block.startsWith(':')).map((block) => {
    const e: Event = { event: 'message', data: null };
    for (const line of block.split('\n')) {
      const [field, ...rest] = line.split(': ');
      const value = rest.join(': ');
      if (field === 'event') e.event = value;
      else if (field === 'id') e.id = value;
      else if (field === 'data') e.data = JSON.parse(value);
    }
    return e;
  });
  return { events, contentType: res.headers.get('content-type') };
}

describe('GET /v1/jobs/{id}/events', () => {
  it('streams status changes, every epoch once in order, progress inside long epochs, and ends after the final status', async () => {
    // Epochs long enough (hundreds of milliseconds at least) that progress events come inside them.
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 2, batchSize: 1, hidden: [{ units: 128 }, { units: 128 }], seed: 2, optimizer: { learningRate: 0.005, momentum: 0.5 } })).body;
    const { events, contentType } = await readStream(`/v1/jobs/${job.id}/events`);
    expect(contentType).toMatch(/^text\/event-stream/);
    const epochs = events.filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => e.data.epoch)).toEqual([1, 2]);
    expect(epochs.map((e) => e.id)).toEqual(['1', '2']);
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data.status);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');
    expect(events.at(-1)!.event).toBe('status');
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      expect(p.data.fraction).toBeGreaterThan(0);
      expect(p.data.fraction).toBeLessThanOrEqual(1);
      expect(p.data.progress).toBeLessThanOrEqual(1);
      expect(p.data.loss).toBeGreaterThan(0); // the running training loss, so a long epoch's curve draws as it goes
      expect(Number.isFinite(p.data.loss)).toBe(true);
    }
    // The epoch objects are the ones /epochs returns.
    const stored = (await api.get(`/v1/jobs/${job.id}/epochs`)).body.epochs;
    expect(epochs.map((e) => e.data)).toEqual(stored);
  });

  it('gives a late client the epochs so far, or only those after Last-Event-ID, then the final status', async () => {
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 4, seed: 3 })).body;
    await api.waitFor(job.id, ['succeeded']);
    const all = await readStream(`/v1/jobs/${job.id}/events`);
    expect(all.events.filter((e) => e.event === 'epoch').map((e) => e.data.epoch)).toEqual([1, 2, 3, 4]);
    expect(all.events.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
    const after = await readStream(`/v1/jobs/${job.id}/events`, { 'last-event-id': '2' });
    expect(after.events.filter((e) => e.event === 'epoch').map((e) => e.data.epoch)).toEqual([3, 4]);
  });

  it('answers 404 for an unknown job', async () => {
    const res = await api.get('/v1/jobs/nope/events');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('ETag on jobs and epochs', () => {
  it('answers 304 while nothing changed and 200 with a new tag once it has', async () => {
    const job = (await api.post('/v1/jobs', { datasetId, epochs: 3, seed: 4 })).body;
    await api.waitFor(job.id, ['succeeded']);
    for (const path of [`/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/epochs`, `/v1/jobs/${job.id}/epochs?since=1`]) {
      const first = await api.get(path);
      const tag = first.headers.get('etag');
      expect(tag).toMatch(/^W\/".+"$/);
      const again = await api.get(path, { 'if-none-match': tag! });
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
      expect((await api.get(path, { 'if-none-match': 'W/"other"' })).status).toBe(200);
    }
    const running = (await api.post('/v1/jobs', { datasetId, epochs: 200, batchSize: 2, seed: 5 })).body;
    const tag = (await api.get(`/v1/jobs/${running.id}`)).headers.get('etag')!;
    await api.waitFor(running.id, ['running']);
    await api.post(`/v1/jobs/${running.id}/cancel`);
    const changed = await api.get(`/v1/jobs/${running.id}`, { 'if-none-match': tag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(tag);
  });
});
