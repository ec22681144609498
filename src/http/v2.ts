// /v2: the Open Inference Protocol (KServe V2, Triton) over HTTP/JSON — health, server and model
// metadata, inference — so that protocol clients can call our models; errors in its {"error": "…"} shape.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PACKAGE } from '../package-info.js';
import { errors } from '../services/errors.js';
import type { ModelInfo } from '../services/models/index.js';
import { classify, values } from '../services/models/shape.js';
import { plainSerializer } from './fast-path.js';
import { ModelParams } from './schemas.js';

const VersionParams = z.object({
  id: z.string().min(1).max(100).describe('The registry name'),
  version: z.string().regex(/^\d+$/, 'a version is a whole number').describe('1, 2, …'),
});

/** The one input tensor every model takes: rows × features, in the units the dataset was uploaded in. */
const INPUT = 'input';

/**
 * Datatypes whose JSON data is numbers: each is read into the model's float32 input after a check that
 * the value is one the type can hold (an INT8 of 300 is the client's mistake, not ours to clip).
 */
const NUMERIC: Record<string, { integer: boolean; min: number; max: number }> = {
  FP16: { integer: false, min: -65504, max: 65504 },
  FP32: { integer: false, min: -3.4028234663852886e38, max: 3.4028234663852886e38 },
  // FP64 and the 64-bit integers still go through float32: beyond its range they would become ±∞.
  FP64: { integer: false, min: -3.4028234663852886e38, max: 3.4028234663852886e38 },
  INT8: { integer: true, min: -(2 ** 7), max: 2 ** 7 - 1 },
  INT16: { integer: true, min: -(2 ** 15), max: 2 ** 15 - 1 },
  INT32: { integer: true, min: -(2 ** 31), max: 2 ** 31 - 1 },
  // 2⁶³ and 2⁶⁴: the doubles JSON parses the largest INT64 and UINT64 into.
  INT64: { integer: true, min: -(2 ** 63), max: 2 ** 63 },
  UINT8: { integer: true, min: 0, max: 2 ** 8 - 1 },
  UINT16: { integer: true, min: 0, max: 2 ** 16 - 1 },
  UINT32: { integer: true, min: 0, max: 2 ** 32 - 1 },
  UINT64: { integer: true, min: 0, max: 2 ** 64 },
};
/** Datatypes of the protocol that a model of numeric features cannot take. */
const NOT_NUMERIC = ['BOOL', 'BYTES', 'BF16'];

// ---------------------------------------------------------------- wire shapes

const V2Error = z.object({
  error: z.string().describe('What went wrong and what to do about it'),
}).meta({ id: 'V2Error', description: 'The Open Inference Protocol error object' });

/** Error responses for the given statuses, plus those every route can give (401, 503). */
function v2Errors<S extends 400 | 404 | 413>(...statuses: S[]): Record<S | 401 | 503, typeof V2Error> {
  const text: Record<number, string> = {
    400: 'Malformed request: body, shape, datatype or data that the model cannot take',
    401: 'Missing or wrong `Authorization: Bearer <API_KEY>` (only when the service runs with API_KEY)',
    404: 'No such model',
    413: 'The body is larger than the route limit',
    503: 'Not ready: starting, shutting down or overloaded; retry later',
  };
  const all: number[] = [...new Set<number>([...statuses, 401, 503])].sort();
  return Object.fromEntries(all.map((s) => [s, V2Error.describe(text[s])])) as Record<S | 401 | 503, typeof V2Error>;
}

/** The health routes are open to all (no 401); they fail only as 503. */
const unavailable = { 503: V2Error.describe('Not ready (starting or shutting down) or overloaded; retry later') };

const ServerMetadata = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()).describe('Protocol extensions supported: none'),
}).meta({ id: 'V2ServerMetadata' });

const Live = z.object({ live: z.boolean() }).meta({ id: 'V2ServerLive' });
const Ready = z.object({ ready: z.boolean() }).meta({ id: 'V2ServerReady' });
const ModelReady = z.object({ name: z.string(), ready: z.boolean() }).meta({ id: 'V2ModelReady' });

const MetadataTensor = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()).describe('-1 for a dimension of any size (the rows)'),
}).meta({ id: 'V2MetadataTensor' });

