// /v1/models: list, read, delete, predict and evaluate.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  errorResponses, EvaluateBody, EvaluateResponse, IdParams, Model, ModelList, PageQuery, PredictBody, PredictResponse,
} from './schemas.js';

export default async function modelRoutes(app: FastifyInstance) {
  const { models } = app.services;
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/models', {
    schema: {
      operationId: 'listModels', summary: 'List models, newest first', tags: ['models'],
      querystring: PageQuery, response: { 200: ModelList.describe('A page of models'), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit, offset } = request.query;
    return { ...await models.list(limit, offset), limit, offset };
  });

  r.get('/v1/models/:id', {
    schema: {
      operationId: 'getModel', summary: 'One model: architecture, dataset, metrics, classes', tags: ['models'],
      params: IdParams, response: { 200: Model.describe('The model'), ...errorResponses(404) },
    },
  }, async (request) => models.get(request.params.id));

  r.delete('/v1/models/:id', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'deleteModel', summary: 'Delete a model', tags: ['models'],
      params: IdParams, response: { 204: { description: 'Deleted', type: 'null' } as never, ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await models.delete(request.params.id);
    return reply.code(204).send();
  });

  r.post('/v1/models/:id/predict', {
    bodyLimit: 256 * 1024 * 1024,
    schema: {
      operationId: 'predict', summary: 'Predict rows in raw feature units', tags: ['models'],
      description: 'Classification: the label (as uploaded) and the probabilities in the order of the model\'s classes. Regression: the value in the target\'s units.',
      params: IdParams, body: PredictBody,
      response: { 200: PredictResponse.describe('One prediction per instance'), ...errorResponses(400, 404, 413, 422) },
    },
  }, async (request) => ({ predictions: await models.predict(request.params.id, request.body.instances) }));

  r.post('/v1/models/:id/evaluate', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'evaluate', summary: 'Score a model on a stored dataset', tags: ['models'],
      params: IdParams, body: EvaluateBody,
      response: { 200: EvaluateResponse.describe('Accuracy, loss and a confusion matrix, or MSE/MAE/R²'), ...errorResponses(400, 404, 413, 422) },
    },
  }, async (request) => models.evaluate(request.params.id, request.body.datasetId));
}
