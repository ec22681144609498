// Server-Sent Events for the routes that stream (a job's, a search's): the stream opens with its first
// event (so a 404 found before it is still an ordinary answer), keeps itself alive, and ends when the
// client goes, when the caller says the last event went, or when the server closes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
} as const;

/** The 200 of a streaming route, as openapi.yaml says it. */
export const EVENT_STREAM_RESPONSE = {
  description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } },
} as never;

export interface EventStream {
  /** Writes one event (opening the stream first); `last`: end the stream after it. */
  send(event: string, data: unknown, options?: { id?: number; last?: boolean }): void;
  close(): void;
  /** Called once at the end, however it ends. */
  onClose(fn: () => void): void;
  readonly ended: boolean;
}

/** The open streams of an app, ended when it closes (or the close would wait on them; clients reconnect). */
export function streamRegistry(app: FastifyInstance): Set<() => void> {
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });
  return streams;
}

function eventStream(request: FastifyRequest, reply: FastifyReply, streams: Set<() => void>): EventStream {
  const res = reply.raw;
  let open = false;
  let ended = false;
  const cleanups: (() => void)[] = [];
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const close = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    cleanups.forEach((fn) => fn());
    streams.delete(close);
    if (open) res.end();
  };
  streams.add(close);
  request.raw.on('close', close);
  return {
    send(event, data, options = {}) {
      if (ended) return;
      if (!open) {
        reply.hijack();
        res.writeHead(200, { ...SSE_HEADERS, connection: 'keep-alive', 'x-accel-buffering': 'no' });
        open = true;
      }
      const id = options.id === undefined ? '' : `id: ${options.id}\n`;
      res.write(`event: ${event}\n${id}data: ${JSON.stringify(data)}\n\n`);
      if (options.last) close();
    },
    close,
    onClose(fn) {
      if (ended) fn();
      else cleanups.push(fn);
    },
    get ended() { return ended; },
  };
}

/**
 * Serves a streaming route: HEAD gets the headers a stream would have (or the 404 `exists` throws) and
 * no stream; GET follows (`follow` sends on the stream and returns how to stop) until the stream ends.
 */
export async function serveEvents(request: FastifyRequest, reply: FastifyReply, streams: Set<() => void>, route: {
  exists(): Promise<unknown>;
  follow(stream: EventStream): Promise<() => void>;
}): Promise<void> {
  if (request.method === 'HEAD') {
    await route.exists();
    return reply.code(200).headers(SSE_HEADERS).send();
  }
  const stream = eventStream(request, reply, streams);
  try {
    stream.onClose(await route.follow(stream));
  } catch (err) {
    stream.close();
    throw err;
  }
}
