// /v1/nodes: the service's nodes that are up (one with SQLite; every api and worker node on PostgreSQL).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, NodeList } from './schemas.js';

export default async function nodeRoutes(app: FastifyInstance) {
  const { nodes } = app.services;
  app.withTypeProvider<ZodTypeProvider>().get('/v1/nodes', {
    schema: {
      operationId: 'listNodes', summary: 'The nodes that are up: role, running jobs, last heartbeat', tags: ['nodes'],
      response: { 200: NodeList.describe('Live nodes, the answering one first'), ...errorResponses() },
    },
  }, async () => ({ items: await nodes.list() }));
}
