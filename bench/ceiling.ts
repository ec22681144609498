// The ceiling of a single-row prediction: a bare Fastify route that parses the same JSON body and
// answers a prediction-sized JSON, beside our predict route on a 64-feature and a 784-feature model,
// under the same autocannon load in the same run. Prints the ratios; asserts nothing.
// Run alone with `npx tsx bench/ceiling.ts [--duration 8]` (after `npm run build`); bench:load runs it first.
import Fastify from 'fastify';
import { createRequire } from 'node:module';
import { startServer } from '../test/helpers/server.js';

interface Result { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<Result>;

async function load(url: string, body: string, duration: number): Promise<Result> {
  return autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 64, duration });
}

export async function ceiling(duration = 8, say: (line: string) => void = console.log): Promise<Record<string, number>> {
  const bare = Fastify();
  bare.post('/predict', async (request) => {
    const rows = (request.body as { instances: number[][] }).instances;
    return { classes: [0, 1], predictions: rows.map(() => ({ label: 1, probabilities: [0.25, 0.75] })) };
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/predict`;
  const server = await startServer({ env: { WORKERS: '1', RATE_LIMIT_MAX: '1000000' } });
  const figures: Record<string, number> = {};
  try {
    for (const features of [64, 784]) {
      const rows = 300;
      const x = Array.from({ length: rows }, (_, i) => Array.from({ length: features }, (_, j) => ((i * 31 + j * 7) % 97) / 97));
      const labels = x.map((_, i) => i % 10);
      const ds = await (await fetch(`${server.url}/v1/datasets?name=c${features}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: x, labels }),
      })).json() as { id: string };
      const job = await (await fetch(`${server.url}/v1/jobs`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetId: ds.id, epochs: 1 }),
      })).json() as { id: string };
      let modelId: string | null = null;
      while (!modelId) {
        const j = await (await fetch(`${server.url}/v1/jobs/${job.id}`)).json() as { modelId: string | null; status: string };
        if (j.status === 'failed') throw new Error('training failed');
        modelId = j.modelId;
        await new Promise((r) => setTimeout(r, 100));
      }
      const body = JSON.stringify({ instances: [x[0]] });
      await load(`${server.url}/v1/models/${modelId}/predict`, body, 2); // warm-up
      const ours = await load(`${server.url}/v1/models/${modelId}/predict`, body, duration);
      const ceil = await load(bareUrl, body, duration);
      const ratio = ours.requests.average / ceil.requests.average;
      say(`single-row predict, ${features} features, 64 connections, ${duration} s: ours ${ours.requests.average.toFixed(0)} req/s `
        + `(p99 ${ours.latency.p99} ms, ${ours.errors + ours.non2xx} errors), bare route ${ceil.requests.average.toFixed(0)} req/s `
        + `(p99 ${ceil.latency.p99} ms) → ${ratio.toFixed(2)}×`);
      figures[`ours${features}`] = ours.requests.average;
      figures[`bare${features}`] = ceil.requests.average;
      figures[`ratio${features}`] = ratio;
    }
  } finally {
    await server.stop();
    server.cleanup();
    await bare.close();
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--duration');
  await ceiling(i > 0 ? Number(process.argv[i + 1]) : 8);
}
