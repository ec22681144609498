// JSON bodies, parsed here rather than by fastify's default parser, whose refusal is always "Body is
// not valid JSON" even when the JSON is fine but holds a forbidden __proto__ key. secure-json-parse
// (fastify's own screen) finds such keys; only a refused body is walked again, to name the key's path.
import sjson from 'secure-json-parse';
import { ServiceError } from '../services/errors.js';

const invalidJson = (message: string, details?: Record<string, unknown>) =>
  new ServiceError('malformed', 'invalid_json', message, details);

/**
 * A JSON body (none when empty), or a 400 invalid_json that says what is wrong: where the syntax breaks (V8's
 * message has the position), or the path of a __proto__ or constructor.prototype key.
 */
export function parseJsonBody(body: Buffer): unknown {
  // Many clients send Content-Type: application/json on every request: an empty body is no body.
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = body.toString('utf8');
  } catch {
    // Past V8's longest string (about 512 MiB) the text cannot even be decoded.
    throw new ServiceError('too_large', 'payload_too_large', `the body (${body.length} bytes) is too large to parse as JSON: upload large datasets as CSV`);
  }
  try {
    return sjson.parse(text, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const value = (() => { try { return JSON.parse(text) as unknown; } catch { return undefined; } })();
    const path = value === undefined ? null : forbiddenKey(value);
    if (path === null) throw invalidJson(`the body is not valid JSON: ${(err as Error).message}`);
    // A key 100 000 arrays deep has a path of 400 kB: keep its two ends.
    const shown = path.length > 200 ? `${path.slice(0, 80)}…${path.slice(-80)}` : path;
    throw invalidJson(`the body holds the key ${shown}, which is refused: a body must not reach an object prototype`, { field: shown });
  }
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
