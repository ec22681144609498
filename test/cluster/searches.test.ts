// A search on many nodes: one api node and two worker nodes on one PostgreSQL database. Its trials fan
// out over both workers; a worker SIGKILLed mid-search loses nothing, and the search ends exactly as the
// uninterrupted one did (decisions are taken in trial order, never twice).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { client } from '../helpers/client.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { clusterUrl } from '../helpers/postgres.js';
import { ROOT, type RunningServer } from '../helpers/server.js';

describe.skipIf(!clusterUrl)('a search on many nodes', () => {
  let cluster: Cluster;
  let workers: RunningServer[];
  let api: ReturnType<typeof client>;
  let datasetId: string;

  beforeAll(async () => {
    cluster = await startCluster();
    ({ workers, api } = cluster);
    const csv = readFileSync(join(ROOT, 'test/fixtures/breast-cancer-train.csv'), 'utf8');
    datasetId = (await api.post('/v1/datasets?name=bc&target=label&task=classification', csv, { 'content-type': 'text/csv' })).body.id;
  });
  afterAll(async () => cluster?.close());

  const search = () => api.post('/v1/searches', {
    datasetId, base: { epochs: 27, validationSplit: 0.2, batchSize: 4 },
    space: { 'hidden.0.units': [8, 32], 'optimizer.learningRate': [0.001, 0.01, 0.1] },
    halving: { minEpochs: 3, eta: 3 }, parallel: 4, seed: 5,
  });

  /** Polls the search until it ends, noting which nodes ran its trials; `during` runs on each poll. */
  async function follow(id: string, during: (s: any) => Promise<void> = async () => {}) {
    const nodes = new Set<string>();
    const deadline = Date.now() + 180_000;
    for (;;) {
      const running = (await api.get(`/v1/jobs?searchId=${id}&status=running`)).body.items;
      for (const j of running) nodes.add(j.node);
      const s = (await api.get(`/v1/searches/${id}`)).body;
      if (s.status !== 'running') return { search: s, nodes };
      await during(s);
      if (Date.now() > deadline) throw new Error(`search still running: ${JSON.stringify(s.progress)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const outcome = (s: any) => s.trials.map((t: any) => [t.index, t.status, t.stopReason, t.epochs, t.score]);
  let reference: unknown;

  it('fans the trials out over both worker nodes', async () => {
    const { search: s, nodes } = await follow((await search()).body.id);
    expect(s.status).toBe('succeeded');
    expect([...nodes].sort()).toEqual(['worker-1', 'worker-2']);
    expect(s.trials.some((t: any) => t.stopReason === 'halved')).toBe(true);
    reference = outcome(s);
  }, 200_000);

  it('ends as the uninterrupted search did when a worker is SIGKILLed mid-search', async () => {
    let killed = false;
    const { search: s } = await follow((await search()).body.id, async (now) => {
      if (killed || now.progress.finished < 1) return;
      const running = (await api.get(`/v1/jobs?searchId=${now.id}&status=running`)).body.items;
      if (running.length === 0) return;
      killed = true;
      await workers[running[0].node === 'worker-1' ? 0 : 1].stop('SIGKILL');
    });
    expect(killed).toBe(true);
    expect(s.status).toBe('succeeded');
    expect(outcome(s)).toEqual(reference);
    for (const t of s.trials) {
      const epochs = (await api.get(`/v1/jobs/${t.jobId}/epochs`)).body.epochs.map((e: any) => e.epoch);
      expect(epochs).toEqual(Array.from({ length: t.epochs }, (_, i) => i + 1));
    }
  }, 200_000);
});
