// One error shape for every route: {"error":{"code","message","details"?}}. Known failures keep their
// status and words; anything else is a 500 whose body says nothing of the internals (the log has them).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DataError } from '../data/errors.js';
import { ServiceError } from '../jobs/errors.js';

export function sendError(
  reply: FastifyReply, status: number, code: string, message: string, details?: Record<string, unknown>,
) {
  return reply.code(status).type('application/json').send({ error: details ? { code, message, details } : { code, message } });
}

/** Fastify's own error codes that are the client's doing, with the words we answer them with. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_PARTS_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_FILES_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_FIELDS_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_PROTO_VIOLATION: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type' },
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));

  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        path: `${err.validationContext ?? 'body'}${formatPath(v.instancePath)}`,
        message: v.message ?? 'invalid',
        code: v.keyword,
      }));
      const first = issues[0];
      return sendError(reply, 400, 'invalid_request',
        `${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { issues });
    }
    if (err instanceof ServiceError) {
      if (err.headers) reply.headers(err.headers);
      return sendError(reply, err.status, err.code, err.message, err.details);
    }
    if (err instanceof DataError) {
      if (err.status === 413) reply.header('connection', 'close');
      return sendError(reply, err.status, err.code, err.message, err.details);
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) {
      if (known.status === 413) reply.header('connection', 'close');
      return sendError(reply, known.status, known.code, err.message);
    }
    if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
      return sendError(reply, 400, 'invalid_json', `the body is not valid JSON: ${err.message}`);
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendError(reply, status, status === 429 ? 'rate_limited' : 'invalid_request', err.message);
    }
    request.log.error({ err, url: request.url, method: request.method }, 'request failed');
    return sendError(reply, 500, 'internal', 'an internal error occurred; the request id in the logs has the details');
  });
}

/** "/hidden/0/units" → "hidden[0].units" */
function formatPath(pointer: string): string {
  return pointer.split('/').filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
}
