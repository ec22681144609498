// The bad-input battery, uploads: malformed CSV, JSON and IDX datasets, wrong types and sizes, prototype keys: a clear 4xx that names what is wrong, and nothing stored.
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { blobs, idx, toCsv } from '../../helpers/data.js';
import {
  BOUNDARY, MAX_UPLOAD_BYTES, api, classes, csvOver, csvUnder, datasetCount, datasetId, expectError, form, jobCount, multipartFile, nested, pieces, postCsv, postJson, rawPost, refusedUpload, server, expectStillServing, useBatteryServer,
} from './battery.js';

useBatteryServer();

// ---------------------------------------------------------------- CSV

describe('CSV uploads', () => {
  const header = 'a,b,label\n';

  it('refuses a row with too few fields, naming its line and both counts', async () => {
    const error = await refusedUpload(() => postCsv(`${header}1,2,x\n3,4,y\n5,6\n7,8,x\n`), 400, 'invalid_csv',
      /^line 4 has 2 fields, expected 3/);
    expect(error.details).toEqual({ line: 4, expected: 3, actual: 2 });
  });

  it('refuses a row with too many fields', async () => {
    const error = await refusedUpload(() => postCsv(`${header}1,2,x\n3,4,y,9\n`), 400, 'invalid_csv', /^line 3 has 4 fields, expected 3/);
    expect(error.details).toMatchObject({ line: 3, actual: 4 });
  });

  it('refuses an unterminated quote, naming the line and column where the field opened', async () => {
    const error = await refusedUpload(() => postCsv(`${header}1,2,x\n3,"4,y\n5,6,x\n`), 400, 'invalid_csv',
      /^line 3, column 2: a quoted field is never closed/);
    expect(error.details).toEqual({ line: 3, column: 2 });
  });

  it('refuses text after a closing quote', async () => {
    await refusedUpload(() => postCsv(`${header}1,2,x\n3,"4"5,y\n`), 400, 'invalid_csv', /^line 3, column 2: a closing quote/);
  });

  it('refuses a non-numeric cell, naming line, column and header', async () => {
    const error = await refusedUpload(() => postCsv(`${header}1,2,x\n3,four,y\n`), 422, 'invalid_cell',
      /^line 3, column 2 \("b"\): "four" is not a number/);
    expect(error.details).toMatchObject({ line: 3, column: 2, field: 'b', value: 'four' });
  });

  it('refuses an empty cell', async () => {
    await refusedUpload(() => postCsv(`${header}1,2,x\n3,,y\n`), 422, 'invalid_cell', /^line 3, column 2 \("b"\) is empty/);
  });

  it.each([
    ['NaN', 'NaN,2,x', /^line 3, column 1 \("a"\): "NaN" is not finite/],
    ['Infinity', '1,Infinity,x', /^line 3, column 2 \("b"\): "Infinity" is not finite/],
    ['-inf', '-inf,2,x', /^line 3, column 1 \("a"\): "-inf" is not finite/],
    ['a number past float32', '1,1e39,x', /^line 3, column 2 \("b"\): "1e39" is outside the float32 range/],
  ])('refuses %s in a feature', async (_name, row, message) => {
    await refusedUpload(() => postCsv(`${header}1,2,y\n${row}\n`), 422, 'invalid_cell', message);
  });

  it('refuses a non-finite or empty target', async () => {
    await refusedUpload(() => postCsv(`${header}1,2,3\n4,5,NaN\n`), 422, 'invalid_cell', /^line 3, column 3 \("label"\): "NaN" is not finite/);
    await refusedUpload(() => postCsv(`${header}1,2,x\n4,5,\n`), 422, 'invalid_cell', /^line 3, column 3 \("label"\): the target is empty/);
  });

  it('counts lines like an editor: CRLF endings and blank lines', async () => {
    await refusedUpload(() => postCsv('a,b,label\r\n1,2,x\r\n\r\n3,oops,y\r\n'), 422, 'invalid_cell', /^line 4, column 2/);
  });

  it('names the right line deep in a body that arrives in many chunks', async () => {
    const rows = toCsv(blobs(2000, 4, classes, 3)).split('\n');
    rows[1500] = rows[1500].replace(/^[^,]+/, 'x1'); // line 1501: the header is line 1
    const bytes = Buffer.from(rows.join('\n'));
    const res = await rawPost('/v1/datasets', { 'content-type': 'text/csv' }, pieces(bytes, 997));
    const error = expectError(res, 422, 'invalid_cell', /^line 1501, column 1 \("f0"\): "x1" is not a number/);
    expect(error.details).toMatchObject({ line: 1501, column: 1 });
  });

  it('refuses an empty body, a body of blank lines, and a header without rows', async () => {
    await refusedUpload(() => postCsv(''), 400, 'empty_dataset', /empty/);
    await refusedUpload(() => postCsv('\n\n\n'), 400, 'empty_dataset', /no header row/);
    await refusedUpload(() => postCsv(header), 422, 'empty_dataset', /header but no data rows/);
    await refusedUpload(() => postCsv('a,b,label'), 422, 'empty_dataset', /header but no data rows/);
  });

  it('refuses a header of one column, an unnamed column, and a repeated name', async () => {
    await refusedUpload(() => postCsv('label\nx\ny\n'), 422, 'no_features', /at least two columns/);
    await refusedUpload(() => postCsv('a,,label\n1,2,x\n'), 400, 'invalid_csv', /^line 1: column 2 of the header has no name/);
    await refusedUpload(() => postCsv('a,a,label\n1,2,x\n'), 400, 'invalid_csv', /^line 1: columns 1 and 2 are both named "a"/);
  });

  it('refuses a header that is not UTF-8, naming the line and column', async () => {
    const bytes = Buffer.concat([Buffer.from('a,'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(',label\n1,2,x\n3,4,y\n')]);
    await refusedUpload(() => postCsv(bytes), 400, 'invalid_csv', /^line 1, column 2: the text is not valid UTF-8/);
  });

  it('refuses a missing target column, naming it and the columns there are', async () => {
    const error = await refusedUpload(() => postCsv(`${header}1,2,x\n3,4,y\n`, '?target=species'), 422, 'invalid_target',
      /^target "species" is not a column of the CSV; the header has "a", "b", "label"/);
    expect(error.details).toMatchObject({ field: 'target', target: 'species' });
  });

  it('refuses regression on a text target, naming the target', async () => {
    await refusedUpload(() => postCsv(`${header}1,2,x\n3,4,y\n`, '?task=regression'), 422, 'non_numeric_target',
      /task=regression needs a numeric target, but "label" holds text/);
  });

  it('refuses a single-class training set', async () => {
    const error = await refusedUpload(() => postCsv(`${header}1,2,cat\n3,4,cat\n5,6,cat\n`), 422, 'single_class',
      /every row has the same label \("cat"\); classification needs at least two classes/);
    expect(error.details).toMatchObject({ target: 'label', class: 'cat' });
  });

  it('refuses unknown or invalid query options, naming them', async () => {
    const unknown = await refusedUpload(() => postCsv(`${header}1,2,x\n3,4,y\n`, '?nmae=typo'), 400, 'invalid_request', /Unrecognized key/);
    expect(unknown.details!.issues[0].path).toBe('querystring');
    const task = await refusedUpload(() => postCsv(`${header}1,2,x\n3,4,y\n`, '?task=clustering'), 400, 'invalid_request', /^querystring\.task:/);
    expect(task.details!.issues[0].path).toBe('querystring.task');
  });
});

// ---------------------------------------------------------------- content types and sizes

describe('content types and body sizes', () => {
  it('answers 415 to a type it does not read, naming the type and the ones it does', async () => {
    const error = await refusedUpload(() => api.post('/v1/datasets', '<rows/>', { 'content-type': 'application/xml' }),
      415, 'unsupported_media_type', /^Content-Type "application\/xml" is not accepted: send text\/csv, application\/json or multipart\/form-data/);
    expect(error).toBeTruthy();
    await refusedUpload(() => rawPost('/v1/datasets', {}, [Buffer.from('a,b,label\n1,2,x\n3,4,y\n')]), 415, 'unsupported_media_type',
      /^Content-Type "\(none\)" is not accepted/);
    await refusedUpload(() => rawPost('/v1/datasets', { 'content-type': 'application/zip' }, [Buffer.alloc(600_000)]), 415,
      'unsupported_media_type', /"application\/zip"/);
  });

  it('answers 415 on the job route too, naming the type', async () => {
    const before = await jobCount();
    expectError(await api.post('/v1/jobs', '<job/>', { 'content-type': 'application/xml' }), 415, 'unsupported_media_type',
      /^Content-Type "application\/xml" is not accepted by POST \/v1\/jobs/);
    expectError(await api.post('/v1/jobs', `{"datasetId": "${datasetId}"}`, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type',
      /^Content-Type "text\/plain" is not accepted by POST \/v1\/jobs/);
    expect(await jobCount()).toBe(before);
  });

  it('stores a CSV just under MAX_UPLOAD_BYTES, sent chunked (the control for the refusals below)', async () => {
    const csv = csvUnder(MAX_UPLOAD_BYTES);
    expect(csv.length).toBeLessThanOrEqual(MAX_UPLOAD_BYTES);
    expect(csv.length).toBeGreaterThan(MAX_UPLOAD_BYTES - 100);
    const before = await datasetCount();
    const res = await rawPost('/v1/datasets?name=just-under', { 'content-type': 'text/csv' }, pieces(Buffer.from(csv), 8192));
    expect(res.status).toBe(201);
    expect(await datasetCount()).toBe(before + 1);
  });

  const big = () => Buffer.from(csvOver(MAX_UPLOAD_BYTES * 1.5));

  it('refuses a CSV whose Content-Length is over the limit before reading it', async () => {
    const body = big();
    // Only the first 64 kB are sent and the request never ends: the header alone must decide.
    const error = await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': 'text/csv', 'content-length': String(body.length) }, [body.subarray(0, 65_536)], { end: false }),
      413, 'payload_too_large', new RegExp(`MAX_UPLOAD_BYTES \\(${MAX_UPLOAD_BYTES} bytes\\)`));
    expect(error.details).toEqual({ limit: MAX_UPLOAD_BYTES });
  });

  it('stops a chunked CSV (no Content-Length) as soon as it crosses the limit', async () => {
    const res = await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': 'text/csv' }, pieces(big(), 16_384), { end: false }),
      413, 'payload_too_large', /MAX_UPLOAD_BYTES/);
    expect(res).toBeTruthy();
  });

  it('closes the connection after a 413, so the rest of the upload is not read', async () => {
    const res = await rawPost('/v1/datasets', { 'content-type': 'text/csv' }, pieces(big(), 16_384), { end: false });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
  });

  it('stops a chunked multipart CSV file part as soon as it crosses the limit', async () => {
    const body = multipartFile('file', 'big.csv', big());
    await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, pieces(body, 16_384), { end: false }),
      413, 'payload_too_large', new RegExp(`MAX_UPLOAD_BYTES \\(${MAX_UPLOAD_BYTES} bytes\\)`));
  });

  it('stops a chunked multipart IDX part as soon as it crosses the limit', async () => {
    const n = Math.ceil((MAX_UPLOAD_BYTES * 1.5) / 16);
    const body = multipartFile('images', 'images.idx3', idx([n, 4, 4], new Uint8Array(n * 16)));
    await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, pieces(body, 16_384), { end: false }),
      413, 'payload_too_large', /MAX_UPLOAD_BYTES/);
  });

  it('refuses a multipart upload whose Content-Length is over the limit', async () => {
    const body = multipartFile('file', 'big.csv', big());
    await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(body.length) },
        [body.subarray(0, 65_536)], { end: false }),
      413, 'payload_too_large', /MAX_UPLOAD_BYTES/);
  });

  it('refuses a JSON dataset over the limit, with and without Content-Length', async () => {
    const t = blobs(Math.ceil((MAX_UPLOAD_BYTES * 1.5) / 40), 4, classes, 8);
    const body = Buffer.from(JSON.stringify(t));
    expect(body.length).toBeGreaterThan(MAX_UPLOAD_BYTES);
    const withLength = await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': 'application/json', 'content-length': String(body.length) }, [body.subarray(0, 65_536)], { end: false }),
      413, 'payload_too_large', new RegExp(`larger than MAX_UPLOAD_BYTES \\(${MAX_UPLOAD_BYTES} bytes\\)`));
    expect(withLength.details).toEqual({ limit: MAX_UPLOAD_BYTES });
    await refusedUpload(
      () => rawPost('/v1/datasets', { 'content-type': 'application/json' }, pieces(body, 16_384), { end: false }),
      413, 'payload_too_large', /MAX_UPLOAD_BYTES/);
  });

  it('refuses a job body over the route limit, naming the limit', async () => {
    const before = await jobCount();
    const body = Buffer.from(JSON.stringify({ datasetId, padding: 'x'.repeat(1_100_000) }));
    const res = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
      req.on('response', (r) => {
        let text = '';
        r.on('data', (d) => { text += d; });
        r.on('end', () => { req.destroy(); resolve({ status: r.statusCode!, body: JSON.parse(text) }); });
      });
      req.on('error', reject);
      req.end(body);
    });
    // 413 is not among /v1/jobs' documented answers yet, so this one is checked without the OpenAPI guard.
    expectError(res, 413, 'payload_too_large', /larger than the limit of this route \(1048576 bytes\)/);
    expect(await jobCount()).toBe(before);
  });
});

