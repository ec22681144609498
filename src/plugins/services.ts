// The services the routes call: datasets, jobs (with the runner and its worker pool on nodes that
// train), models and nodes. The runner starts claiming queued jobs once the app is ready, and hands
// them back at close.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { createDatasetService } from '../services/datasets.js';
import { createJobService } from '../services/jobs/index.js';
import { createModelService } from '../services/models/index.js';
import { createNodeService } from '../services/nodes.js';
import { createSearchService } from '../services/searches/index.js';

export default fp(async (app: FastifyInstance) => {
  const deps = { config: app.config, store: app.store, logger: app.log as Logger };
  const jobs = createJobService(deps);
  const services = {
    datasets: createDatasetService(deps),
    jobs,
    models: createModelService(deps),
    nodes: createNodeService({ ...deps, running: jobs.running }),
    searches: createSearchService({ ...deps, jobs }),
  };
  app.decorate('services', services);
  app.addHook('onReady', async () => {
    await services.jobs.start();
    await services.nodes.start();
    await services.searches.start();
  });
  app.addHook('onClose', async () => {
    await services.searches.close();
    await services.jobs.close();
    await services.models.close();
    await services.nodes.close();
  });
}, { name: 'services', dependencies: ['store'] });
