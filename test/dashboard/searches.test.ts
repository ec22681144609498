// The search pages in Chromium (Debian's package, driven by playwright-core) against the real service: a
// small grid search started from the form runs to its end on its page, whose leaderboard is in the API's
// order and sorts by any column, whose chart draws every trial's curve, and whose Use best model lands on
// the best trial's model; a refused search shows the API's words; Cancel asks first. Screenshots go to
// test-output/screenshots/ (and SCREENSHOTS_DIR when set, as in pages.test.ts).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, blobsCsv as blobs, HAS_CHROMIUM, launchChromium, shot, upload, watchForErrors as watch } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const EPOCHS = 6;

/** Three seeded, overlapping Gaussian blobs: quick to train, and the trials' scores differ. */
const blobsCsv = (rows: number) => blobs(rows, { seed: 5, d: 2, spread: 4 });

interface Trial { index: number; jobId: string; params: Record<string, unknown>; score: number | null; epochs: number; status: string; stopReason: string | null; modelId: string | null }
interface Search {
  id: string; status: string; direction: 'max' | 'min'; metric: string; trials: Trial[];
  best: { index: number; modelId: string | null; jobId: string } | null; progress: { finished: number; total: number };
}

/** Console errors and uncaught exceptions; `expected` lets through the refusal a test provokes. */
const watchForErrors = (page: Page, expected?: RegExp) => watch(page, (m) => expected?.test(m.text()) ?? false);

/** The leaderboard's rows, top to bottom, as trial indexes. */
const order = (page: Page) => page.locator('#leaderboard tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-trial'))));

