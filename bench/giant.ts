// The largest job the service accepts (about 16 M parameters) on a 4-row dataset, batch 4: every epoch
// ships a checkpoint of ~200 MB. Measures what the rest of the service sees meanwhile: /health latency
// (p50, p99, max), the server's peak memory, and how long a cancel takes to stop it. Prints figures,
// asserts nothing. Run with `npm run bench:giant` (builds first).
import { readFileSync } from 'node:fs';
import { startServer } from '../test/helpers/server.js';

const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const server = await startServer({ env: { WORKERS: '1', LOG_LEVEL: 'warn' } });
try {
  const post = async (path: string, body: unknown) => (await fetch(`${server.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  })).json() as Promise<any>;
  const features = Array.from({ length: 4 }, (_, i) => Array.from({ length: 64 }, (_, j) => (i * 64 + j) % 5));
  const dataset = await post('/v1/datasets?name=tiny', { features, labels: [0, 1, 0, 1] });
  const job = await post('/v1/jobs', { datasetId: dataset.id, hidden: [{ units: 4096 }, { units: 4000 }], epochs: 10_000, batchSize: 4 });
  if (!job.id) throw new Error(JSON.stringify(job));
  const latencies: number[] = [];
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const t = performance.now();
    await fetch(`${server.url}/health`);
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
  const running = await (await fetch(`${server.url}/v1/jobs/${job.id}`)).json() as { epoch: number };
  const cancelAt = performance.now();
  await post(`/v1/jobs/${job.id}/cancel`, {});
  const cancelMs = performance.now() - cancelAt;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
  console.log(`16.6 M parameters, 4 rows, batch 4, 30 s: ${running.epoch} epochs checkpointed; /health over ${latencies.length} calls: `
    + `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms; cancel answered in ${cancelMs.toFixed(0)} ms; `
    + `server peak RSS ${peakRss(server.proc.pid!).toFixed(0)} MB`);
} finally {
  await server.stop();
  server.cleanup();
}
