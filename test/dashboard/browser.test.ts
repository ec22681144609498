// The dashboard in a real browser (headless Chromium from Debian's package, driven by playwright-core)
// against the real service: a job started from the form draws its curves epoch by epoch, live, until
// it succeeds; API errors appear in the API's words; with API_KEY the page asks for the key once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, HAS_CHROMIUM, launchChromium, upload, watchForErrors } from '../helpers/browser.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';
if (!HAS_CHROMIUM) {
  console.warn(`test/dashboard/browser.test.ts is skipped: ${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);
}

const EPOCHS = 30;
const API_KEY = 'dashboard-test-key-0123456789';

/** Three interleaved spirals, seeded: hard enough that each epoch takes visible time on a few thousand rows. */
function spiralsCsv(rows: number, seed = 7): string {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines = ['x,y,arm'];
  for (let i = 0; i < rows; i++) {
    const arm = i % 3;
    const t = random() * 3;
    const angle = 2 * t + (arm * 2 * Math.PI) / 3 + (random() - 0.5) * 0.3;
    lines.push(`${(t * Math.cos(angle)).toFixed(3)},${(t * Math.sin(angle)).toFixed(3)},${'abc'[arm]}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Sample { t: number; status: string | null; epoch: number; loss: number; metric: number }

/**
 * Records, in the page, every state of the job view as it changes (a MutationObserver fires after each
 * event the stream delivers): the status badge, the epoch counter and the points in both charts.
 * A string, not a function: the test transform may wrap functions in helpers the page does not have.
 */
const RECORD_JOB_VIEW = `
  window.__samples = [];
  const read = () => ({
    t: performance.now(),
    status: document.querySelector('#job-status [data-status]')?.dataset.status ?? null,
    epoch: Number(document.querySelector('#job-epoch')?.dataset.epoch ?? 0),
    loss: Number(document.querySelector('#chart-loss')?.dataset.points ?? 0),
    metric: Number(document.querySelector('#chart-metric')?.dataset.points ?? 0),
  });
  new MutationObserver(() => {
    const now = read();
    const last = window.__samples[window.__samples.length - 1];
    if (!last || last.status !== now.status || last.epoch !== now.epoch || last.loss !== now.loss || last.metric !== now.metric) {
      window.__samples.push(now);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
`;

describe.skipIf(!HAS_CHROMIUM)('dashboard in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => { await browser?.close(); });

  describe('without an API key', () => {
    let server: RunningServer;
    beforeAll(async () => { server = await startServer({ env: { WORKERS: '1' } }); });
    afterAll(async () => {
      await server?.stop();
      server?.cleanup();
    });

    it('starts a job from the form and draws its curves epoch by epoch until it succeeds', async () => {
      const dataset = await upload(server, spiralsCsv(6000), 'spirals');
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      const problems = watchForErrors(page);
      await page.addInitScript(RECORD_JOB_VIEW);

      await page.goto(`${server.url}/#/new?dataset=${dataset.id}`);
      const form = page.locator('#job-form');
      await expect.poll(() => form.locator('select[name=datasetId]').inputValue()).toBe(dataset.id);
      await form.locator('input[name=hidden]').fill('32');
      await form.locator('select[name=activation]').selectOption('tanh');
      await form.locator('input[name=epochs]').fill(String(EPOCHS));
      await form.locator('input[name=batchSize]').fill('4');
      await form.locator('select[name=optimizer]').selectOption('sgd'); // momentum is an sgd setting
      await form.locator('input[name=learningRate]').fill('0.05');
      await form.locator('input[name=momentum]').fill('0.9');
      await form.locator('input[name=validationSplit]').fill('0.2');
      await form.locator('input[name=seed]').fill('7');
      await form.locator('button[type=submit]').click();

      await page.waitForURL(/#\/jobs\/[^/]+$/);
      const jobId = decodeURIComponent(page.url().split('#/jobs/')[1]);
      // A picture of the view mid-run, for people (the assertions are on the recorded states below).
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#job-epoch')?.dataset.epoch) >= 3);
      await page.screenshot({ path: join(ROOT, 'test-output/dashboard-job-running.png'), fullPage: true });
      await page.waitForFunction(
        () => document.querySelector<HTMLElement>('#job-status [data-status]')?.dataset.status === 'succeeded',
        null, { timeout: 60_000 },
      );
      const samples = await page.evaluate(() => (window as unknown as { __samples: Sample[] }).__samples);

      // The curve grew one epoch at a time, in order, with the counter beside it, while the job ran.
      const plotted = samples.filter((s) => s.loss > 0);
      expect(plotted.length).toBeGreaterThan(0);
      for (let i = 1; i < plotted.length; i++) expect(plotted[i].loss).toBeGreaterThanOrEqual(plotted[i - 1].loss);
      for (const s of plotted) {
        expect(s.metric).toBe(s.loss);
        expect(s.epoch).toBe(s.loss);
      }
      const whileRunning = plotted.filter((s) => s.status === 'running' && s.loss < EPOCHS);
      expect(new Set(whileRunning.map((s) => s.loss)).size, 'epochs drawn while the job ran').toBeGreaterThanOrEqual(10);
      // Live, not a replay of history: a replay lands within one task, live epochs apart in time.
      const apart = plotted.filter((s, i) => i > 0 && s.t - plotted[i - 1].t >= 5).length;
      expect(apart, 'epochs drawn at separate moments').toBeGreaterThanOrEqual(10);
      const last = samples[samples.length - 1];
      expect(last).toMatchObject({ status: 'succeeded', epoch: EPOCHS, loss: EPOCHS, metric: EPOCHS });

      // What is plotted is what the API recorded: the legend shows the latest epoch's figures.
      const { epochs } = await (await fetch(`${server.url}/v1/jobs/${jobId}/epochs`)).json() as { epochs: { epoch: number; loss: number; valLoss: number; accuracy: number }[] };
      expect(epochs).toHaveLength(EPOCHS);
      const legend = await page.locator('#chart-loss .u-legend .u-value').allTextContents();
      const final = epochs[EPOCHS - 1];
      expect(legend).toEqual([String(EPOCHS), final.loss.toPrecision(4), final.valLoss.toPrecision(4)]);
      await expect.poll(() => page.locator('#job-model').count()).toBe(1);

      await page.screenshot({ path: join(ROOT, 'test-output/dashboard-job.png'), fullPage: true });

      // The jobs list shows it finished, with a full progress bar.
      await page.goto(`${server.url}/#/jobs`);
      const row = page.locator(`#jobs tr[data-job="${jobId}"]`);
      await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('succeeded');
      expect(await row.locator('progress').evaluate((p: HTMLProgressElement) => p.value)).toBe(1);
      await page.screenshot({ path: join(ROOT, 'test-output/dashboard-jobs.png') });

      expect(problems).toEqual([]);
      await page.close();
    });

    it('shows an upload the API refuses in the words of the API: message and code', async () => {
      const bad = 'x,y,label\n1,2,a\n3,oops,b\n';
      const refused = await fetch(`${server.url}/v1/datasets?name=bad`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: bad });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      const { error } = await refused.json() as { error: { code: string; message: string } };

      const page = await browser.newPage();
      await page.goto(`${server.url}/#/datasets`);
      const form = page.locator('#upload-form');
      await form.locator('input[type=file]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
      await expect.poll(() => form.locator('input[name=name]').inputValue()).toBe('bad');
      await form.locator('button[type=submit]').click();
      const box = form.locator('.error[role=alert]');
      await box.waitFor();
      expect(await box.locator('.error-message').textContent()).toBe(error.message);
      expect(await box.locator('.error-code').textContent()).toBe(error.code);
      await page.close();
    });
  });

  describe('with API_KEY', () => {
    let server: RunningServer;
    beforeAll(async () => { server = await startServer({ env: { WORKERS: '1', API_KEY } }); });
    afterAll(async () => {
      await server?.stop();
      server?.cleanup();
    });

    it('asks for the key once, then sends it, and follows the job over the fetch-read stream', async () => {
      const auth = { authorization: `Bearer ${API_KEY}` };
      const dataset = await upload(server, spiralsCsv(300), 'keyed', auth);
      const created = await fetch(`${server.url}/v1/jobs`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ datasetId: dataset.id, epochs: 5, hidden: [{ units: 8 }] }),
      });
      expect(created.status).toBe(202);
      const job = await created.json() as { id: string };

      const page = await browser.newPage();
      const problems = watchForErrors(page);
      const streams: (string | undefined)[] = [];
      page.on('request', (r) => { if (r.url().endsWith('/events')) streams.push(r.headers().authorization); });
      await page.goto(`${server.url}/#/jobs/${job.id}`);

      const dialog = page.locator('#key-dialog');
      await dialog.locator('input[name=key]').waitFor({ state: 'visible' });
      expect(await dialog.locator('.reason').textContent()).toContain('Bearer');
      await dialog.locator('input[name=key]').fill(API_KEY);
      await dialog.locator('button[type=submit]').click();

      await page.waitForFunction(
        () => document.querySelector<HTMLElement>('#job-status [data-status]')?.dataset.status === 'succeeded',
        null, { timeout: 30_000 },
      );
      await expect.poll(() => page.locator('#chart-loss').getAttribute('data-points')).toBe('5');
      expect(streams.length).toBeGreaterThan(0);
      expect(streams.every((h) => h === `Bearer ${API_KEY}`)).toBe(true);

      // Other pages use the key given once: no second prompt.
      await page.goto(`${server.url}/#/datasets`);
      await page.locator(`#datasets tr[data-dataset="${dataset.id}"]`).waitFor();
      expect(await dialog.isVisible()).toBe(false);

      // The 401s that made the page ask are expected; nothing else may have gone wrong.
      expect(problems.filter((p) => !/401/.test(p))).toEqual([]);
      await page.close();
    });
  });
});
