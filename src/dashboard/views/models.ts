// #/models: the trained models with the figures of the epoch each was kept from, and the job that made it;
// each opens its own page (#/models/<id>).
import { api, type Epoch, type Model } from '../api.js';
import { deleteButton, errorBox, fillList, h, idChip, num, percent, when } from '../dom.js';

export function modelsView(root: HTMLElement): () => void {
  const body = h('tbody');
  const problem = h('div');
  const note = h('p', { class: 'muted' });
  let stopped = false;

  const refresh = async () => {
    try {
      const [list, datasets] = await Promise.all([api.listModels(), api.listDatasets()]);
      if (stopped) return;
      const names = new Map(datasets.items.map((d) => [d.id, d.name]));
      fillList(body, note, list.items.map((m) => row(m, names, refresh, problem)), list, 'models', 'No models yet: a job that succeeds leaves one.');
    } catch (err) {
      if (!stopped) problem.replaceChildren(errorBox(err));
    }
  };

  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Models')),
    problem,
    h('table', { class: 'list', id: 'models' },
      h('thead', {}, h('tr', {},
        h('th', {}, 'Model'), h('th', {}, 'Name'), h('th', {}, 'Task'), h('th', { class: 'num' }, 'Score'), h('th', { class: 'num' }, 'Best epoch'),
        h('th', {}, 'Job'), h('th', {}, 'Dataset'), h('th', {}, 'Created'), h('th', {}, ''))),
      body),
    note,
  );
  void refresh();
  return () => { stopped = true; };
}

function row(m: Model, names: Map<string, string>, refresh: () => Promise<void>, problem: HTMLElement): HTMLTableRowElement {
  const remove = deleteButton(`Delete model ${m.id}? Predictions with it will answer 404.`,
    () => api.deleteModel(m.id), refresh, problem);
  return h('tr', { 'data-model': m.id },
    h('td', {}, idChip(m.id, `#/models/${encodeURIComponent(m.id)}`)),
    h('td', {}, m.name ? h('a', { href: `#/models/${encodeURIComponent(m.id)}` }, `${m.name}@${m.version}`) : h('span', { class: 'muted' }, '—'),
      ...m.aliases.map((a) => [' ', h('span', { class: 'badge' }, a)]).flat()),
    h('td', {}, m.task),
    h('td', { class: 'num' }, score(m)),
    h('td', { class: 'num' }, m.bestEpoch ?? '—'),
    h('td', {}, m.jobId ? idChip(m.jobId, `#/jobs/${m.jobId}`) : '—'),
    h('td', {}, m.datasetId ? names.get(m.datasetId) ?? idChip(m.datasetId) : h('span', { class: 'muted' }, 'deleted')),
    h('td', { class: 'muted' }, when(m.createdAt)),
    h('td', { class: 'actions' }, remove),
  );
}

/** Validation figures when the job held some rows out, training figures otherwise. */
function score(m: Model): string {
  const e = (m.metrics ?? {}) as Partial<Epoch>;
  if (m.task === 'classification') {
    const accuracy = e.valAccuracy ?? e.accuracy;
    return accuracy === undefined || accuracy === null ? '—' : `accuracy ${percent(accuracy)}${e.valAccuracy != null ? ' (val)' : ''}`;
  }
  const r2 = e.valR2 ?? e.r2;
  return r2 === undefined || r2 === null ? '—' : `R² ${num(r2)}${e.valR2 != null ? ' (val)' : ''}`;
}