const ModelMetadata = z.object({
  name: z.string().describe('The registry name, or the model id of an unnamed model'),
  versions: z.array(z.string()).optional().describe('The version this metadata describes'),
  platform: z.string(),
  inputs: z.array(MetadataTensor),
  outputs: z.array(MetadataTensor),
  parameters: z.object({
    id: z.string().describe('The model id'),
    task: z.enum(['classification', 'regression']),
    classes: z.array(z.union([z.string(), z.number()])).nullable()
      .describe('The labels in the order of the probabilities columns; null for regression'),
    feature_names: z.array(z.string()).describe('The columns of the input, in order'),
  }).describe('Not in the protocol: what a client needs to read the outputs'),
}).meta({ id: 'V2ModelMetadata' });

const Parameters = z.record(z.string(), z.unknown()).describe('Accepted and ignored');

const InferInput = z.object({
  name: z.string().describe(`The input tensor: "${INPUT}"`),
  shape: z.array(z.number().int().min(0)).describe('[rows, features]'),
  datatype: z.string().describe(`One of ${Object.keys(NUMERIC).join(', ')}`),
  parameters: Parameters.optional(),
  data: z.array(z.unknown()).describe('Row-major: flat, or nested as deep as the shape'),
});

const InferRequest = z.object({
  id: z.string().optional().describe('Echoed in the response'),
  parameters: Parameters.optional(),
  inputs: z.array(InferInput).min(1),
  outputs: z.array(z.object({ name: z.string(), parameters: Parameters.optional() })).optional()
    .describe('The outputs to return (default: all)'),
}).meta({ id: 'V2InferenceRequest' });

const OutputTensor = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: z.string(),
  data: z.array(z.union([z.number(), z.string()])).describe('Row-major, flat'),
});

const InferResponse = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().describe('The request\'s id, or the id this service gave the request'),
  outputs: z.array(OutputTensor),
}).meta({ id: 'V2InferenceResponse' });

type Tensor = z.infer<typeof OutputTensor>;
type Datatype = (typeof NUMERIC)[string];

// ---------------------------------------------------------------- routes

export default async function v2Routes(app: FastifyInstance, opts: { healthOnly: boolean }) {
  // Under its own prefix so that unknown /v2 paths get the protocol's 404 too.
  await app.register(v2Protocol, { prefix: '/v2', healthOnly: opts.healthOnly });
}

