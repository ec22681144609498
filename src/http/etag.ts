// Conditional GETs for polling dashboards: a weak ETag over the serialised body, 304 when it matches.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export function withEtag<T>(request: FastifyRequest, reply: FastifyReply, body: T): T | FastifyReply {
  const tag = `W/"${createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;
  reply.header('etag', tag).header('cache-control', 'no-cache');
  const sent = request.headers['if-none-match'];
  if (sent && sent.split(',').some((t) => t.trim() === tag || t.trim() === '*')) {
    return reply.code(304).send();
  }
  return body;
}
