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

/** How long, and how many more bytes, a refused upload may go on arriving after its 413. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 8 * 1024 * 1024;

/**
 * A 413 refuses the rest of an upload, so the connection closes after the answer. Closing at once
 * would reset it while the client is still sending, and many clients (fetch among them) then lose
 * the 413 itself; RFC 9112 §9.6 asks for a staged close instead. So the answer goes out, then our
 * side of the connection ends, and what still arrives is discarded unread until the client closes,
 * for at most LINGER_MS or LINGER_BYTES, whichever comes first.
 */
function closeGently(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('connection', 'close');
  const req = request.raw;
  const socket = req.socket;
  if (req.complete || !socket || socket.destroyed) return; // nothing more to come: Node's close is fine
  // Node ends a `Connection: close` exchange with socket.destroySoon(); this socket lingers instead.
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) socket.destroy();
    });
    req.resume();
  };
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
      if (err.status === 413) closeGently(request, reply);
      return sendError(reply, err.status, err.code, err.message, err.details);
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

/** "/hidden/0/units" → "hidden[0].units" */
function formatPath(pointer: string): string {
  return pointer.split('/').filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
}

// Keys that could reach an object's prototype if the body were ever merged into another object; the
// same patterns fastify's default parser (secure-json-parse) screens the text with, escapes included.
const PROTO_KEY = /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;
const CONSTRUCTOR_KEY = /"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"\s*:/;

const invalidJson = (message: string, details?: Record<string, unknown>) => new ServiceError(400, 'invalid_json', message, details);

/**
 * A JSON body, or a 400 invalid_json that says what is wrong: empty, where the syntax breaks (V8's
 * message has the position), or the path of a __proto__ or constructor.prototype key.
 */
function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw invalidJson('the body is empty: send a JSON document');
  let text: string;
  try {
    text = body.toString('utf8');
  } catch {
    // Past V8's longest string (about 512 MiB) the text cannot even be decoded.
    throw new ServiceError(413, 'payload_too_large', `the body (${body.length} bytes) is too large to parse as JSON: upload large datasets as CSV`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidJson(`the body is not valid JSON: ${(err as Error).message}`);
  }
  if (PROTO_KEY.test(text) || CONSTRUCTOR_KEY.test(text)) {
    const path = forbiddenKey(value);
    if (path !== null) {
      // A key 100 000 arrays deep has a path of 400 kB: keep its two ends.
      const shown = path.length > 200 ? `${path.slice(0, 80)}…${path.slice(-80)}` : path;
      throw invalidJson(`the body holds the key ${shown}, which is refused: a body must not reach an object prototype`, { field: shown });
    }
  }
  return value;
}

/**
 * The path of the first __proto__ key, or constructor key holding a prototype, in a parsed body;
 * null if there is none. Iterative, so a body nested 100 000 deep cannot overflow the stack.
 */
function forbiddenKey(root: unknown): string | null {
  interface Node { value: unknown; key: string; parent: Node | null }
  const pathOf = (node: Node) => {
    const parts: string[] = [];
    for (let n: Node | null = node; n !== null; n = n.parent) parts.push(n.key);
    return `body${parts.reverse().join('')}`;
  };
  const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;
  if (!isObject(root)) return null;
  // Only objects and arrays are pushed: the numbers of a large batch cost no allocation.
  const stack: Node[] = [{ value: root, key: '', parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        if (isObject(value[i])) stack.push({ value: value[i], key: `[${i}]`, parent: node });
      }
      continue;
    }
    const record = value as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(record, '__proto__')) return pathOf({ value: null, key: '.__proto__', parent: node });
    const ctor = Object.prototype.hasOwnProperty.call(record, 'constructor') ? record.constructor : undefined;
    if (typeof ctor === 'object' && ctor !== null && Object.prototype.hasOwnProperty.call(ctor, 'prototype')) {
      return pathOf({ value: null, key: '.constructor.prototype', parent: node });
    }
    const keys = Object.keys(record);
    for (let i = keys.length - 1; i >= 0; i--) {
      if (isObject(record[keys[i]])) stack.push({ value: record[keys[i]], key: `.${keys[i]}`, parent: node });
    }
  }
  return null;
}
