// Builds the Fastify app from one plugin per concern; tests build it without a port.
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import {
  jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler,
} from 'fastify-type-provider-zod';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.js';
import { PACKAGE } from './package-info.js';
import datasetRoutes from './http/datasets.js';
import { registerErrorHandling, sendError } from './http/errors.js';
import jobRoutes from './http/jobs.js';
import modelRoutes from './http/models.js';
import v2Routes from './http/v2.js';
import { ErrorBody } from './http/schemas.js';
import { createPredictions, type Predictions } from './jobs/predictions.js';
import { createRunner, type Runner } from './jobs/runner.js';
import type { JobSpec } from './jobs/spec.js';
import { createDatasetRepository, type DatasetRepository } from './store/datasets.js';
import { migrate, openDatabase, type Db } from './store/db.js';
import { createJobRepository, type JobRepository } from './store/jobs.js';
import { createModelRepository, type ModelRepository } from './store/models.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Db;
    datasets: DatasetRepository;
    jobs: JobRepository<JobSpec>;
    models: ModelRepository;
    runner: Runner;
    predictions: Predictions;
    writeRateLimit: { max: number; timeWindow: string };
    /** Every route registered, for the test that holds openapi.yaml to them. */
    routeList: { method: string; url: string }[];
  }
  interface FastifyContextConfig {
    docs?: { body?: unknown };
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Routes anyone may call, API key or not: liveness, and pages that hold no data. */
const PUBLIC = [/^\/health$/, /^\/v2\/health\/(live|ready)$/, /^\/docs(\/|$)/, /^\/openapi\.yaml$/,
  /^\/$/, /^\/(app\.js|style\.css|uPlot\.min\.css|favicon\.svg)$/];

type OpenApiDoc = { paths?: unknown; components?: { schemas?: Record<string, unknown> } };

/** zod's registry lists every schema with an id, each as an input and an output variant; keep those
 *  the operations reach, so the document holds what a client needs and nothing else. */
function withoutUnusedSchemas<T extends OpenApiDoc>(doc: T): T {
  const schemas = doc.components?.schemas ?? {};
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        const ref = key === '$ref' && typeof value === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(value) : null;
        if (ref && !used.has(ref[1])) {
          used.add(ref[1]);
          visit(schemas[ref[1]]);
        } else visit(value);
      }
    }
  };
  visit(doc.paths);
  return { ...doc, components: { ...doc.components, schemas: Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name))) } };
}

const isZod = (schema: unknown) => typeof schema === 'object' && schema !== null && '_zod' in schema;

const database = fp(async (app: FastifyInstance, opts: { config: Config }) => {
  const db = openDatabase(opts.config.databasePath);
  const applied = migrate(db);
  if (applied.length > 0) app.log.info({ applied: applied.map((m) => m.name) }, 'migrations applied');
  app.decorate('db', db);
  app.decorate('datasets', createDatasetRepository(db));
  app.decorate('jobs', createJobRepository<JobSpec>(db));
  app.decorate('models', createModelRepository(db));
  app.addHook('onClose', async () => db.close());
}, { name: 'database' });

const services = fp(async (app: FastifyInstance, opts: { config: Config }) => {
  const runner = createRunner({ config: opts.config, jobs: app.jobs, datasets: app.datasets, logger: app.log as never });
  const predictions = createPredictions({ config: opts.config, models: app.models, datasets: app.datasets });
  app.decorate('runner', runner);
  app.decorate('predictions', predictions);
  app.addHook('onReady', async () => { runner.start(); });
  app.addHook('onClose', async () => {
    await runner.close();
    await predictions.close();
  });
}, { name: 'services', dependencies: ['database'] });

const security = fp(async (app: FastifyInstance, opts: { config: Config }) => {
  const { config } = opts;
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
      const given = createHash('sha256').update(header.startsWith('Bearer ') ? header.slice(7) : '').digest();
      // Hashing first makes both sides the same length, so the comparison takes constant time.
      if (!timingSafeEqual(given, expected)) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, 401, 'unauthorized', 'send Authorization: Bearer <API_KEY>');
      }
    });
  }
}, { name: 'security' });

