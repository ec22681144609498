// #/searches/<id>: one hyperparameter search, live while it runs (polled every 2 s): its progress, the
// epochs it spent against a full run of every trial, the leaderboard (sortable by any column, the best
// trial marked), every trial's validation curve on one chart, Use best model and Cancel.
import { api, SEARCH_FINISHED, type Epoch, type Search, type Trial } from '../api.js';
import { lineChart, type LineChart } from '../chart.js';
import { append, confirmedAction, copyButton, errorBox, h, idChip, num, progressBar, statusBadge, when } from '../dom.js';
import {
  describeEntry, epochsLine, formatParam, formatScore, METRIC_LABEL, metricValue, nextOrder, ranked, sortTrials,
  type TrialColumn, type TrialOrder,
} from '../search.js';

const REFRESH_MS = 2000;
const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#ca8a04', '#4b5563'];

export function searchView(root: HTMLElement, id: string): () => void {
  const problem = h('div');
  const useBest = h('a', { class: 'button', id: 'use-best', hidden: true }, 'Use best model');
  const again = h('a', { class: 'button secondary', id: 'search-again', href: `#/searches/new?from=${encodeURIComponent(id)}` }, 'New search like this');
  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel-search', hidden: true }, 'Cancel search');
  const title = h('span', { id: 'search-title' });
  const summary = h('dl', { class: 'summary', id: 'search-summary' });
  const board = h('div', { class: 'table-scroll' });
  const chartBox = h('div', { class: 'chart', id: 'search-chart' });
  const chartNote = h('p', { class: 'muted waiting' }, 'The curves appear as the trials finish their first epochs.');
  const space = h('dl', { class: 'spec', id: 'search-space' });
  const base = h('pre', { id: 'search-base' });
  const details = h('div', { hidden: true }, summary,
    h('section', { class: 'card' }, h('h2', {}, 'Leaderboard'),
      h('p', { class: 'muted' }, 'Best first; click a column header to sort by it. The best trial is marked.'), board),
    h('section', { class: 'card' }, h('h2', { id: 'search-chart-title' }, 'Validation curves'), chartNote, chartBox),
    h('section', { class: 'card' }, h('h2', {}, 'Space and base settings'), space, base));
  root.append(
    h('div', { class: 'page-head wrap' },
      h('h1', { class: 'job-title' }, 'Search ', title, ' ', h('span', { class: 'mono', id: 'search-id' }, id), ' ', copyButton(id, 'Copy the search id')),
      h('div', { class: 'head-actions' }, useBest, again, cancel)),
    problem, details,
  );

  let search: Search | null = null;
  let datasetName: string | null = null;
  let order: TrialOrder = { column: 'rank', descending: false };
  let shown = '';
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Each trial's epochs, fetched as its count grows; the chart is rebuilt when its series change.
  const epochs = new Map<string, Epoch[]>();
  let chart: LineChart | null = null;
  let chartSeries = '';

  const render = () => {
    if (!search) return;
    const s = search;
    title.textContent = s.name ?? '';
    const running = !SEARCH_FINISHED.includes(s.status);
    const fraction = s.progress.total > 0 ? s.progress.finished / s.progress.total : 0;
    summary.replaceChildren();
    append(summary,
      item('Status', h('span', { id: 'search-status' }, statusBadge(s.status))),
      item('Trials finished', h('span', { class: 'progress-cell', id: 'search-progress', 'data-finished': s.progress.finished, 'data-total': s.progress.total },
        progressBar(fraction, 'search progress'), `${s.progress.finished} / ${s.progress.total}`)),
      item('Epochs', h('span', { id: 'search-epochs', title: 'epochs trained, of what every trial trained to its end would take' }, epochsLine(s))),
      item('Best', h('span', { id: 'search-best' }, s.best ? `${formatScore(s.metric, s.best.score)} (trial #${s.best.index})` : '—')),
      item('Metric', `${METRIC_LABEL[s.metric]}, ${s.direction === 'max' ? 'higher' : 'lower'} is better`),
      item('Strategy', s.strategy),
      item('Halving', s.halving ? `from ${s.halving.minEpochs} epoch${s.halving.minEpochs === 1 ? '' : 's'}, keep 1 in ${s.halving.eta}${s.halving.rungs.length ? `; rungs at ${s.halving.rungs.join(', ')}` : ''}` : 'off'),
      item('Parallel', String(s.parallel)),
      item('Seed', String(s.seed)),
      item('Dataset', s.datasetId ? datasetName ?? idChip(s.datasetId) : h('span', { class: 'muted' }, 'deleted')),
      item('Created', when(s.createdAt)),
      s.finishedAt ? item('Finished', when(s.finishedAt)) : null,
    );
    cancel.hidden = !running;
    const modelId = s.best?.modelId;
    useBest.hidden = !modelId;
    if (modelId) {
      useBest.href = `#/models/${encodeURIComponent(modelId)}`;
      useBest.title = `trial #${s.best?.index}'s model, ${modelId}`;
    }
    board.replaceChildren(leaderboard(s, order, (column) => {
      order = nextOrder(order, column, s.direction);
      render();
    }));
    space.replaceChildren(...Object.entries(s.space).map(([path, entry]) => item(path, describeEntry(entry))));
    base.textContent = JSON.stringify(s.base, null, 2);
  };

  const drawChart = () => {
    if (!search) return;
    const s = search;
    const trials = [...s.trials].sort((a, b) => a.index - b.index);
    const value = metricValue(s.metric);
    const longest = Math.max(0, ...trials.map((t) => epochs.get(t.jobId)?.at(-1)?.epoch ?? 0));
    if (longest === 0) return;
    chartNote.hidden = true;
    const bestIndex = s.best?.index ?? null;
    const series = trials.map((t) => ({
      label: `#${t.index}${t.index === bestIndex ? ' best' : ''}`,
      color: PALETTE[t.index % PALETTE.length],
      width: t.index === bestIndex ? 3.5 : 1.25,
    }));
    // The series are fixed when a uPlot chart is made: a new best (or a new trial) makes a new chart.
    const key = JSON.stringify(series);
    if (key !== chartSeries) {
      chart?.destroy();
      chartSeries = key;
      const label = METRIC_LABEL[s.metric];
      chart = lineChart(chartBox, {
        title: `${label[0].toUpperCase()}${label.slice(1)} per epoch`, xLabel: 'epoch', yLabel: label.replace('validation ', ''),
        // The data's own y range, not [0, 1]: trials of one search often differ by a point or two.
        integerX: true, series, logToggle: s.metric === 'valLoss',
      });
    }
    chartBox.dataset.trials = String(trials.length);
    chartBox.dataset.best = bestIndex === null ? '' : String(bestIndex);
    const xs = Array.from({ length: longest }, (_, i) => i + 1);
    chart?.setData(xs, trials.map((t) => {
      const byEpoch = new Map((epochs.get(t.jobId) ?? []).map((e) => [e.epoch, value(e)]));
      return xs.map((x) => byEpoch.get(x) ?? null);
    }));
  };

  /** Fetches the epochs of every trial that has done more than the page holds. */
  const fetchEpochs = async (trials: Trial[]): Promise<boolean> => {
    const behind = trials.filter((t) => t.epochs > (epochs.get(t.jobId)?.at(-1)?.epoch ?? 0));
    await Promise.all(behind.map(async (t) => {
      const have = epochs.get(t.jobId) ?? [];
      const { epochs: more } = await api.jobEpochs(t.jobId, have.at(-1)?.epoch ?? 0);
      epochs.set(t.jobId, [...have, ...more.filter((e) => e.epoch > (have.at(-1)?.epoch ?? 0))]);
    }));
    return behind.length > 0;
  };

  const refresh = async () => {
    try {
      const next = await api.getSearch(id);
      if (stopped) return;
      const first = search === null;
      search = next;
      if (first) {
        details.hidden = false;
        if (next.datasetId) api.getDataset(next.datasetId).then((d) => { datasetName = d.name; render(); }, () => { /* deleted since: its id stays */ });
      }
      const now = JSON.stringify(next);
      const changed = now !== shown;
      if (changed) {
        shown = now;
        render();
      }
      const grew = await fetchEpochs(next.trials);
      if (stopped) return;
      if (grew || changed) drawChart(); // a new best redraws too: it is the thick line
      problem.replaceChildren();
      if (!SEARCH_FINISHED.includes(next.status)) timer = setTimeout(refresh, REFRESH_MS);
    } catch (err) {
      if (stopped) return;
      problem.replaceChildren(errorBox(err));
      timer = setTimeout(refresh, REFRESH_MS * 5);
    }
  };

  confirmedAction(cancel, `Cancel search ${id}? Its queued and running trials stop; finished trials keep their models.`, async () => {
    search = await api.cancelSearch(id);
    render();
  }, problem);

  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    chart?.destroy();
  };
}