async function v2Protocol(app: FastifyInstance, opts: { healthOnly: boolean }) {
  const { config } = app;
  const { models, jobs } = app.services;
  const r = app.withTypeProvider<ZodTypeProvider>();

  // Ready from the moment the pool started (services' onReady ran before ours; migrations ran at
  // registration) until shutdown starts, when load balancers must stop sending us requests.
  let started = false;
  let closing = false;
  app.addHook('onReady', async () => { started = true; });
  app.addHook('preClose', async () => { closing = true; });
  const notReady = (): string | null => {
    if (closing || !jobs.ready()) return 'the service is shutting down: retry on another instance or shortly';
    if (!app.store.healthy()) return 'the service cannot write to its database (see its log): retry on another instance';
    if (!started) return 'the service is starting: retry shortly';
    return null;
  };

  // Every failure reaches the client as {"error": "message"}: the app's error handler, the API key
  // check and the overload guard all answer {"error":{code,message}}, which is rewritten here, before
  // serialisation, so that the status and words stay theirs.
  app.addHook('preSerialization', async (_request, reply, payload: unknown) => {
    if (reply.statusCode < 400) return payload;
    const error = (payload as { error?: unknown } | null)?.error;
    if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
      return { error: (error as { message: string }).message };
    }
    return payload;
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  r.get('/', {
    schema: {
      operationId: 'v2ServerMetadata', summary: 'Server metadata', tags: ['v2'],
      response: { 200: ServerMetadata.describe('Name, version and extensions'), ...v2Errors() },
    },
  }, async () => ({ name: PACKAGE.name, version: PACKAGE.version, extensions: [] }));

  r.get('/health/live', {
    schema: {
      operationId: 'v2ServerLive', summary: 'Liveness (Kubernetes livenessProbe)', tags: ['v2'], security: [],
      response: { 200: Live.describe('The process answers'), ...unavailable },
    },
  }, async () => ({ live: true }));

  r.get('/health/ready', {
    schema: {
      operationId: 'v2ServerReady', summary: 'Readiness (Kubernetes readinessProbe)', tags: ['v2'], security: [],
      description: '200 once the database is migrated and the worker pool started; 503 before, and again from the start of shutdown.',
      response: { 200: Ready.describe('Ready for inference'), ...unavailable },
    },
  }, async (_request, reply) => {
    const why = notReady();
    return why ? reply.code(503).send({ error: why }) : { ready: true };
  });

  // A worker node answers its health routes only.
  if (opts.healthOnly) return;

  // Each model route twice: /models/{ref} (an id, name, name@version or name@alias) and, as the protocol
  // names versions, /models/{name}/versions/{version}.
  const paths = [
    { suffix: '', params: ModelParams, ref: (p: Record<string, string>) => p.id, what: '' },
    {
      suffix: '/versions/:version', params: VersionParams, ref: (p: Record<string, string>) => `${p.id}@${p.version}`,
      what: ' (one version)',
    },
  ] as const;
  for (const path of paths) {
    const base = `/models/:id${path.suffix}`;
    const op = path.suffix ? 'Version' : '';

    r.get(base, {
      schema: {
        operationId: `v2ModelMetadata${op}`, summary: `Model metadata: its input and output tensors${path.what}`, tags: ['v2'],
        params: path.params, response: { 200: ModelMetadata.describe('The model'), ...v2Errors(400, 404) },
      },
    }, async (request) => {
      const info = await models.get(path.ref(request.params as Record<string, string>));
      return {
        name: info.name ?? info.id,
        ...(info.version !== null ? { versions: [String(info.version)] } : {}),
        platform: PACKAGE.name,
        inputs: [{ name: INPUT, datatype: 'FP32', shape: [-1, info.features] }],
        outputs: outputTensors(info),
        parameters: { id: info.id, task: info.task, classes: info.classes, feature_names: info.featureNames },
      };
    });

    r.get(`${base}/ready`, {
      schema: {
        operationId: `v2ModelReady${op}`, summary: `Whether a model is ready for inference${path.what}`, tags: ['v2'],
        params: path.params, response: { 200: ModelReady.describe('The model is loaded'), ...v2Errors(400, 404) },
      },
    }, async (request, reply) => {
      const why = notReady();
      if (why) return reply.code(503).send({ error: why });
      const info = await models.get(path.ref(request.params as Record<string, string>)); // or 404
      return { name: info.name ?? info.id, ready: true };
    });

    r.post(`${base}/infer`, {
      bodyLimit: 256 * 1024 * 1024,
      serializerCompiler: plainSerializer,
      helmet: false, // an API answer: no page for a browser to protect
      schema: {
        operationId: `v2ModelInfer${op}`, summary: `Inference${path.what}`, tags: ['v2'],
        description: `One input "${INPUT}" [rows, features] of a numeric datatype, data flat or nested. `
          + 'Classification gives "probabilities" FP32 [rows, classes] in the order of the model\'s classes and "label" [rows, 1] '
          + '(INT64 when every class is an integer, BYTES otherwise); regression gives "value" FP32 [rows, 1] in the target\'s units. '
          + 'JSON only: the binary tensor extension is not supported.',
        params: path.params, body: InferRequest,
        response: { 200: InferResponse.describe('The requested outputs'), ...v2Errors(400, 404, 413) },
      },
    }, async (request) => {
      const body = request.body;
      let wanted: string[] = [];
      const { info, out, rows } = await models.raw(path.ref(request.params as Record<string, string>), (model) => {
        wanted = selectOutputs(model, body.outputs);
        return readInput(model, body.inputs, config.maxPredictRows);
      });
      return {
        model_name: info.name ?? info.id,
        ...(info.version !== null ? { model_version: String(info.version) } : {}),
        // The request id the logs carry (X-Request-Id, or generated) when the client gave none.
        id: body.id ?? request.id,
        outputs: wanted.map((name) => outputTensor(name, info, out, rows)),
      };
    });
  }
}

// ---------------------------------------------------------------- tensors

const invalid = errors.invalidTensor;

function labelDatatype(classes: (string | number)[]): 'INT64' | 'BYTES' {
  return classes.every((c) => typeof c === 'number' && Number.isInteger(c)) ? 'INT64' : 'BYTES';
}

function outputTensors(info: ModelInfo): z.infer<typeof MetadataTensor>[] {
  if (info.task === 'regression') return [{ name: 'value', datatype: 'FP32', shape: [-1, 1] }];
  const classes = info.classes!;
  return [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, classes.length] },
    { name: 'label', datatype: labelDatatype(classes), shape: [-1, 1] },
  ];
}

