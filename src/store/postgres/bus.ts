// Messages between nodes over LISTEN/NOTIFY: one dedicated connection listens, and comes back (and
// listens again) with a growing delay after it is lost. A message is JSON, at most ~7.9 kB.
import pg from 'pg';
import type { Bus } from '../types.js';
import { query, unavailable } from './db.js';

const quote = (channel: string) => `"${channel.replace(/"/g, '""')}"`;

export function createPgBus(pool: pg.Pool, url: string, onError: (err: Error) => void): Bus & { close(): Promise<void> } {
  const listeners = new Map<string, Set<(message: unknown) => void>>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;
  let retryMs = 250;

  function connect(): Promise<void> {
    if (connecting) return connecting;
    connecting = (async () => {
      while (!closed) {
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
        c.on('error', (err) => { onError(err); drop(c); });
        c.on('end', () => drop(c));
        c.on('notification', (n) => {
          const set = listeners.get(n.channel);
          if (!set || n.payload === undefined) return;
          let message: unknown;
          try { message = JSON.parse(n.payload); } catch { return; }
          for (const l of set) l(message);
        });
        try {
          await c.connect();
          for (const channel of listeners.keys()) await c.query(`LISTEN ${quote(channel)}`);
          client = c;
          retryMs = 250;
          return;
        } catch (err) {
          onError(err as Error);
          await c.end().catch(() => {});
          await new Promise((r) => setTimeout(r, retryMs));
          retryMs = Math.min(retryMs * 2, 5000);
        }
      }
    })().finally(() => { connecting = null; });
    return connecting;
  }

  function drop(c: pg.Client): void {
    if (client !== c) return;
    client = null;
    if (!closed) void connect();
  }

  return {
    async publish(channel, message) {
      await query(pool, 'SELECT pg_notify($1, $2)', [channel, JSON.stringify(message)]);
    },
    subscribe(channel, listener) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        if (client) client.query(`LISTEN ${quote(channel)}`).catch((err) => onError(unavailable(err) as Error));
        else void connect();
      }
      set.add(listener);
      return () => { set!.delete(listener); };
    },
    async close() {
      closed = true;
      await connecting?.catch(() => {});
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
