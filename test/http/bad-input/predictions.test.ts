// The bad-input battery, predictions: rows of the wrong width or number, values out of range: a clear 4xx that names what is wrong.
import { describe, expect, it } from 'vitest';
import {
  MAX_PREDICT_ROWS, api, expectError, modelId, nested, server, train, expectStillServing, useBatteryServer,
} from './battery.js';

useBatteryServer();

// ---------------------------------------------------------------- predictions

describe('predictions', () => {
  const predict = (body: unknown, headers?: Record<string, string>) =>
    typeof body === 'string' ? api.post(`/v1/models/${modelId}/predict`, body, { 'content-type': 'application/json', ...headers })
      : api.post(`/v1/models/${modelId}/predict`, body, headers);

  it('answers the control: well-formed rows predict', async () => {
    const res = await predict({ instances: train.features.slice(0, 3) });
    expect(res.status).toBe(200);
    expect(res.body.predictions).toHaveLength(3);
  });

  it('refuses rows of the wrong width, naming the row and the expected features', async () => {
    const error = expectError(await predict({ instances: [[1, 2, 3, 4], [1, 2, 3]] }), 422, 'invalid_input',
      /^instances\[1\] has 3 values; the model expects 4 \(f0, f1, f2, f3\)/);
    expect(error.details).toEqual({ field: 'instances[1]', expected: 4, actual: 3 });
    expectError(await predict({ instances: [[1, 2, 3, 4, 5]] }), 422, 'invalid_input', /^instances\[0\] has 5 values/);
  });

  it('refuses non-numbers, with the zod path of the cell', async () => {
    const error = expectError(await predict({ instances: [[1, 2, 3, 4], [1, '2', 3, 4]] }), 400, 'invalid_request', /^body\.instances\[1\]\[1\]: /);
    expect(error.details!.issues[0].path).toBe('body.instances[1][1]');
    expectError(await predict({ instances: [[1, null, 3, 4]] }), 400, 'invalid_request', /^body\.instances\[0\]\[1\]: .*null/);
    expectError(await predict({ instances: [{ f0: 1, f1: 2, f2: 'x', f3: 4 }] }), 400, 'invalid_request', /^body\.instances\[0\]\.f2: /);
    expectError(await predict({ instances: 'all of them' }), 400, 'invalid_request', /^body\.instances: /);
    expectError(await predict({ rows: [[1, 2, 3, 4]] }), 400, 'invalid_request', /body/);
  });

  it('takes rows keyed by feature name, equal to positional ones; refuses unknown and missing names, naming them', async () => {
    const positional = (await predict({ instances: [[1, 2, 3, 4]] })).body;
    const named = await predict({ instances: [{ f3: 4, f1: 2, f0: 1, f2: 3 }] });
    expect(named.status).toBe(200);
    expect(named.body).toEqual(positional);
    const error = expectError(await predict({ instances: [[1, 2, 3, 4], { f0: 1, f1: 2, f9: 3 }] }), 422, 'invalid_input',
      /^instances\[1\]: unknown feature\(s\) "f9"; missing feature\(s\) "f2", "f3"; the model takes f0, f1, f2, f3$/);
    expect(error.details).toEqual({ field: 'instances[1]', unknown: ['f9'], missing: ['f2', 'f3'] });
  });

  it('takes a CSV body with a header of feature names in any order, and answers CSV when asked', async () => {
    const rows = train.features.slice(0, 3);
    const positional = (await predict({ instances: rows })).body;
    const csv = `f2,f0,f3,f1\n${rows.map((r) => [r[2], r[0], r[3], r[1]].join(',')).join('\n')}\n`;
    const asJson = await api.post(`/v1/models/${modelId}/predict`, csv, { 'content-type': 'text/csv' });
    expect(asJson.status).toBe(200);
    expect(asJson.body).toEqual(positional);
    const res = await fetch(`${server.url}/v1/models/${modelId}/predict`, { method: 'POST', body: csv, headers: { 'content-type': 'text/csv', accept: 'text/csv' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toBe('label,p_cat,p_dog,p_eel');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(positional.predictions.map((p: { label: string }) => p.label));
    expect(Number(lines[1].split(',')[1])).toBe(positional.predictions[0].probabilities[0]);
    const bad = await api.post(`/v1/models/${modelId}/predict`, 'f0,f1,f2,extra\n1,2,3,4\n', { 'content-type': 'text/csv' });
    expectError(bad, 422, 'invalid_columns', /unknown column\(s\) "extra"; missing column\(s\) "f3"/);
    expectError(await api.post(`/v1/models/${modelId}/predict`, 'f0,f1,f2,f3\n1,2,x,4\n', { 'content-type': 'text/csv' }),
      422, 'invalid_cell', /line 2, column "f2"/);
  });

  it('refuses a body larger than MAX_PREDICT_ROWS rows of the model could be with 413, before parsing it', async () => {
    // 1000 rows of 4 features fit in about 100 kB; 30,000 tiny rows do not, and are not parsed to find out.
    const big = `{"instances": [${Array.from({ length: 30_000 }, () => '[1,2,3,4]').join(',')}]}`;
    const res = await predict(big);
    expectError(res, 413, 'payload_too_large', /larger than MAX_PREDICT_ROWS rows of this model can be/);
    expect((await predict({ instances: [[1, 2, 3, 4]] })).status).toBe(200);
  });

  it('refuses an empty batch and one over MAX_PREDICT_ROWS', async () => {
    expectError(await predict({ instances: [] }), 422, 'invalid_input', /^instances is empty/);
    const rows = Array.from({ length: MAX_PREDICT_ROWS + 1 }, () => [1, 2, 3, 4]);
    expectError(await predict({ instances: rows }), 422, 'invalid_input', new RegExp(`instances has ${MAX_PREDICT_ROWS + 1} rows; at most ${MAX_PREDICT_ROWS} per request \\(MAX_PREDICT_ROWS\\)`));
  });

  it('refuses deeply nested arrays as instances: 50 000 deep by their path, 100 000 deep by their size, unparsed', async () => {
    expectError(await predict(`{"instances": ${nested(50_000)}}`), 400, 'invalid_request', /^body\.instances\[0\]\[0\]: .*received array/);
    expectError(await predict(`{"instances": ${nested(100_000)}}`), 413, 'payload_too_large', /MAX_PREDICT_ROWS/);
  });

  // 1e39 is a finite double but Infinity as float32: refused, not passed to the engine.
  it('refuses a value past the float32 range, naming the cell', async () => {
    const res = await predict('{"instances": [[1, 1e39, 3, 4]]}');
    expectError(res, 422, 'invalid_input', /instances\[0\]\[1\]/);
  });

  // 3e38 fits float32, but times a weight it overflows: the outputs would be NaN. Refused by row, on
  // the event loop and in the prediction pool alike, never a NaN answer or a 500.
  it('refuses finite values too large for the model, naming the row, in /v1, V2 and evaluate', async () => {
    const huge = [3.4e38, 3.4e38, 3.4e38, 3.4e38];
    const small = expectError(await predict({ instances: [train.features[0], huge] }), 422, 'invalid_input',
      /^instances\[1\] holds values too large for this model: its outputs overflow/);
    expect(small.details).toEqual({ field: 'instances[1]' });
    const many = Array.from({ length: 300 }, (_, i) => (i === 257 ? huge : train.features[i % 10]));
    expectError(await predict({ instances: many }), 422, 'invalid_input', /^instances\[257\] holds values too large/);
    const v2 = await api.post(`/v2/models/${modelId}/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: huge }] });
    expect(v2.status).toBe(400);
    expect(v2.body.error).toMatch(/^inputs\[0\] row 0: holds values too large for this model/);
    const dataset = await api.post('/v1/datasets?name=huge', { features: [train.features[0], huge, train.features[2]], labels: ['cat', 'dog', 'eel'] });
    expect(dataset.status).toBe(201);
    const evaluated = expectError(await api.post(`/v1/models/${modelId}/evaluate`, { datasetId: dataset.body.id }), 422, 'invalid_input',
      /row 1: holds values too large for this model/);
    expect(evaluated.details).toEqual({ field: 'datasetId', row: 1 });
  });
});

describe('after the whole battery', () => expectStillServing(5));
