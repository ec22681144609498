// /v1/datasets: uploads (CSV, JSON, multipart CSV or IDX) streamed into the parsers, then stored in
// one transaction, so a failed upload leaves nothing behind.
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Transform, type Readable } from 'node:stream';
import { parseCsv } from '../data/csv.js';
import { DataError } from '../data/errors.js';
import { datasetFromIdx, parseIdx, type IdxTensor } from '../data/idx.js';
import { parseJsonDataset } from '../data/json.js';
import type { ParsedDataset, Task } from '../data/types.js';
import { errors } from '../jobs/errors.js';
import {
  Dataset, DatasetList, DatasetUploadQuery, errorResponses, IdParams, PageQuery,
} from './schemas.js';

const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];

export default async function datasetRoutes(app: FastifyInstance) {
  const { config, datasets } = app;
  const maxBytes = config.maxUploadBytes;

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
    const { name, target, task } = request.query;
    const declared = Number(request.headers['content-length']);
    if (declared > maxBytes) throw tooLarge(maxBytes);
    const parsed = await parseUpload(request, { target, task, maxBytes });
    const dataset = app.datasets.create(name ?? 'dataset', parsed);
    request.log.info({ datasetId: dataset.id, rows: dataset.rows, features: dataset.features }, 'dataset stored');
    return reply.code(201).header('location', `/v1/datasets/${dataset.id}`).send(dataset);
  });

  r.get('/v1/datasets', {
    schema: {
      operationId: 'listDatasets', summary: 'List datasets, newest first', tags: ['datasets'],
      querystring: PageQuery, response: { 200: DatasetList.describe('A page of datasets'), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit, offset } = request.query;
    return { ...datasets.list(limit, offset), limit, offset };
  });

  r.get('/v1/datasets/:id', {
    schema: {
      operationId: 'getDataset', summary: 'One dataset', tags: ['datasets'],
      params: IdParams, response: { 200: Dataset.describe('The dataset'), ...errorResponses(404) },
    },
  }, async (request) => datasets.get(request.params.id) ?? Promise.reject(errors.notFound('dataset', request.params.id)));

  r.delete('/v1/datasets/:id', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'deleteDataset', summary: 'Delete a dataset (refused while a queued or running job uses it)',
      tags: ['datasets'], params: IdParams,
      response: { 204: { description: 'Deleted', type: 'null' } as never, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    const outcome = datasets.delete(request.params.id);
    if (outcome === 'not_found') throw errors.notFound('dataset', request.params.id);
    if (outcome === 'in_use') {
      throw errors.conflict('dataset_in_use', `dataset ${request.params.id} is used by a queued or running job: cancel it or wait for it to finish`);
    }
    return reply.code(204).send();
  });
}

function tooLarge(maxBytes: number) {
  return new DataError('payload_too_large', 413, `the upload is larger than MAX_UPLOAD_BYTES (${maxBytes} bytes)`, { limit: maxBytes });
}

/** Counts bytes as they pass and stops the stream with a 413 once the limit is crossed. */
function limited(source: Readable, maxBytes: number): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(tooLarge(maxBytes));
      else done(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  return source.pipe(counter);
}

async function parseUpload(
  request: FastifyRequest, options: { target?: string; task?: Task; maxBytes: number },
): Promise<ParsedDataset> {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    return parseJsonDataset(request.body, { task: options.task });
  }
  if (CSV_TYPES.includes(type)) {
    return parseCsv(limited(request.body as Readable, options.maxBytes), { target: options.target, task: options.task });
  }
  if (type === 'multipart/form-data') return parseMultipart(request, options);
  throw new DataError('unsupported_media_type', 415, `Content-Type "${type || '(none)'}" is not accepted: send text/csv, application/json or multipart/form-data`);
}

/**
 * A multipart file part fails with a 413 the moment it crosses the limit. Left alone, busboy would
 * end the part early (the parser would then report a cut-off last row, not the size) and go on
 * reading and discarding the rest of the upload before anyone answered.
 */
function stopAtLimit(file: Readable, maxBytes: number): Readable {
  file.once('limit', () => file.destroy(tooLarge(maxBytes)));
  return file;
}

async function parseMultipart(
  request: FastifyRequest, options: { target?: string; task?: Task; maxBytes: number },
): Promise<ParsedDataset> {
  let csv: ParsedDataset | null = null;
  const idx: { images?: IdxTensor; labels?: IdxTensor } = {};
  for await (const part of request.parts()) {
    if (part.type !== 'file') continue; // fields are ignored: options come in the query
    if (part.fieldname === 'file') {
      csv = await parseCsv(stopAtLimit(part.file, options.maxBytes), { target: options.target, task: options.task });
    } else if (part.fieldname === 'images' || part.fieldname === 'labels') {
      idx[part.fieldname] = await parseIdx(stopAtLimit(part.file, options.maxBytes), part.fieldname, { maxBytes: options.maxBytes })
        .catch((err: unknown) => {
          // The parser refuses a header that announces more than the limit: name the setting.
          if (err instanceof DataError && err.code === 'payload_too_large') {
            throw new DataError(err.code, 413, `${err.message} (MAX_UPLOAD_BYTES)`, { ...err.details, limit: options.maxBytes });
          }
          throw err;
        });
    } else {
      part.file.resume();
      throw new DataError('invalid_multipart', 400, `unexpected file part "${part.fieldname}": send "file" (CSV) or "images" and "labels" (IDX)`);
    }
    if (part.file.truncated) throw tooLarge(options.maxBytes);
  }
  if (csv && (idx.images || idx.labels)) {
    throw new DataError('invalid_multipart', 400, 'send either a CSV part "file" or IDX parts "images" and "labels", not both');
  }
  if (csv) return csv;
  if (idx.images && idx.labels) return datasetFromIdx(idx.images, idx.labels);
  if (idx.images || idx.labels) {
    throw new DataError('invalid_multipart', 400, `the IDX upload lacks its "${idx.images ? 'labels' : 'images'}" part`);
  }
  throw new DataError('empty_dataset', 400, 'the multipart body has no file part: send "file" (CSV) or "images" and "labels" (IDX)');
}
