// This node's heartbeat in the store, and the nodes that are up: what GET /v1/nodes and the dashboard show.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { NodeInfo, Store } from '../store/types.js';

/** How often a node says it is up; a node silent for three beats is no longer listed. */
const BEAT_MS = 5000;

export function createNodeService(deps: { config: Config; store: Store; logger: Logger; running: () => string[] }) {
  const { config, store } = deps;
  const startedAt = new Date().toISOString();
  let timer: NodeJS.Timeout | null = null;
  const beat = () => store.nodes.heartbeat({ id: config.nodeId, role: config.role, running: deps.running(), startedAt })
    .catch((err) => deps.logger.warn({ err: (err as Error).message }, 'heartbeat not recorded'));
  return {
    async start(): Promise<void> {
      await beat();
      timer = setInterval(() => void beat(), BEAT_MS);
    },
    /** The nodes that are up, this one first. */
    async list(): Promise<(NodeInfo & { self: boolean })[]> {
      const nodes = await store.nodes.live(3 * BEAT_MS);
      return nodes.map((n) => ({ ...n, self: n.id === config.nodeId })).sort((a, b) => Number(b.self) - Number(a.self));
    },
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      await store.nodes.remove(config.nodeId).catch(() => {});
    },
  };
}

export type NodeService = ReturnType<typeof createNodeService>;
