// Builds the Fastify app by composing one plugin per concern and the routes; tests build it without a port.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import datasetRoutes from './http/datasets.js';
import { clientErrorHandler, registerErrorHandling, sendError } from './http/errors.js';
import healthRoutes from './http/health.js';
import jobRoutes from './http/jobs.js';
import modelRoutes from './http/models.js';
import nodeRoutes from './http/nodes.js';
import searchRoutes from './http/searches.js';
import v2Routes from './http/v2.js';
import dashboard from './plugins/dashboard.js';
import docs from './plugins/docs.js';
import { isZod } from './plugins/openapi.js';
import security from './plugins/security.js';
import services from './plugins/services.js';
import store from './plugins/store.js';
import type { DatasetService } from './services/datasets.js';
import type { JobService } from './services/jobs/index.js';
import type { JobSpec } from './services/jobs/spec.js';
import type { ModelService } from './services/models/index.js';
import type { NodeService } from './services/nodes.js';
import type { SearchService } from './services/searches/index.js';
import type { Store } from './store/types.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    store: Store<JobSpec>;
    services: { datasets: DatasetService; jobs: JobService; models: ModelService; nodes: NodeService; searches: SearchService };
    writeRateLimit: { max: number; timeWindow: string };
    /** Every route registered, for the test that holds openapi.yaml to them. */
    routeList: { method: string; url: string }[];
  }
  interface FastifyContextConfig {
    docs?: { body?: unknown };
  }
}

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
    clientErrorHandler,
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

  await app.register(store);
  await app.register(security);
  await app.register(docs);
  await app.register(services);

  await app.register(healthRoutes);
  // A worker node trains and answers only its health routes; api and all nodes serve everything.
  if (config.role === 'worker') {
    await app.register(v2Routes, { healthOnly: true });
    return app;
  }
  await app.register(datasetRoutes);
  await app.register(jobRoutes);
  await app.register(modelRoutes);
  await app.register(nodeRoutes);
  await app.register(searchRoutes);
  await app.register(v2Routes, { healthOnly: false });
  await app.register(dashboard);
  return app;
}