/** The output names asked for, in the order asked, or all of the model's; unknown names are a 400. */
function selectOutputs(info: ModelInfo, requested: { name: string }[] | undefined): string[] {
  const names = outputTensors(info).map((t) => t.name);
  if (!requested || requested.length === 0) return names;
  requested.forEach((o, i) => {
    if (!names.includes(o.name)) {
      throw invalid(`outputs[${i}].name`, `model ${info.id} has no output "${o.name}"; it has ${names.map((n) => `"${n}"`).join(', ')}`);
    }
  });
  return [...new Set(requested.map((o) => o.name))];
}

/** Checks the one input tensor against the model and packs it, row-major, into float32: x is rows × features. */
function readInput(
  info: ModelInfo, inputs: z.infer<typeof InferInput>[], maxRows: number,
): { x: Float32Array; rows: number } {
  if (inputs.length !== 1) {
    throw invalid('inputs', `model ${info.id} takes one input, "${INPUT}", but the request has ${inputs.length}`);
  }
  const input = inputs[0];
  const at = 'inputs[0]';
  if (input.name !== INPUT) throw invalid(`${at}.name`, `model ${info.id} has no input "${input.name}"; its input is "${INPUT}"`);
  const type = NUMERIC[input.datatype];
  if (!type) {
    throw invalid(`${at}.datatype`, NOT_NUMERIC.includes(input.datatype)
      ? `${input.datatype} data cannot feed a model of numeric features; send FP32 (or another numeric datatype)`
      : `"${input.datatype}" is not a datatype of the protocol; send one of ${Object.keys(NUMERIC).join(', ')}`);
  }
  if (input.parameters && 'binary_data_size' in input.parameters) {
    throw invalid(`${at}.parameters.binary_data_size`, 'binary tensor data is not supported; send the data as JSON');
  }
  const { shape } = input;
  const features = info.features;
  if (shape.length !== 2 || shape[1] !== features) {
    throw invalid(`${at}.shape`, `[${shape.join(', ')}] does not fit model ${info.id}, which takes [-1, ${features}]: rows × features`);
  }
  const rows = shape[0];
  if (rows === 0) throw invalid(`${at}.shape`, 'has no rows; send at least one');
  if (rows > maxRows) throw invalid(`${at}.shape`, `has ${rows} rows; at most ${maxRows} per request (MAX_PREDICT_ROWS)`);

  const x = new Float32Array(rows * features);
  const { data } = input;
  if (data.length > 0 && Array.isArray(data[0])) {
    // Nested: [[x₀₀, x₀₁, …], [x₁₀, …], …], one array per row.
    if (data.length !== rows) throw invalid(`${at}.data`, `has ${data.length} rows; shape [${shape.join(', ')}] says ${rows}`);
    for (let i = 0; i < rows; i++) {
      const row = data[i];
      if (!Array.isArray(row) || row.length !== features) {
        throw invalid(`${at}.data[${i}]`, `${Array.isArray(row) ? `has ${row.length} values` : 'is not an array'}; shape [${shape.join(', ')}] needs ${features} per row`);
      }
      for (let j = 0; j < features; j++) x[i * features + j] = value(row[j], type, input.datatype, `${at}.data[${i}][${j}]`);
    }
  } else {
    if (data.length !== x.length) {
      throw invalid(`${at}.data`, `has ${data.length} values; shape [${shape.join(', ')}] needs ${x.length}`);
    }
    for (let k = 0; k < x.length; k++) x[k] = value(data[k], type, input.datatype, `${at}.data[${k}]`);
  }
  return { x, rows };
}

function value(v: unknown, type: Datatype, datatype: string, field: string): number {
  if (typeof v !== 'number') throw invalid(field, `is ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}; ${datatype} data must be numbers`);
  if (type.integer && !Number.isInteger(v)) throw invalid(field, `is ${v}, not an integer as ${datatype} requires`);
  if (v < type.min || v > type.max) throw invalid(field, `is ${v}, outside the range of ${datatype}`);
  return v;
}

/** One output tensor from the model's raw outputs, out: rows × k (k = 1 for a sigmoid or a regression). */
function outputTensor(name: string, info: ModelInfo, out: Float32Array, rows: number): Tensor {
  if (name === 'value') return { name, shape: [rows, 1], datatype: 'FP32', data: values(out, rows) };
  const classes = info.classes!;
  const { probabilities, best } = classify(info, out, rows);
  if (name === 'probabilities') return { name, shape: [rows, classes.length], datatype: 'FP32', data: Array.from(probabilities) };
  const datatype = labelDatatype(classes);
  const labels = Array.from(best, (b) => (datatype === 'BYTES' ? String(classes[b]) : classes[b]));
  return { name, shape: [rows, 1], datatype, data: labels };
}
