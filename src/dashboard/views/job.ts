// #/jobs/<id>: one job, live. Its loss and accuracy (or R² and MAE) curves grow epoch by epoch from the
// event stream, which also carries progress inside an epoch (drawn as it comes, so a long first epoch
// is not a blank page) and every change of status.
import { api, ApiError, FINISHED, type Dataset, type Epoch, type Job, type Progress } from '../api.js';
import { lineChart, type CurveChart, type LineChart } from '../chart.js';
import { append, confirmedAction, copyButton, errorBox, h, idChip, num, percent, progressBar, seconds, statusBadge, when } from '../dom.js';
import { formatParam } from '../search.js';
import { followJob } from '../stream.js';
import { COLOR, makeCharts } from './curves.js';

export function jobView(root: HTMLElement, id: string): () => void {
  const problem = h('div');
  const cancel = h('button', { type: 'button', class: 'danger', hidden: true, id: 'cancel-job' }, 'Cancel job');
  const clone = h('a', { class: 'button secondary', href: `#/new?clone=${encodeURIComponent(id)}`, id: 'clone-job' }, 'Clone');
  const summary = h('dl', { class: 'summary', id: 'job-summary' });
  const failure = h('div');
  const waiting = h('p', { class: 'muted waiting' }, 'Waiting for the first progress report…');
  const charts = h('div', { class: 'charts' }, waiting);
  const liveBox = h('div', { class: 'chart', id: 'chart-live', hidden: true });
  const spec = h('dl', { class: 'spec' });
  const details = h('div', { hidden: true }, summary, failure,
    h('section', { class: 'card' }, h('h2', {}, 'Training curves'), charts, liveBox),
    h('section', { class: 'card' }, h('h2', {}, 'Specification'), spec));
  root.append(
    h('div', { class: 'page-head' },
      h('h1', { class: 'job-title' }, 'Job ', h('span', { class: 'mono', id: 'job-id' }, id), ' ', copyButton(id, 'Copy the job id')),
      h('div', { class: 'head-actions' }, clone, cancel)),
    problem, details,
  );

  let job: Job | null = null;
  let datasetName: string | null = null;
  let lastEpoch = 0;
  let live: Progress | null = null;
  // Between progress events (sent only inside long epochs) speed and time left come from the epochs.
  let epochMs = 0;
  let epochsTimed = 0;
  let trainRows: number | null = null;
  let curves: CurveChart[] = [];
  // Inside epochs: the running loss when the service reports it, otherwise the throughput.
  let liveChart: LineChart | null = null;
  const liveXs: number[] = [];
  const liveYs: (number | null)[][] = [[]];
  let stopStream: (() => void) | null = null;
  let stopped = false;

  const render = () => {
    if (!job) return;
    const epochsDone = Math.max(job.epoch, lastEpoch);
    const running = job.status === 'running';
    const progress = running && live ? live.progress : Math.max(job.progress, epochsDone / job.epochs);
    const m = job.metrics;
    const speed = live?.samplesPerSec
      ?? (running && trainRows && epochsTimed ? (trainRows / epochMs) * 1000 : null) ?? job.samplesPerSec;
    const classification = m ? m.accuracy !== null : job.spec.output !== 'linear';
    summary.replaceChildren();
    append(summary,
      item('Status', h('span', { id: 'job-status' }, statusBadge(job.status),
        job.stopReason && !['completed', job.status].includes(job.stopReason) ? h('span', { class: 'muted' }, ` (${job.stopReason.replace(/_/g, ' ')})`) : null)),
      item('Epoch', h('span', { id: 'job-epoch', 'data-epoch': epochsDone }, `${epochsDone} / ${job.epochs}`)),
      item('Progress', h('span', { class: 'progress-cell' }, progressBar(progress, 'training progress'), `${Math.round(progress * 100)}%`)),
      item('Loss', m ? `${num(m.loss)}${m.valLoss !== null ? ` · val ${num(m.valLoss)}` : ''}` : '—'),
      classification
        ? item('Accuracy', m ? `${percent(m.accuracy)}${m.valAccuracy !== null ? ` · val ${percent(m.valAccuracy)}` : ''}` : '—')
        : item('R²', m ? `${num(m.r2)}${m.valR2 !== null ? ` · val ${num(m.valR2)}` : ''}` : '—'),
      item('Speed', speed ? `${num(speed)} samples/s` : '—'),
      running ? item('Time left', seconds(live?.etaSeconds ?? (epochsTimed ? ((job.epochs - epochsDone) * epochMs) / 1000 : job.etaSeconds))) : null,
      item('Dataset', job.datasetId ? datasetName ?? idChip(job.datasetId) : 'deleted'),
      job.modelId ? item('Model', h('span', { class: 'id-chip' },
        h('a', { href: `#/models/${encodeURIComponent(job.modelId)}`, class: 'mono', id: 'job-model', title: job.modelId }, job.modelId.slice(0, 8)),
        copyButton(job.modelId, 'Copy the model id'))) : null,
      job.node ? item('Node', job.node) : null,
      trialItem(job),
      item('Created', when(job.createdAt)),
      job.startedAt ? item('Started', when(job.startedAt)) : null,
      job.finishedAt ? item('Finished', when(job.finishedAt)) : null,
    );
    cancel.hidden = FINISHED.includes(job.status);
    failure.replaceChildren(...(job.error ? [errorBox(new ApiError(0, job.error.code, job.error.message))] : []));
  };

  const onEpoch = (e: Epoch) => {
    if (e.epoch <= lastEpoch) return; // already plotted (a replay after a reconnect)
    lastEpoch = e.epoch;
    epochMs += (e.durationMs - epochMs) / ++epochsTimed; // the running mean
    if (curves.length === 0) curves = makeCharts(charts, e, job?.spec.validationSplit ?? 0);
    waiting.remove();
    for (const c of curves) c.add(e);
    if (job) job = { ...job, metrics: e, epoch: Math.max(job.epoch, e.epoch) };
    live = null; // the next progress event is about the next epoch
    render();
  };

  const onProgress = (p: Progress) => {
    live = p;
    const x = p.epoch - 1 + p.fraction;
    if (liveXs.length === 0 || x > liveXs[liveXs.length - 1]) {
      const running = typeof p.loss === 'number';
      if (!liveChart) {
        liveBox.hidden = false;
        liveChart = lineChart(liveBox, running
          ? { title: 'Running training loss, within epochs', xLabel: 'epoch', yLabel: 'loss', logToggle: true,
            series: [{ label: 'running loss', color: COLOR.train }] }
          : { title: 'Throughput, within epochs', xLabel: 'epoch', yLabel: 'samples/s',
            series: [{ label: 'samples/s', color: '#0f766e' }] });
        if (curves.length === 0) waiting.textContent = `Epoch ${p.epoch} is under way: its curves appear when it ends.`;
      }
      liveXs.push(x);
      liveYs[0].push(running ? p.loss as number : p.samplesPerSec);
      liveChart.setData(liveXs, liveYs);
    }
    render();
  };

  confirmedAction(cancel, `Cancel job ${id}? Training stops; the best model so far is not kept.`, async () => {
    job = await api.cancelJob(id);
    render();
  }, problem);

  void (async () => {
    try {
      job = await api.getJob(id);
    } catch (err) {
      problem.replaceChildren(errorBox(err));
      return;
    }
    if (stopped) return;
    details.hidden = false;
    renderSpec(spec, job, null);
    render();
    if (job.datasetId) {
      api.getDataset(job.datasetId).then((d) => {
        datasetName = d.name;
        if (job) {
          trainRows = d.rows - Math.floor(d.rows * job.spec.validationSplit);
          renderSpec(spec, job, d);
          render();
        }
      }, () => { /* deleted since: the spec keeps its id */ });
    }
    // The stream replays the epochs so far, then follows; it ends after the final status.
    stopStream = followJob(id, {
      epoch: onEpoch,
      progress: onProgress,
      status: (j) => { job = j; if (j.status !== 'running') live = null; render(); },
      error: (err) => problem.replaceChildren(errorBox(err)),
    });
  })();

  return () => {
    stopped = true;
    stopStream?.();
    for (const c of curves) c.destroy();
    liveChart?.destroy();
  };
}

