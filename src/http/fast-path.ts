// The prediction routes' hot path. A request's own work there is parsing its rows and running the model;
// what else each request paid for, measured with --cpu-prof under load, was zod checking every number
// (the service checks each value again as it packs them), zod re-encoding the answer, and security
// headers only a browser page needs. These keep the documented schemas and their error words: a body
// that passes the quick structural check skips zod; one that does not gets zod's precise refusal.
import type { FastifyReply, FastifyRequest, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { Transform, type Readable } from 'node:stream';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { ServiceError } from '../services/errors.js';

/** {"instances": rows}, each row an array of numbers or an object of numbers: nothing else. */
function isPredictBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'instances') return false;
  const rows = (body as { instances: unknown }).instances;
  if (!Array.isArray(rows)) return false;
  for (const row of rows) {
    if (Array.isArray(row)) {
      for (let j = 0; j < row.length; j++) if (typeof row[j] !== 'number') return false;
    } else if (typeof row === 'object' && row !== null) {
      for (const v of Object.values(row)) if (typeof v !== 'number') return false;
    } else {
      return false;
    }
  }
  return true;
}

/** Zod for params and query; for the body, the quick check first, zod only to word a refusal. */
export const predictValidator: FastifySchemaCompiler<unknown> = (route) => {
  const zod = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  if (route.httpPart !== 'body') return zod;
  return (data: unknown) => (isPredictBody(data) ? { value: data } : zod(data));
};

/** Answers that the service built to the schema: JSON.stringify, no second pass through zod. */
export const plainSerializer: FastifySerializerCompiler<unknown> = () => (data: unknown) => JSON.stringify(data);

/**
 * A preParsing hook: a body of rows larger than any MAX_PREDICT_ROWS rows of this model could be is
 * refused with 413 before a byte of it is parsed (a 30 MB body of tiny rows would otherwise be parsed
 * whole, stalling every other request, only to be refused for its row count). A declared Content-Length
 * is checked as it stands; a chunked body is counted as it streams.
 */
export function limitPredictBody(maxBodyBytes: (ref: string) => Promise<number>) {
  return async (request: FastifyRequest, _reply: FastifyReply, payload: Readable): Promise<Readable> => {
    const limit = await maxBodyBytes((request.params as { id: string }).id);
    const tooLarge = () => new ServiceError('too_large', 'payload_too_large',
      `the body is larger than MAX_PREDICT_ROWS rows of this model can be (${limit} bytes): send fewer rows per request`, { limit });
    const length = request.headers['content-length'];
    if (length !== undefined) {
      // Node's parser holds a body to its Content-Length: checking the declaration is enough.
      if (Number(length) > limit) throw tooLarge();
      return payload;
    }
    let seen = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        done(seen > limit ? tooLarge() : null, chunk);
      },
    });
    payload.on('error', (err) => counted.destroy(err));
    return payload.pipe(counted);
  };
}
