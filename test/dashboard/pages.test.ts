// The dashboard's pages in Chromium (Debian's package, driven by playwright-core) against the real
// service: the model page (full id, evaluation with a confusion matrix, a prediction that matches the
// API's), comparing two runs, a job with dropout, L2 and early stopping submitted from the form (and
// cloned), and a diverged job whose numbers stay inside their cells. Each test writes a screenshot to
// test-output/screenshots/ (and to SCREENSHOTS_DIR too when set: `SCREENSHOTS_DIR=docs/screenshots`
// refreshes the ones the README shows).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, blobsCsv as blobs, HAS_CHROMIUM, launchChromium, shot, upload, watchForErrors as watch } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

/** Three seeded Gaussian blobs in two features, named classes: a small, quick classification table. */
const blobsCsv = (rows: number) => blobs(rows, { seed: 3, d: 3, spread: 2.5 });

interface Job { id: string; status: string; modelId: string | null; error: { code: string } | null; spec: Record<string, unknown>; metrics: Record<string, unknown> | null }

async function finished(server: RunningServer, id: string): Promise<Job> {
  for (let i = 0; i < 600; i++) {
    const { body } = await api<Job>(server, 'GET', `/v1/jobs/${id}`);
    if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

/**
 * Console errors and uncaught exceptions. A 404 from GET …/evaluations is expected while the service
 * does not keep evaluations (the page then shows only fresh ones), so that one is let through.
 */
const watchForErrors = (page: Page) => watch(page, (m) => /\/evaluations$/.test(m.location().url) && /404/.test(m.text()));

/** The elements whose content is wider than their box: text spilling out of a cell. */
function overflowing(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((els) => els
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => `${el.tagName.toLowerCase()}: ${el.textContent?.slice(0, 60)}`));
}

describe.skipIf(!HAS_CHROMIUM)('dashboard pages in Chromium', () => {
  let browser: Browser;
  let server: RunningServer;
  let datasetId: string;
  let jobA: Job;
  let jobB: Job;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startServer({ env: { WORKERS: '1' } });
    datasetId = (await upload(server, blobsCsv(300), 'blobs')).id;
    // Two runs that differ in optimizer and learning rate, for the model and compare pages.
    const a = await api<Job>(server, 'POST', '/v1/jobs', {
      datasetId, hidden: [{ units: 16, activation: 'tanh' }], epochs: 12, batchSize: 16, seed: 1, validationSplit: 0.2,
      optimizer: { name: 'adam', learningRate: 0.02 }, modelName: 'blobs',
    });
    const b = await api<Job>(server, 'POST', '/v1/jobs', {
      datasetId, hidden: [{ units: 8, activation: 'relu' }], epochs: 12, batchSize: 16, seed: 1, validationSplit: 0.2,
      optimizer: { name: 'sgd', learningRate: 0.05, momentum: 0.9 },
    });
    expect([a.status, b.status]).toEqual([202, 202]);
    jobA = await finished(server, a.body.id);
    jobB = await finished(server, b.body.id);
    expect([jobA.status, jobB.status]).toEqual(['succeeded', 'succeeded']);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  it('model page: the full id, an evaluation with its confusion matrix, a prediction that matches the API', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    // From the job's Model link, which used to land on the models list.
    await page.goto(`${server.url}/#/jobs/${jobA.id}`);
    await page.locator('#job-model').click();
    await page.waitForURL(`**/#/models/${jobA.modelId}`);
    await expect.poll(() => page.locator('#model-id').textContent()).toBe(jobA.modelId);
    expect(await page.locator('#model-summary').textContent()).toContain('blobs');
    expect(await page.locator('#model-features').textContent()).toBe('x1, x2');
    expect(await page.locator('#model-classes').textContent()).toBe('blue, green, red');
    expect(await page.locator('#example-predict').textContent()).toContain(`/v1/models/${jobA.modelId}/predict`);
    expect(await page.locator('#example-v2').textContent()).toContain(`/v2/models/${jobA.modelId}/infer`);
    await expect.poll(() => page.locator('#chart-loss').getAttribute('data-points')).toBe('12');
    const stored = (await api(server, 'GET', `/v1/models/${jobA.modelId}/evaluations`)).status;

    // Evaluate on the training dataset: the page shows the API's figures and a 3×3 matrix of all rows.
    await page.locator('#evaluate-form select[name=datasetId]').selectOption(datasetId);
    await page.locator('#evaluate-form button[type=submit]').click();
    const matrix = page.locator('#confusion-matrix');
    await matrix.waitFor();
    const cells = (await matrix.locator('tbody td').allTextContents()).map(Number);
    expect(cells).toHaveLength(9);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(300);
    const evaluation = (await api<{ accuracy: number; confusionMatrix: number[][] }>(server, 'POST', `/v1/models/${jobA.modelId}/evaluate`, { datasetId })).body;
    expect(cells).toEqual(evaluation.confusionMatrix.flat());
    expect(await page.locator('#eval-accuracy').textContent()).toBe(`${(evaluation.accuracy * 100).toFixed(1)}%`);

    // Predict a row: the same label as the API gives.
    const rows = [[2.9, 3.2], [-0.2, 0.1]];
    const predicted = (await api<{ predictions: { label: string }[] }>(server, 'POST', `/v1/models/${jobA.modelId}/predict`, { instances: rows })).body;
    await page.locator('#predict-rows').fill(rows.map((r) => r.join(', ')).join('\n'));
    await page.locator('#predict-form button[type=submit]').click();
    await page.locator('#predictions tbody tr').nth(1).waitFor();
    expect(await page.locator('#predictions .prediction-label').allTextContents()).toEqual(predicted.predictions.map((p) => p.label));
    expect(await page.locator('#predictions thead th').allTextContents()).toEqual(['#', 'Label', 'p(blue)', 'p(green)', 'p(red)']);
    await shot(page, 'model');

    // Reopened, the page starts on the latest stored evaluation when the service keeps them.
    await page.reload();
    await page.locator('#evaluate').waitFor();
    if (stored === 200) {
      await page.locator('#confusion-matrix').waitFor();
      console.info('model page: GET /v1/models/{ref}/evaluations answered 200; the page opened on the stored evaluation');
    } else {
      expect(stored).toBe(404);
      await page.locator('#evaluations-unsupported').waitFor();
      console.info('model page: GET /v1/models/{ref}/evaluations answered 404; the page shows fresh evaluations only');
    }

    // A phone's width: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'model-phone');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('compare: two jobs ticked in the list, their curves overlaid and their settings side by side', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    await page.goto(`${server.url}/#/jobs`);
    for (const job of [jobA, jobB]) await page.locator(`#jobs tr[data-job="${job.id}"] input[name=compare]`).check();
    await shot(page, 'jobs');
    await page.locator('#compare-jobs').click();
    await page.waitForURL(/#\/compare\?jobs=/);
    expect(new URL(page.url()).hash).toBe(`#/compare?jobs=${jobA.id},${jobB.id}`);

    for (const chart of ['#compare-loss', '#compare-val-loss', '#compare-accuracy', '#compare-val-accuracy']) {
      await expect.poll(() => page.locator(chart).getAttribute('data-points')).toBe('12');
      // One curve per job in the legend, besides the epoch.
      expect(await page.locator(`${chart} .u-legend .u-series`).count()).toBe(3);
    }
    const table = page.locator('#compare-table');
    expect(await table.locator('thead th[data-job]').evaluateAll((ths) => ths.map((th) => th.getAttribute('data-job')))).toEqual([jobA.id, jobB.id]);
    const row = (label: string) => table.locator(`tr[data-row="${label}"]`);
    expect(await row('Optimizer').locator('td').allTextContents()).toEqual(['adam', 'sgd']);
    expect(await row('Optimizer').getAttribute('class')).toBe('differs');
    expect(await row('Learning rate').locator('td').allTextContents()).toEqual(['0.02', '0.05']);
    expect(await row('Batch size').getAttribute('class')).toBeNull(); // the same in both: not marked
    expect(await row('Final loss').locator('td').count()).toBe(2);
    await shot(page, 'compare');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('job form: a job with dropout, L2 and early stopping submitted from the page, then cloned', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    await page.goto(`${server.url}/#/new?dataset=${datasetId}`);
    const form = page.locator('#job-form');
    await expect.poll(() => form.locator('select[name=datasetId]').inputValue()).toBe(datasetId);
    await form.locator('input[name=hidden]').fill('16, 8');
    await form.locator('input[name=dropout]').fill('0.2, 0.1');
    await form.locator('select[name=optimizer]').selectOption('sgd');
    await form.locator('input[name=learningRate]').fill('0.05');
    await form.locator('input[name=momentum]').fill('0.8');
    await form.locator('input[name=nesterov]').check();
    await form.locator('input[name=l2]').fill('0.001');
    await form.locator('input[name=epochs]').fill('40');
    await form.locator('input[name=validationSplit]').fill('0.25');
    await form.locator('input[name=earlyStopping]').check();
    await form.locator('input[name=patience]').fill('3');
    await form.locator('input[name=minDelta]').fill('0.001');
    await form.locator('input[name=seed]').fill('5');
    await form.locator('input[name=modelName]').fill('blobs-dropout');
    await shot(page, 'new-job');
    await form.locator('button[type=submit]').click();
    await page.waitForURL(/#\/jobs\/[^/?]+$/);
    const id = decodeURIComponent(page.url().split('#/jobs/')[1]);

    const { body: job } = await api<Job & { spec: { hidden: unknown[]; l2: number; earlyStopping: unknown; optimizer: Record<string, unknown>; validationSplit: number } }>(server, 'GET', `/v1/jobs/${id}`);
    expect(job.spec.hidden).toEqual([{ units: 16, activation: 'relu', dropout: 0.2 }, { units: 8, activation: 'relu', dropout: 0.1 }]);
    expect(job.spec.l2).toBe(0.001);
    expect(job.spec.earlyStopping).toEqual({ patience: 3, minDelta: 0.001 });
    expect(job.spec.optimizer).toMatchObject({ name: 'sgd', learningRate: 0.05, momentum: 0.8, nesterov: true });
    expect(job.spec.validationSplit).toBe(0.25);
    expect(job.spec).toMatchObject({ epochs: 40, seed: 5, modelName: 'blobs-dropout' });
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#job-status [data-status]')?.dataset.status === 'succeeded', null, { timeout: 60_000 });
    expect(await page.locator('#job-summary').textContent()).toMatch(/early stopping|Epoch/);
    await shot(page, 'job');

    // Clone: the form comes back filled with this job's settings.
    await page.locator('#clone-job').click();
    await page.waitForURL(/#\/new\?clone=/);
    await expect.poll(() => form.locator('input[name=dropout]').inputValue()).toBe('0.2, 0.1');
    expect(await form.locator('select[name=datasetId]').inputValue()).toBe(datasetId);
    expect(await form.locator('input[name=patience]').inputValue()).toBe('3');
    expect(await form.locator('input[name=l2]').inputValue()).toBe('0.001');
    expect(await form.locator('select[name=optimizer]').inputValue()).toBe('sgd');
    expect(await form.locator('input[name=nesterov]').isChecked()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a diverged job: failed with code diverged, its numbers inside their cells, even a loss of 1e45', async () => {
    const created = await api<Job>(server, 'POST', '/v1/jobs', {
      datasetId, hidden: [{ units: 16 }], epochs: 20, validationSplit: 0.2, optimizer: { name: 'sgd', learningRate: 10, momentum: 0.99 },
    });
    const job = await finished(server, created.body.id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('diverged');

    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    // The service stops a run as soon as its loss is no longer finite, so the figures it reports stay
    // small; the 45-digit loss is put into the answers here to hold the layout to it.
    const huge = { loss: 1.2345678901234567e45, valLoss: 9.87654321e44, accuracy: 0.33, valAccuracy: 0.31 };
    const epoch = (n: number) => ({
      epoch: n, loss: huge.loss * n, valLoss: huge.valLoss * n, accuracy: 0.33, valAccuracy: 0.31, mse: null, mae: null, r2: null,
      valMse: null, valMae: null, valR2: null, learningRate: 10, durationMs: 12.5, at: new Date().toISOString(),
    });
    await page.route(/\/v1\/jobs\?/, async (route) => {
      const res = await route.fetch();
      const list = await res.json() as { items: Job[] };
      for (const j of list.items) if (j.id === job.id) j.metrics = epoch(3);
      await route.fulfill({ response: res, json: list });
    });
    await page.route(new RegExp(`/v1/jobs/${job.id}$`), async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, json: { ...(await res.json()), metrics: epoch(3), epoch: 3 } });
    });
    await page.route(new RegExp(`/v1/jobs/${job.id}/events$`), (route) => route.fulfill({
      status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
      body: [1, 2, 3].map((n) => `id: ${n}\nevent: epoch\ndata: ${JSON.stringify(epoch(n))}\n\n`).join('')
        + `event: status\ndata: ${JSON.stringify({ ...job, metrics: epoch(3), epoch: 3 })}\n\n`,
    }));

    await page.goto(`${server.url}/#/jobs`);
    const row = page.locator(`#jobs tr[data-job="${job.id}"]`);
    await expect.poll(() => row.locator('td.num').first().textContent()).toBe('3.7e+45');
    expect(await row.locator('.reason').textContent()).toBe('diverged');
    expect(await overflowing(page, '#jobs td')).toEqual([]);
    await shot(page, 'jobs-diverged');

    await page.goto(`${server.url}/#/jobs/${job.id}`);
    await expect.poll(() => page.locator('#chart-loss').getAttribute('data-points')).toBe('3');
    expect(await page.locator('#job-summary').textContent()).toContain('3.7e+45');
    expect(await page.locator('.error-code').first().textContent()).toBe('diverged');
    expect(await overflowing(page, '#job-summary dd')).toEqual([]);
    expect(await page.locator('#chart-loss .u-legend .u-value').allTextContents()).toEqual(['3', '3.704e+45', '2.963e+45']);
    await shot(page, 'job-diverged');
    // The log scale toggle redraws the chart; it keeps its points.
    await page.locator('#chart-loss .log-toggle').check();
    await expect.poll(() => page.locator('#chart-loss').getAttribute('data-scale')).toBe('log');
    expect(await page.locator('#chart-loss').getAttribute('data-points')).toBe('3');
    await shot(page, 'job-diverged-log');
    expect(problems).toEqual([]);
    await page.close();
  });
});
