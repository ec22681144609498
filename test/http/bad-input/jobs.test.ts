// The bad-input battery, jobs: malformed and unusable specs, unknown ids, finished jobs and the queue limit: a clear 4xx that names what is wrong, and nothing queued.
import { describe, expect, it } from 'vitest';
import {
  MAX_QUEUED_JOBS, api, datasetId, expectError, finishedJobId, jobCount, modelId, nested, postJson, server, expectStillServing, useBatteryServer,
} from './battery.js';

useBatteryServer();

// ---------------------------------------------------------------- job specs

describe('job specs', () => {
  async function refusedJob(body: unknown, status: number, code: string, message?: RegExp) {
    const before = await jobCount();
    const res = typeof body === 'string' ? await postJson('/v1/jobs', body) : await api.post('/v1/jobs', body);
    const error = expectError(res, status, code, message);
    expect(await jobCount()).toBe(before);
    return error;
  }
  const paths = (error: { details?: Record<string, any> }) => (error.details!.issues as { path: string }[]).map((i) => i.path).sort();

  it('refuses mistyped hyperparameters, with the zod path of each', async () => {
    const error = await refusedJob({ datasetId, epochs: '10', batchSize: 8.5, hidden: [{ units: '16' }], optimizer: { nesterov: 'yes' } },
      400, 'invalid_request', /^body\./);
    expect(paths(error)).toEqual(['body.batchSize', 'body.epochs', 'body.hidden[0].units', 'body.optimizer.nesterov']);
  });

  it('refuses out-of-range hyperparameters, with the zod path of each', async () => {
    const error = await refusedJob({
      datasetId, epochs: 0, batchSize: 0, l2: -1, seed: -1, validationSplit: 1,
      hidden: [{ units: 5000, dropout: 1 }], optimizer: { learningRate: 0, momentum: 1 },
    }, 400, 'invalid_request', / \(and \d+ more\)$/);
    expect(paths(error)).toEqual([
      'body.batchSize', 'body.epochs', 'body.hidden[0].dropout', 'body.hidden[0].units', 'body.l2',
      'body.optimizer.learningRate', 'body.optimizer.momentum', 'body.seed', 'body.validationSplit',
    ]);
    await refusedJob({ datasetId, hidden: [] }, 400, 'invalid_request', /^body\.hidden: /);
    await refusedJob({ datasetId, hidden: [{ units: 4, activation: 'swish' }] }, 400, 'invalid_request', /^body\.hidden\[0\]\.activation: /);
  });

  it('refuses unknown fields, top level and nested', async () => {
    const top = await refusedJob({ datasetId, epoch: 5 }, 400, 'invalid_request', /Unrecognized key: "epoch"/);
    expect(paths(top)).toEqual(['body']);
    const nestedKey = await refusedJob({ datasetId, optimizer: { lr: 0.1 } }, 400, 'invalid_request', /^body\.optimizer: Unrecognized key: "lr"/);
    expect(paths(nestedKey)).toEqual(['body.optimizer']);
  });

  it('refuses a body that is not an object, or no dataset', async () => {
    await refusedJob('[]', 400, 'invalid_request', /^body: .*expected object/);
    await refusedJob('"train please"', 400, 'invalid_request', /^body: /);
    await refusedJob({}, 400, 'invalid_request', /^body\.datasetId: /);
    await refusedJob('', 400, 'invalid_request', /^body: /); // an empty body is no body, which this route needs
    await refusedJob('{"datasetId": ', 400, 'invalid_json', /not valid JSON/);
  });

  it('refuses a dataset that does not exist, naming the field', async () => {
    const error = await refusedJob({ datasetId: 'no-such-dataset' }, 422, 'invalid_input', /dataset no-such-dataset does not exist/);
    expect(error.details).toEqual({ field: 'datasetId' });
  });

  it('refuses specs that cannot train on this dataset, naming the field', async () => {
    const sigmoid = await refusedJob({ datasetId, output: 'sigmoid' }, 422, 'invalid_spec', /a sigmoid output needs exactly two classes; the dataset has 3/);
    expect(sigmoid.details).toEqual({ field: 'output' });
    const linear = await refusedJob({ datasetId, output: 'linear' }, 422, 'invalid_spec', /a linear output is for regression/);
    expect(linear.details).toEqual({ field: 'output' });
    const early = await refusedJob({ datasetId, earlyStopping: { patience: 3 } }, 422, 'invalid_spec', /earlyStopping watches the validation loss: set validationSplit > 0/);
    expect(early.details).toEqual({ field: 'earlyStopping' });
    const loss = await refusedJob({ datasetId, loss: 'binary_cross_entropy' }, 422, 'invalid_spec', /loss 'binary_cross_entropy' needs a sigmoid output, but output is 'softmax'/);
    expect(loss.details).toEqual({ field: 'loss' });
    await refusedJob({ datasetId, faultInjection: { kind: 'crash', atEpoch: 1 } }, 422, 'invalid_spec', /FAULT_INJECTION=1/);
  });

  it('ends a run whose loss explodes as diverged, with the epoch and advice, and keeps no model', async () => {
    const job = await api.post('/v1/jobs', { datasetId, epochs: 5, seed: 3, optimizer: { name: 'sgd', learningRate: 10, momentum: 0.99 } });
    expect(job.status).toBe(202);
    const done = await api.waitFor(job.body.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'failed', modelId: null, error: { code: 'diverged' } });
    expect(done.error.message).toMatch(/epoch \d+/);
    expect(done.error.message).toMatch(/learning rate|learningRate/);
  });

  it('refuses at submission a network or batch too large for a worker to hold, naming the field', async () => {
    const wide = Array.from({ length: 4 }, () => ({ units: 4096 }));
    const network = await refusedJob({ datasetId, hidden: wide }, 422, 'invalid_spec', /the network has \d+ parameters, more than the 16777216 allowed/);
    expect(network.details).toEqual({ field: 'hidden' });
    const batch = await refusedJob({ datasetId, hidden: [{ units: 4096 }], batchSize: 65536 }, 422, 'invalid_spec', /use a smaller batch/);
    expect(batch.details).toEqual({ field: 'batchSize' });
  });

  it('refuses at submission, in the engine\'s words, a network the engine would refuse: 64 features → 4096 → 4096', async () => {
    const features = Array.from({ length: 8 }, (_, i) => Array.from({ length: 64 }, (_, j) => (i * 64 + j) % 7));
    const wide = await api.post('/v1/datasets?name=wide', { features, labels: [0, 1, 0, 1, 0, 1, 0, 1] });
    expect(wide.status).toBe(201);
    const before = await jobCount();
    const error = await refusedJob({ datasetId: wide.body.id, hidden: [{ units: 4096 }, { units: 4096 }] }, 422, 'invalid_spec',
      /^the network has \d+ parameters, more than the 16777216 allowed; use fewer hidden units$/);
    expect(error.details).toEqual({ field: 'hidden' });
    expect(await jobCount()).toBe(before);
  });

  it('refuses 100 000 nested arrays as a job body', async () => {
    await refusedJob(nested(100_000), 400, 'invalid_request', /^body: .*expected object, received array/);
    await refusedJob(`{"datasetId": "${datasetId}", "hidden": ${nested(100_000)}}`, 400, 'invalid_request', /^body\.hidden\[0\]: /);
  });
});

