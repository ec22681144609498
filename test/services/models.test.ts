// The models service without HTTP: predictions and evaluation over a trained model, the binary sigmoid's
// one column shaped into two probabilities, and refusals by kind.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/services/models/shape.js';
import { blobs, toCsv } from '../helpers/data.js';
import { csvUpload, jobRequest, services } from './helpers.js';

let s: Awaited<ReturnType<typeof services>>;
let modelId: string;
let datasetId: string;
const table = blobs(200, 2, ['no', 'yes'], 5);
beforeAll(async () => {
  s = await services();
  datasetId = (await s.datasets.upload(csvUpload(toCsv(table)))).id;
  const job = await s.jobs.submit(jobRequest(datasetId, { epochs: 5, seed: 1, output: 'sigmoid' }));
  for (;;) {
    const j = await s.jobs.get(job.id);
    if (j.status === 'succeeded') { modelId = j.modelId!; break; }
    if (j.status !== 'queued' && j.status !== 'running') throw new Error(`job ${j.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
});
afterAll(async () => s.close());

describe('models service', () => {
  it('predicts labels with both probabilities of a sigmoid model, the same inline and in the pool', async () => {
    const [p] = (await s.models.predict(modelId, [table.features[0]])).predictions;
    expect(p).toMatchObject({ label: table.labels[0] });
    const { probabilities } = p as { probabilities: number[] };
    expect(probabilities).toHaveLength(2);
    expect(probabilities[0] + probabilities[1]).toBeCloseTo(1, 6);
    const many = (await s.models.predict(modelId, Array.from({ length: 300 }, (_, i) => table.features[i % 200]))).predictions;
    expect(many[0]).toEqual(p);
  });

  it('evaluates on a stored dataset: accuracy, a confusion matrix whose counts add up', async () => {
    const scores = await s.models.evaluate(modelId, datasetId) as { rows: number; accuracy: number; confusionMatrix: number[][] };
    expect(scores.rows).toBe(200);
    expect(scores.accuracy).toBeGreaterThan(0.9);
    expect(scores.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(200);
  });

  it('refuses rows of the wrong width and unknown models by kind', async () => {
    await expect(s.models.predict(modelId, [[1, 2, 3]])).rejects.toMatchObject({ kind: 'unusable', code: 'invalid_input', details: { field: 'instances[0]' } });
    await expect(s.models.predict('nope', [[1, 2]])).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('classify: the first of equal maxima wins, a sigmoid column becomes two', () => {
    const two = classify({ classes: ['a', 'b'] }, Float32Array.of(0.25, 0.5), 2);
    expect(Array.from(two.probabilities)).toEqual([0.75, 0.25, 0.5, 0.5]);
    expect(Array.from(two.best)).toEqual([0, 0]);
    const three = classify({ classes: ['a', 'b', 'c'] }, Float32Array.of(0.2, 0.4, 0.4), 1);
    expect(Array.from(three.best)).toEqual([1]);
  });
});
