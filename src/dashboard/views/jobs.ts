// #/jobs: every job, newest first, with its status and a progress bar; refreshed while any is unfinished.
import { api, FINISHED, type Dataset, type Epoch, type Job } from '../api.js';
import { errorBox, fillList, h, num, percent, progressBar, shortId, statusBadge, when } from '../dom.js';

const REFRESH_MS = 2000;

export function jobsView(root: HTMLElement): () => void {
  const body = h('tbody');
  const note = h('p', { class: 'muted' });
  const problem = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'), h('a', { class: 'button', href: '#/new' }, 'New job')),
    problem,
    h('table', { class: 'list', id: 'jobs' },
      h('thead', {}, h('tr', {},
        h('th', {}, 'Job'), h('th', {}, 'Status'), h('th', { class: 'wide' }, 'Progress'), h('th', { class: 'num' }, 'Loss'),
        h('th', { class: 'num' }, 'Score'), h('th', {}, 'Dataset'), h('th', {}, 'Created'))),
      body),
    note,
  );

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const refresh = async () => {
    try {
      const [jobs, datasets] = await Promise.all([api.listJobs(), api.listDatasets()]);
      if (stopped) return;
      const names = new Map(datasets.items.map((d: Dataset) => [d.id, d.name]));
      fillList(body, note, jobs.items.map((j) => row(j, names)), jobs, 'jobs', 'No jobs yet. ', h('a', { href: '#/new' }, 'Start one'), '.');
      problem.replaceChildren();
      if (jobs.items.some((j) => !FINISHED.includes(j.status))) timer = setTimeout(refresh, REFRESH_MS);
    } catch (err) {
      if (stopped) return;
      problem.replaceChildren(errorBox(err));
      timer = setTimeout(refresh, REFRESH_MS * 5);
    }
  };
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function row(job: Job, names: Map<string, string>): HTMLTableRowElement {
  const m = job.metrics;
  return h('tr', { 'data-job': job.id },
    h('td', {}, h('a', { href: `#/jobs/${job.id}`, class: 'mono' }, shortId(job.id))),
    h('td', {}, statusBadge(job.status)),
    h('td', { class: 'wide' },
      h('div', { class: 'progress-cell' },
        progressBar(job.progress, `job ${job.id} progress`),
        h('span', { class: 'muted' }, `${job.epoch}/${job.epochs}`))),
    h('td', { class: 'num', title: m?.valLoss != null ? `validation loss ${num(m.valLoss)}` : null }, num(m?.loss)),
    h('td', { class: 'num' }, m ? score(m) : '—'),
    h('td', {}, job.datasetId ? names.get(job.datasetId) ?? shortId(job.datasetId) : h('span', { class: 'muted' }, 'deleted')),
    h('td', { class: 'muted' }, when(job.createdAt)),
  );
}

/** Accuracy for classification, R² for regression; on the held-out rows when there are some. */
function score(m: Epoch): string {
  if (m.accuracy !== null) return m.valAccuracy !== null ? `${percent(m.valAccuracy)} val` : percent(m.accuracy);
  if (m.r2 !== null) return m.valR2 !== null ? `R² ${num(m.valR2)} val` : `R² ${num(m.r2)}`;
  return '—';
}
