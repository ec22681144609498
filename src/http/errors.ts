// One error shape for every route: {"error":{"code","message","details"?}}. The only place that turns
// a failure's kind into a status: known failures keep their words; anything else is a 500 whose body
// says nothing of the internals (the log has them).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DataError } from '../data/errors.js';
import { ServiceError, StoreFullError, StoreUnavailableError, type ErrorKind } from '../services/errors.js';
import { closeGently } from './linger.js';
import { parseJsonBody } from './json-body.js';

const STATUS: Record<ErrorKind, number> = {
  malformed: 400, not_found: 404, conflict: 409, too_large: 413, unsupported: 415, unusable: 422,
  busy: 429, unavailable: 503,
};

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
  FST_PROTO_VIOLATION: { status: 400, code: 'invalid_multipart' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type' },
};

/** Fastify's words for these are terse ("reach files limit"); ours say what to send instead. */
function clearerMessage(err: FastifyError, request: FastifyRequest, maxUploadBytes: number): { message: string; details?: Record<string, unknown> } {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit;
      const which = limit === maxUploadBytes ? 'MAX_UPLOAD_BYTES' : 'the limit of this route';
      return { message: `the body is larger than ${which} (${limit} bytes)`, details: { limit } };
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': {
      const type = request.headers['content-type'];
      return { message: `Content-Type ${type ? JSON.stringify(type) : '(none)'} is not accepted by ${request.method} ${request.routeOptions.url ?? request.url}: send application/json` };
    }
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return { message: 'the multipart body has too many parts: send one file part "file" (CSV), or two, "images" and "labels" (IDX)' };
    case 'FST_FIELDS_LIMIT':
      return { message: 'the multipart body has too many fields: options go in the query string (name, target, task)' };
    default:
      return { message: err.message };
  }
}

/** The request's body stopped arriving because the client closed the connection. */
const clientGone = (request: FastifyRequest): boolean => !request.raw.complete && request.raw.destroyed;

export function registerErrorHandling(app: FastifyInstance): void {
  // Only the dataset route reads text (as CSV): elsewhere a text/plain body is an unsupported type
  // (415), not a JSON body that failed validation.
  app.removeContentTypeParser('text/plain');
  // JSON bodies are parsed here rather than by fastify's default parser, whose refusal is always
  // "Body is not valid JSON" even when the JSON is fine but holds a forbidden __proto__ key.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));

  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.flatMap((v) => unionIssues(v.keyword, v.instancePath, v.params) ?? [{
        path: `${err.validationContext ?? 'body'}${formatPath(v.instancePath)}`,
        message: v.message ?? 'invalid',
        code: v.keyword,
      }]).map((i) => (i.path.startsWith('/') || i.path === '' ? { ...i, path: `${err.validationContext ?? 'body'}${formatPath(i.path)}` } : i));
      const first = issues[0];
      return sendError(reply, 400, 'invalid_request',
        `${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, { issues });
    }
    if (err instanceof StoreFullError) return sendError(reply, 507, err.code, err.message);
    if (err instanceof StoreUnavailableError) {
      reply.header('retry-after', '5');
      return sendError(reply, 503, err.code, err.message);
    }
    if (err instanceof ServiceError || err instanceof DataError) {
      const status = STATUS[err.kind];
      if (status === 413) closeGently(request, reply);
      if (err instanceof ServiceError && err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return sendError(reply, status, err.code, err.message, err.details);
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) {
      if (known.status === 413) closeGently(request, reply);
      const { message, details } = clearerMessage(err, request, app.config.maxUploadBytes);
      return sendError(reply, known.status, known.code, message, details);
    }
    if (clientGone(request)) {
      // Nobody is left to read the answer; this is the client's doing, not a failure of ours.
      request.log.info({ url: request.url, method: request.method, reason: err.message }, 'the client closed the connection before sending the whole body');
      return sendError(reply, 400, 'request_aborted', 'the connection closed before the whole body arrived');
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

interface ZodIssue { code: string; path: PropertyKey[]; message: string; errors?: ZodIssue[][] }

/**
 * A value that matches no branch of a union (a row that is neither an array of numbers nor an object of
 * them): zod says only "Invalid input". The branch that got furthest into the value is the one the client
 * meant, so its own issues are reported, with their full paths (e.g. instances[1][1]: expected number).
 */
function unionIssues(keyword: string, at: string, params: unknown): { path: string; message: string; code: string }[] | null {
  const branches = (params as { errors?: ZodIssue[][] } | undefined)?.errors;
  if (keyword !== 'invalid_union' || !branches || branches.length === 0) return null;
  const depth = (b: ZodIssue[]) => Math.max(...b.map((i) => i.path.length + (i.code === 'invalid_type' && i.path.length === 0 ? 0 : 1)));
  const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  return best.map((i) => ({ path: `${at}${i.path.map((k) => `/${String(k)}`).join('')}`, message: i.message, code: i.code }));
}

/** "/hidden/0/units" → "hidden[0].units" */
function formatPath(pointer: string): string {
  return pointer.split('/').filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
}

/**
 * Requests that Node's HTTP parser refuses before Fastify sees them (headers past 16 kB, a URL longer
 * than that, an invalid or doubled Content-Length, Content-Length beside Transfer-Encoding): answered
 * in the one error shape too, then the connection closes (its framing cannot be trusted).
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = tooLarge ? 431 : timeout ? 408 : 400;
  const error = tooLarge
    ? { code: 'headers_too_large', message: 'the request line and headers are larger than 16 kB: send a shorter URL and fewer or smaller headers' }
    : timeout
      ? { code: 'request_timeout', message: 'the request did not arrive in time' }
      : { code: 'invalid_request', message: `the request is not valid HTTP (${err.code ?? err.message}): check Content-Length and Transfer-Encoding` };
  const body = JSON.stringify({ error });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n`
    + `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // Read on and discard what the client is still sending, for a moment: closing on unread data would
  // reset the connection, and the client could lose the answer (as closeGently does for a 413).
  socket.on('data', () => {});
  socket.resume();
  setTimeout(() => socket.destroy(), 2000).unref();
}
