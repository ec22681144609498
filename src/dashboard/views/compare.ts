// #/compare?jobs=a,b,…: runs side by side — one chart per metric with every job's curve overlaid (a
// colour per job), and a table of their settings and final and best figures, the rows that differ marked.
import { api, type Epoch, type Job } from '../api.js';
import { lineChart, type LineChart } from '../chart.js';
import { errorBox, h, idChip, num, percent, seconds, statusBadge } from '../dom.js';

const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#ca8a04', '#4b5563'];

interface Run { job: Job; epochs: Epoch[]; color: string; datasetName: string | null }

interface Metric {
  id: string;
  title: string;
  value(e: Epoch): number | null;
  log?: boolean;
  range?: [number, number];
}

const METRICS: Metric[] = [
  { id: 'loss', title: 'Training loss', value: (e) => e.loss, log: true },
  { id: 'val-loss', title: 'Validation loss', value: (e) => e.valLoss, log: true },
  { id: 'accuracy', title: 'Training accuracy', value: (e) => e.accuracy, range: [0, 1] },
  { id: 'val-accuracy', title: 'Validation accuracy', value: (e) => e.valAccuracy, range: [0, 1] },
  { id: 'r2', title: 'Training R²', value: (e) => e.r2 },
  { id: 'val-r2', title: 'Validation R²', value: (e) => e.valR2 },
  { id: 'mae', title: 'Training MAE', value: (e) => e.mae, log: true },
  { id: 'val-mae', title: 'Validation MAE', value: (e) => e.valMae, log: true },
];

export function compareView(root: HTMLElement, ids: string[]): () => void {
  const problem = h('div');
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Compare runs'), h('a', { href: '#/jobs' }, '← jobs')), problem);
  let charts: LineChart[] = [];
  let stopped = false;
  if (ids.length < 2) {
    problem.replaceChildren(h('p', { class: 'muted' }, 'Choose two or more jobs in the ', h('a', { href: '#/jobs' }, 'jobs list'), ' and press Compare.'));
    return () => {};
  }

  void (async () => {
    let runs: Run[];
    try {
      const datasets = await api.listDatasets(500).then((l) => new Map(l.items.map((d) => [d.id, d.name])), () => new Map<string, string>());
      runs = await Promise.all(ids.map(async (id, i) => {
        const [job, { epochs }] = await Promise.all([api.getJob(id), api.jobEpochs(id, 0)]);
        return { job, epochs, color: PALETTE[i % PALETTE.length], datasetName: job.datasetId ? datasets.get(job.datasetId) ?? null : null };
      }));
    } catch (err) {
      if (!stopped) problem.replaceChildren(errorBox(err));
      return;
    }
    if (stopped) return;
    const grid = h('div', { class: 'charts' });
    root.append(
      h('section', { class: 'card' }, h('h2', {}, 'Settings and results'), h('p', { class: 'muted' }, 'Rows where the runs differ are marked.'), table(runs)),
      h('section', { class: 'card' }, h('h2', {}, 'Curves'), grid),
    );
    charts = METRICS.filter((m) => runs.some((r) => r.epochs.some((e) => m.value(e) !== null))).map((m) => {
      const box = h('div', { class: 'chart', id: `compare-${m.id}` });
      grid.append(box);
      const chart = lineChart(box, {
        title: m.title, xLabel: 'epoch', yLabel: m.title.replace(/^(Training|Validation) /, ''), integerX: true, range: m.range, logToggle: m.log,
        series: runs.map((r) => ({ label: r.job.id.slice(0, 8), color: r.color })),
      });
      // One x column for all: epochs 1…longest run, a gap where a run had stopped.
      const longest = Math.max(0, ...runs.map((r) => r.epochs.length ? r.epochs[r.epochs.length - 1].epoch : 0));
      const xs = Array.from({ length: longest }, (_, i) => i + 1);
      chart.setData(xs, runs.map((r) => {
        const byEpoch = new Map(r.epochs.map((e) => [e.epoch, m.value(e)]));
        return xs.map((x) => byEpoch.get(x) ?? null);
      }));
      return chart;
    });
  })();

  return () => {
    stopped = true;
    for (const c of charts) c.destroy();
  };
}

/** The epoch with the lowest validation loss (training loss without validation): what a model keeps. */
function best(epochs: Epoch[]): Epoch | null {
  let found: Epoch | null = null;
  for (const e of epochs) {
    const v = e.valLoss ?? e.loss;
    if (!found || v < (found.valLoss ?? found.loss)) found = e;
  }
  return found;
}

