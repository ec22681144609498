// #/jobs: every job, newest first, with its status, a progress bar, its key settings and why it failed;
// always live (polled: quickly while any job runs, slowly otherwise, so a job submitted elsewhere
// appears). Ticking two or more jobs opens them side by side in #/compare.
import { api, FINISHED, type Dataset, type Epoch, type Job } from '../api.js';
import { fillList, h, idChip, keepLive, num, percent, progressBar, shortId, statusBadge, when } from '../dom.js';
import { formatParam } from '../search.js';

export function jobsView(root: HTMLElement): () => void {
  const body = h('tbody');
  const note = h('p', { class: 'muted' });
  const problem = h('div');
  const selected = new Set<string>();
  const compare = h('a', { class: 'button', id: 'compare-jobs', href: '#/compare' }, 'Compare');
  const selection = h('span', { class: 'muted' }, 'Tick two or more jobs to compare them.');
  const showSelection = () => {
    const ids = [...selected];
    compare.href = `#/compare?jobs=${ids.map(encodeURIComponent).join(',')}`;
    compare.toggleAttribute('hidden', ids.length < 2);
    selection.textContent = ids.length < 2 ? 'Tick two or more jobs to compare them.' : `${ids.length} jobs ticked.`;
  };
  showSelection();
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'), h('a', { class: 'button', href: '#/new' }, 'New job')),
    problem,
    h('div', { class: 'list-actions' }, compare, selection),
    h('div', { class: 'table-scroll' }, h('table', { class: 'list', id: 'jobs' },
      h('thead', {}, h('tr', {},
        h('th', {}, h('span', { class: 'sr-only' }, 'Compare')), h('th', {}, 'Job'), h('th', {}, 'Status'), h('th', { class: 'wide' }, 'Progress'),
        h('th', { class: 'num' }, 'Loss'), h('th', { class: 'num' }, 'Score'), h('th', {}, 'Settings'), h('th', {}, 'Dataset'), h('th', {}, 'Created'))),
      body)),
    note,
  );
  body.addEventListener('change', (e) => {
    const box = e.target as HTMLInputElement;
    if (!box.matches('input[name=compare]')) return;
    if (box.checked) selected.add(box.value); else selected.delete(box.value);
    showSelection();
  });

  return keepLive(
    async () => {
      const [jobs, datasets] = await Promise.all([api.listJobs(), api.listDatasets()]);
      return { jobs, names: datasets.items.map((d: Dataset) => [d.id, d.name] as [string, string]) };
    },
    ({ jobs, names }) => fillList(body, note, jobs.items.map((j) => row(j, new Map(names), selected)), jobs, 'jobs',
      'No jobs yet. ', h('a', { href: '#/new' }, 'Start one'), '.'),
    ({ jobs }) => jobs.items.some((j) => !FINISHED.includes(j.status)),
    problem,
  );
}

function row(job: Job, names: Map<string, string>, selected: Set<string>): HTMLTableRowElement {
  const m = job.metrics;
  const reason = job.error ? `${job.error.code}: ${job.error.message}`
    : job.stopReason && !['completed', job.status].includes(job.stopReason) ? job.stopReason.replace(/_/g, ' ') : null;
  return h('tr', { 'data-job': job.id },
    h('td', {}, h('input', { type: 'checkbox', name: 'compare', value: job.id, checked: selected.has(job.id), 'aria-label': `compare job ${job.id}` })),
    h('td', {}, idChip(job.id, `#/jobs/${job.id}`), trialOf(job)),
    h('td', {}, statusBadge(job.status),
      reason ? h('div', { class: job.error ? 'reason' : 'reason muted', title: reason }, job.error?.code ?? reason) : null),
    h('td', { class: 'wide' },
      h('div', { class: 'progress-cell' },
        progressBar(job.progress, `job ${job.id} progress`),
        h('span', { class: 'muted' }, `${job.epoch}/${job.epochs}`))),
    h('td', { class: 'num', title: m ? `loss ${m.loss}${m.valLoss !== null ? `, validation loss ${m.valLoss}` : ''}` : null }, num(m?.loss)),
    h('td', { class: 'num' }, m ? score(m) : '—'),
    h('td', { class: 'settings', title: settings(job, true) }, settings(job, false)),
    h('td', {}, job.datasetId ? names.get(job.datasetId) ?? idChip(job.datasetId) : h('span', { class: 'muted' }, 'deleted')),
    h('td', { class: 'muted' }, when(job.createdAt)),
  );
}

/** A trial of a search says so under its id, linking to the search; the values it tries are in the title. */
function trialOf(job: Job): HTMLElement | null {
  if (!job.searchId) return null;
  const params = Object.entries(job.params ?? {}).map(([k, v]) => `${k} = ${formatParam(v)}`).join(', ');
  return h('div', { class: 'trial-of muted', 'data-search': job.searchId },
    `trial${typeof job.trial === 'number' ? ` #${job.trial}` : ''} of `, h('a', { href: `#/searches/${encodeURIComponent(job.searchId)}`, class: 'mono', title: params ? `${job.searchId}: ${params}` : job.searchId }, shortId(job.searchId)));
}

/** Accuracy for classification, R² for regression; on the held-out rows when there are some. */
function score(m: Epoch): string {
  if (m.accuracy !== null) return m.valAccuracy !== null ? `${percent(m.valAccuracy)} val` : percent(m.accuracy);
  if (m.r2 !== null) return m.valR2 !== null ? `R² ${num(m.valR2)} val` : `R² ${num(m.r2)}`;
  return '—';
}

/** The settings people tell runs apart by: layers, optimizer and rate, batch; the title says more. */
function settings(job: Job, long: boolean): string {
  const s = job.spec;
  const o = s.optimizer;
  const layers = s.hidden.map((l) => `${l.units}${l.dropout > 0 ? `(d${l.dropout})` : ''}`).join('-');
  const short = `${layers} ${s.hidden[0]?.activation ?? ''} · ${o.name} ${o.learningRate} · b${s.batchSize}`;
  if (!long) return short;
  return `${short} · L2 ${s.l2} · validation ${s.validationSplit} · early stopping ${s.earlyStopping ? `patience ${s.earlyStopping.patience}` : 'off'} · seed ${s.seed}`;
}
