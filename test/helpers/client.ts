// A tiny HTTP client for tests: every answer is checked against openapi.yaml before the test sees it.
import { assertDocumented } from './openapi.js';

export interface Answer<T = any> { status: number; headers: Headers; body: T; text: string }

export function client(base: string, defaults: { headers?: Record<string, string> } = {}) {
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const init: RequestInit = { method, headers: { ...defaults.headers, ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array || body instanceof FormData) {
        init.body = body as BodyInit;
      } else {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    const res = await fetch(base + path, init);
    const text = await res.text();
    const isJson = (res.headers.get('content-type') ?? '').includes('json');
    const parsed = isJson && text ? JSON.parse(text) : text;
    if (res.status !== 304 && isJson) assertDocumented(method, path, res.status, parsed);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
  return {
    call,
    get: <T = any>(path: string, headers?: Record<string, string>) => call<T>('GET', path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body, headers),
    del: <T = any>(path: string) => call<T>('DELETE', path),
    /** Polls a job until it reaches one of the statuses (or the time runs out). */
    async waitFor(jobId: string, statuses: string[], timeoutMs = 60_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await call('GET', `/v1/jobs/${jobId}`);
        if (statuses.includes(body.status)) return body;
        if (Date.now() > deadline) throw new Error(`job ${jobId} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body.error)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
