// The datasets service without HTTP: the upload pipeline chooses the parser by media type, enforces the
// byte limit, stores all or nothing, and refuses what it cannot read with a kind and a code.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors.js';
import { ServiceError } from '../../src/services/errors.js';
import { blobs, toCsv } from '../helpers/data.js';
import { csvUpload, jobRequest, services } from './helpers.js';

let s: Awaited<ReturnType<typeof services>>;
beforeEach(async () => { s = await services({ MAX_UPLOAD_BYTES: '4096' }); });
afterEach(async () => s.close());

describe('datasets service', () => {
  it('parses a CSV stream, a JSON document and stores them', async () => {
    const csv = await s.datasets.upload(csvUpload('x1,x2,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n', { name: 'xor', target: 'label' }));
    expect(csv).toMatchObject({ name: 'xor', rows: 4, features: 2, featureNames: ['x1', 'x2'], classes: ['no', 'yes'] });
    const json = await s.datasets.upload({ type: 'application/json', body: { features: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0] } });
    expect(json).toMatchObject({ name: 'dataset', rows: 4, classes: [0, 1] });
    expect((await s.datasets.list(10, 0)).total).toBe(2);
    expect(await s.datasets.get(csv.id)).toEqual(csv);
  });

  it('refuses a media type it does not read, and a declared length past the limit, storing nothing', async () => {
    await expect(s.datasets.upload({ type: 'image/png', body: null })).rejects.toMatchObject({ kind: 'unsupported', code: 'unsupported_media_type' });
    await expect(s.datasets.upload({ ...csvUpload('a,b\n1,2\n'), length: 5000 })).rejects.toMatchObject({ kind: 'too_large', code: 'payload_too_large' });
    expect((await s.datasets.list(10, 0)).total).toBe(0);
  });

  it('stops a CSV stream the moment it crosses MAX_UPLOAD_BYTES', async () => {
    const big = toCsv(blobs(400, 4, ['a', 'b']));
    expect(big.length).toBeGreaterThan(4096);
    const err = await s.datasets.upload(csvUpload(big)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ kind: 'too_large', details: { limit: 4096 } });
  });

  it('answers not_found and conflict (a queued job needs the rows) by kind', async () => {
    await expect(s.datasets.get('nope')).rejects.toMatchObject({ kind: 'not_found', code: 'not_found' });
    const d = await s.datasets.upload(csvUpload(toCsv(blobs(20, 2, ['a', 'b']))));
    const job = await s.jobs.submit(jobRequest(d.id, { epochs: 10_000 }));
    const err = await s.datasets.delete(d.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ kind: 'conflict', code: 'dataset_in_use' });
    await s.jobs.cancel(job.id);
    await s.datasets.delete(d.id);
    await expect(s.datasets.get(d.id)).rejects.toMatchObject({ kind: 'not_found' });
  });
});
