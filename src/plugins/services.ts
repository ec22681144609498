// The services the routes call: datasets, jobs (with the runner and its worker pool) and models.
// The runner starts claiming queued jobs once the app is ready, and hands them back at close.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { createDatasetService } from '../services/datasets.js';
import { createJobService } from '../services/jobs/index.js';
import { createModelService } from '../services/models/index.js';

export default fp(async (app: FastifyInstance) => {
  const deps = { config: app.config, store: app.store, logger: app.log as Logger };
  const services = {
    datasets: createDatasetService(deps),
    jobs: createJobService(deps),
    models: createModelService(deps),
  };
  app.decorate('services', services);
  app.addHook('onReady', async () => { await services.jobs.start(); });
  app.addHook('onClose', async () => {
    await services.jobs.close();
    await services.models.close();
  });
}, { name: 'services', dependencies: ['store'] });
