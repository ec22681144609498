// GET /health: liveness, open to all.
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from './schemas.js';

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/health', {
    schema: {
      operationId: 'health', summary: 'Liveness', tags: ['health'], security: [],
      response: { 200: { description: 'The process is up', type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] } as never, 503: ErrorBody.describe('Overloaded') },
    },
  }, async () => ({ status: 'ok' as const }));
}