// ---------------------------------------------------------------- JSON datasets

describe('JSON datasets', () => {
  const path = '/v1/datasets';

  it('refuses invalid JSON, saying where it breaks', async () => {
    await refusedUpload(() => postJson(path, '{"features": [[1, 2], [3'), 400, 'invalid_json', /^the body is not valid JSON: .*JSON/);
    await refusedUpload(() => postJson(path, '{"features": [[1, 2]],, "labels": [0]}'), 400, 'invalid_json', /position \d+/);
  });

  it('refuses an empty body', async () => {
    await refusedUpload(() => postJson(path, ''), 400, 'invalid_json_dataset', /^the body is empty/);
  });

  it('refuses a body that is not the dataset object, naming the missing field', async () => {
    await refusedUpload(() => postJson(path, '[[1, 2], [3, 4]]'), 400, 'invalid_json_dataset', /the body must be an object/);
    const features = await refusedUpload(() => postJson(path, '{"labels": [0, 1]}'), 400, 'invalid_json_dataset', /^features must be an array/);
    expect(features.details).toMatchObject({ field: 'features' });
    const labels = await refusedUpload(() => postJson(path, '{"features": [[1], [2]], "labels": "ab"}'), 400, 'invalid_json_dataset', /^labels must be an array/);
    expect(labels.details).toMatchObject({ field: 'labels' });
  });

  it('refuses non-rectangular features, naming the row', async () => {
    const error = await refusedUpload(() => api.post(path, { features: [[1, 2], [3, 4], [5]], labels: [0, 1, 0] }), 400,
      'invalid_json_dataset', /^features\[2\] has 1 values, expected 2 like features\[0\]/);
    expect(error.details).toMatchObject({ field: 'features', row: 2, expected: 2, actual: 1 });
    await refusedUpload(() => api.post(path, { features: [[1, 2], 3], labels: [0, 1] }), 400, 'invalid_json_dataset',
      /^features\[1\] must be an array of numbers/);
  });

  it('refuses non-numbers in features, naming the cell', async () => {
    const error = await refusedUpload(() => api.post(path, { features: [[1, 2], [3, '4']], labels: [0, 1] }), 400,
      'invalid_json_dataset', /^features\[1\]\[1\] must be a finite number .*got the string "4"/);
    expect(error.details).toMatchObject({ field: 'features', row: 1, column: 1 });
    await refusedUpload(() => api.post(path, { features: [[1, null], [3, 4]], labels: [0, 1] }), 400, 'invalid_json_dataset',
      /^features\[0\]\[1\] must be a finite number .*got null/);
    await refusedUpload(() => postJson(path, '{"features": [[1, 1e39], [3, 4]], "labels": [0, 1]}'), 400, 'invalid_json_dataset',
      /^features\[0\]\[1\] must be a finite number \(within float32 range\), got 1e\+39/);
  });

  it('refuses a label count that does not match the rows', async () => {
    const error = await refusedUpload(() => api.post(path, { features: [[1, 2], [3, 4]], labels: [0, 1, 1] }), 400,
      'invalid_json_dataset', /^labels has 3 entries but features has 2 rows/);
    expect(error.details).toMatchObject({ field: 'labels', expected: 2, actual: 3 });
  });

  it('refuses mixed, empty or non-finite labels, naming the index', async () => {
    await refusedUpload(() => api.post(path, { features: [[1], [2]], labels: ['a', 1] }), 400, 'invalid_json_dataset', /^labels\[1\] is 1 but labels\[0\] is not/);
    await refusedUpload(() => api.post(path, { features: [[1], [2]], labels: ['a', ''] }), 400, 'invalid_json_dataset', /^labels\[1\] is an empty string/);
    await refusedUpload(() => postJson(path, '{"features": [[1], [2]], "labels": [0, -1e39]}'), 400, 'invalid_json_dataset', /^labels\[1\] must be a finite number/);
    await refusedUpload(() => api.post(path, { features: [[1], [2]], labels: [null, 1] }), 400, 'invalid_json_dataset', /^labels\[0\] must be a number or a string/);
  });

  it('refuses no rows, empty rows and a single class', async () => {
    await refusedUpload(() => api.post(path, { features: [], labels: [] }), 422, 'empty_dataset', /features has no rows/);
    await refusedUpload(() => api.post(path, { features: [[], []], labels: [0, 1] }), 422, 'no_features', /features\[0\] is empty/);
    await refusedUpload(() => api.post(path, { features: [[1], [2], [3]], labels: ['a', 'a', 'a'] }), 422, 'single_class',
      /every row has the same label \("a"\)/);
  });

  it('refuses 100 000 nested arrays as features without overflowing anything', async () => {
    const body = `{"features": ${nested(100_000)}, "labels": [1]}`;
    expect(body.length).toBeLessThan(MAX_UPLOAD_BYTES);
    await refusedUpload(() => postJson(path, body), 400, 'invalid_json_dataset', /^features\[0\]\[0\] must be a finite number .*got an array/);
  });

  it('refuses 40 000 nested objects (as deep as fits under the limit)', async () => {
    const body = '{"a":'.repeat(40_000) + '1' + '}'.repeat(40_000);
    expect(body.length).toBeLessThan(MAX_UPLOAD_BYTES);
    await refusedUpload(() => postJson(path, body), 400, 'invalid_json_dataset', /^unknown key\(s\) "a"/);
  });
});