function item(term: string, value: Node | string): HTMLElement {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

/** A trial of a search: the search it belongs to and the values it tries. */
function trialItem(job: Job): HTMLElement | null {
  if (!job.searchId) return null;
  const params = Object.entries(job.params ?? {}).map(([k, v]) => `${k} ${formatParam(v)}`).join(', ');
  return item('Search', h('span', { id: 'job-search' },
    h('a', { href: `#/searches/${encodeURIComponent(job.searchId)}`, class: 'mono', title: job.searchId }, job.searchId.slice(0, 8)),
    params ? h('span', { class: 'muted' }, ` · ${params}`) : null));
}

/** The dataset, once fetched, adds the input and output widths to the layer line. */
function renderSpec(into: HTMLElement, job: Job, dataset: Dataset | null): void {
  const s = job.spec;
  const o = s.optimizer;
  const layers = s.hidden.map((l) => `${l.units} ${l.activation}${l.dropout > 0 ? ` (dropout ${l.dropout})` : ''}`);
  const outputs = dataset ? (s.output === 'softmax' ? dataset.classes?.length ?? 1 : 1) : null;
  into.replaceChildren(
    item('Layers', [
      ...(dataset ? [`${dataset.features} inputs`] : []), ...layers, outputs === null ? s.output : `${outputs} ${s.output}`,
    ].join(' → ')),
    item('Loss function', s.loss.replace(/_/g, ' ')),
    item('Optimizer', (o.name === 'adam'
      ? `Adam, learning rate ${o.learningRate}, β₁ ${o.beta1}, β₂ ${o.beta2}, ε ${o.epsilon}`
      : `SGD, learning rate ${o.learningRate}, momentum ${o.momentum}${o.nesterov ? ' (Nesterov)' : ''}`)
      + (o.decay > 0 ? `, decay ${o.decay} per ${o.decayPer}` : '') + (o.clipNorm !== null ? `, gradient clipped to ${o.clipNorm}` : '')),
    item('Epochs', String(s.epochs)),
    item('Batch size', String(s.batchSize)),
    item('Validation split', String(s.validationSplit)),
    item('L2', String(s.l2)),
    item('Early stopping', s.earlyStopping ? `patience ${s.earlyStopping.patience}, min delta ${s.earlyStopping.minDelta}` : 'off'),
    item('Standardize', s.standardize ? 'yes' : 'no'),
    item('Seed', String(s.seed)),
    item('Max runtime', s.maxRuntimeSeconds === null ? 'none' : seconds(s.maxRuntimeSeconds)),
    item('Model name', s.modelName ?? '—'),
  );
}
