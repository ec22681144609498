// The API reference: the OpenAPI document built from the routes' zod schemas, Swagger UI at /docs,
// and the committed openapi.yaml.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendError } from '../http/errors.js';
import { ErrorBody } from '../http/schemas.js';
import { PACKAGE } from '../package-info.js';
import { ROOT } from '../root.js';
import { transformDocument, transformRoute } from './openapi.js';

export default fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'MLP training service',
        version: PACKAGE.version,
        description: 'Upload datasets, train multi-layer perceptrons on a worker pool, follow their progress and serve predictions (also over the Open Inference Protocol V2).',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: '/', description: 'The service answering this document' }],
      tags: [
        { name: 'health', description: 'Liveness' },
        { name: 'datasets', description: 'Upload and manage datasets' },
        { name: 'jobs', description: 'Training jobs and their progress' },
        { name: 'models', description: 'Trained models, predictions and evaluation' },
        { name: 'nodes', description: 'The nodes of the service' },
        { name: 'v2', description: 'Open Inference Protocol V2 (KServe, Triton)' },
        { name: 'docs', description: 'This document' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'Required on every route but the health routes when the service runs with API_KEY' } },
      },
      security: [{ bearerAuth: [] }],
    },
    transform: transformRoute as never,
    transformObject: transformDocument as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  const committed = join(ROOT, 'openapi.yaml');
  app.get('/openapi.yaml', {
    schema: {
      operationId: 'getOpenApi', summary: 'This OpenAPI document', tags: ['docs'], security: [],
      response: {
        200: { description: 'OpenAPI 3.1 YAML', content: { 'application/yaml': { schema: { type: 'string' } } } } as never,
        404: ErrorBody.describe('Not generated in this build'),
      },
    },
  }, async (_request, reply) => {
    if (!existsSync(committed)) return sendError(reply, 404, 'not_found', 'openapi.yaml is missing from this build');
    return reply.type('application/yaml').send(readFileSync(committed, 'utf8'));
  });
}, { name: 'docs' });