function item(term: string, value: Node | string): HTMLElement {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

/** The trials as a table: a header per column that sorts by it, the best trial's row marked. */
function leaderboard(search: Search, order: TrialOrder, sortBy: (column: TrialColumn) => void): HTMLTableElement {
  const keys = Object.keys(search.space);
  const columns: { id: TrialColumn; label: string; numeric?: boolean; param?: boolean }[] = [
    { id: 'rank', label: 'Rank', numeric: true },
    { id: 'index', label: 'Trial', numeric: true },
    ...keys.map((k) => ({ id: `param:${k}` as TrialColumn, label: k, param: true })),
    { id: 'score', label: search.metric === 'valAccuracy' ? 'Val. accuracy' : search.metric === 'valLoss' ? 'Val. loss' : 'Val. R²', numeric: true },
    { id: 'epochs', label: 'Epochs', numeric: true },
    { id: 'status', label: 'Status' },
    { id: 'stopReason', label: 'Stop reason' },
  ];
  const head = h('tr', {}, ...columns.map((c) => {
    const sorted = order.column === c.id;
    return h('th', {
      class: c.numeric ? 'num' : c.param ? 'param' : null, 'data-column': c.id,
      'aria-sort': sorted ? (order.descending ? 'descending' : 'ascending') : 'none',
    }, h('button', { type: 'button', class: 'sort', onclick: () => sortBy(c.id) },
      c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, sorted ? (order.descending ? ' ▼' : ' ▲') : '')));
  }));
  const bestIndex = search.best?.index ?? null;
  const rows = sortTrials(ranked(search.trials), order).map((t) => h('tr', {
    'data-trial': t.index, 'data-job': t.jobId, class: t.index === bestIndex ? 'best' : null,
  },
  h('td', { class: 'num' }, String(t.rank)),
  h('td', { class: 'num' }, h('a', { href: `#/jobs/${encodeURIComponent(t.jobId)}`, title: `job ${t.jobId}` }, `#${t.index}`),
    t.index === bestIndex ? h('span', { class: 'best-mark', title: 'the best trial' }, ' ★') : null),
  ...keys.map((k) => h('td', { 'data-param': k, title: String(t.params[k]) }, formatParam(t.params[k]))),
  h('td', { class: 'num', title: t.score === null ? null : String(t.score) }, formatScore(search.metric, t.score)),
  h('td', { class: 'num' }, num(t.epochs)),
  h('td', {}, statusBadge(t.status),
    t.held ? ' ' : null,
    t.held ? h('span', { class: 'muted held', title: t.held === 'rung' ? 'paused at its rung until the search decides' : 'waits for its turn (parallel)' }, t.held === 'rung' ? 'at its rung' : 'waiting') : null),
  h('td', { class: 'muted' }, t.stopReason ? t.stopReason.replace(/_/g, ' ') : '—'),
  ));
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'No trials yet.')));
  return h('table', { class: 'list leaderboard', id: 'leaderboard', 'data-order': `${order.column} ${order.descending ? 'descending' : 'ascending'}` },
    h('thead', {}, head), h('tbody', {}, ...rows));
}
