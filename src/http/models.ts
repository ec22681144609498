// /v1/models: list, read, delete, the registry's aliases, predict (JSON rows, rows by feature name, or
// CSV, answered in JSON or CSV) and evaluate.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { ModelInfo, Prediction } from '../services/models/index.js';
import { limitPredictBody, plainSerializer, predictValidator } from './fast-path.js';
import {
  Alias, AliasBody, AliasParams, errorResponses, EvaluateBody, EvaluateResponse, EvaluationList, Model, ModelList, ModelListQuery, ModelParams,
  PredictBody, PredictResponse,
} from './schemas.js';

const ExportQuery = z.strictObject({
  format: z.enum(['onnx', 'json']).default('onnx').describe('onnx (default) or json'),
});

const CSV_TYPES = ['text/csv', 'application/csv'];
const PREDICT_LIMIT = 256 * 1024 * 1024;

/** A CSV field, quoted when it must be. */
const csvField = (v: string | number) => {
  const text = String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** Predictions as CSV, written a few thousand rows at a time: label and one probability column per
 *  class (p_<class>), or value. */
function predictionsCsv(model: ModelInfo, predictions: Prediction[]): Readable {
  const header = model.task === 'regression' ? ['value'] : ['label', ...model.classes!.map((c) => `p_${c}`)];
  function* lines() {
    yield `${header.map(csvField).join(',')}\n`;
    for (let i = 0; i < predictions.length; i += 4096) {
      yield predictions.slice(i, i + 4096).map((p) => ('value' in p
        ? `${p.value}` : [csvField(p.label), ...p.probabilities].join(','))).join('\n') + '\n';
    }
  }
  return Readable.from(lines());
}

export default async function modelRoutes(app: FastifyInstance) {
  const { models } = app.services;
  const r = app.withTypeProvider<ZodTypeProvider>();
  // A CSV body to predict is read whole as text (up to the route's limit), then parsed by the service.
  app.addContentTypeParser(CSV_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));

  r.get('/v1/models', {
    schema: {
      operationId: 'listModels', summary: 'List models, newest first', tags: ['models'],
      querystring: ModelListQuery, response: { 200: ModelList.describe('A page of models'), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit, offset, name } = request.query;
    return { ...await models.list(limit, offset, name), limit, offset };
  });

  r.get('/v1/models/:id', {
    schema: {
      operationId: 'getModel', summary: 'One model: name, version, aliases, architecture, dataset, metrics, classes', tags: ['models'],
      params: ModelParams, response: { 200: Model.describe('The model'), ...errorResponses(404) },
    },
  }, async (request) => models.get(request.params.id));

  r.delete('/v1/models/:id', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'deleteModel', summary: 'Delete a model (refused while an alias points at it)', tags: ['models'],
      params: ModelParams, response: { 204: { description: 'Deleted', type: 'null' } as never, ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    await models.delete(request.params.id);
    return reply.code(204).send();
  });

  r.put('/v1/models/:name/aliases/:alias', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'setModelAlias', summary: 'Point name@alias at a version', tags: ['models'],
      description: 'Atomic: a prediction through the alias uses the old version or the new one, whole, never a mix.',
      params: AliasParams, body: AliasBody, response: { 200: Alias.describe('The alias as it now stands'), ...errorResponses(400, 404) },
    },
  }, async (request) => models.setAlias(request.params.name, request.params.alias, request.body.version));

  r.delete('/v1/models/:name/aliases/:alias', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'deleteModelAlias', summary: 'Remove an alias', tags: ['models'],
      params: AliasParams, response: { 204: { description: 'Removed', type: 'null' } as never, ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    await models.removeAlias(request.params.name, request.params.alias);
    return reply.code(204).send();
  });

  r.post('/v1/models/:id/predict', {
    bodyLimit: PREDICT_LIMIT,
    validatorCompiler: predictValidator,
    serializerCompiler: plainSerializer,
    preParsing: limitPredictBody(models.maxBodyBytes),
    helmet: false, // an API answer: no page for a browser to protect
    // A CSV body is text the service parses against the model's feature names: the JSON schema's
    // verdict is kept for JSON bodies only (thrown below, in the usual words).
    attachValidation: true,
    config: {
      docs: {
        body: {
          description: 'Rows in raw feature units: JSON instances (arrays in column order, or objects keyed by feature name), '
            + 'or CSV with a header of feature names in any order (unknown or missing columns are refused, naming them).',
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/PredictRequest' } },
            'text/csv': { schema: { type: 'string', description: 'A header of feature names, then one row per instance' } },
          },
        },
      },
    },
    schema: {
      operationId: 'predict', summary: 'Predict rows in raw feature units', tags: ['models'],
      description: 'Classification: the label (as uploaded, or its class name) and the probabilities in the order of `classes`. '
        + 'Regression: the value in the target\'s units. With `Accept: text/csv` the answer is CSV: label and p_<class> columns, or value.',
      params: ModelParams, body: PredictBody,
      response: {
        200: PredictResponse.describe('One prediction per instance (or CSV, with Accept: text/csv)'),
        ...errorResponses(400, 404, 413, 415, 422),
      },
    },
  }, async (request, reply) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const csv = CSV_TYPES.includes(type);
    if (request.validationError && !(csv && request.validationError.validationContext === 'body')) throw request.validationError;
    const { model, predictions } = csv
      ? await models.predictCsv(request.params.id, request.body as unknown as string)
      : await models.predict(request.params.id, request.body.instances);
    if (request.headers.accept?.includes('text/csv')) {
      return reply.type('text/csv; charset=utf-8').send(predictionsCsv(model, predictions) as never);
    }
    return { classes: model.classes, predictions };
  });

  r.get('/v1/models/:id/evaluations', {
    schema: {
      operationId: 'listEvaluations', summary: 'Every evaluation of a model, newest first', tags: ['models'],
      params: ModelParams, response: { 200: EvaluationList.describe('Stored evaluations'), ...errorResponses(404) },
    },
  }, async (request) => ({ items: await models.evaluations(request.params.id) as never }));

  r.get('/v1/models/:id/export', {
    schema: {
      operationId: 'exportModel', summary: 'Download a model as ONNX or JSON', tags: ['models'],
      description: 'onnx: float32 input "input" [N, features] in raw units with the standardisation included, output "probabilities" '
        + '[N, classes] (a binary model gives both columns) or "value" [N, 1] in the target\'s units; IR 8, opset 13. '
        + 'json: the weights and the preprocessing in the layout its `format` and `version` name (README, "Export").',
      params: ModelParams, querystring: ExportQuery,
      response: {
        200: {
          description: 'The model file (Content-Disposition names it)',
          content: {
            'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            'application/json': { schema: { type: 'object', additionalProperties: true } },
          },
        } as never,
        ...errorResponses(400, 404),
      },
    },
  }, async (request, reply) => {
    const file = await models.export(request.params.id, request.query.format);
    reply.header('content-disposition', `attachment; filename="${file.filename}"`);
    if (file.onnx) return reply.type('application/octet-stream').send(Buffer.from(file.onnx.buffer, file.onnx.byteOffset, file.onnx.byteLength));
    return reply.type('application/json').send(JSON.stringify(file.json));
  });

  r.post('/v1/models/:id/evaluate', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'evaluate', summary: 'Score a model on a stored dataset (kept: GET …/evaluations)', tags: ['models'],
      params: ModelParams, body: EvaluateBody,
      response: { 200: EvaluateResponse.describe('Accuracy, loss and a confusion matrix, or MSE/MAE/R²'), ...errorResponses(400, 404, 413, 422) },
    },
  }, async (request) => models.evaluate(request.params.id, request.body.datasetId));
}
