// #/searches: every hyperparameter search, newest first, with its progress, its best score and the
// epochs it spent; live like the jobs list (every 2 s while one runs, 5 s otherwise).
import { api, SEARCH_FINISHED, type Dataset, type SearchSummary } from '../api.js';
import { fillList, h, idChip, keepLive, progressBar, statusBadge, when } from '../dom.js';
import { epochsLine, formatParam, formatScore, METRIC_LABEL } from '../search.js';

export function searchesView(root: HTMLElement): () => void {
  const body = h('tbody');
  const note = h('p', { class: 'muted' });
  const problem = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Searches'), h('a', { class: 'button', href: '#/searches/new' }, 'New search')),
    problem,
    h('div', { class: 'table-scroll' }, h('table', { class: 'list', id: 'searches' },
      h('thead', {}, h('tr', {},
        h('th', {}, 'Search'), h('th', {}, 'Status'), h('th', { class: 'wide' }, 'Trials'), h('th', { class: 'num' }, 'Best'),
        h('th', {}, 'Best settings'), h('th', {}, 'Epochs'), h('th', {}, 'Dataset'), h('th', {}, 'Created'))),
      body)),
    note,
  );

  return keepLive(
    async () => {
      const [searches, datasets] = await Promise.all([api.listSearches(), api.listDatasets(500)]);
      return { searches, names: datasets.items.map((d: Dataset) => [d.id, d.name] as [string, string]) };
    },
    ({ searches, names }) => fillList(body, note, searches.items.map((s) => row(s, new Map(names))), searches, 'searches',
      'No searches yet. ', h('a', { href: '#/searches/new' }, 'Start one'), '.'),
    ({ searches }) => searches.items.some((s) => !SEARCH_FINISHED.includes(s.status)),
    problem,
  );
}

function row(s: SearchSummary, names: Map<string, string>): HTMLTableRowElement {
  const { finished, total } = s.progress;
  const bestSettings = s.best ? Object.entries(s.best.params).map(([k, v]) => `${k} ${formatParam(v)}`) : [];
  return h('tr', { 'data-search': s.id },
    h('td', {}, idChip(s.id, `#/searches/${encodeURIComponent(s.id)}`), s.name ? h('div', { class: 'muted' }, s.name) : null),
    h('td', {}, statusBadge(s.status)),
    h('td', { class: 'wide' }, h('div', { class: 'progress-cell' },
      progressBar(total > 0 ? finished / total : 0, `search ${s.id} progress`),
      h('span', { class: 'muted' }, `${finished}/${total}`)),
    h('div', { class: 'muted settings-line' }, `${s.strategy}${s.halving ? ', halving' : ''}`)),
    h('td', { class: 'num', title: `${METRIC_LABEL[s.metric]}${s.best ? `, trial #${s.best.index}` : ''}` }, s.best ? formatScore(s.metric, s.best.score) : '—'),
    h('td', { class: 'settings', title: bestSettings.join(', ') || null }, ...(bestSettings.length ? bestSettings.map((p) => h('div', {}, p)) : ['—'])),
    h('td', { class: 'muted epochs' }, epochsLine(s)),
    h('td', {}, s.datasetId ? names.get(s.datasetId) ?? idChip(s.datasetId) : h('span', { class: 'muted' }, 'deleted')),
    h('td', { class: 'muted' }, when(s.createdAt)),
  );
}
