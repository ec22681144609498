// The dashboard's text/event-stream parser: the events come out whole and in order however the
// network splits the bytes, in the shape GET /v1/jobs/{id}/events writes them.
import { describe, expect, it } from 'vitest';
import { createSseParser, type SseEvent } from '../../src/dashboard/stream.js';

function parse(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  return events;
}

// What the service writes: an epoch (with its id), a comment heartbeat, a progress and a status.
const STREAM = 'event: epoch\nid: 1\ndata: {"epoch":1,"loss":0.5}\n\n'
  + ': keep-alive\n\n'
  + 'event: progress\ndata: {"epoch":2,"fraction":0.5}\n\n'
  + 'event: status\ndata: {"status":"succeeded"}\n\n';

const EXPECTED: SseEvent[] = [
  { type: 'epoch', data: '{"epoch":1,"loss":0.5}', id: '1' },
  { type: 'progress', data: '{"epoch":2,"fraction":0.5}', id: '1' },
  { type: 'status', data: '{"status":"succeeded"}', id: '1' },
];

describe('createSseParser', () => {
  it('reads the events the service writes, skipping comments; the last id carries over as the spec says', () => {
    expect(parse([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events whichever byte the chunks are split at', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      expect(parse([STREAM.slice(0, i), STREAM.slice(i)]), `split at ${i}`).toEqual(EXPECTED);
    }
    expect(parse([...STREAM])).toEqual(EXPECTED);
  });

  it('accepts CRLF and lone CR line ends, also when a CRLF is split between chunks', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    expect(parse([crlf])).toEqual(EXPECTED);
    for (let i = 0; i <= crlf.length; i++) expect(parse([crlf.slice(0, i), crlf.slice(i)])).toEqual(EXPECTED);
    expect(parse([STREAM.replace(/\n/g, '\r')])).toEqual(EXPECTED);
  });

  it('joins multi-line data with newlines and defaults the type to "message"', () => {
    expect(parse(['data: a\ndata:b\ndata\n\n'])).toEqual([{ type: 'message', data: 'a\nb\n', id: null }]);
  });

  it('holds back an event until its blank line arrives, and drops one that has no data', () => {
    const events: SseEvent[] = [];
    const parser = createSseParser((e) => events.push(e));
    parser.push('event: epoch\ndata: {}\n');
    expect(events).toEqual([]);
    parser.push('\nevent: nothing\n\n');
    expect(events).toEqual([{ type: 'epoch', data: '{}', id: null }]);
  });
});
