// Follows one job's Server-Sent Events (GET /v1/jobs/{id}/events): `epoch`, `progress` and `status`.
// Without an API key the browser's EventSource reads it; EventSource cannot send headers, so with a key
// the same stream is read through fetch and parsed here. Both resume after the last epoch they saw.
import { ApiError, apiUrl, authHeaders, errorFrom, FINISHED, type Epoch, type Job, type Progress } from './api.js';

export interface JobStreamHandlers {
  epoch(e: Epoch): void;
  progress(p: Progress): void;
  status(job: Job): void;
  /** The stream failed for good (a refused request), not a dropped connection that will be retried. */
  error(err: ApiError): void;
}

export interface SseEvent { type: string; data: string; id: string | null }

/**
 * An incremental parser of the text/event-stream format (WHATWG HTML §9.2.6): feed it chunks as they
 * arrive, in any split; it calls onEvent once per complete event. Comments (": keep-alive") are skipped.
 */
export function createSseParser(onEvent: (e: SseEvent) => void): { push(chunk: string): void } {
  let buffer = '';
  let type = '';
  let data: string[] = [];
  let id: string | null = null;

  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) onEvent({ type: type || 'message', data: data.join('\n'), id });
      type = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
  };

  // A line ends at \n, \r\n or \r. A chunk that ends in \r has ended its line; if the next chunk
  // begins with \n, that \n is the rest of the same CRLF.
  let skipLf = false;
  return {
    push(chunk: string) {
      if (chunk === '') return;
      buffer += skipLf && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
      skipLf = false;
      for (;;) {
        const end = buffer.search(/[\r\n]/);
        if (end < 0) break;
        line(buffer.slice(0, end));
        if (buffer[end] === '\r' && end + 1 === buffer.length) skipLf = true;
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      }
    },
  };
}

/** Opens the job's stream; the returned function closes it. */
export function followJob(jobId: string, on: JobStreamHandlers): () => void {
  return authHeaders().authorization ? followWithFetch(jobId, on) : followWithEventSource(jobId, on);
}

const streamPath = (jobId: string) => apiUrl(`/v1/jobs/${encodeURIComponent(jobId)}/events`);

function followWithEventSource(jobId: string, on: JobStreamHandlers): () => void {
  const source = new EventSource(streamPath(jobId));
  source.addEventListener('epoch', (e) => on.epoch(JSON.parse((e as MessageEvent<string>).data)));
  source.addEventListener('progress', (e) => on.progress(JSON.parse((e as MessageEvent<string>).data)));
  source.addEventListener('status', (e) => {
    const job = JSON.parse((e as MessageEvent<string>).data) as Job;
    // The server ends the stream after the final status; without this EventSource would reconnect forever.
    if (FINISHED.includes(job.status)) source.close();
    on.status(job);
  });
  source.addEventListener('error', () => {
    // A dropped connection is retried by EventSource itself (with Last-Event-ID); CLOSED means it gave up,
    // which it does when the answer is not an event stream, e.g. a 404.
    if (source.readyState === EventSource.CLOSED) {
      on.error(new ApiError(0, 'stream_closed', `the event stream of job ${jobId} was refused: reload the page to retry`));
    }
  });
  return () => source.close();
}

function followWithFetch(jobId: string, on: JobStreamHandlers): () => void {
  const abort = new AbortController();
  let lastEpoch = 0;
  let finished = false;

  const dispatch = (e: SseEvent) => {
    if (e.type === 'epoch') {
      const epoch = JSON.parse(e.data) as Epoch;
      lastEpoch = Math.max(lastEpoch, epoch.epoch);
      on.epoch(epoch);
    } else if (e.type === 'progress') {
      on.progress(JSON.parse(e.data));
    } else if (e.type === 'status') {
      const job = JSON.parse(e.data) as Job;
      if (FINISHED.includes(job.status)) finished = true;
      on.status(job);
    }
  };

  const connect = async (): Promise<void> => {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
    if (lastEpoch > 0) headers['last-event-id'] = String(lastEpoch);
    const res = await fetch(streamPath(jobId), { headers, signal: abort.signal });
    if (!res.ok || !res.body) {
      const err = await errorFrom(res);
      // 4xx will not get better by retrying; a 5xx (overloaded, restarting) may.
      if (res.status < 500) {
        finished = true;
        on.error(err);
      }
      return;
    }
    const parser = createSseParser(dispatch);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  };

  void (async () => {
    while (!finished && !abort.signal.aborted) {
      try {
        await connect();
      } catch { /* dropped connection or aborted: the loop decides */ }
      if (!finished && !abort.signal.aborted) await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return () => abort.abort();
}
