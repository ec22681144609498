// Cluster benchmark: the service as several nodes on one throwaway PostgreSQL cluster (Debian's
// postgresql). Prints figures and asserts nothing. Run with `npm run bench:cluster` (builds first).
//  1. upload of Fashion-MNIST's training set as one 133 MB CSV into PostgreSQL (and into SQLite, for scale);
//  2. jobs per minute, 24 small jobs, on one worker node and on two (WORKERS=1 each);
//  3. single-row predictions per second through one api node and through two (autocannon, 64 connections).
// The machine has 2 cores that everything shares (nodes, database, load generator): read the ratios.
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createCluster, postgresBin } from '../test/helpers/pg-cluster.js';
import { freshDatabase } from '../test/helpers/postgres-admin.js';
import { startServer, type RunningServer } from '../test/helpers/server.js';
import { blobs } from '../test/helpers/data.js';
import { ensureFashionCsv } from './fashion-csv.js';

interface AutocannonResult { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<AutocannonResult>;
const MB = 1e6;

async function post(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json();
}

/** Streams the file to POST /v1/datasets; MB/s end to end (request start to 201). */
async function upload(base: string, path: string): Promise<number> {
  const bytes = statSync(path).size;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${base}/v1/datasets?name=fashion`, { method: 'POST', headers: { 'content-type': 'text/csv', 'content-length': bytes } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`upload answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(path).pipe(req);
  });
  return bytes / MB / ((performance.now() - started) / 1000);
}

async function jobsPerMinute(api: string, datasetId: string, jobs: number): Promise<number> {
  const started = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) ids.push((await post(`${api}/v1/jobs`, { datasetId, epochs: 2, hidden: [{ units: 32 }], seed: i })).id);
  for (const id of ids) {
    for (;;) {
      const j = await (await fetch(`${api}/v1/jobs/${id}`)).json() as { status: string };
      if (j.status === 'succeeded') break;
      if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`job ${id} ${j.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return jobs / ((performance.now() - started) / 60_000);
}

async function predictRate(urls: string[], modelId: string, row: number[]): Promise<{ rps: number; p99: number; errors: number }> {
  const body = JSON.stringify({ instances: [row] });
  const runs = await Promise.all(urls.map((url) => autocannon({
    url: `${url}/v1/models/${modelId}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body,
    connections: Math.round(64 / urls.length), duration: 10,
  })));
  return {
    rps: runs.reduce((a, r) => a + r.requests.average, 0),
    p99: Math.max(...runs.map((r) => r.latency.p99)),
    errors: runs.reduce((a, r) => a + r.errors + r.non2xx, 0),
  };
}

async function main() {
  const bin = postgresBin();
  if (!bin) throw new Error('postgresql is not installed: apt-get install -y postgresql');
  const cluster = await createCluster(bin);
  const nodes: RunningServer[] = [];
  const node = async (env: Record<string, string>) => {
    const s = await startServer({ env: { LOG_LEVEL: 'warn', WORKERS: '1', ...env } });
    nodes.push(s);
    return s;
  };
  try {
    const csv = await ensureFashionCsv((l) => console.log(l));
    const mb = statSync(csv).size / MB;

    const sqlite = await node({ MAX_UPLOAD_BYTES: String(1 << 30) });
    const sqliteMbs = await upload(sqlite.url, csv);
    const db1 = await freshDatabase(cluster.url);
    const pgApi = await node({ DATABASE_URL: db1, ROLE: 'api', MAX_UPLOAD_BYTES: String(1 << 30) });
    const pgMbs = await upload(pgApi.url, csv);
    console.log(`upload ${mb.toFixed(1)} MB CSV: PostgreSQL ${pgMbs.toFixed(1)} MB/s, SQLite ${sqliteMbs.toFixed(1)} MB/s (same run)`);
    for (const s of nodes.splice(0)) { await s.stop(); s.cleanup(); }

    const db = await freshDatabase(cluster.url);
    const api = await node({ DATABASE_URL: db, ROLE: 'api', NODE_ID: 'api-1', RATE_LIMIT_MAX: '100000' });
    const table = blobs(2000, 16, ['a', 'b', 'c'], 3);
    const datasetId = (await post(`${api.url}/v1/datasets?name=blobs`, { features: table.features, labels: table.labels })).id;
    await node({ DATABASE_URL: db, ROLE: 'worker', NODE_ID: 'worker-1' });
    const one = await jobsPerMinute(api.url, datasetId, 24);
    await node({ DATABASE_URL: db, ROLE: 'worker', NODE_ID: 'worker-2' });
    const two = await jobsPerMinute(api.url, datasetId, 24);
    console.log(`jobs per minute (24 jobs, 2 epochs of 2000 rows each): 1 worker ${one.toFixed(0)}, 2 workers ${two.toFixed(0)} (×${(two / one).toFixed(2)})`);

    const models = await (await fetch(`${api.url}/v1/models?limit=1`)).json() as { items: { id: string }[] };
    const modelId = models.items[0].id;
    for (const w of nodes.splice(1)) { await w.stop(); w.cleanup(); } // only api nodes from here on
    const api2 = await node({ DATABASE_URL: db, ROLE: 'api', NODE_ID: 'api-2', RATE_LIMIT_MAX: '100000' });
    const viaOne = await predictRate([api.url], modelId, table.features[0]);
    const viaTwo = await predictRate([api.url, api2.url], modelId, table.features[0]);
    console.log(`single-row predict, 64 connections, 10 s: 1 api node ${viaOne.rps.toFixed(0)} req/s (p99 ${viaOne.p99} ms, ${viaOne.errors} errors); `
      + `2 api nodes ${viaTwo.rps.toFixed(0)} req/s (p99 ${viaTwo.p99} ms, ${viaTwo.errors} errors)`);
  } finally {
    for (const s of nodes) { await s.stop(); s.cleanup(); }
    cluster.remove();
  }
}

await main();
