// The datasets service: the upload pipeline (content type → parser, byte limits, multipart parts),
// streamed into the parsers and stored in one transaction, so a failed upload leaves nothing behind.
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { parseCsv } from '../data/csv.js';
import { DataError } from '../data/errors.js';
import { datasetFromIdx, parseIdx, type IdxTensor } from '../data/idx.js';
import { parseJsonDataset } from '../data/json.js';
import type { ParsedDataset, Task } from '../data/types.js';
import type { Dataset, Page, Store } from '../store/types.js';
import { errors } from './errors.js';

/** Content types read as CSV; their bodies reach the service as the raw stream. */
export const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];

/** One part of a multipart body, as @fastify/multipart (or any busboy wrapper) yields it. */
export interface UploadPart {
  type: 'file' | 'field';
  fieldname: string;
  file?: Readable & { truncated?: boolean };
}

export interface Upload {
  name?: string;
  target?: string;
  task?: Task;
  /** Names for the classes, comma-separated, in their sorted order. */
  classNames?: string;
  /** The media type, lower case, without parameters. */
  type: string;
  /** The declared Content-Length, when there is one. */
  length?: number;
  /** JSON: the parsed document; CSV: the raw byte stream; multipart: unused. */
  body: unknown;
  /** Multipart: the parts, in order. */
  parts?: () => AsyncIterable<UploadPart>;
}

export function createDatasetService(deps: { config: Config; store: Store; logger: Logger }) {
  const { store } = deps;
  const maxBytes = deps.config.maxUploadBytes;
  const log = deps.logger.child({ component: 'datasets' });

  async function parse(upload: Upload): Promise<ParsedDataset> {
    const { type, target, task } = upload;
    if (upload.length !== undefined && upload.length > maxBytes) throw tooLarge(maxBytes);
    if (type === 'application/json') return parseJsonDataset(upload.body, { task });
    if (CSV_TYPES.includes(type)) return parseCsv(limited(upload.body as Readable, maxBytes), { target, task });
    if (type === 'multipart/form-data' && upload.parts) return parseMultipart(upload.parts, { target, task, maxBytes });
    throw new DataError('unsupported_media_type', 'unsupported', `Content-Type "${type || '(none)'}" is not accepted: send text/csv, application/json or multipart/form-data`);
  }

  return {
    async upload(upload: Upload): Promise<Dataset> {
      const parsed = await parse(upload);
      if (upload.classNames !== undefined) parsed.classes = named(parsed, upload.classNames);
      const dataset = await store.datasets.create(upload.name ?? 'dataset', parsed);
      log.info({ datasetId: dataset.id, rows: dataset.rows, features: dataset.features }, 'dataset stored');
      return dataset;
    },
    list: (limit: number, offset: number): Promise<Page<Dataset>> => store.datasets.list(limit, offset),
    async get(id: string): Promise<Dataset> {
      const dataset = await store.datasets.get(id);
      if (!dataset) throw errors.notFound('dataset', id);
      return dataset;
    },
    async delete(id: string): Promise<void> {
      const outcome = await store.datasets.delete(id);
      if (outcome === 'not_found') throw errors.notFound('dataset', id);
      if (outcome === 'in_use') {
        throw errors.conflict('dataset_in_use', `dataset ${id} is used by a queued or running job: cancel it or wait for it to finish`);
      }
    },
  };
}

export type DatasetService = ReturnType<typeof createDatasetService>;

/** The dataset's classes renamed, in their sorted order; the labels (indices into them) stay as they are. */
function named(parsed: ParsedDataset, list: string): (string | number)[] {
  const names = list.split(',').map((n) => n.trim());
  if (parsed.task !== 'classification' || parsed.classes === null) {
    throw new DataError('invalid_class_names', 'unusable', 'classNames names the classes of a classification dataset; this one is a regression');
  }
  if (names.length !== parsed.classes.length) {
    throw new DataError('invalid_class_names', 'unusable',
      `classNames has ${names.length} names; the dataset has ${parsed.classes.length} classes (${parsed.classes.slice(0, 12).join(', ')}${parsed.classes.length > 12 ? ', …' : ''})`,
      { expected: parsed.classes.length, actual: names.length });
  }
  const empty = names.findIndex((n) => n === '');
  if (empty >= 0) throw new DataError('invalid_class_names', 'unusable', `classNames: name ${empty + 1} is empty`);
  if (new Set(names).size !== names.length) throw new DataError('invalid_class_names', 'unusable', 'classNames: each name must be different');
  return names;
}