const docs = fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'MLP training service',
        version: PACKAGE.version,
        description: 'Upload datasets, train multi-layer perceptrons on a worker pool, follow their progress and serve predictions (also over the Open Inference Protocol V2).',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: '/', description: 'The service answering this document' }],
      tags: [
        { name: 'health', description: 'Liveness' },
        { name: 'datasets', description: 'Upload and manage datasets' },
        { name: 'jobs', description: 'Training jobs and their progress' },
        { name: 'models', description: 'Trained models, predictions and evaluation' },
        { name: 'v2', description: 'Open Inference Protocol V2 (KServe, Triton)' },
        { name: 'docs', description: 'This document' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'Required on every route but the health routes when the service runs with API_KEY' } },
      },
      security: [{ bearerAuth: [] }],
    },
    transform: (input) => {
      // zod's transform takes zod schemas only: set the plain JSON-schema responses aside and put
      // them back, and add the hand-written request body of routes that parse their own body.
      const plain: Record<string, unknown> = {};
      const zodOnly: Record<string, unknown> = {};
      const responses = (input.schema?.response ?? {}) as Record<string, unknown>;
      for (const [status, schema] of Object.entries(responses)) {
        (isZod(schema) ? zodOnly : plain)[status] = schema;
      }
      const out = jsonSchemaTransform({ ...input, schema: { ...input.schema, response: zodOnly } } as never);
      const body = input.route.config?.docs?.body;
      const schema = { ...out.schema, response: { ...(out.schema.response as object), ...plain } };
      return { ...out, schema: body ? { ...schema, body } : schema };
    },
    transformObject: (input) => withoutUnusedSchemas(jsonSchemaTransformObject(input) as OpenApiDoc) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  const committed = join(ROOT, 'openapi.yaml');
  app.get('/openapi.yaml', {
    schema: {
      operationId: 'getOpenApi', summary: 'This OpenAPI document', tags: ['docs'], security: [],
      response: {
        200: { description: 'OpenAPI 3.1 YAML', content: { 'application/yaml': { schema: { type: 'string' } } } } as never,
        404: ErrorBody.describe('Not generated in this build'),
      },
    },
  }, async (_request, reply) => {
    if (!existsSync(committed)) return sendError(reply, 404, 'not_found', 'openapi.yaml is missing from this build');
    return reply.type('application/yaml').send(readFileSync(committed, 'utf8'));
  });
}, { name: 'docs' });

const dashboard = fp(async (app: FastifyInstance) => {
  const dir = join(ROOT, 'dist/public');
  if (!existsSync(dir)) return;
  await app.register(fastifyStatic, { root: dir, prefix: '/', index: ['index.html'], wildcard: false });
}, { name: 'dashboard' });

export async function buildApp(config: Config, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].length <= 100
      ? req.headers['x-request-id'] : randomUUID()),
    connectionTimeout: 120_000, // an idle socket is dropped; event streams send a heartbeat every 15 s
    requestTimeout: 15 * 60_000, // a 512 MiB upload on a slow link still fits
    keepAliveTimeout: 10_000,
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { ignoreTrailingSlash: true },
    // The router refuses some URLs (too long, a bad percent-escape) before any handler runs: answer
    // them in the one error shape too.
    frameworkErrors: (err, _request, reply) => {
      const status = err.statusCode ?? 400;
      void sendError(reply, status, status === 414 ? 'uri_too_long' : 'invalid_request', err.message);
    },
    ...options,
  });
  app.setValidatorCompiler(validatorCompiler);
  // Zod schemas serialise through zod; the few plain JSON-schema responses (documentation only:
  // YAML, event streams, empty bodies) need nothing but JSON.stringify.
  app.setSerializerCompiler((route) =>
    isZod(route.schema)
      ? serializerCompiler(route as Parameters<typeof serializerCompiler>[0])
      : (data: unknown) => JSON.stringify(data));
  app.decorate('config', config);
  app.decorate('routeList', [] as { method: string; url: string }[]);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') app.routeList.push({ method, url: route.url });
  });
  registerErrorHandling(app);

  await app.register(database, { config });
  await app.register(security, { config });
  await app.register(docs);
  await app.register(services, { config });

  app.get('/health', {
    schema: {
      operationId: 'health', summary: 'Liveness', tags: ['health'], security: [],
      response: { 200: { description: 'The process is up', type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] } as never, 503: ErrorBody.describe('Overloaded') },
    },
  }, async () => ({ status: 'ok' as const }));

  await app.register(datasetRoutes);
  await app.register(jobRoutes);
  await app.register(modelRoutes);
  await app.register(v2Routes);
  await app.register(dashboard);
  return app;
}