describe.skipIf(!HAS_CHROMIUM)('search pages in Chromium', () => {
  let browser: Browser;
  let server: RunningServer;
  let datasetId: string;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startServer({ env: { WORKERS: '2' } });
    datasetId = (await upload(server, blobsCsv(300), 'blobs')).id;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    server?.cleanup();
  });

  it('a grid search from the form: live to its end, a sortable leaderboard, every curve, Use best model', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    await page.goto(`${server.url}/#/jobs`);
    await page.locator('nav a[data-section="new-search"]').click();
    await page.waitForURL('**/#/searches/new');
    const form = page.locator('#search-form');
    await form.locator(`select[name=datasetId] option[value="${datasetId}"]`).waitFor({ state: 'attached' });
    await form.locator('select[name=datasetId]').selectOption(datasetId);
    await form.locator('input[name=name]').fill('blobs-grid');
    expect(JSON.parse(await form.locator('textarea[name=base]').inputValue())).toEqual({ validationSplit: 0.2, epochs: 30 });
    await form.locator('textarea[name=base]').fill(JSON.stringify({ validationSplit: 0.25, epochs: EPOCHS, batchSize: 16, seed: 1 }));
    const rows = form.locator('.space-row');
    await rows.nth(0).locator('input[name=path]').fill('hidden.0.units');
    await rows.nth(0).locator('input[name=values]').fill('4, 32');
    await rows.nth(1).locator('input[name=path]').fill('optimizer.learningRate');
    await rows.nth(1).locator('input[name=values]').fill('0.001, 0.05');
    await form.locator('input[name=seed]').fill('3');
    await shot(page, 'search-new');
    await form.locator('button[type=submit]').click();
    await page.waitForURL((u) => /^#\/searches\/[^/?]+$/.test(u.hash) && u.hash !== '#/searches/new');
    const id = decodeURIComponent(page.url().split('#/searches/')[1]);

    // Live: the page follows the search to its end by itself.
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#search-status [data-status]')?.dataset.status === 'succeeded', null, { timeout: 60_000 });
    const { body: search } = await api<Search>(server, 'GET', `/v1/searches/${id}`);
    expect(search.status).toBe('succeeded');
    expect(search.progress).toEqual({ finished: 4, total: 4 });
    expect(search.trials.map((t) => t.params)).toEqual(expect.arrayContaining([
      { 'hidden.0.units': 4, 'optimizer.learningRate': 0.001 }, { 'hidden.0.units': 32, 'optimizer.learningRate': 0.05 },
    ]));
    await expect.poll(() => page.locator('#search-progress').getAttribute('data-finished')).toBe('4');
    expect(await page.locator('#search-epochs').textContent()).toMatch(/of \d+ epochs/);

    // The leaderboard in the API's order (best first), the best trial marked.
    await expect.poll(() => order(page)).toEqual(search.trials.map((t) => t.index));
    const scores = search.trials.map((t) => t.score as number);
    expect(scores).toEqual([...scores].sort((a, b) => (search.direction === 'max' ? b - a : a - b)));
    expect(await page.locator('#leaderboard tr.best').getAttribute('data-trial')).toBe(String(search.best?.index));
    expect(await page.locator('#leaderboard thead th').allTextContents()).toEqual([
      'Rank ▲', 'Trial', 'hidden.0.units', 'optimizer.learningRate', 'Val. accuracy', 'Epochs', 'Status', 'Stop reason']);

    // Sortable: by trial, by a parameter (numbers as numbers), by score best first and back.
    await page.locator('#leaderboard th[data-column=index] button').click();
    expect(await order(page)).toEqual([0, 1, 2, 3]);
    await page.locator('#leaderboard th[data-column=index] button').click();
    expect(await order(page)).toEqual([3, 2, 1, 0]);
    await page.locator('#leaderboard th[data-column="param:hidden.0.units"] button').click();
    expect(await page.locator('#leaderboard td[data-param="hidden.0.units"]').allTextContents()).toEqual(['4', '4', '32', '32']);
    expect(await page.locator('#leaderboard th[data-column="param:hidden.0.units"]').getAttribute('aria-sort')).toBe('ascending');
    await page.locator('#leaderboard th[data-column=score] button').click();
    expect(await order(page)).toEqual(search.trials.map((t) => t.index));
    await page.locator('#leaderboard th[data-column=score] button').click();
    const byIndex = new Map(search.trials.map((t) => [t.index, t.score as number]));
    const worstFirst = (await order(page)).map((i) => byIndex.get(i) as number);
    expect(worstFirst).toEqual([...scores].sort((a, b) => (search.direction === 'max' ? a - b : b - a)));
    await page.locator('#leaderboard th[data-column=rank] button').click();

    // One chart, a curve per trial over every epoch trained.
    const chart = page.locator('#search-chart');
    const longest = Math.max(...search.trials.map((t) => t.epochs));
    await expect.poll(() => chart.getAttribute('data-points')).toBe(String(longest));
    expect(await chart.getAttribute('data-trials')).toBe('4');
    expect(await chart.getAttribute('data-best')).toBe(String(search.best?.index));
    expect(await chart.locator('.u-legend .u-series').count()).toBe(5); // the epoch, then each trial
    await shot(page, 'search');

    // A phone's width: nothing wider than the screen (the leaderboard scrolls inside its card).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1200, height: 1000 });

    // Use best model: the model page of the best trial's model.
    expect(search.best?.modelId).toBeTruthy();
    await page.locator('#use-best').click();
    await page.waitForURL(`**/#/models/${search.best?.modelId}`);
    await expect.poll(() => page.locator('#model-id').textContent()).toBe(search.best?.modelId);

    // The trials in the jobs list name their search, and the searches list shows it.
    await page.goto(`${server.url}/#/jobs`);
    const trialRow = page.locator(`#jobs tr[data-job="${search.trials[0].jobId}"]`);
    await expect.poll(() => trialRow.locator('.trial-of a').getAttribute('href')).toBe(`#/searches/${id}`);
    expect(await trialRow.locator('.trial-of').textContent()).toBe(`trial #${search.trials[0].index} of ${id.slice(0, 8)}`);
    await shot(page, 'search-jobs');
    await page.goto(`${server.url}/#/searches`);
    const listed = page.locator(`#searches tr[data-search="${id}"]`);
    await listed.waitFor();
    expect(await listed.textContent()).toContain('blobs-grid');
    expect(await listed.textContent()).toContain('4/4');
    await shot(page, 'searches');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a random search with a log range and successive halving: trials stopped at a rung, the epochs it saved', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    await page.goto(`${server.url}/#/searches/new?dataset=${datasetId}`);
    const form = page.locator('#search-form');
    await expect.poll(() => form.locator('select[name=datasetId]').inputValue()).toBe(datasetId);
    await form.locator('textarea[name=base]').fill('{"validationSplit": 0.25, "epochs": 9, "batchSize": 16, "seed": 2}');
    const rows = form.locator('.space-row');
    await rows.nth(1).getByRole('button', { name: 'remove this setting' }).click();
    await rows.nth(0).locator('input[name=path]').fill('optimizer.learningRate');
    await rows.nth(0).locator('select[name=kind]').selectOption('range');
    await rows.nth(0).locator('input[name=min]').fill('0.0005');
    await rows.nth(0).locator('input[name=max]').fill('0.1');
    await rows.nth(0).locator('input[name=log]').check();
    await page.locator('#add-space-row').click();
    await rows.nth(1).locator('input[name=path]').fill('hidden.0.units');
    await rows.nth(1).locator('select[name=kind]').selectOption('list');
    await rows.nth(1).locator('input[name=values]').fill('4, 16, 32');
    await form.locator('select[name=strategy]').selectOption('random');
    await form.locator('input[name=trials]').fill('6');
    await form.locator('input[name=halving]').check();
    await form.locator('input[name=minEpochs]').fill('1');
    await form.locator('input[name=eta]').fill('3');
    await form.locator('input[name=parallel]').fill('2');
    await form.locator('input[name=seed]').fill('11');
    await form.locator('button[type=submit]').click();
    await page.waitForURL((u) => /^#\/searches\/[^/?]+$/.test(u.hash) && u.hash !== '#/searches/new');
    const id = decodeURIComponent(page.url().split('#/searches/')[1]);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#search-status [data-status]')?.dataset.status === 'succeeded', null, { timeout: 60_000 });

    const { body: search } = await api<Search & { strategy: string; halving: { rungs: number[] } | null; epochsSpent: number; epochsFull: number; space: Record<string, unknown> }>(
      server, 'GET', `/v1/searches/${id}`);
    expect(search.strategy).toBe('random');
    expect(search.space).toEqual({ 'optimizer.learningRate': { min: 0.0005, max: 0.1, log: true, integer: false }, 'hidden.0.units': [4, 16, 32] });
    expect(search.halving?.rungs).toEqual([1, 3]);
    expect(search.trials).toHaveLength(6);
    const halved = search.trials.filter((t) => t.stopReason === 'halved');
    expect(halved.length).toBeGreaterThan(0);
    expect(search.epochsSpent).toBeLessThan(search.epochsFull);
    await expect.poll(() => order(page)).toEqual(search.trials.map((t) => t.index));
    expect(await page.locator('#search-epochs').textContent()).toBe(
      `${search.epochsSpent} of ${search.epochsFull} epochs (${Math.round((1 - search.epochsSpent / search.epochsFull) * 100)}% saved)`);
    for (const t of halved) {
      expect(await page.locator(`#leaderboard tr[data-trial="${t.index}"] td`).last().textContent()).toBe('halved');
    }
    expect(await page.locator('#search-space').textContent()).toContain('0.0005 … 0.1 (log)');
    await expect.poll(() => page.locator('#search-chart').getAttribute('data-points')).toBe(String(Math.max(...search.trials.map((t) => t.epochs))));
    await shot(page, 'search-halving');

    // New search like this: the form again, filled with this search's settings.
    await page.locator('#search-again').click();
    await page.waitForURL(`**/#/searches/new?from=${id}`);
    await expect.poll(() => form.locator('select[name=strategy]').inputValue()).toBe('random');
    expect(await form.locator('select[name=datasetId]').inputValue()).toBe(datasetId);
    expect(await form.locator('input[name=trials]').inputValue()).toBe('6');
    expect(await form.locator('input[name=halving]').isChecked()).toBe(true);
    expect(await form.locator('input[name=eta]').inputValue()).toBe('3');
    expect(await rows.nth(0).locator('select[name=kind]').inputValue()).toBe('range');
    expect(await rows.nth(0).locator('input[name=min]').inputValue()).toBe('0.0005');
    expect(await rows.nth(0).locator('input[name=log]').isChecked()).toBe(true);
    expect(await rows.nth(1).locator('input[name=values]').inputValue()).toBe('4, 16, 32');
    expect(JSON.parse(await form.locator('textarea[name=base]').inputValue())).toEqual({ validationSplit: 0.25, epochs: 9, batchSize: 16, seed: 2 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a refused search shows the API's message and details, and marks the row at fault", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page, /status of 4\d\d/);
    await page.goto(`${server.url}/#/searches/new?dataset=${datasetId}`);
    const form = page.locator('#search-form');
    await expect.poll(() => form.locator('select[name=datasetId]').inputValue()).toBe(datasetId);
    const rows = form.locator('.space-row');
    await rows.nth(1).locator('input[name=path]').fill('optimizer.nosuchSetting');
    await rows.nth(1).locator('input[name=values]').fill('1, 2');
    await form.locator('button[type=submit]').click();
    await page.locator('#search-form .error').waitFor();
    // The same body straight to the API: the page shows its message and code.
    const refused = await api<{ error: { code: string; message: string; details?: unknown } }>(server, 'POST', '/v1/searches', {
      datasetId, base: { validationSplit: 0.2, epochs: 30 }, space: { 'hidden.0.units': [16, 64], 'optimizer.nosuchSetting': [1, 2] }, strategy: 'grid', halving: null,
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(await page.locator('#search-form .error-message').textContent()).toBe(refused.body.error.message);
    expect(await page.locator('#search-form .error-code').textContent()).toBe(refused.body.error.code);
    if (refused.body.error.details) await page.locator('#search-error-details li').first().waitFor();
    // The row of the setting at fault is marked, the other is not.
    expect(await rows.nth(1).locator('input[name=path]').getAttribute('aria-invalid')).toBe('true');
    expect(await rows.nth(0).locator('input[name=path]').getAttribute('aria-invalid')).toBeNull();
    await shot(page, 'search-refused');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Cancel asks first, then stops a running search', async () => {
    const created = await api<Search>(server, 'POST', '/v1/searches', {
      datasetId, base: { validationSplit: 0.2, epochs: 5000, batchSize: 4 }, space: { 'hidden.0.units': [8, 16, 32, 64] }, parallel: 1,
    });
    expect(created.status).toBe(202);
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const problems = watchForErrors(page);
    await page.goto(`${server.url}/#/searches/${created.body.id}`);
    const cancel = page.locator('#cancel-search');
    await cancel.waitFor();
    // Live: the running trial's curve grows without a reload.
    const points = async () => Number(await page.locator('#search-chart').getAttribute('data-points') ?? 0);
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(0);
    const before = await points();
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(await page.locator('#search-status [data-status]').getAttribute('data-status')).toBe('running');
    // One trial at a time (parallel 1): the others wait for their turn.
    await expect.poll(() => page.locator('#leaderboard td .held').allTextContents()).toEqual(['waiting', 'waiting', 'waiting']);
    await shot(page, 'search-running');
    page.once('dialog', (d) => void d.dismiss());
    await cancel.click();
    await page.waitForTimeout(300);
    expect((await api<Search>(server, 'GET', `/v1/searches/${created.body.id}`)).body.status).toBe('running');
    page.once('dialog', (d) => void d.accept());
    await cancel.click();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#search-status [data-status]')?.dataset.status === 'cancelled', null, { timeout: 20_000 });
    await expect.poll(() => cancel.isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