function table(runs: Run[]): HTMLElement {
  const rows: [string, (r: Run) => string][] = [
    ['Status', (r) => r.job.status + (r.job.stopReason && r.job.stopReason !== 'completed' && r.job.stopReason !== r.job.status ? ` (${r.job.stopReason.replace(/_/g, ' ')})` : '')],
    ['Failure', (r) => (r.job.error ? `${r.job.error.code}: ${r.job.error.message}` : '—')],
    ['Dataset', (r) => r.datasetName ?? r.job.datasetId ?? 'deleted'],
    ['Hidden layers', (r) => r.job.spec.hidden.map((l) => `${l.units} ${l.activation}`).join(', ')],
    ['Dropout', (r) => r.job.spec.hidden.map((l) => String(l.dropout)).join(', ')],
    ['Output, loss', (r) => `${r.job.spec.output}, ${r.job.spec.loss.replace(/_/g, ' ')}`],
    ['Optimizer', (r) => r.job.spec.optimizer.name],
    ['Learning rate', (r) => String(r.job.spec.optimizer.learningRate)],
    ['Momentum / β₁, β₂', (r) => {
      const o = r.job.spec.optimizer;
      return o.name === 'sgd' ? `${o.momentum}${o.nesterov ? ' Nesterov' : ''}` : `${o.beta1}, ${o.beta2}`;
    }],
    ['Decay', (r) => (r.job.spec.optimizer.decay > 0 ? `${r.job.spec.optimizer.decay} per ${r.job.spec.optimizer.decayPer}` : '0')],
    ['Gradient clipping', (r) => String(r.job.spec.optimizer.clipNorm ?? 'none')],
    ['L2', (r) => String(r.job.spec.l2)],
    ['Batch size', (r) => String(r.job.spec.batchSize)],
    ['Epochs (run / asked)', (r) => `${r.epochs.length} / ${r.job.spec.epochs}`],
    ['Validation split', (r) => String(r.job.spec.validationSplit)],
    ['Early stopping', (r) => (r.job.spec.earlyStopping ? `patience ${r.job.spec.earlyStopping.patience}, min Δ ${r.job.spec.earlyStopping.minDelta}` : 'off')],
    ['Standardize', (r) => (r.job.spec.standardize ? 'yes' : 'no')],
    ['Seed', (r) => String(r.job.spec.seed)],
    ['Final loss', (r) => num(r.epochs.at(-1)?.loss)],
    ['Final validation loss', (r) => num(r.epochs.at(-1)?.valLoss)],
    ['Final accuracy', (r) => percent(r.epochs.at(-1)?.accuracy)],
    ['Final validation accuracy', (r) => percent(r.epochs.at(-1)?.valAccuracy)],
    ['Final R² (val)', (r) => num(r.epochs.at(-1)?.valR2 ?? r.epochs.at(-1)?.r2)],
    ['Final MAE (val)', (r) => num(r.epochs.at(-1)?.valMae ?? r.epochs.at(-1)?.mae)],
    ['Best epoch', (r) => String(best(r.epochs)?.epoch ?? '—')],
    ['Best loss (val)', (r) => { const b = best(r.epochs); return b ? num(b.valLoss ?? b.loss) : '—'; }],
    ['Best accuracy (val)', (r) => { const b = best(r.epochs); return b ? percent(b.valAccuracy ?? b.accuracy) : '—'; }],
    ['Training time', (r) => seconds(r.epochs.reduce((t, e) => t + e.durationMs, 0) / 1000)],
  ];
  const body = rows
    .map(([label, value]) => [label, runs.map(value)] as const)
    .filter(([, values]) => values.some((v) => v !== '—'))
    .map(([label, values]) => {
      const differs = new Set(values).size > 1;
      return h('tr', { class: differs ? 'differs' : null, 'data-row': label },
        h('th', { scope: 'row' }, label, differs ? h('span', { class: 'differs-mark', title: 'differs' }, ' ≠') : null),
        ...values.map((v) => h('td', { title: v }, v)));
    });
  return h('div', { class: 'table-scroll' }, h('table', { class: 'list compare', id: 'compare-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Run'), ...runs.map((r) => h('th', { 'data-job': r.job.id },
      swatch(r.color), ' ', idChip(r.job.id, `#/jobs/${r.job.id}`), ' ', statusBadge(r.job.status))))),
    h('tbody', {}, ...body)));
}

function swatch(color: string): HTMLElement {
  const el = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  el.style.backgroundColor = color; // the CSSOM: the CSP would refuse a style attribute
  return el;
}
