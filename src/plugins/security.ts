// What guards every route: security headers, rate limits on writes, the overload guard, and the API key.
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createHash, timingSafeEqual } from 'node:crypto';
import { sendError } from '../http/errors.js';

/** Routes anyone may call, API key or not: liveness, and pages that hold no data. */
const PUBLIC = [/^\/health\/?$/, /^\/v2\/health\/(live|ready)\/?$/, /^\/docs(\/|$)/, /^\/openapi\.yaml$/,
  /^\/$/, /^\/(index\.html|app\.js|style\.css|uPlot\.min\.css|favicon\.svg)$/];

export default fp(async (app: FastifyInstance) => {
  const { config } = app;
  await app.register(helmet, {
    // The service speaks plain HTTP unless a proxy in front adds TLS: asking browsers to upgrade
    // requests, or to insist on HTTPS later, would break the dashboard on any host but localhost.
    hsts: false,
    contentSecurityPolicy: {
      directives: {
        upgradeInsecureRequests: null,
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'], connectSrc: ["'self'"],
      },
    },
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: ctx.statusCode, code: 'rate_limited',
      message: `rate limit of ${ctx.max} requests per ${ctx.after} exceeded: retry in ${ctx.after}`,
    }),
  });
  app.decorate('writeRateLimit', { max: config.rateLimitMax, timeWindow: '1 minute' });
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    retryAfter: 5,
    pressureHandler: (_req, reply, type, value) => {
      reply.header('retry-after', '5');
      void sendError(reply, 503, 'overloaded', `the service is overloaded (${type}: ${value}): retry shortly`);
    },
  });
  if (config.apiKey) {
    const expected = createHash('sha256').update(config.apiKey).digest();
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      if (PUBLIC.some((p) => p.test(path))) return;
      const header = request.headers.authorization ?? '';
      // The scheme's name is case-insensitive (RFC 7235 §2.1): bearer, Bearer and BEARER are one.
      const token = /^bearer +(.*)$/i.exec(header)?.[1] ?? '';
      const given = createHash('sha256').update(token).digest();
      // Hashing first makes both sides the same length, so the comparison takes constant time.
      if (!timingSafeEqual(given, expected)) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, 401, 'unauthorized', 'send Authorization: Bearer <API_KEY>');
      }
    });
  }
}, { name: 'security' });

