// The prediction routes' hot path. A request's own work there is parsing its rows and running the model;
// what else each request paid for, measured with --cpu-prof under load, was zod checking every number
// (the service checks each value again as it packs them), zod re-encoding the answer, and security
// headers only a browser page needs. These keep the documented schemas and their error words: a body
// that passes the quick structural check skips zod; one that does not gets zod's precise refusal.
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';

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