// ---------------------------------------------------------------- prototype keys

describe('__proto__ and constructor.prototype keys', () => {
  it('refuses a __proto__ key in a dataset body, naming its path', async () => {
    const error = await refusedUpload(() => postJson('/v1/datasets', '{"features": [[1], [2]], "labels": [0, 1], "__proto__": {"polluted": true}}'),
      400, 'invalid_json', /the body holds the key body\.__proto__, which is refused/);
    expect(error.details).toEqual({ field: 'body.__proto__' });
  });

  it('refuses a __proto__ key spelled with unicode escapes, deep in a job spec', async () => {
    const before = await jobCount();
    const error = expectError(
      await postJson('/v1/jobs', `{"datasetId": "${datasetId}", "hidden": [{"units": 4, "\\u005f_proto__": {"units": 9999}}]}`),
      400, 'invalid_json', /body\.hidden\[0\]\.__proto__/);
    expect(error.details).toEqual({ field: 'body.hidden[0].__proto__' });
    expect(await jobCount()).toBe(before);
  });

  it('refuses constructor.prototype', async () => {
    await refusedUpload(() => postJson('/v1/datasets', '{"features": [[1], [2]], "labels": [0, 1], "constructor": {"prototype": {"x": 1}}}'),
      400, 'invalid_json', /body\.constructor\.prototype/);
  });

  it('refuses a __proto__ key 100 000 arrays deep with a message of reasonable length', async () => {
    const error = await refusedUpload(() => postJson('/v1/datasets', `{"features": ${nested(100_000, '{"__proto__": 1}')}, "labels": [1]}`),
      400, 'invalid_json', /__proto__/);
    expect(error.message.length).toBeLessThan(500);
  });

  it('treats "__proto__" as an ordinary label value: data, not a key', async () => {
    const res = await api.post('/v1/datasets?name=proto-labels', { features: [[1], [2], [3], [4]], labels: ['__proto__', 'constructor', '__proto__', 'constructor'] });
    expect(res.status).toBe(201);
    expect(res.body.classes).toEqual(['__proto__', 'constructor']);
  });
});

