// /v1/datasets: uploads (CSV, JSON, multipart CSV or IDX) handed to the datasets service as
// streams, list, read and delete.
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CSV_TYPES } from '../services/datasets.js';
import {
  Dataset, DatasetList, DatasetUploadQuery, errorResponses, IdParams, PageQuery,
} from './schemas.js';

export default async function datasetRoutes(app: FastifyInstance) {
  const { datasets } = app.services;
  const maxBytes = app.config.maxUploadBytes;

  // CSV bodies reach the handler as the raw stream: parsed as they arrive, never buffered whole.
  app.addContentTypeParser(CSV_TYPES, (_req, payload, done) => done(null, payload));
  // Any other type reaches the handler unread too, so its 415 can say which types are accepted.
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  await app.register(multipart, {
    limits: { fileSize: maxBytes, files: 2, fields: 10, parts: 12, fieldSize: 1024 },
  });

  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/datasets', {
    bodyLimit: maxBytes,
    config: {
      rateLimit: app.writeRateLimit,
      docs: {
        body: {
          description: 'The dataset, as CSV (header row; `target` names the label column), as JSON, or as multipart/form-data with either a CSV part `file` or two IDX parts `images` and `labels` (gzipped or not).',
          content: {
            'text/csv': { schema: { type: 'string', description: 'CSV with a header row' } },
            'application/json': { schema: { $ref: '#/components/schemas/JsonDataset' } },
            'multipart/form-data': {
              schema: {
                type: 'object',
                properties: {
                  file: { type: 'string', format: 'binary', description: 'A CSV file' },
                  images: { type: 'string', format: 'binary', description: "MNIST IDX images (idx3-ubyte), optionally gzipped" },
                  labels: { type: 'string', format: 'binary', description: 'MNIST IDX labels (idx1-ubyte), optionally gzipped' },
                },
              },
            },
          },
        },
      },
    },
    schema: {
      operationId: 'createDataset',
      summary: 'Upload a dataset',
      tags: ['datasets'],
      querystring: DatasetUploadQuery,
      response: { 201: Dataset.describe('The stored dataset'), ...errorResponses(400, 413, 415, 422) },
    },
  }, async (request, reply) => {
    const length = request.headers['content-length'];
    const dataset = await datasets.upload({
      ...request.query,
      type: (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase(),
      length: length === undefined ? undefined : Number(length),
      body: request.body,
      parts: () => request.parts(),
    });
    return reply.code(201).header('location', `/v1/datasets/${dataset.id}`).send(dataset);
  });

  r.get('/v1/datasets', {
    schema: {
      operationId: 'listDatasets', summary: 'List datasets, newest first', tags: ['datasets'],
      querystring: PageQuery, response: { 200: DatasetList.describe('A page of datasets'), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit, offset } = request.query;
    return { ...await datasets.list(limit, offset), limit, offset };
  });

  r.get('/v1/datasets/:id', {
    schema: {
      operationId: 'getDataset', summary: 'One dataset', tags: ['datasets'],
      params: IdParams, response: { 200: Dataset.describe('The dataset'), ...errorResponses(404) },
    },
  }, async (request) => datasets.get(request.params.id));

  r.delete('/v1/datasets/:id', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'deleteDataset', summary: 'Delete a dataset (refused while a queued or running job uses it)',
      tags: ['datasets'], params: IdParams,
      response: { 204: { description: 'Deleted', type: 'null' } as never, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    await datasets.delete(request.params.id);
    return reply.code(204).send();
  });
}
