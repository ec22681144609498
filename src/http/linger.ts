// A refused upload's connection closes in stages (RFC 9112 §9.6), so that the client reads its 413.
import type { FastifyReply, FastifyRequest } from 'fastify';

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
export function closeGently(request: FastifyRequest, reply: FastifyReply): void {
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