// ---------------------------------------------------------------- unknown ids, finished jobs

describe('unknown ids and finished jobs', () => {
  it.each([
    ['GET', '/v1/datasets/nope', 'dataset nope does not exist'],
    ['DELETE', '/v1/datasets/nope', 'dataset nope does not exist'],
    ['GET', '/v1/jobs/nope', 'job nope does not exist'],
    ['GET', '/v1/jobs/nope/epochs', 'job nope does not exist'],
    ['GET', '/v1/jobs/nope/events', 'job nope does not exist'],
    ['POST', '/v1/jobs/nope/cancel', 'job nope does not exist'],
    ['GET', '/v1/models/nope', 'model nope does not exist'],
    ['DELETE', '/v1/models/nope', 'model nope does not exist'],
  ])('%s %s answers 404', async (method, path, message) => {
    expectError(await api.call(method, path), 404, 'not_found', new RegExp(`^${message}`));
  });

  it('answers 404 to predict and evaluate on an unknown model', async () => {
    expectError(await api.post('/v1/models/nope/predict', { instances: [[1, 2, 3, 4]] }), 404, 'not_found', /^model nope does not exist/);
    expectError(await api.post('/v1/models/nope/evaluate', { datasetId }), 404, 'not_found', /^model nope does not exist/);
  });

  it('answers 404 to an unknown route', async () => {
    const res = await fetch(`${server.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toEqual({ code: 'not_found', message: 'no route GET /v1/nothing-here' });
  });

  // The router refuses these before any route runs; frameworkErrors answers them in the one shape.
  it('answers an id past the router\'s 100-character limit in the one error shape', async () => {
    const res = await fetch(`${server.url}/v1/jobs/${'x'.repeat(101)}`);
    expect(res.status).toBe(414);
    expect((await res.json()).error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });

  it('answers a malformed percent-escape in the one error shape', async () => {
    const res = await fetch(`${server.url}/v1/jobs/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });

  it('refuses to evaluate on a dataset that does not exist, naming the field', async () => {
    const error = expectError(await api.post(`/v1/models/${modelId}/evaluate`, { datasetId: 'nope' }), 422, 'invalid_input', /dataset nope does not exist/);
    expect(error.details).toEqual({ field: 'datasetId' });
  });

  it('answers 409 to cancelling a finished job, and leaves it as it was', async () => {
    const before = (await api.get(`/v1/jobs/${finishedJobId}`)).body;
    expectError(await api.post(`/v1/jobs/${finishedJobId}/cancel`), 409, 'job_finished', /has already succeeded; only queued or running jobs can be cancelled/);
    const after = (await api.get(`/v1/jobs/${finishedJobId}`)).body;
    expect(after.status).toBe('succeeded');
    expect(after.modelId).toBe(before.modelId);
  });
});

// ---------------------------------------------------------------- the queue limit

describe('the queue limit', () => {
  it(`answers 429 with Retry-After past MAX_QUEUED_JOBS=${MAX_QUEUED_JOBS}, and queues again once there is room`, async () => {
    // One worker: a long job runs, MAX_QUEUED_JOBS more wait, the next is refused.
    const long = { datasetId, epochs: 10_000, batchSize: 1, hidden: [{ units: 32 }] };
    const running = await api.post('/v1/jobs', long);
    expect(running.status).toBe(202);
    await api.waitFor(running.body.id, ['running']);
    const queued = [];
    for (let i = 0; i < MAX_QUEUED_JOBS; i++) {
      const res = await api.post('/v1/jobs', { datasetId, epochs: 1 });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('queued');
      queued.push(res.body.id as string);
    }
    const before = await jobCount();
    const refused = await api.post('/v1/jobs', { datasetId, epochs: 1 });
    const error = expectError(refused, 429, 'queue_full', /the queue already holds 2 jobs \(MAX_QUEUED_JOBS\): retry later/);
    expect(error.details).toEqual({ limit: MAX_QUEUED_JOBS });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await jobCount()).toBe(before);

    // A dataset in use by queued or running jobs cannot be deleted.
    expectError(await api.del(`/v1/datasets/${datasetId}`), 409, 'dataset_in_use', new RegExp(`dataset ${datasetId} is used by a queued or running job`));

    // Cancelling a queued job makes room.
    expect((await api.post(`/v1/jobs/${queued[0]}/cancel`)).status).toBe(200);
    const next = await api.post('/v1/jobs', { datasetId, epochs: 1 });
    expect(next.status).toBe(202);
    queued.push(next.body.id);

    // The queued ones first: once the long job stops, the worker would start them.
    for (const id of [...queued.slice(1), running.body.id]) {
      const res = await api.post(`/v1/jobs/${id}/cancel`);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('cancelled');
    }
    expectError(await api.post(`/v1/jobs/${running.body.id}/cancel`), 409, 'job_finished', /has already cancelled/);
  });
});

describe('after the whole battery', () => expectStillServing(20));