function tooLarge(maxBytes: number) {
  return new DataError('payload_too_large', 'too_large', `the upload is larger than MAX_UPLOAD_BYTES (${maxBytes} bytes)`, { limit: maxBytes });
}

/** Counts bytes as they pass and stops the stream with a too_large error once the limit is crossed. */
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

/**
 * A multipart file part fails as too large the moment it crosses the limit. Left alone, busboy would
 * end the part early (the parser would then report a cut-off last row, not the size) and go on
 * reading and discarding the rest of the upload before anyone answered.
 */
function stopAtLimit(file: Readable, maxBytes: number): Readable {
  file.once('limit', () => file.destroy(tooLarge(maxBytes)));
  return file;
}

/** busboy's words for a body that is not multipart after all: no boundary, or no closing boundary. */
const BROKEN_MULTIPART = /boundary not found|unexpected end of (multipart data|form)|malformed part header|part terminated early/i;

async function parseMultipart(
  parts: () => AsyncIterable<UploadPart>, options: { target?: string; task?: Task; maxBytes: number },
): Promise<ParsedDataset> {
  try {
    return await readParts(parts(), options);
  } catch (err) {
    if (!(err instanceof DataError) && BROKEN_MULTIPART.test((err as Error).message)) {
      throw new DataError('invalid_multipart', 'malformed', `the multipart body is malformed (${(err as Error).message}): `
        + 'send Content-Type multipart/form-data; boundary=… and a body that ends with its closing boundary');
    }
    throw err;
  }
}

async function readParts(
  parts: AsyncIterable<UploadPart>, options: { target?: string; task?: Task; maxBytes: number },
): Promise<ParsedDataset> {
  let csv: ParsedDataset | null = null;
  const idx: { images?: IdxTensor; labels?: IdxTensor } = {};
  for await (const part of parts) {
    if (part.type !== 'file' || !part.file) continue; // fields are ignored: options come in the query
    if ((part.fieldname === 'file' && csv) || ((part.fieldname === 'images' || part.fieldname === 'labels') && idx[part.fieldname])) {
      part.file.resume();
      throw new DataError('invalid_multipart', 'malformed', `the multipart body has two "${part.fieldname}" parts: send one`);
    }
    if (part.fieldname === 'file') {
      csv = await parseCsv(stopAtLimit(part.file, options.maxBytes), { target: options.target, task: options.task });
    } else if (part.fieldname === 'images' || part.fieldname === 'labels') {
      idx[part.fieldname] = await parseIdx(stopAtLimit(part.file, options.maxBytes), part.fieldname, { maxBytes: options.maxBytes })
        .catch((err: unknown) => {
          // The parser refuses a header that announces more than the limit: name the setting.
          if (err instanceof DataError && err.code === 'payload_too_large') {
            throw new DataError(err.code, 'too_large', `${err.message} (MAX_UPLOAD_BYTES)`, { ...err.details, limit: options.maxBytes });
          }
          throw err;
        });
    } else {
      part.file.resume();
      throw new DataError('invalid_multipart', 'malformed', `unexpected file part "${part.fieldname}": send "file" (CSV) or "images" and "labels" (IDX)`);
    }
    if (part.file.truncated) throw tooLarge(options.maxBytes);
  }
  if (csv && (idx.images || idx.labels)) {
    throw new DataError('invalid_multipart', 'malformed', 'send either a CSV part "file" or IDX parts "images" and "labels", not both');
  }
  if (csv) return csv;
  if (idx.images && idx.labels) return datasetFromIdx(idx.images, idx.labels);
  if (idx.images || idx.labels) {
    throw new DataError('invalid_multipart', 'malformed', `the IDX upload lacks its "${idx.images ? 'labels' : 'images'}" part`);
  }
  throw new DataError('empty_dataset', 'malformed', 'the multipart body has no file part: send "file" (CSV) or "images" and "labels" (IDX)');
}
