// What the dashboard's Chromium suites share: Debian's chromium driven by playwright-core (never a
// downloaded browser), a small JSON caller, a watch for console errors, screenshots, and a seeded
// table of Gaussian blobs to train on.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT, type RunningServer } from './server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/** Headless Chromium, once dist/public is built (the pages are served from it). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(join(ROOT, 'dist/public/app.js')) || !existsSync(join(ROOT, 'dist/public/index.html'))) {
    throw new Error('dist/public is not built: run `npm run build` first (npm test does)');
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function api<T>(server: RunningServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Uploads a CSV as a dataset (a 201, or the test fails with the answer). */
export async function upload(server: RunningServer, csv: string, name: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/v1/datasets?name=${name}`, {
    method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: csv,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; rows: number };
}

/** Console errors and uncaught exceptions (CSP violations among them), but those `allowed` lets through. */
export function watchForErrors(page: Page, allowed: (m: ConsoleMessage) => boolean = () => false): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' || allowed(m)) return;
    problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** A full-page screenshot in test-output/screenshots/, and in SCREENSHOTS_DIR too when set. */
export async function shot(page: Page, name: string): Promise<void> {
  const dirs = [join(ROOT, 'test-output/screenshots'), ...(process.env.SCREENSHOTS_DIR ? [join(ROOT, process.env.SCREENSHOTS_DIR)] : [])];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  }
}

/**
 * Three seeded Gaussian blobs in two features (x1, x2), classes red, green and blue, centred at (0, 0),
 * (d, d) and (−d, d), each point up to spread/2 off its centre on each axis.
 */
export function blobsCsv(rows: number, options: { seed: number; d: number; spread: number }): string {
  let s = options.seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const centres = [[0, 0], [options.d, options.d], [-options.d, options.d]];
  const names = ['red', 'green', 'blue'];
  const lines = ['x1,x2,colour'];
  for (let i = 0; i < rows; i++) {
    const k = i % 3;
    lines.push(`${(centres[k][0] + (random() - 0.5) * options.spread).toFixed(3)},${(centres[k][1] + (random() - 0.5) * options.spread).toFixed(3)},${names[k]}`);
  }
  return `${lines.join('\n')}\n`;
}