// ---------------------------------------------------------------- IDX

describe('IDX uploads', () => {
  const n = 12;
  const pixels = Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256);
  const labelBytes = Uint8Array.from({ length: n }, (_, i) => i % 3);
  const images = idx([n, 2, 2], pixels);
  const labels = idx([n], labelBytes);
  const post = (parts: Record<string, Uint8Array | string>) => api.post('/v1/datasets', form(parts));

  it('stores the well-formed pair (the control for the refusals below) and then deletes it', async () => {
    const res = await post({ images, labels });
    expect(res.status).toBe(201);
    expect((await api.del(`/v1/datasets/${res.body.id}`)).status).toBe(204);
  });

  it('refuses image and label counts that do not pair up', async () => {
    const error = await refusedUpload(() => post({ images, labels: idx([n - 1], labelBytes.subarray(1)) }), 422, 'idx_mismatch',
      /the images file holds 12 images but the labels file holds 11 labels/);
    expect(error.details).toEqual({ images: 12, labels: 11 });
  });

  it('refuses a file that is not IDX, showing its first bytes', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const error = await refusedUpload(() => post({ images: png, labels }), 400, 'invalid_idx', /^the images file is not IDX: it starts 89 50 4e 47/);
    expect(error.details).toMatchObject({ part: 'images' });
  });

  it('refuses an unknown data type', async () => {
    const odd = Buffer.from(labels);
    odd[2] = 0x0a;
    await refusedUpload(() => post({ images, labels: odd }), 400, 'invalid_idx', /^the labels file has unknown data type 0x0a/);
  });

  it('refuses truncated data and trailing bytes, with the byte counts', async () => {
    await refusedUpload(() => post({ images: images.subarray(0, images.length - 5), labels }), 400, 'invalid_idx',
      /^the images file is truncated: the header announces 48 bytes of data, only 43 arrived/);
    await refusedUpload(() => post({ images, labels: Buffer.concat([labels, Buffer.from([1, 2])]) }), 400, 'invalid_idx',
      /^the labels file has bytes after the 12 bytes of data its header announces/);
    await refusedUpload(() => post({ images: images.subarray(0, 7), labels }), 400, 'invalid_idx', /ends inside its header/);
  });

  it('refuses truncated or corrupt gzip', async () => {
    const gz = gzipSync(images);
    const corrupt = /^the images file is gzipped but its compressed data is corrupt or truncated/;
    await refusedUpload(() => post({ images: gz.subarray(0, gz.length - 6), labels }), 400, 'invalid_idx', corrupt);
    const badCrc = Buffer.from(gz);
    badCrc[gz.length - 8] ^= 0xff; // the trailer: CRC-32, then the length
    await refusedUpload(() => post({ images: badCrc, labels }), 400, 'invalid_idx', corrupt);
  });

  it('refuses swapped parts with a hint', async () => {
    await refusedUpload(() => post({ images: labels, labels: images }), 400, 'invalid_idx', /are the images and labels parts swapped\?/);
  });

  it('refuses a header announcing more data than allowed, before any of it arrives', async () => {
    const huge = Buffer.alloc(12);
    huge[2] = 0x08;
    huge[3] = 2;
    huge.writeUInt32BE(65_536, 4);
    huge.writeUInt32BE(65_536, 8);
    await refusedUpload(() => post({ images: huge, labels }), 413, 'payload_too_large', /^the images file announces more than \d+ bytes of data, the limit \(MAX_UPLOAD_BYTES\)/);
  });

  it('refuses a single class and an empty file', async () => {
    await refusedUpload(() => post({ images, labels: idx([n], new Uint8Array(n)) }), 422, 'single_class', /classification needs at least two classes/);
    await refusedUpload(() => post({ images: new Uint8Array(0), labels }), 400, 'empty_dataset', /the images file is empty/);
  });

  it('refuses incomplete or mixed multipart bodies, naming the part', async () => {
    await refusedUpload(() => post({ images }), 400, 'invalid_multipart', /the IDX upload lacks its "labels" part/);
    await refusedUpload(() => post({ labels }), 400, 'invalid_multipart', /lacks its "images" part/);
    await refusedUpload(() => post({ pictures: images, labels }), 400, 'invalid_multipart', /unexpected file part "pictures"/);
    await refusedUpload(() => post({ file: Buffer.from('a,b,label\n1,2,x\n3,4,y\n'), images }), 400, 'invalid_multipart', /not both/);
    await refusedUpload(() => post({ name: 'only a field' }), 400, 'empty_dataset', /no file part/);
  });

  it('refuses a multipart CSV with the same line and column messages as a plain one', async () => {
    await refusedUpload(() => post({ file: Buffer.from('a,b,label\n1,2,x\n3,,y\n') }), 422, 'invalid_cell', /^line 3, column 2 \("b"\) is empty/);
  });
});

describe('after the whole battery', () => expectStillServing(50));
